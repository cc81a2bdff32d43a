"""Receptive fields and compute cost: reference values, torch's FlopCounterMode, and input gradients.

Every verified run already compares derived regions with input-gradient supports
(verify/receptive.py); these tests pin published values and the edge cases.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from cnncalc.analysis.receptive import region
from cnncalc.pipeline import load, shapes
from cnncalc.verify.network import Network
from cnncalc.verify.receptive import check

from .helpers import arch_text


def rf_of(report: Any, name: str, dim: int = 0) -> tuple[Any, Any, Any]:
    i = next(k for k, r in enumerate(report.main.layers) if r.node.name == name)
    d = report.rf.layers[i].dims[dim]
    return d.size, d.stride, d.padding


def test_vgg16_pool5_matches_distill() -> None:
    report = shapes("examples/vgg16.yaml", verify=False)
    assert rf_of(report, "block5.pool") == (212, 32, 90)  # Araujo et al., Distill 2019, table


def test_alexnet_with_the_papers_geometry_matches_distill() -> None:
    # Distill's AlexNet (v2) has no padding in conv1: r = 195, S = 32, P = 64 at pool5.
    layers = [{"type": "Conv2d", "out_channels": 64, "kernel_size": 11, "stride": 4, "id": "conv1"},
              {"type": "MaxPool2d", "kernel_size": 3, "stride": 2},
              {"type": "Conv2d", "out_channels": 192, "kernel_size": 5, "padding": 2},
              {"type": "MaxPool2d", "kernel_size": 3, "stride": 2},
              {"type": "Conv2d", "out_channels": 384, "kernel_size": 3, "padding": 1},
              {"type": "Conv2d", "out_channels": 384, "kernel_size": 3, "padding": 1},
              {"type": "Conv2d", "out_channels": 256, "kernel_size": 3, "padding": 1},
              {"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "id": "pool5"}]  # fmt: skip
    report = shapes(load("alexnet_v2.yaml", arch_text(layers, [3, 224, 224])), verify=False)
    assert rf_of(report, "pool5") == (195, 32, 64)
    # torchvision's AlexNet pads conv1 by 2, which shifts P by 2.
    assert rf_of(shapes("examples/alexnet.yaml", verify=False), "pool5") == (195, 32, 66)


def test_resnet18_and_course_f() -> None:
    assert rf_of(shapes("examples/resnet18.yaml", verify=False), "layer4.basicblock_1.relu2") == (435, 32, 217)
    f = shapes("examples/course/f_two_convs_symbolic.yaml", verify=False)
    assert rf_of(f, "Z2") == (7, 1, 0)  # "receptive field of a unit in Z2": 7x7


def test_resnet50_macs_match_torchvision() -> None:
    report = shapes("examples/resnet50.yaml", verify=False)
    assert report.cost.total_macs == 4_089_184_256  # torchvision publishes 4.09 "GFLOPS", which are MACs


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "resnet18", "unet", "course/d_keras_cifar"])
def test_conv_and_linear_macs_match_flop_counter(name: str) -> None:
    report = shapes(f"examples/{name}.yaml", verify=False)
    analysis = report.defaults
    net = Network(
        [r.node.layer.build(r.args, torch.nn) for r in analysis.layers], [r.node.inputs for r in analysis.layers]
    )
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net.eval()(torch.zeros(1, *analysis.graph.input_shape))
    assert counter.get_total_flops() == 2 * report.cost_at_defaults.total_macs


def test_unaligned_merge_is_reported() -> None:
    layers = [{"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1, "id": "centred"},
              {"type": "ZeroPad2d", "padding": [2, 0, 2, 0], "from": "input", "id": "shifted_pad"},
              {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "id": "shifted"},
              {"type": "Add", "from": ["centred", "shifted"]}]  # fmt: skip
    report = shapes(load("t.yaml", arch_text(layers, [1, 8, 8])), device="cpu")
    assert report.verified
    assert report.rf.warnings == (
        "receptive fields of 'centred' and 'shifted' are not aligned in spatial dim 0 (stride, centre offset (1, 0) vs "
        "(1, -1))",
        "receptive fields of 'centred' and 'shifted' are not aligned in spatial dim 1 (stride, centre offset (1, 0) vs "
        "(1, -1))",
    )


def test_conv_transpose_rf_varies_with_position() -> None:
    # k=3, s=2: outputs alternately receive 1 and 2 input units; r is the maximum, min_size the minimum.
    layers = [{"type": "ConvTranspose1d", "out_channels": 1, "kernel_size": 3, "stride": 2, "padding": 1, "id": "up"}]
    report = shapes(load("t.yaml", arch_text(layers, [1, 6])), device="cpu")
    dim = report.rf.layers[0].dims[0]
    assert (dim.size, dim.min_size, dim.stride, dim.closed_form) == (
        2,
        1,
        __import__("fractions").Fraction(1, 2),
        False,
    )
    assert [region(report.defaults, 0, {0: (u, u)})[0] for u in range(4)] == [(0, 0), (0, 1), (1, 1), (1, 2)]
    assert report.verified


def test_flatten_then_linear_sees_what_its_input_covers() -> None:
    report = shapes("examples/course/d_keras_cifar.yaml", device="cpu")
    assert report.verified
    last = report.rf.layers[-1]
    assert last.is_global and [d.size for d in last.dims] == [28, 28]  # pool 11 -> 3 drops the last rows


@st.composite
def chain(draw: st.DrawFn) -> list[dict[str, Any]]:
    layers = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv", "dilated", "maxpool", "avgpool"]))
        k = draw(st.integers(1, 4))
        if kind in ("conv", "dilated"):
            layers.append({"type": "Conv2d", "out_channels": 2, "kernel_size": k, "stride": draw(st.integers(1, 2)),
                           "padding": draw(st.integers(0, 2)), "dilation": 1 if kind == "conv" else draw(st.integers(2, 3))})  # fmt: skip
        else:
            layers.append({"type": "MaxPool2d" if kind == "maxpool" else "AvgPool2d", "kernel_size": k,
                           "stride": draw(st.integers(1, 3)), "padding": draw(st.integers(0, k // 2)),
                           "ceil_mode": draw(st.booleans())})  # fmt: skip
    return layers


@pytest.mark.slow
@given(chain(), st.integers(12, 40))
def test_random_chains_match_input_gradients(layers: list[dict[str, Any]], size: int) -> None:
    from cnncalc.errors import CnnCalcError

    try:
        report = shapes(load("chain.yaml", arch_text(layers, [1, size, size])), verify=False)
    except CnnCalcError:
        return
    mismatches, probes, _ = check(report.defaults, report.rf, max_nodes=10)
    assert probes > 0 and not mismatches, [m.message() for m in mismatches]
    for d in report.rf.layers[-1].dims:  # closed form for these chains: centre unit region is [uS - P, uS - P + r - 1]
        assert d.closed_form


def test_rf_larger_than_the_input_is_said(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from cnncalc.cli import main

    layers = [{"type": "Conv2d", "out_channels": 2, "kernel_size": 5, "padding": 2, "id": "a"},
              {"type": "Conv2d", "out_channels": 2, "kernel_size": 5, "padding": 2, "id": "b"}]  # fmt: skip
    path = tmp_path / "net.yaml"
    path.write_text(arch_text(layers, [1, 8, 8]))
    result = CliRunner().invoke(main, ["rf", str(path), "--width", "140"])
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if line.startswith("│ b "))
    assert "9 > input" in row and "[0, 4] × [0, 4]" in row
