"""Keras layer names and conventions against torch built independently here, and published Keras totals."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.layers import in_layout
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


# ---- Keras names that map onto torch types with a conversion (layers/keras.py): Keras itself as the judge ---------

KERAS_CONVERTED = {f"Conv{n}DTranspose" for n in (1, 2, 3)} | {f"UpSampling{n}D" for n in (1, 2, 3)} | {
    f"SpatialDropout{n}D" for n in (1, 2, 3)} | {"DepthwiseConv1D", "DepthwiseConv2D", "Concatenate", "Reshape",
                                                "Rescaling", "GaussianNoise", "GaussianDropout"}  # fmt: skip
KERAS_TESTED |= KERAS_CONVERTED


def _keras_or_skip() -> Any:
    import os

    import pytest

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras runs on another backend here")
    return keras


def _draw_layer(name: str, n: int, draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Keras layer of ``name`` with arguments from Keras' docs: (cnncalc's YAML item, Keras' constructor kwargs)."""
    k = draw(st.integers(1, 4))
    s = draw(st.integers(1, 3))
    pad = draw(st.sampled_from(["valid", "same"]))
    if name.endswith("Transpose"):
        d = 1 if s > 1 else draw(st.integers(1, 2))
        kw = {"filters": draw(st.integers(1, 5)), "kernel_size": k, "strides": s, "padding": pad, "dilation_rate": d,
              "use_bias": draw(st.booleans())}  # fmt: skip
        if draw(st.booleans()) and s > 1:
            kw["output_padding"] = draw(st.integers(0, s - 1))
    elif name.startswith("DepthwiseConv"):
        kw = {"kernel_size": k, "strides": s, "padding": pad, "depth_multiplier": draw(st.integers(1, 3))}
    elif name.startswith("UpSampling"):
        kw = {"size": draw(st.integers(1, 3))}
        if n == 2:
            kw["interpolation"] = draw(st.sampled_from(["nearest", "bilinear"]))
    elif name.startswith("SpatialDropout") or name == "GaussianDropout":
        kw = {"rate": draw(st.floats(0, 0.9))}
    elif name == "GaussianNoise":
        kw = {"stddev": draw(st.floats(0, 2))}
    elif name == "Rescaling":
        kw = {"scale": draw(st.floats(-2, 2)), "offset": draw(st.floats(-1, 1))}
    else:
        kw = {}
    return {"type": name, **kw}, kw


@given(st.sampled_from(sorted(KERAS_CONVERTED - {"Concatenate", "Reshape"})), st.data())
@settings(max_examples=60, deadline=None)
def test_keras_converted_layers_match_keras(name: str, data: st.DataObject) -> None:
    """Each converted Keras name against the real Keras layer: output shape and count_params(); torch verifies."""
    keras = _keras_or_skip()
    n = int(next((c for c in name if c.isdigit()), "2"))
    spatial = data.draw(st.lists(st.integers(3, 12), min_size=n, max_size=n))
    channels = data.draw(st.integers(1, 4))
    item, kw = _draw_layer(name, n, data.draw)
    try:
        layer = getattr(keras.layers, name)(**kw)
        want = layer.compute_output_shape((None, *spatial, channels))
        layer.build((None, *spatial, channels))
    except Exception:  # Keras refuses these arguments
        return
    if any(d is not None and d < 1 for d in want[1:]):
        return
    text = arch_text([item], [*spatial, channels]).replace("name: t", "name: t\nconvention: keras")
    r = shapes(text, verify=True)
    assert r.ok, [m.text() for m in r.mismatches]
    got = r.main.layers[0]
    assert (*got.shape[1:], got.shape[0]) == tuple(want[1:]), (item, spatial)
    assert got.params == layer.count_params()


