"""Receptive fields through resampling (Upsample: linear, bilinear, trilinear, nearest, nearest-exact), then windows.

The derived region of EVERY unit of every layer (borders included, where torch clamps the source index) is
compared with the support of its input gradient in torch. Before the source index was computed as torch's
kernels do (one fused multiply-add), a unit whose source index is 0.5000000149 - 0.5 was derived as seeing one
input where torch gives the next one a weight of 1.5e-8, and a correct network failed its self-check (exit 1).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnncalc.analysis.receptive import Frame
from cnncalc.errors import CnnCalcError
from cnncalc.pipeline import load, shapes
from cnncalc.verify.receptive import Kit, Twin, check, twin_forward

from .helpers import arch_text

_MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _coords(n: int) -> list[int]:
    """Every coordinate of a short dim; the borders and the middle of a long one."""
    if n <= 12:
        return list(range(n))
    return sorted({0, 1, 2, 3, n // 3, n // 2, n - 4, n - 3, n - 2, n - 1})


def _positions(grid: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Along each dim every coordinate of ``_coords``, the other dims at their first or last unit (the corners)."""
    out: dict[tuple[int, ...], None] = {}
    for j, n in enumerate(grid):
        for rest in itertools.product(*((0, d - 1) for k, d in enumerate(grid) if k != j)):
            for c in _coords(n):
                out[(*rest[:j], c, *rest[j:])] = None
    return list(out)


def mismatches(layers: list[dict[str, Any]], input_shape: list[int]) -> list[str] | None:
    """Units of any layer whose derived region differs from their input-gradient support (None: torch refuses)."""
    try:
        report = shapes(load("resample.yaml", arch_text(layers, input_shape)), verify=False)
    except CnnCalcError:
        return None
    analysis, states = report.defaults, list(report.rf.maps)
    probes = [(i, pos) for i, r in enumerate(analysis.layers) if isinstance(states[i], Frame)
              for pos in _positions(r.shape[1:])]  # fmt: skip
    assert probes
    kit = Kit(torch)
    x = torch.ones((len(probes), *analysis.graph.input_shape), dtype=torch.float32, requires_grad=True)
    outs = twin_forward(kit, analysis, Twin(x), max(i for i, _ in probes))
    loss: Any = 0
    for b, (i, pos) in enumerate(probes):
        loss = loss + outs[i].t[(b, slice(None), *pos)].sum()
    loss.backward()
    support = x.grad.abs().sum(dim=1) > 0
    bad = []
    for b, (i, pos) in enumerate(probes):
        frame = states[i]
        assert isinstance(frame, Frame)
        derived = frame.classes[frame.chan[0]].unit(pos)
        spatial = len(pos)
        got = []
        for j in range(spatial):
            line = support[b].any(dim=tuple(k for k in range(spatial) if k != j)) if spatial > 1 else support[b]
            where = line.nonzero().flatten().tolist()
            got.append((where[0], where[-1]) if where else None)
        want = list(derived) if derived is not None else [None] * spatial
        if got != want:
            bad.append(f"{analysis.layers[i].node.name} unit {list(pos)}: derived {want}, gradient {got}")
    return bad


@st.composite
def resampling(draw: st.DrawFn, n: int, linear: bool = True) -> dict[str, Any]:
    layer: dict[str, Any] = {"type": "Upsample"}
    if linear:  # bicubic too, whose gradient torch computes without FMA
        layer["mode"] = draw(st.sampled_from([_MODES[n], "bicubic"])) if n == 2 else _MODES[n]
        layer["align_corners"] = draw(st.booleans())
    else:
        layer["mode"] = draw(st.sampled_from(["nearest", "nearest-exact"]))
    if draw(st.booleans()):
        layer["size"] = [draw(st.integers(1, 24 if n == 1 else 12 if n == 2 else 7)) for _ in range(n)]
    else:
        factors = st.sampled_from([0.5, 0.7, 1.5, 2, 2.5, 3, 1 / 3, 4 / 3, 15 / 11, 0.9])
        layer["scale_factor"] = [draw(factors) for _ in range(n)] if draw(st.booleans()) else draw(factors)
        layer["recompute_scale_factor"] = draw(st.sampled_from([None, True, False]))
    return layer


