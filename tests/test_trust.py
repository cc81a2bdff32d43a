"""The classes an independent differential fuzzer found (issue 11), one minimal case each.

Every case is checked three ways: cnncalc's own verification (shapes, counts, and receptive fields by
input gradients through the layers' twins) must pass; the receptive field cnncalc reports must hold
against an independent torch computation built here from the real ``torch.nn`` modules; and the
numbers the fuzzer quoted are pinned where it quoted them.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from click.testing import CliRunner

from cnncalc.analysis.receptive import region
from cnncalc.cli import main
from cnncalc.pipeline import load, shapes

from . import reference
from .helpers import arch_text


def verified(layers: list[dict[str, Any]], shape: list[Any], symbols: dict[str, Any] | None = None) -> Any:
    report = shapes(load("net.yaml", arch_text(layers, shape, symbols)), device="cpu")
    assert report.ok, [m.message() for m in report.mismatches]
    assert report.rf_probes > 0
    return report


def supports(layers: list[dict[str, Any]], shape: list[int], name: str, index: tuple[int, ...] | None,
             element: bool = False) -> list[tuple[int, int] | None]:  # fmt: skip
    """Per spatial dim, the hull of the input-gradient support of one unit of layer ``name``, from the real torch
    modules (tests/reference.py builds them from the tensor that arrives), positive weights and inputs; max pooling
    keeps its real gradient (the argmax), so this is a subset of the true receptive field."""
    x = (torch.rand(1, *shape) + 0.5).requires_grad_(True)
    outs = reference.forward(layers, x, positive=True)
    y = outs[name][0]
    picked = y.reshape(-1)[index[0]] if element else y[(slice(None), *index)].sum()  # type: ignore[index]
    picked.backward()
    grad = x.grad.abs().sum(dim=1)[0] > 0
    spatial = len(shape) - 1
    out = []
    for j in range(spatial):
        other = tuple(k for k in range(spatial) if k != j)
        line = grad.any(dim=other) if other else grad
        idx = line.nonzero().flatten().tolist()
        out.append((idx[0], idx[-1]) if idx else None)
    return out


def derived(report: Any, name: str, index: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    i = next(k for k, r in enumerate(report.defaults.layers) if r.node.name == name)
    state = report.rf.maps[i]
    if type(state).__name__ == "Frame":
        return region(report.defaults, i, {j: (u, u) for j, u in enumerate(index)}, report.rf)
    return region(report.defaults, i, {0: (index[0], index[0])}, report.rf)


def contained(got: list[tuple[int, int] | None], want: dict[int, tuple[int, int]]) -> bool:
    return all(g is None or (want[j][0] <= g[0] and g[1] <= want[j][1]) for j, g in enumerate(got))


def layer_rf(report: Any, name: str) -> Any:
    i = next(k for k, r in enumerate(report.main.layers) if r.node.name == name)
    return report.rf.layers[i]


# -- Flatten and what follows it is not global


def test_flatten_from_dim_2_keeps_each_elements_region() -> None:
    layers = [
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "id": "c"},
        {"type": "Flatten", "start_dim": 2, "id": "f"},
    ]
    report = verified(layers, [3, 8, 8])
    rf = layer_rf(report, "f")
    assert not rf.is_global and [d.size for d in rf.dims] == [3, 3]
    for e in (0, 17, 71):
        got = supports(layers, [3, 8, 8], "f", (e,), element=True)
        assert contained(got, derived(report, "f", (e,)))


def test_conv_pool_flatten_as_the_last_layer() -> None:
    layers = [{"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "id": "c"},
              {"type": "MaxPool2d", "kernel_size": 2, "id": "p"}, {"type": "Flatten", "id": "f"}]  # fmt: skip
    report = verified(layers, [1, 8, 8])
    assert [d.size for d in layer_rf(report, "f").dims] == [4, 4] and not layer_rf(report, "f").is_global


def test_rank_1_layers_after_flatten_keep_the_region_until_a_layer_mixes_them() -> None:
    layers = [{"type": "Conv1d", "out_channels": 2, "kernel_size": 3, "id": "c"}, {"type": "Flatten", "id": "f"},
              {"type": "ReLU", "id": "r"}, {"type": "Dropout", "id": "d"}, {"type": "BatchNorm1d", "id": "bn"},
              {"type": "Linear", "out_features": 3, "id": "fc"}]  # fmt: skip
    report = verified(layers, [1, 10])
    for name in ("f", "r", "d", "bn"):
        assert [d.size for d in layer_rf(report, name).dims] == [3] and not layer_rf(report, name).is_global
    fc = layer_rf(report, "fc")
    assert fc.is_global and [d.size for d in fc.dims] == [10]


def test_unflatten_back_into_space_after_a_conv_and_flatten() -> None:
    layers = [{"type": "Conv1d", "out_channels": 6, "kernel_size": 3, "padding": 1, "id": "c"}, {"type": "Flatten", "id": "f"},
              {"type": "Unflatten", "dim": 1, "unflattened_size": [6, 8], "id": "u"},
              {"type": "Conv1d", "out_channels": 2, "kernel_size": 3, "padding": 1, "id": "c2"}]  # fmt: skip
    report = verified(layers, [2, 8])
    rf = layer_rf(report, "c2")
    assert rf.dims[0].closed_form is False or rf.dims[0].size == 5
    got = supports(layers, [2, 8], "c2", (4,))
    assert contained(got, derived(report, "c2", (4,)))


# -- merges, softmax, global pooling


@pytest.mark.parametrize("dim", [2, -1])
def test_concat_along_a_spatial_dim(dim: int) -> None:
    layers = [{"type": "Conv1d", "out_channels": 2, "kernel_size": 3, "padding": 1, "id": "a"},
              {"type": "Conv1d", "out_channels": 2, "kernel_size": 5, "padding": 2, "from": "input", "id": "b"},
              {"type": "Concat", "dim": dim, "from": ["a", "b"], "id": "m"}]  # fmt: skip
    report = verified(layers, [1, 9])
    rf = layer_rf(report, "m")
    assert not rf.is_global and rf.dims[0].size == 5
    for u in (0, 4, 9, 13):
        assert contained(supports(layers, [1, 9], "m", (u,)), derived(report, "m", (u,)))


@pytest.mark.parametrize("dim", [2, 3, -1])
def test_softmax_over_a_spatial_dim(dim: int) -> None:
    layers = [
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "id": "c"},
        {"type": "Softmax", "dim": dim, "id": "s"},
    ]
    report = verified(layers, [1, 7, 9])
    rf = layer_rf(report, "s")
    along = (dim % 4) - 2
    assert rf.dims[along].is_global and not rf.dims[1 - along].is_global


@pytest.mark.parametrize("n", [1, 2, 3])
def test_keras_global_max_pooling_and_the_layers_after_it(n: int) -> None:
    shape = [2, *([6] * n)]
    layers = [{"type": f"Conv{n}D", "filters": 3, "kernel_size": 3, "id": "c"},
              {"type": f"GlobalMaxPooling{n}D", "id": "g"}, {"type": "Dense", "units": 4, "id": "d"}]  # fmt: skip
    report = verified(layers, shape)
    assert layer_rf(report, "g").is_global and layer_rf(report, "d").is_global


def test_batchnorm_without_running_stats_mixes_positions_and_samples(tmp_path: Any) -> None:
    layers = [{"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "id": "c"},
              {"type": "BatchNorm2d", "track_running_stats": False, "id": "bn"}]  # fmt: skip
    report = verified(layers, [1, 8, 8])
    assert layer_rf(report, "bn").is_global
    path = tmp_path / "net.yaml"
    path.write_text(arch_text(layers, [1, 8, 8]))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert "sample independence" in result.stdout and "track_running_stats: false" in result.stdout


# -- fractional strides, holes, zero-weight taps


def test_no_unit_sees_more_than_size_after_resampling() -> None:
    # Upsample(size 14) on 34, then Conv1d(k4, s3, p2), then two Conv1d(k3): the centre unit sees 32 inputs.
    layers = [{"type": "Upsample", "size": 14, "id": "up"},
              {"type": "Conv1d", "out_channels": 2, "kernel_size": 4, "stride": 3, "padding": 2, "id": "c1"},
              {"type": "Conv1d", "out_channels": 2, "kernel_size": 3, "id": "c2"},
              {"type": "Conv1d", "out_channels": 2, "kernel_size": 3, "id": "c3"}]  # fmt: skip
    report = verified(layers, [1, 34])
    size = layer_rf(report, "c3").dims[0].size
    n = report.defaults.layers[-1].shape[1]
    for u in range(n):
        (hull,) = supports(layers, [1, 34], "c3", (u,))
        assert hull is None or hull[1] - hull[0] + 1 <= size
    (centre,) = supports(layers, [1, 34], "c3", (n // 2,))
    assert centre is not None and centre[1] - centre[0] + 1 == 32 <= size


def test_a_global_region_after_padding_is_not_size_zero() -> None:
    layers = [{"type": "GroupNorm", "num_groups": 1, "id": "g"}, {"type": "ZeroPad1d", "padding": 2, "id": "p"}]
    report = verified(layers, [2, 35])
    rf = layer_rf(report, "p")
    assert rf.dims[0].is_global and rf.dims[0].size == 35


def test_transposed_convolution_holes_after_a_global_layer() -> None:
    layers = [{"type": "GroupNorm", "num_groups": 1, "id": "g"},
              {"type": "ConvTranspose1d", "out_channels": 2, "kernel_size": 1, "stride": 2, "id": "t"}]  # fmt: skip
    report = verified(layers, [2, 9])
    assert layer_rf(report, "t").dims[0].size == 9


@pytest.mark.parametrize("mode", ["linear", "nearest", "nearest-exact"])
def test_interpolation_then_pooling_counts_only_taps_with_weight(mode: str) -> None:
    layers = [{"type": "Upsample", "scale_factor": 2, "mode": mode, "id": "up"},
              {"type": "AvgPool1d", "kernel_size": 2, "id": "pool"}]  # fmt: skip
    report = verified(layers, [1, 9])
    for u in range(report.defaults.layers[-1].shape[1]):
        got = supports(layers, [1, 9], "pool", (u,))
        assert got == [derived(report, "pool", (u,))[0]] or got == [None]


# -- channel-dependent layers inside the check


@pytest.mark.parametrize("r", [2, 3])
def test_sub_pixel_convolution(r: int) -> None:
    layers = [{"type": "Conv2d", "out_channels": 4 * r * r, "kernel_size": 3, "padding": 1, "id": "c"},
              {"type": "PixelShuffle", "upscale_factor": r, "id": "ps"}]  # fmt: skip
    report = verified(layers, [1, 6, 6])
    assert [d.size for d in layer_rf(report, "ps").dims] == [3, 3]


def test_linear_on_a_3d_input_acts_on_the_last_dim() -> None:
    layers = [{"type": "Linear", "out_features": 5, "id": "fc"}]
    report = verified(layers, [3, 8, 8])
    rf = layer_rf(report, "fc")
    assert not rf.dims[0].is_global and rf.dims[0].size == 1 and rf.dims[1].is_global


def test_lppool_norm_type_zero_is_refused_as_torch_refuses_it(tmp_path: Any) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(arch_text([{"type": "LPPool1d", "norm_type": 0, "kernel_size": 2}], [1, 8]))
    result = CliRunner().invoke(main, ["shapes", str(path)])
    assert result.exit_code == 2 and "norm_type 0 is not allowed" in result.stderr
    with pytest.raises(ZeroDivisionError):
        torch.nn.LPPool1d(0, 2)(torch.ones(1, 1, 8))


@pytest.mark.parametrize("value", ["1e-5", "1E-3", "2.5e-4", "+1e-2", "3e0"])
def test_floats_in_scientific_notation(value: str) -> None:
    text = f"cnncalc: 1\ninput: [3, 8, 8]\nlayers:\n  - {{type: BatchNorm2d, eps: {value}}}\n"
    report = shapes(load("net.yaml", text), device="cpu")
    assert report.ok and report.main.layers[0].args["eps"] == float(value)


@pytest.mark.parametrize("kind", ["MaxPooling", "AveragePooling"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_keras_pooling_defaults_to_2(kind: str, n: int) -> None:
    report = verified([{"type": f"{kind}{n}D", "id": "p"}], [2, *([8] * n)])
    assert report.main.layers[0].shape == (2, *([4] * n))


def test_every_catalogue_type_states_its_geometry_and_has_a_twin() -> None:
    """Each type owns its receptive-field geometry (window, channel rule) and its twin for the gradient check;
    none falls through to a guess."""
    from cnncalc.layers import CATALOGUE, LayerType

    missing = [name for name, t in CATALOGUE.items() if type(t).twin is LayerType.twin]
    assert missing == []


def test_a_layer_without_a_twin_is_said_and_not_checked_not_a_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    from cnncalc.layers import CATALOGUE, LayerType

    monkeypatch.setattr(type(CATALOGUE["Tanh"]), "twin", LayerType.twin)
    layers = [{"type": "Conv1d", "out_channels": 2, "kernel_size": 3, "id": "c"}, {"type": "Tanh", "id": "t"},
              {"type": "Conv1d", "out_channels": 2, "kernel_size": 3, "id": "c2"}]  # fmt: skip
    report = shapes(load("net.yaml", arch_text(layers, [1, 12])), device="cpu")
    assert report.ok and report.rf is not None
    assert any("'t' (Tanh) on are not checked" in n for n in report.rf.notes)