@given(st.integers(1, 3), st.data())
@settings(max_examples=40, deadline=None)
def test_keras_concatenate_and_reshape_match_keras(n: int, data: st.DataObject) -> None:
    keras = _keras_or_skip()
    spatial = data.draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    ca, cb = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    axis = data.draw(st.sampled_from([-1, *range(1, n + 1)]))
    b_shape = (
        [*spatial, cb] if axis in (-1, n + 1) else [*(d + 2 if j + 1 == axis else d for j, d in enumerate(spatial)), ca]
    )
    a = keras.Input((*spatial, ca))
    b = keras.Input(tuple(b_shape))
    cat = keras.layers.Concatenate(axis=axis)([a, b])
    target = data.draw(st.sampled_from([(-1,), (-1, int(cat.shape[-1])), (int(cat.shape[-1]), -1)]))
    out = keras.layers.Reshape(target)(cat)
    one = [*spatial, ca]
    grow = [0] * (2 * n)
    if axis not in (-1, n + 1):
        grow[2 * (n - axis) + 1] = 2  # torch's padding order: the last dim first
    layers = [{"type": "Identity", "id": "a"},
              {"type": f"Conv{n}D", "filters": b_shape[-1], "kernel_size": 1, "from": "input", "id": "conv"},
              {"type": f"ZeroPad{n}d", "padding": grow, "id": "b"},
              {"type": "Concatenate", "axis": axis, "from": ["a", "b"]},
              {"type": "Reshape", "target_shape": list(target)}]  # fmt: skip
    r = shapes(arch_text(layers, one).replace("name: t", "name: t\nconvention: keras"), verify=True)
    assert r.ok, [m.text() for m in r.mismatches]
    got = [tuple(in_layout(x.shape, True)) for x in r.main.layers[-2:]]
    assert got == [tuple(cat.shape[1:]), tuple(out.shape[1:])]


def test_keras_reshape_moves_elements_as_keras_does() -> None:
    """Keras reshapes its (..., C) order: cnncalc's module on (C, ...) tensors gives Keras' values."""
    from cnncalc.verify.opmodules import KerasReshapeModule

    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)  # torch (N, C, H, W)
    keras_order = x.permute(0, 2, 3, 1)  # what Keras holds: (N, H, W, C)
    want = keras_order.reshape(2, 10, 6)  # Keras' Reshape((10, 6))
    got = KerasReshapeModule((10, 6))(x)  # cnncalc's layout of it: (N, 6, 10)
    assert torch.equal(got.permute(0, 2, 1), want)


def _deconv_length(i: int, k: int, s: int, pad: str, op: int | None, d: int) -> int:
    """Keras' documented transposed-convolution length (keras.src.utils.conv_utils.deconv_output_length)."""
    k = (k - 1) * d + 1
    if op is None:
        return i * s if pad == "same" else (i - 1) * s + max(k, s)
    return (i - 1) * s + (k % 2 if pad == "same" else k) + op


@given(st.integers(1, 3), st.data())
def test_keras_transposed_convolution_sizes_without_keras(n: int, data: st.DataObject) -> None:
    """Without Keras: Keras' own length formula, and a torch forward pass of the module cnncalc builds."""
    i = data.draw(st.lists(st.integers(1, 9), min_size=n, max_size=n))
    k, s = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 3))
    d = 1 if s > 1 else data.draw(st.integers(1, 3))
    pad = data.draw(st.sampled_from(["valid", "same"]))
    op = data.draw(st.one_of(st.none(), st.integers(0, max(s - 1, 0)))) if s > 1 else None
    item = {"type": f"Conv{n}DTranspose", "filters": 3, "kernel_size": k, "strides": s, "padding": pad,
            "dilation_rate": d, **({"output_padding": op} if op is not None else {})}  # fmt: skip
    text = arch_text([item], [*i, 2]).replace("name: t", "name: t\nconvention: keras")
    r = shapes(text, verify=True)
    assert r.ok, [m.text() for m in r.mismatches]
    assert tuple(r.main.layers[0].shape[1:]) == tuple(_deconv_length(x, k, s, pad, op, d) for x in i)
