"""Random symbolic networks through the whole pipeline.

For each generated file, cnncalc derives symbolic shapes, solves the validity
conditions, then checks the symbolic results against the concrete rule and
against a torch forward pass at the default sizes and two other valid sizes.
Either all of that agrees, or cnncalc rejects the file with a located error.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.errors import CnnCalcError
from cnncalc.pipeline import load, shapes

from .helpers import arch_text


@st.composite
def spatial_layer(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["conv", "pool", "avg", "convt", "pad", "up", "act"]))
    if kind == "conv":
        return {
            "type": "Conv2d",
            "out_channels": draw(st.integers(1, 4)),
            "kernel_size": draw(st.integers(1, 5)),
            "stride": draw(st.integers(1, 3)),
            "padding": draw(st.integers(0, 2)),
            "dilation": draw(st.integers(1, 2)),
        }
    if kind in ("pool", "avg"):
        k = draw(st.integers(1, 4))
        return {
            "type": "MaxPool2d" if kind == "pool" else "AvgPool2d",
            "kernel_size": k,
            "stride": draw(st.integers(1, 3)),
            "padding": draw(st.integers(0, k // 2)),
            "ceil_mode": draw(st.booleans()),
        }
    if kind == "convt":
        s = draw(st.integers(1, 3))
        return {
            "type": "ConvTranspose2d",
            "out_channels": draw(st.integers(1, 4)),
            "kernel_size": draw(st.integers(1, 4)),
            "stride": s,
            "padding": draw(st.integers(0, 1)),
            "output_padding": draw(st.integers(0, s - 1)),
        }
    if kind == "pad":
        return {"type": "ZeroPad2d", "padding": draw(st.lists(st.integers(0, 2), min_size=4, max_size=4))}
    if kind == "up":
        return {"type": "Upsample", "scale_factor": draw(st.sampled_from([2, 3]))}
    return {"type": draw(st.sampled_from(["ReLU", "BatchNorm2d", "Identity"]))}


@pytest.mark.slow
@given(st.lists(spatial_layer(), min_size=1, max_size=6), st.integers(8, 40), st.integers(8, 40))
def test_symbolic_chains_agree_with_torch(layers: list[dict[str, Any]], h: int, w: int) -> None:
    text = arch_text(layers, [2, "H", "W"], {"H": h, "W": w})
    try:
        report = shapes(load("chain.yaml", text), device="cpu")
    except CnnCalcError as e:
        assert e.loc is not None  # a clean, located rejection
        return
    assert report.ok, [m.message() for m in report.mismatches] + report.expect_failures
    assert len(report.checks) >= 2


@pytest.mark.slow
@given(
    st.lists(spatial_layer(), min_size=1, max_size=3),
    st.lists(spatial_layer(), min_size=1, max_size=3),
    st.sampled_from(["Add", "Concat"]),
    st.integers(6, 30),
)
def test_symbolic_graphs_with_merges(
    left: list[dict[str, Any]], right: list[dict[str, Any]], merge: str, h: int
) -> None:
    # Two branches from the input, merged: their sizes must agree, which gives periodic conditions on H.
    layers = [
        {**left[0], "from": "input"},
        *left[1:],
        {"type": "Identity", "id": "a"},
        {**right[0], "from": "input"},
        *right[1:],
        {"type": "Identity", "id": "b"},
        {"type": merge, "from": ["a", "b"]},
    ]
    if merge == "Add":  # channel counts must match for Add; project both to 3
        layers.insert(
            layers.index({"type": "Identity", "id": "a"}), {"type": "Conv2d", "out_channels": 3, "kernel_size": 1}
        )
        layers.insert(
            layers.index({"type": "Identity", "id": "b"}), {"type": "Conv2d", "out_channels": 3, "kernel_size": 1}
        )
    text = arch_text(layers, [2, "H", "H"], {"H": h})
    try:
        report = shapes(load("graph.yaml", text), device="cpu")
    except CnnCalcError as e:
        assert e.loc is not None
        return
    assert report.ok, [m.message() for m in report.mismatches]
