"""Every layer rule against torch, over random hyperparameters and input sizes.

Each case builds the same layer in cnncalc (from YAML) and in torch (directly,
not through cnncalc's verifier) and requires the same per-sample output shape,
parameter count and buffer count, or a rejection by both.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cnncalc.layers import CATALOGUE

from .helpers import agree, per_dim

small = st.integers(1, 12)


@st.composite
def conv_case(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    n = draw(st.sampled_from([1, 2, 3]))
    g = draw(st.sampled_from([1, 1, 2, 3]))
    c_in = g * draw(st.integers(1, 3)) if draw(st.booleans()) else draw(st.integers(1, 6))
    c_out = g * draw(st.integers(1, 3))
    spatial = draw(st.lists(st.integers(1, 10 if n < 3 else 6), min_size=n, max_size=n))
    args: dict[str, Any] = {"out_channels": c_out, "kernel_size": draw(per_dim(n, st.integers(1, 5)))}
    if draw(st.booleans()):
        args["stride"] = draw(per_dim(n, st.integers(1, 3)))
    if draw(st.booleans()):
        args["padding"] = draw(st.one_of(per_dim(n, st.integers(0, 3)), st.sampled_from(["same", "valid"])))
    if draw(st.booleans()):
        args["dilation"] = draw(per_dim(n, st.integers(1, 3)))
    if g > 1:
        args["groups"] = g
    if draw(st.booleans()):
        args["bias"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        args["padding_mode"] = draw(st.sampled_from(["reflect", "replicate", "circular"]))
    layer = {"type": f"Conv{n}d", **args}
    return layer, {"in_channels": c_in, **args}, [c_in, *spatial]


@given(conv_case())
def test_conv(case: tuple[dict[str, Any], dict[str, Any], list[int]]) -> None:
    agree(*case)


@st.composite
def conv_transpose_case(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    n = draw(st.sampled_from([1, 2, 3]))
    g = draw(st.sampled_from([1, 1, 2]))
    c_in, c_out = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    spatial = draw(st.lists(st.integers(1, 8 if n < 3 else 5), min_size=n, max_size=n))
    args: dict[str, Any] = {"out_channels": c_out, "kernel_size": draw(per_dim(n, st.integers(1, 4)))}
    for key, values in (
        ("stride", st.integers(1, 3)),
        ("padding", st.integers(0, 3)),
        ("output_padding", st.integers(0, 2)),
        ("dilation", st.integers(1, 3)),
    ):
        if draw(st.booleans()):
            args[key] = draw(per_dim(n, values))
    if g > 1:
        args["groups"] = g
    if draw(st.booleans()):
        args["bias"] = False
    return {"type": f"ConvTranspose{n}d", **args}, {"in_channels": c_in, **args}, [c_in, *spatial]


@given(conv_transpose_case())
def test_conv_transpose(case: tuple[dict[str, Any], dict[str, Any], list[int]]) -> None:
    agree(*case)


@st.composite
def pool_case(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    n = draw(st.sampled_from([1, 2, 3]))
    kind = draw(st.sampled_from(["Max", "Avg", "LP"]))
    spatial = draw(st.lists(st.integers(1, 12 if n < 3 else 6), min_size=n, max_size=n))
    args: dict[str, Any] = {"kernel_size": draw(per_dim(n, st.integers(1, 4)))}
    if kind == "LP":
        args = {"norm_type": 2.0, **args}
    if draw(st.booleans()):
        args["stride"] = draw(per_dim(n, st.integers(1, 3)))
    if kind != "LP" and draw(st.booleans()):
        args["padding"] = draw(per_dim(n, st.integers(0, 2)))
    if kind == "Max" and draw(st.booleans()):
        args["dilation"] = draw(per_dim(n, st.integers(1, 3)))
    if draw(st.booleans()):
        args["ceil_mode"] = True
    if kind == "Avg" and draw(st.booleans()):
        args["count_include_pad"] = False
    return {"type": f"{kind}Pool{n}d", **args}, args, [draw(st.integers(1, 4)), *spatial]


@given(pool_case())
def test_pool(case: tuple[dict[str, Any], dict[str, Any], list[int]]) -> None:
    agree(*case)


@given(st.sampled_from([1, 2, 3]), st.sampled_from(["Avg", "Max"]), st.data())
def test_adaptive_pool(n: int, kind: str, data: st.DataObject) -> None:
    spatial = data.draw(st.lists(st.integers(1, 10), min_size=n, max_size=n))
    out = data.draw(
        st.one_of(st.integers(1, 6), st.lists(st.one_of(st.none(), st.integers(1, 6)), min_size=n, max_size=n))
    )
    args = {"output_size": out}
    agree({"type": f"Adaptive{kind}Pool{n}d", **args}, args, [3, *spatial])


@given(st.sampled_from(["BatchNorm", "InstanceNorm"]), st.sampled_from([1, 2, 3]), st.data())
def test_batch_and_instance_norm(kind: str, n: int, data: st.DataObject) -> None:
    rank = data.draw(st.sampled_from([1, 2, 3, 4]))
    if kind == "InstanceNorm" and n == 1 and rank == 1:
        rank = (
            2  # torch reads a batched (N, C) input to InstanceNorm1d as one unbatched (C, L) sample; cnncalc rejects it
        )
    shape = data.draw(st.lists(st.integers(2, 5), min_size=rank, max_size=rank))
    args = {k: data.draw(st.booleans()) for k in ("affine", "track_running_stats") if data.draw(st.booleans())}
    agree({"type": f"{kind}{n}d", **args}, {"num_features": shape[0], **args}, shape)


@given(st.data())
def test_group_layer_and_response_norm(data: st.DataObject) -> None:
    shape = data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))
    kind = data.draw(st.sampled_from(["GroupNorm", "LayerNorm", "LocalResponseNorm"]))
    if kind == "GroupNorm":
        args: dict[str, Any] = {"num_groups": data.draw(st.integers(1, 6)), "affine": data.draw(st.booleans())}
        agree({"type": kind, **args}, {"num_channels": shape[0], **args}, shape)
        return
    if kind == "LayerNorm":
        k = data.draw(st.integers(1, len(shape)))
        ns = list(shape[-k:]) if data.draw(st.booleans()) else [data.draw(st.integers(1, 6)) for _ in range(k)]
        args = {
            "normalized_shape": ns,
            "elementwise_affine": data.draw(st.booleans()),
            "bias": data.draw(st.booleans()),
        }
    else:
        args = {"size": data.draw(st.integers(1, 5))}
    agree({"type": kind, **args}, args, shape)


ELEMENTWISE = [
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "ELU",
    "SELU",
    "GELU",
    "SiLU",
    "Mish",
    "Sigmoid",
    "Tanh",
    "Hardswish",
    "Hardsigmoid",
    "Identity",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
    "Softmax",
    "LogSoftmax",
    "PReLU",
]


@given(st.sampled_from(ELEMENTWISE), st.lists(st.integers(1, 5), min_size=1, max_size=4), st.data())
def test_elementwise(name: str, shape: list[int], data: st.DataObject) -> None:
    if name in ("Dropout1d", "Dropout2d", "Dropout3d") and len(shape) == int(name[-2]):
        # One dim short, torch reads the batched input as a single unbatched sample (the batch becomes
        # the channels); cnncalc rejects it, since the per-sample rank is wrong.
        shape = [*shape, 2]
    args: dict[str, Any] = {}
    if name in ("Softmax", "LogSoftmax"):
        args["dim"] = data.draw(st.integers(-len(shape) - 1, len(shape)))
    if name == "PReLU" and data.draw(st.booleans()):
        args["num_parameters"] = data.draw(st.sampled_from([1, shape[0], shape[0] + 1]))
    agree({"type": name, **args}, args, shape)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.data())
def test_flatten_unflatten_linear(shape: list[int], data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["Flatten", "Unflatten", "Linear"]))
    rank = len(shape) + 1
    if kind == "Flatten":
        args: dict[str, Any] = {
            "start_dim": data.draw(st.integers(-rank, rank - 1)),
            "end_dim": data.draw(st.integers(-rank, rank - 1)),
        }
        end = args["end_dim"] % rank
        if args["start_dim"] % rank == 0 and end != 0 and all(d == 1 for d in shape[:end]):
            # torch's flatten of the batch into size-1 dims happens to keep the batch size;
            # cnncalc refuses to flatten the batch dimension at all.
            args["start_dim"] = 1
        agree({"type": kind, **args}, args, shape)
    elif kind == "Unflatten":
        dim = data.draw(st.integers(1, rank - 1))
        size = shape[dim - 1]
        split = [size, 1] if data.draw(st.booleans()) else [data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))]
        args = {"dim": dim, "unflattened_size": split}
        agree({"type": kind, **args}, args, shape)
    else:
        args = {"out_features": data.draw(st.integers(1, 7)), "bias": data.draw(st.booleans())}
        agree({"type": kind, **args}, {"in_features": shape[-1], **args}, shape)


@given(st.sampled_from([1, 2, 3]), st.data())
def test_upsample(n: int, data: st.DataObject) -> None:
    spatial = data.draw(st.lists(st.integers(1, 9), min_size=n, max_size=n))
    args: dict[str, Any]
    if data.draw(st.booleans()):
        args = {"size": data.draw(st.one_of(st.integers(1, 12), st.lists(st.integers(1, 12), min_size=n, max_size=n)))}
    else:
        factor = st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 15 / 11, 0.3])
        args = {"scale_factor": data.draw(st.one_of(factor, st.lists(factor, min_size=n, max_size=n)))}
    mode = data.draw(st.sampled_from(["nearest", "linear", "bilinear", "bicubic", "trilinear", "nearest-exact"]))
    args["mode"] = mode
    if mode in ("linear", "bilinear", "bicubic", "trilinear") and data.draw(st.booleans()):
        args["align_corners"] = data.draw(st.booleans())
    agree({"type": "Upsample", **args}, args, [2, *spatial])


@given(st.booleans(), st.integers(1, 3), st.data())
def test_pixel_shuffle(unshuffle: bool, r: int, data: st.DataObject) -> None:
    shape = [data.draw(st.integers(1, 12)), data.draw(st.integers(1, 8)), data.draw(st.integers(1, 8))]
    name, key = ("PixelUnshuffle", "downscale_factor") if unshuffle else ("PixelShuffle", "upscale_factor")
    agree({"type": name, key: r}, {key: r}, shape)


@given(
    st.sampled_from(["Zero", "Constant", "Reflection", "Replication", "Circular"]),
    st.sampled_from([1, 2, 3]),
    st.data(),
)
def test_pad(kind: str, n: int, data: st.DataObject) -> None:
    spatial = data.draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    low = -3  # negative padding crops, in every mode
    pad = data.draw(st.one_of(st.integers(low, 4), st.lists(st.integers(low, 4), min_size=2 * n, max_size=2 * n)))
    args: dict[str, Any] = {"padding": pad}
    if kind == "Constant":
        args["value"] = 0.5
    agree({"type": f"{kind}Pad{n}d", **args}, args, [2, *spatial])


TENSOR_OPS = ("Mul", "MatMul", "Scale", "Shift", "Prepend", "Select", "Mean", "Sum", "Amax", "Permute", "Narrow",
              "MultiheadAttention")  # fmt: skip


def test_every_catalogue_type_has_a_differential_test() -> None:
    covered = {f"{k}{n}d" for k in ("Conv", "ConvTranspose", "BatchNorm", "InstanceNorm") for n in (1, 2, 3)}
    covered |= {f"{k}Pool{n}d" for k in ("Max", "Avg", "LP", "AdaptiveAvg", "AdaptiveMax") for n in (1, 2, 3)}
    covered |= {f"{k}Pad{n}d" for k in ("Zero", "Constant", "Reflection", "Replication", "Circular") for n in (1, 2, 3)}
    covered |= {
        "GroupNorm",
        "LayerNorm",
        "LocalResponseNorm",
        "Flatten",
        "Unflatten",
        "Linear",
        "Upsample",
        "PixelShuffle",
        "PixelUnshuffle",
        "Add",
        "Concat",
        *ELEMENTWISE,
        *TENSOR_OPS,  # tests/test_tensorops.py
    }
    from .test_keras import KERAS_TESTED

    assert set(CATALOGUE) == covered | KERAS_TESTED
