"""A wrong derivation must be caught by torch: exit 1, both values shown, never silently corrected."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc.cli import main
from cnncalc.layers import CATALOGUE


@pytest.fixture
def broken_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the Linear rule forget the bias, the way a hand calculation might."""
    linear = CATALOGUE["Linear"]
    monkeypatch.setattr(linear, "params", lambda a, ins: ins[0][-1] * a["out_features"])


def test_wrong_parameter_rule_is_caught(broken_linear: None) -> None:
    result = CliRunner().invoke(main, ["shapes", "examples/lenet5.yaml", "--device", "cpu", "--format", "json"])
    assert result.exit_code == 1
    assert "examples/lenet5.yaml:15:5: error: 'f6' parameters: derived 10080, torch gives 10164" in result.stderr
    assert '"verified": false' in result.stdout


def test_wrong_shape_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = CATALOGUE["MaxPool2d"]
    original = pool.output

    def off_by_one(a: Any, ins: Any, ctx: Any) -> Any:
        c, h, w = original(a, ins, ctx)
        return (c, h + 1, w)

    monkeypatch.setattr(pool, "output", off_by_one)
    result = CliRunner().invoke(main, ["shapes", "examples/course/a_cifar_conv3.yaml", "--device", "cpu"])
    assert result.exit_code == 1
    assert "'pool1' output shape: derived (32, 17, 16), torch gives (32, 16, 16)" in result.stderr
    assert "MISMATCH" in result.stdout


def test_wrong_buffer_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CATALOGUE["BatchNorm2d"], "buffers", lambda a, ins: 2 * ins[0][0])
    result = CliRunner().invoke(main, ["shapes", "examples/unet.yaml", "--device", "meta"])
    assert result.exit_code == 1
    assert "'enc1.bn1' buffers: derived 32, torch gives 33 (at H=64, W=64)" in result.stderr
