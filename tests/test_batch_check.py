"""`check` never passes a model that breaks the batch (issue 22): every idiom of the class, judged by torch.

torch's verdict is a brute force over batch sizes 1..8: a model is right when it runs at every
one, its output's dim 0 is the batch size and sample i of the output depends only on sample i.
cnncalc's `check` must fail exactly the models torch finds wrong, whatever its own batch sizes.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import tests.models.batch_bugs as bugs
from cnncalc.checks import CheckOptions, check_model
from cnncalc.pymodel.load import Target

BATCHES = range(1, 9)


def torch_verdict(model: nn.Module, sample: tuple[int, ...]) -> bool:
    """True when ``model`` keeps the batch and never mixes samples at every batch size in ``BATCHES``."""
    model.eval()
    with torch.no_grad():
        for b in BATCHES:
            x = torch.randn(b, *sample)
            try:
                y = model(x)
            except RuntimeError:
                return False
            if y.dim() == 0 or y.shape[0] != b:
                return False
            if b > 1:
                x2 = x.clone()
                x2[0] = torch.randn(*sample)
                if not torch.allclose(model(x2)[1:], y[1:], atol=1e-6):
                    return False
    return True


def verdict(model: nn.Module, sample: str, batches: tuple[int, int] = (2, 3)) -> tuple[bool, list[Any]]:
    target = Target(type(model).__name__, None, type(model).__name__, model)
    report = check_model(target, CheckOptions(batches=batches), [sample])
    return report.ok, [f for f in report.failures]


CLASSES = [
    c for _, c in inspect.getmembers(bugs, inspect.isclass) if c.__module__ == bugs.__name__ and c is not bugs.Base
]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_each_batch_idiom_agrees_with_torch(cls: type[nn.Module]) -> None:
    torch.manual_seed(0)
    truth = torch_verdict(cls(), (3, 8, 8))
    ok, failures = verdict(cls(), "3x8x8")
    assert ok == truth, [f.message for f in failures]
    assert truth == (cls is bugs.Good)


def test_the_issues_view_minus_one_fails_with_the_crash_at_batch_3_located() -> None:
    ok, failures = verdict(bugs.ViewMinusOne(), "3x8x8")
    assert not ok
    (bad,) = failures
    assert bad.name == "batch size" and "at batch 3 the forward pass raised RuntimeError" in bad.message
    assert "where the output is (1, 10) for 2 samples" in bad.message
    assert bad.loc is not None and bad.loc.file.endswith("batch_bugs.py")
    line = inspect.getsource(bugs).splitlines()[bad.loc.line - 1]
    assert "x.view(-1, 576)" in line


def test_a_permute_that_moves_the_batch_is_named() -> None:
    ok, failures = verdict(bugs.PermuteBatch(), "3x8x8")
    assert not ok and "the batch moved from dim 0 to dim 1" in failures[0].message
    assert "Tensor.permute" in failures[0].message


class Folding(nn.Module):
    """``x.view(-1, n)`` / ``x.reshape(-1, n)`` / ``x.view(n, -1)`` on ``c`` channels of 4x4 features."""

    def __init__(self, c: int, n: int, style: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, c, 3, padding=1)
        self.n, self.style = n, style

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.style == "view":
            return x.view(-1, self.n)
        if self.style == "reshape":
            return x.reshape(-1, self.n)
        if self.style == "first":
            return x.view(self.n, -1)
        return x.flatten(1)


@settings(max_examples=40, deadline=None)
@given(c=st.integers(1, 6), n=st.sampled_from([1, 2, 4, 8, 16, 24, 32, 48, 64, 96]),
       style=st.sampled_from(["view", "reshape", "first", "flatten"]),
       batches=st.sampled_from([(2, 3), (3, 5), (4, 6), (2, 4)]))  # fmt: skip
def test_random_folds_agree_with_torch_at_any_pair_of_batch_sizes(c: int, n: int, style: str,
                                                                  batches: tuple[int, int]) -> None:  # fmt: skip
    torch.manual_seed(0)
    model = Folding(c, n, style)
    truth = torch_verdict(model, (1, 4, 4))
    try:
        ok, failures = verdict(model, "1x4x4", batches)
    except Exception as e:  # the forward pass fails at the first batch size: a failed check, not a crash
        raise AssertionError(f"check raised {e!r}") from e
    assert ok == truth, [f.message for f in failures]


def test_cli_exit_1_on_the_issues_example() -> None:
    from click.testing import CliRunner

    from cnncalc.cli import main

    result = CliRunner().invoke(main, ["check", "tests/models/batch_bugs.py:ViewMinusOne", "--input", "3x8x8"])
    assert result.exit_code == 1, result.stdout
    assert "✗ batch size at input 3x8x8, batches 2 and 3" in result.stdout