@st.composite
def window(draw: st.DrawFn, n: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["conv", "maxpool", "avgpool"]))
    k = draw(st.integers(1, 4))
    if kind == "conv":
        return {"type": f"Conv{n}d", "out_channels": 1, "kernel_size": k, "stride": draw(st.integers(1, 3)),
                "padding": draw(st.integers(0, 2)), "dilation": draw(st.integers(1, 3))}  # fmt: skip
    layer = {"type": f"{'Max' if kind == 'maxpool' else 'Avg'}Pool{n}d", "kernel_size": k,
             "stride": draw(st.integers(1, 3)), "padding": draw(st.integers(0, k // 2)), "ceil_mode": draw(st.booleans())}  # fmt: skip
    if kind == "maxpool":
        layer["dilation"] = draw(st.integers(1, 2))
    else:
        layer["count_include_pad"] = draw(st.booleans())
    return layer


@st.composite
def network(draw: st.DrawFn, linear: bool = True) -> tuple[list[dict[str, Any]], list[int]]:
    n = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 41 if n == 1 else 12 if n == 2 else 6)) for _ in range(n)]
    layers = []
    for _ in range(draw(st.integers(1, 2))):
        layers.append(draw(resampling(n, linear)))
        layers.extend(draw(st.lists(window(n), min_size=0, max_size=3)))
    return layers, [1, *sizes]


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network())
def test_linear_resampling_then_windows_match_input_gradients(net: tuple[list[dict[str, Any]], list[int]]) -> None:
    bad = mismatches(*net)
    assume(bad is not None)  # torch refuses the network: nothing to compare
    assert not bad, bad[:5]


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network(linear=False))
def test_nearest_resampling_then_windows_match_input_gradients(net: tuple[list[dict[str, Any]], list[int]]) -> None:
    bad = mismatches(*net)
    assume(bad is not None)  # torch refuses the network: nothing to compare
    assert not bad, bad[:5]


@pytest.mark.parametrize("layers, input_shape", [
    # the case: unit 1 of the upsampled 123 reads input 1 with a weight of 1.5e-8
    ([{"type": "Upsample", "scale_factor": 3, "mode": "linear"},
      {"type": "AvgPool1d", "kernel_size": 2, "ceil_mode": True, "count_include_pad": False}], [2, 41]),
    ([{"type": "Upsample", "scale_factor": 2.5, "mode": "bilinear", "align_corners": False},
      {"type": "Conv2d", "out_channels": 1, "kernel_size": 1, "dilation": 3}], [1, 7, 9]),
    # a bilinear resampling to a size, a dilated 1×1 convolution, then a residual block
    ([{"type": "Upsample", "size": [23, 5], "mode": "bilinear", "align_corners": False},
      {"type": "Conv2d", "out_channels": 2, "kernel_size": 1, "dilation": 3, "id": "d"},
      {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1}, {"type": "ReLU"},
      {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1, "id": "c2"},
      {"type": "Add", "from": ["c2", "d"]}], [1, 7, 9]),
    ([{"type": "Upsample", "scale_factor": [3, 1.5, 2.5], "mode": "trilinear"},
      {"type": "MaxPool3d", "kernel_size": 2, "ceil_mode": True}], [1, 3, 4, 5]),
])  # fmt: skip
def test_border_taps_of_linear_resampling(layers: list[dict[str, Any]], input_shape: list[int]) -> None:
    assert mismatches(layers, input_shape) == []
    report = shapes(load("resample.yaml", arch_text(layers, input_shape)), device="cpu")
    assert report.verified and report.rf_probes > 0 and not report.rf_checks and report.ok


def test_the_self_check_probes_the_far_border() -> None:
    """The verification's own probes include the last unit (the centre and unit 0 missed the far border)."""
    layers = [{"type": "Upsample", "scale_factor": 3, "mode": "linear"}]
    report = shapes(load("resample.yaml", arch_text(layers, [1, 41])), verify=False)
    _, probes, _ = check(report.defaults, report.rf)
    assert probes == 3  # units 0, 61 and 122 of the 123


@pytest.mark.parametrize("capability", ["default", "avx2"])
def test_torch_built_without_fma_agrees_too(tmp_path: Any, capability: str) -> None:
    """torch's baseline CPU kernels round the product first (no FMA): the derivation follows the capability."""
    import subprocess
    import sys

    from cnncalc.layers.window import fused_multiply_add

    if capability == "avx2" and not fused_multiply_add():
        pytest.skip("this CPU has no AVX2 and FMA: torch runs its baseline kernels")
    layers = [{"type": "Upsample", "scale_factor": 3, "mode": "linear"},
              {"type": "AvgPool1d", "kernel_size": 2, "ceil_mode": True, "count_include_pad": False}]  # fmt: skip
    path = tmp_path / "up.yaml"
    path.write_text(arch_text(layers, [2, 41]))
    env = {**os.environ, "ATEN_CPU_CAPABILITY": capability}
    run = subprocess.run([sys.executable, "-m", "cnncalc", "rf", str(path)], env=env,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr
    row = next(line for line in run.stdout.splitlines() if "avgpool1d_1" in line)
    assert ("[0, 1]" if capability == "avx2" else "[0, 0]") in row  # unit 1 of the 123 reads input 1, or not
