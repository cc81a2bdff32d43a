"""The symbolic pass on the idioms of real models, each one's accepted sizes checked against torch size by size.

Regressions from the model zoo (benchmarks/ZOO.md): nn.Upsample in nearest mode, torch.cat of one tensor,
the squeeze-excitation product, x.mean([2, 3]), x.size() arithmetic with view/transpose (channel shuffle),
chunk, permute with a channels-last LayerNorm, a learned scale, an optional forward argument; and the
batch checks of a detector whose outputs are per-image lists of data-dependent length.
"""

from __future__ import annotations

import pytest
import torch

from cnncalc.checks import CheckOptions, check_model
from cnncalc.pymodel.fxspec import accepted_values, convert
from cnncalc.pymodel.inputs import parse_inputs
from cnncalc.pymodel.load import Target
from cnncalc.pymodel.report import module_report
from tests.models import idioms

SYMBOLIC = ["UpNearest", "CatOne", "SqueezeExcite", "Shuffle", "ConvNeXtish", "ViTish"]


def runs(model: torch.nn.Module, size: int) -> bool:
    try:
        with torch.no_grad():
            model(torch.randn(2, 3, size, size))
    except (RuntimeError, AssertionError):
        return False
    return True


@pytest.mark.parametrize("name", SYMBOLIC)
def test_accepted_sizes_equal_torch_at_every_size(name: str) -> None:
    model = getattr(idioms, name)().eval()
    fx = convert(model, parse_inputs(["3xHxW"]), {"H": 32, "W": 32}, name)
    good = set(accepted_values(fx, 48))
    assert good, name
    assert {s for s in range(1, 49) if runs(model, s)} == good


@pytest.mark.parametrize("name", SYMBOLIC)
def test_report_agrees_with_torch_hooks(name: str) -> None:
    model = getattr(idioms, name)()
    rep = module_report(Target(name, None, name, model), parse_inputs(["3x32x32"]), {})
    assert rep.crash is None and not rep.mismatches, rep.mismatches
    assert rep.fx is not None, rep.fx_reason
    assert sum(r.params for r in fx_layers(rep)) == sum(p.numel() for p in model.parameters())


def fx_layers(rep: object) -> list[object]:
    from cnncalc.analysis.shapes import analyze
    from cnncalc.graph import expand

    fx = rep.fx  # type: ignore[attr-defined]
    return list(analyze(expand(fx.spec, {})).layers)


def test_conditions_are_named_when_asked() -> None:
    model = idioms.Shuffle()
    rep = module_report(Target("s", None, "s", model), parse_inputs(["3xHxW"]), {"H": 32, "W": 32})
    assert rep.accepted is not None and rep.accepted == "H ≥ 5, W ≥ 5 (independent)"


def test_detector_lists_pass_the_batch_checks() -> None:
    report = check_model(idioms.Detector(), CheckOptions(), ["3x16x16"])
    found = {f.name: f for f in report.findings}
    assert report.ok, [f.message for f in report.findings]
    assert "one entry per image" in found["batch size"].message
    assert found["sample independence"].ok
