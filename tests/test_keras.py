"""Keras layer names and conventions against torch built independently here, and published Keras totals."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.pipeline import load
from cnncalc.pipeline import shapes as _shapes

from .helpers import arch_text

KERAS_TESTED = {f"{k}{n}D" for k in ("Conv", "MaxPooling", "AveragePooling", "GlobalAveragePooling", "GlobalMaxPooling")
                for n in (1, 2, 3)} | {"Dense", "BatchNormalization", "Activation"} | {f"ZeroPadding{n}D" for n in (1, 2, 3)}  # fmt: skip


def _tf_same(i: int, k: int, s: int, d: int) -> tuple[int, int]:
    """The reference file's rule: o = ceil(i/s), total max((o-1)s + k_eff - i, 0), the extra after."""
    o = math.ceil(i / s)
    total = max((o - 1) * s + d * (k - 1) + 1 - i, 0)
    return total // 2, total - total // 2


def shapes(source: str, **kw: Any) -> Any:
    """cnncalc's report for a file path or YAML text."""
    return _shapes(load("t.yaml", source) if "\n" in source else source, **kw)


def _derive(layers: list[Any], shape: list[int]) -> Any:
    return shapes(arch_text(layers, shape), verify=False).main


@pytest.mark.slow
@given(st.sampled_from([1, 2, 3]), st.sampled_from(["Conv", "MaxPooling", "AveragePooling"]), st.data())
def test_keras_window_layers_match_torch_with_tf_padding(n: int, kind: str, data: st.DataObject) -> None:
    spatial = data.draw(st.lists(st.integers(1, 9), min_size=n, max_size=n))
    k = data.draw(st.integers(1, 4))
    s = data.draw(st.integers(1, 3))
    d = data.draw(st.integers(1, 2)) if kind == "Conv" else 1
    padding = data.draw(st.sampled_from(["same", "valid"]))
    if kind == "Conv":
        layer = {"type": f"Conv{n}D", "filters": 3, "kernel_size": k, "strides": s, "dilation_rate": d,
                 "padding": padding, "activation": "relu"}  # fmt: skip
    else:
        layer = {"type": f"{kind}{n}D", "pool_size": k, "strides": s, "padding": padding}
    x = torch.randn(2, 2, *spatial)
    pads = [_tf_same(i, k, s, d) if padding == "same" else (0, 0) for i in spatial]
    xp = F.pad(x, [v for lo, hi in reversed(pads) for v in (lo, hi)])
    try:
        if kind == "Conv":
            ref = getattr(torch.nn, f"Conv{n}d")(2, 3, k, s, 0, d)
            want: Any = (tuple(ref(xp).shape[1:]), sum(p.numel() for p in ref.parameters()))
        else:
            ref = getattr(torch.nn, f"{'Max' if kind == 'MaxPooling' else 'Avg'}Pool{n}d")(k, s)
            want = (tuple(ref(xp).shape[1:]), 0)
    except RuntimeError:
        want = None
    if padding == "same" and want is not None:
        assert want[0][1:] == tuple(math.ceil(i / s) for i in spatial)
    try:
        a = shapes(arch_text([layer], [2, *spatial]), verify=True)
    except Exception:
        assert want is None, f"{layer} on {spatial}: cnncalc refused, torch gives {want}"
        return
    assert want == (a.main.layers[0].shape, a.main.layers[0].params), layer
    assert a.ok


@given(st.sampled_from([1, 2, 3]), st.data())
def test_keras_zero_padding_matches_torch(n: int, data: st.DataObject) -> None:
    """ZeroPaddingND: one size for all dims, or one per dim (d, h, w) on both sides, as Keras takes it."""
    spatial = data.draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    per_dim = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    padding: Any = per_dim if data.draw(st.booleans()) else per_dim[0]
    pads = per_dim if isinstance(padding, list) else [padding] * n
    want = tuple(F.pad(torch.zeros(1, 2, *spatial), [v for p in reversed(pads) for v in (p, p)]).shape[1:])
    a = shapes(arch_text([{"type": f"ZeroPadding{n}D", "padding": padding}], [2, *spatial]), verify=True)
    assert a.main.layers[0].shape == want and a.ok


def test_trap4_keras_same_stride_2_on_7_gives_4_with_pads_1_2() -> None:
    a = _derive([{"type": "Conv2D", "filters": 1, "kernel_size": 4, "strides": 2, "padding": "same"}], [1, 7, 7])
    assert a.layers[0].shape == (1, 4, 4)
    assert _tf_same(7, 4, 2, 1) == (1, 2)
    # no symmetric torch padding gives 4 with the same windows: p=1 gives 3
    assert torch.nn.Conv2d(1, 1, 4, 2, 1)(torch.zeros(1, 1, 7, 7)).shape[-1] == 3


def test_torch_names_take_keras_same_under_the_keras_convention() -> None:
    text = arch_text([{"type": "Conv2d", "out_channels": 4, "kernel_size": 4, "stride": 2, "padding": "same"}],
                     [7, 7, 1])  # fmt: skip
    r = shapes(text, convention="keras")  # (H, W, C) as Keras writes it; cnncalc computes channels first
    assert r.main.layers[0].shape == (4, 4, 4) and r.ok


def test_dense_batchnorm_global_pool_activation() -> None:
    layers = [{"type": "Conv2D", "filters": 8, "kernel_size": 3}, "BatchNormalization",
              {"type": "Activation", "activation": "relu"}, "GlobalAveragePooling2D",
              {"type": "Dense", "units": 5, "activation": "softmax"}, "BatchNormalization"]  # fmt: skip
    text = arch_text(layers, [9, 9, 3]).replace("name: t", "name: t\nconvention: keras")
    r = shapes(text)
    assert r.ok
    counts = [(x.shape, x.params, x.frozen) for x in r.main.layers]
    assert counts == [((8, 7, 7), 224, 0), ((8, 7, 7), 32, 16), ((8, 7, 7), 0, 0), ((8,), 0, 0), ((5,), 45, 0),
                      ((5,), 20, 10)]  # fmt: skip
    torch_view = shapes(arch_text(layers, [3, 9, 9]), convention="torch").main
    assert [x.params for x in torch_view.layers] == [224, 16, 0, 0, 45, 10]
    g = shapes(arch_text([{"type": "Conv1D", "filters": 2, "kernel_size": 1}, "GlobalMaxPooling1D"], [3, 5])).main
    assert g.output_shape == (2,)


def test_trap7_batchnorm_keras_counts_4c() -> None:
    text = arch_text(["BatchNorm2d"], [64, 4, 4])
    torch_counts = shapes(text, verify=False).main.layers[0]
    keras_counts = shapes(arch_text(["BatchNorm2d"], [4, 4, 64]), verify=False, convention="keras").main
    assert (torch_counts.params, torch_counts.buffers) == (128, 129)
    assert (keras_counts.total_params, keras_counts.trainable_params, keras_counts.total_buffers) == (256, 128, 0)


def test_keras_resnet20_reproduces_keras_summary() -> None:
    r = shapes("examples/keras/resnet20_cifar.yaml")
    assert r.ok
    m = r.main
    assert (m.total_params, m.trainable_params, m.total_params - m.trainable_params) == (274_442, 273_066, 1_376)


def test_keras_happy_house_model_reproduces_keras_summary() -> None:
    """deeplearning.ai's Keras 'Happy House' model: Total 37,633; Trainable 37,569; Non-trainable 64."""
    r = shapes("examples/keras/happy_house.yaml")
    assert r.ok
    m = r.main
    assert (m.total_params, m.trainable_params) == (37_633, 37_569)
