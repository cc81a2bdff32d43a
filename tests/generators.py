"""Random architecture files written from the format document, not from cnncalc's catalogue code.

``SPEC`` lists every layer type of docs/format.md (torch's and Keras' names, merges and tensor ops) with
every constructor argument and the classes of value each can take, read from torch's and Keras' own
signatures: left out (the default), a scalar or one value per spatial dim, negative and spatial dims,
floats in scientific notation, nulls, booleans, choices. ``network()`` builds a file layer by layer,
running each layer in torch as it goes (tests/reference.py, which knows nothing of cnncalc's rules) so
that most files are valid, and adds the motifs that need a channel count to match (a convolution
before PixelShuffle, Flatten then Unflatten, GroupNorm on a divisible count, residual merges).

``COVERAGE`` counts, per (type, argument, value class), how often each was drawn; tests print it and fail
when a type or an argument of the catalogue has no entry here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

COVERAGE: Counter[tuple[str, str, str]] = Counter()
"""(type, argument, value class) -> times drawn."""

Draw = st.DrawFn
Ctx = dict[str, Any]  # n: spatial dims, c: channels of the current tensor, rank: per-sample rank

OMIT = "omitted"


def _size(lo: int, hi: int) -> Callable[[Draw, Ctx], tuple[str, Any]]:
    """A size argument: one int, or one per spatial dim."""

    def draw(d: Draw, ctx: Ctx) -> tuple[str, Any]:
        if ctx["n"] > 1 and d(st.booleans()):
            return "per dim", [d(st.integers(lo, hi)) for _ in range(ctx["n"])]
        return "int", d(st.integers(lo, hi))

    return draw


def _int(lo: int, hi: int, name: str = "int") -> Callable[[Draw, Ctx], tuple[str, Any]]:
    return lambda d, ctx: (name, d(st.integers(lo, hi)))


def _float(lo: float, hi: float) -> Callable[[Draw, Ctx], tuple[str, Any]]:
    """A float: plain, in scientific notation (YAML reads 1e-5 as text), or a whole number."""

    def draw(d: Draw, ctx: Ctx) -> tuple[str, Any]:
        kind = d(st.sampled_from(["plain", "scientific", "whole"]))
        v = d(st.floats(lo, hi, allow_nan=False, allow_infinity=False))
        if kind == "scientific":
            return kind, f"{v:.2e}"
        if kind == "whole":
            return kind, float(round(v)) if lo <= round(v) <= hi else v
        return kind, round(v, 4)

    return draw


def _bool() -> Callable[[Draw, Ctx], tuple[str, Any]]:
    return lambda d, ctx: ("bool", d(st.booleans()))


def _choice(*values: Any) -> Callable[[Draw, Ctx], tuple[str, Any]]:
    return lambda d, ctx: ("choice", d(st.sampled_from(values)))


def _dim(spatial: bool = True, channel: bool = True) -> Callable[[Draw, Ctx], tuple[str, Any]]:
    """A batch-inclusive dim of the current tensor: channels (1), spatial, or counted from the end."""

    def draw(d: Draw, ctx: Ctx) -> tuple[str, Any]:
        rank = ctx["rank"] + 1
        options = []
        if channel:
            options += [("channel", 1), ("negative", -rank + 1)]
        if spatial and rank > 2:
            k = d(st.integers(2, rank - 1))
            options += [("spatial", k), ("negative", k - rank)]
        if not options:
            options = [("channel", 1)]
        return d(st.sampled_from(options))

    return draw


def _null_or(inner: Callable[[Draw, Ctx], tuple[str, Any]]) -> Callable[[Draw, Ctx], tuple[str, Any]]:
    def draw(d: Draw, ctx: Ctx) -> tuple[str, Any]:
        return ("null", None) if d(st.integers(0, 3)) == 0 else inner(d, ctx)

    return draw


def _pad(low: int) -> Callable[[Draw, Ctx], tuple[str, Any]]:
    """torch's padding layers: one int, or (left, right, top, bottom, front, back); negative entries crop in every
    mode (torch crops first, then pads what is left)."""

    def draw(d: Draw, ctx: Ctx) -> tuple[str, Any]:
        if d(st.booleans()):
            return "int", d(st.integers(0, 2))
        sides = [d(st.integers(low, 2)) for _ in range(2 * ctx["n"])]
        return ("negative" if min(sides) < 0 else "per side"), sides

    return draw


Arg = Callable[[Draw, Ctx], tuple[str, Any]]
Spec = dict[str, tuple[Arg, bool]]  # name -> (value classes, required)


def _req(arg: Arg) -> tuple[Arg, bool]:
    return arg, True


def _opt(arg: Arg) -> tuple[Arg, bool]:
    return arg, False


_ACTS = ("relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "swish", "silu", "softplus", "linear")


def _spec() -> dict[str, tuple[str, Spec]]:
    """type -> (family, arguments); the family says what input the type wants (``spatial`` n-d, ``any``)."""
    out: dict[str, tuple[str, Spec]] = {}
    for n in (1, 2, 3):
        conv = {"out_channels": _req(_int(1, 6, "channels")), "kernel_size": _req(_size(1, 3)),
                "stride": _opt(_size(1, 2)), "padding": _opt(lambda d, c: ("same", "same") if d(st.integers(0, 3)) == 0
                                                            else _size(0, 2)(d, c)),
                "dilation": _opt(_size(1, 2)), "groups": _opt(_int(1, 2, "groups")), "bias": _opt(_bool()),
                "padding_mode": _opt(_choice("zeros", "reflect", "replicate", "circular"))}  # fmt: skip
        out[f"Conv{n}d"] = (f"spatial{n}", conv)
        out[f"ConvTranspose{n}d"] = (f"spatial{n}", {
            "out_channels": _req(_int(1, 4, "channels")), "kernel_size": _req(_size(1, 3)), "stride": _opt(_size(1, 2)),
            "padding": _opt(_size(0, 1)), "output_padding": _opt(_size(0, 1)), "groups": _opt(_int(1, 2, "groups")),
            "bias": _opt(_bool()), "dilation": _opt(_size(1, 2)), "padding_mode": _opt(_choice("zeros"))})  # fmt: skip
        for kind in ("Max", "Avg"):
            pool: Spec = {"kernel_size": _req(_size(1, 3)), "stride": _opt(_size(1, 3)), "padding": _opt(_size(0, 1)),
                          "ceil_mode": _opt(_bool())}  # fmt: skip
            if kind == "Max":
                pool |= {"dilation": _opt(_size(1, 2)), "return_indices": _opt(_choice(False))}
            else:
                pool |= {"count_include_pad": _opt(_bool())}
                if n > 1:
                    pool |= {"divisor_override": _opt(_null_or(_int(1, 3)))}
            out[f"{kind}Pool{n}d"] = (f"spatial{n}", pool)
        out[f"LPPool{n}d"] = (f"spatial{n}", {"norm_type": _req(_float(1.0, 3.0)), "kernel_size": _req(_size(1, 3)),
                                              "stride": _opt(_size(1, 2)), "ceil_mode": _opt(_bool())})  # fmt: skip
        for kind in ("Avg", "Max"):
            ada: Spec = {"output_size": _req(lambda d, c: ("per dim", [d(st.sampled_from([None, 1, 2, 3]))
                                                                        for _ in range(c["n"])]) if c["n"] > 1 and
                                         d(st.booleans()) else ("int", d(st.integers(1, 4))))}  # fmt: skip
            if kind == "Max":
                ada |= {"return_indices": _opt(_choice(False))}
            out[f"Adaptive{kind}Pool{n}d"] = (f"spatial{n}", ada)
        bn = {"eps": _opt(_float(1e-6, 1e-2)), "momentum": _opt(_null_or(_float(0.01, 0.9))),
              "affine": _opt(_bool()), "track_running_stats": _opt(_bool())}  # fmt: skip
        out[f"BatchNorm{n}d"] = ("bn1" if n == 1 else f"spatial{n}", bn)
        out[f"InstanceNorm{n}d"] = (f"spatial{n}", bn)
        out[f"Dropout{n}d"] = (f"spatial{n}", {"p": _opt(_float(0.0, 1.0)), "inplace": _opt(_bool())})
        for kind in ("Zero", "Reflection", "Replication", "Circular", "Constant"):
            pad: Spec = {"padding": _req(_pad(-1))}
            if kind == "Constant":
                pad |= {"value": _req(_float(-1.0, 1.0))}
            out[f"{kind}Pad{n}d"] = (f"spatial{n}", pad)
        # Keras
        out[f"Conv{n}D"] = (f"spatial{n}", {
            "filters": _req(_int(1, 6, "channels")), "kernel_size": _req(_size(1, 3)), "strides": _opt(_size(1, 2)),
            "padding": _opt(_choice("valid", "same")), "dilation_rate": _opt(_size(1, 2)),
            "groups": _opt(_int(1, 2, "groups")), "use_bias": _opt(_bool()), "activation": _opt(_choice(*_ACTS))})  # fmt: skip
        for kind in ("MaxPooling", "AveragePooling"):
            out[f"{kind}{n}D"] = (f"spatial{n}", {"pool_size": _opt(_size(1, 3)), "strides": _opt(_null_or(_size(1, 2))),
                                                  "padding": _opt(_choice("valid", "same"))})  # fmt: skip
        for kind in ("Average", "Max"):
            out[f"Global{kind}Pooling{n}D"] = (f"spatial{n}", {"keepdims": _opt(_bool())})
        out[f"ZeroPadding{n}D"] = (f"spatial{n}", {"padding": _opt(_size(0, 2))})
        out[f"Conv{n}DTranspose"] = (f"spatial{n}", {
            "filters": _req(_int(1, 6, "channels")), "kernel_size": _req(_size(1, 3)), "strides": _opt(_size(1, 2)),
            "padding": _opt(_choice("valid", "same")), "dilation_rate": _opt(_size(1, 2)),
            "output_padding": _opt(_null_or(_int(0, 1))), "use_bias": _opt(_bool()),
            "activation": _opt(_choice(*_ACTS))})  # fmt: skip
        out[f"UpSampling{n}D"] = (f"spatial{n}", {"size": _opt(_size(1, 3)), **(
            {"interpolation": _opt(_choice("nearest", "bilinear"))} if n == 2 else {})})  # fmt: skip
        out[f"SpatialDropout{n}D"] = (f"spatial{n}", {"rate": _req(_float(0.0, 1.0))})
        if n < 3:
            out[f"DepthwiseConv{n}D"] = (f"spatial{n}", {
                "kernel_size": _req(_size(1, 3)), "strides": _opt(_size(1, 2)), "padding": _opt(_choice("valid", "same")),
                "dilation_rate": _opt(_size(1, 2)), "depth_multiplier": _opt(_int(1, 3)), "use_bias": _opt(_bool()),
                "activation": _opt(_choice(*_ACTS))})  # fmt: skip
    out["Dense"] = ("any", {"units": _req(_int(1, 6, "channels")), "use_bias": _opt(_bool()),
                            "activation": _opt(_choice(*_ACTS))})  # fmt: skip
    out["BatchNormalization"] = ("any", {"epsilon": _opt(_float(1e-5, 1e-2)), "momentum": _opt(_float(0.5, 0.999)),
                                         "axis": _opt(_choice(-1)), "center": _opt(_bool()), "scale": _opt(_bool())})  # fmt: skip
    out["Concatenate"] = ("merge", {"axis": _opt(_int(-1, 3, "axis"))})
    out["Reshape"] = ("any", {"target_shape": _req(lambda d, c: ("keras order", None))})
    out["Rescaling"] = ("any", {"scale": _opt(_float(-2.0, 2.0)), "offset": _opt(_float(-1.0, 1.0))})
    out["GaussianNoise"] = ("any", {"stddev": _req(_float(0.0, 1.0))})
    out["GaussianDropout"] = ("any", {"rate": _req(_float(0.0, 1.0))})
    out["Activation"] = ("any", {"activation": _req(_choice(*_ACTS))})
    out["Linear"] = ("any", {"out_features": _req(_int(1, 6, "channels")), "bias": _opt(_bool())})
    out["Flatten"] = ("any", {"start_dim": _opt(_dim()), "end_dim": _opt(_dim())})
    out["Unflatten"] = ("unflatten", {"dim": _req(_dim()), "unflattened_size": _req(lambda d, c: ("factors", None))})
    out["Upsample"] = ("spatial", {
        "size": _opt(_null_or(_size(1, 8))), "scale_factor": _opt(_null_or(_choice(2, 0.5, 1.5, 3))),
        "mode": _opt(_choice("nearest", "linear", "bilinear", "bicubic", "trilinear", "nearest-exact", "area")),
        "align_corners": _opt(_null_or(_bool())), "recompute_scale_factor": _opt(_null_or(_bool()))})  # fmt: skip
    out["PixelShuffle"] = ("spatial2", {"upscale_factor": _req(_int(1, 3))})
    out["PixelUnshuffle"] = ("spatial2", {"downscale_factor": _req(_int(1, 2))})
    out["GroupNorm"] = ("any2", {"num_groups": _req(_int(1, 3, "groups")), "eps": _opt(_float(1e-6, 1e-3)),
                                 "affine": _opt(_bool())})  # fmt: skip
    out["LayerNorm"] = ("any", {"normalized_shape": _req(lambda d, c: ("trailing", None)), "eps": _opt(_float(1e-6, 1e-3)),
                                "elementwise_affine": _opt(_bool()), "bias": _opt(_bool())})  # fmt: skip
    out["LocalResponseNorm"] = ("any2", {"size": _req(_int(1, 4)), "alpha": _opt(_float(0.0, 1e-3)),
                                         "beta": _opt(_float(0.0, 1.0)), "k": _opt(_float(0.5, 2.0))})  # fmt: skip
    for name in ("ReLU", "ReLU6", "SELU", "SiLU", "Mish", "Hardswish", "Hardsigmoid"):
        out[name] = ("any", {"inplace": _opt(_bool())})
    for name in ("Sigmoid", "Tanh", "Identity"):
        out[name] = ("any", {})
    out["LeakyReLU"] = ("any", {"negative_slope": _opt(_float(0.0, 0.3)), "inplace": _opt(_bool())})
    out["ELU"] = ("any", {"alpha": _opt(_float(0.1, 2.0)), "inplace": _opt(_bool())})
    out["GELU"] = ("any", {"approximate": _opt(_choice("none", "tanh"))})
    out["PReLU"] = ("any", {"num_parameters": _opt(lambda d, c: d(st.sampled_from([("one", 1), ("channels", c["c"])]))),
                            "init": _opt(_float(0.0, 0.5))})  # fmt: skip
    for name in ("Softmax", "LogSoftmax"):
        out[name] = ("any", {"dim": _opt(_null_or(_dim()))})
    for name in ("Dropout", "AlphaDropout", "FeatureAlphaDropout"):
        out[name] = ("any", {"p": _opt(_float(0.0, 1.0)), "inplace": _opt(_bool())})
    out["Add"] = ("merge", {})
    out["Concat"] = ("merge", {"dim": _opt(_dim())})
    out["Mul"] = ("merge", {})
    out["MatMul"] = ("matmul", {})
    for name in ("Scale", "Shift"):
        out[name] = ("any", {"shape": _req(lambda d, c: ("broadcast", None))})
    out["Prepend"] = ("any", {"shape": _req(lambda d, c: ("token", None)), "dim": _opt(_dim())})
    out["Select"] = (
        "any2",
        {"dim": _req(_dim()), "index": _req(lambda d, c: d(st.sampled_from([("first", 0), ("last", -1)])))},
    )
    for name in ("Mean", "Sum", "Amax"):
        out[name] = ("any", {"dim": _req(lambda d, c: ("dims", None)), "keepdim": _opt(_bool())})
    out["Permute"] = ("any", {"dims": _req(lambda d, c: ("order", None))})
    out["Narrow"] = ("any", {"dim": _req(_dim()), "start": _req(_int(-3, 1)), "length": _req(_int(1, 2))})
    out["MultiheadAttention"] = ("seq", {
        "num_heads": _req(_int(1, 2)), "dropout": _opt(_float(0.0, 0.5)), "bias": _opt(_bool()),
        "add_bias_kv": _opt(_bool()), "add_zero_attn": _opt(_bool()), "kdim": _opt(_null_or(lambda d, c: ("embed", c["last"]))),
        "vdim": _opt(_null_or(lambda d, c: ("embed", c["last"]))), "batch_first": _req(_choice(True))})  # fmt: skip
    return out


SPEC = _spec()


def _fits(family: str, ctx: Ctx) -> bool:
    n, rank = ctx["n"], ctx["rank"]
    if family.startswith("spatial"):
        want = family[len("spatial") :]
        return rank >= 2 and (not want or rank == int(want) + 1)
    return {"bn1": rank in (1, 2), "any": True, "any2": rank >= 2, "unflatten": True, "merge": True,
            "matmul": rank >= 2, "seq": rank == 2}.get(family, False) or (family == "spatial" and n > 0)  # fmt: skip


def context(shape: tuple[int, ...]) -> Ctx:
    """What a layer generator knows of the tensor it is given."""
    return {"n": max(len(shape) - 1, 0), "c": shape[0] if shape else 1, "rank": len(shape), "shape": shape,
            "last": shape[-1] if shape else 1}  # fmt: skip


def layer(draw: Draw, ctx: Ctx, name: str | None = None) -> dict[str, Any]:
    """One layer for the current tensor (``ctx``), every argument drawn or left out."""
    if name is None:
        names = [k for k, (fam, _) in SPEC.items() if fam not in ("merge", "matmul") and _fits(fam, ctx)]
        name = draw(st.sampled_from(names))
    _, args = SPEC[name]
    out: dict[str, Any] = {"type": name}
    for arg, (value, required) in args.items():
        if not required and draw(st.booleans()):
            COVERAGE[(name, arg, OMIT)] += 1
            continue
        kind, v = value(draw, ctx)
        v = _special(draw, name, arg, kind, v, ctx)
        COVERAGE[(name, arg, kind)] += 1
        out[arg] = v
    return out


def _special(draw: Draw, name: str, arg: str, kind: str, v: Any, ctx: Ctx) -> Any:
    """Values that need the current shape: factors of a dim, trailing dims, a broadcastable shape, an order."""
    shape = ctx["shape"]
    if not shape and kind in ("trailing", "broadcast", "token", "dims", "order"):
        return [1]  # a per-sample scalar: torch refuses these, and cnncalc must too
    if kind == "factors":
        size = shape[0] if len(shape) else 1
        f = next((k for k in (2, 3, 5) if size % k == 0 and size > k), 1)
        return [f, size // f]
    if kind == "keras order":  # Keras' Reshape: its (..., C) sizes, all of them or one -1
        if not shape:
            return [1]
        last = [*shape[1:], shape[0]] if len(shape) > 1 else list(shape)
        total = 1
        for d in last:
            total *= d
        return draw(st.sampled_from([[total], [-1], [-1, last[-1]], last, [total // last[-1], -1]]))
    if kind == "trailing":
        return list(shape[len(shape) - draw(st.integers(1, len(shape))) :])
    if kind == "broadcast":
        return [1 if draw(st.booleans()) else d for d in shape]
    if kind == "token":
        return [1, *shape[1:]]
    if kind == "dims":
        rank = len(shape) + 1
        return sorted(set(draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=rank - 1))))
    if kind == "order":
        order = draw(st.permutations(list(range(1, len(shape) + 1))))
        return [0, *order]
    return v


@st.composite
def network(
    draw: Draw, run: Callable[[list[dict[str, Any]], list[int]], Any]
) -> tuple[list[dict[str, Any]], list[Any], dict[str, int] | None, list[int]]:
    """A random file: (layers, input as written, symbols or None, the concrete input shape).

    ``run(layers, shape)`` is the torch reference: it returns the per-sample output shapes, or raises when
    torch refuses; the network stops at the first layer torch refuses (that layer stays: both must refuse it).
    """
    n = draw(st.sampled_from([0, 1, 2, 2, 3]))
    sizes = [draw(st.integers(2, 12 if n < 3 else 6)) for _ in range(n)]
    c = draw(st.integers(1, 6))
    concrete = [c, *sizes]
    layers: list[dict[str, Any]] = []
    shapes: dict[str, tuple[int, ...]] = {"input": tuple(concrete)}
    current = tuple(concrete)
    for j in range(draw(st.integers(1, 7))):
        ctx = context(current)
        motif = draw(st.integers(0, 9))
        last = layers[-1]["id"] if layers else "input"
        new = _motif(draw, motif, ctx, shapes, current, last) if motif < 4 else [layer(draw, ctx)]
        for k, item in enumerate(new):
            item.setdefault("id", f"l{j}_{k}")
        trial = layers + new
        try:
            outs = run(trial, concrete)
        except Exception:
            return trial, *_input(draw, concrete, n)
        layers = trial
        for item, shape in zip(new, outs[len(layers) - len(new) :]):
            shapes[item["id"]] = shape
        current = outs[-1]
    return layers, *_input(draw, concrete, n)


def _input(draw: Draw, concrete: list[int], n: int) -> tuple[list[Any], dict[str, int] | None, list[int]]:
    if n and draw(st.booleans()):
        names = ["D", "H", "W"][3 - n :]
        return [concrete[0], *names], dict(zip(names, concrete[1:], strict=True)), concrete
    return list(concrete), None, concrete


def _motif(draw: Draw, motif: int, ctx: Ctx, shapes: dict[str, tuple[int, ...]], current: tuple[int, ...],
           last: str) -> list[dict[str, Any]]:  # fmt: skip
    """Layers that must agree on a channel count, and merges with an earlier output."""
    n = ctx["n"]
    if motif == 0 and n == 2:  # sub-pixel convolution
        r = draw(st.integers(2, 3))
        return [{"type": "Conv2d", "out_channels": r * r * draw(st.integers(1, 2)), "kernel_size": 3, "padding": 1},
                {"type": "PixelShuffle", "upscale_factor": r}]  # fmt: skip
    if motif == 1 and n >= 1:  # flatten, then back into space, then a layer that needs the space
        c = draw(st.integers(2, 6))
        return [{"type": f"Conv{n}d", "out_channels": c, "kernel_size": 1}, {"type": "Flatten"},
                {"type": "Unflatten", "dim": 1, "unflattened_size": [c, *current[1:]]},
                {"type": f"Conv{n}d", "out_channels": 2, "kernel_size": 1}]  # fmt: skip
    if motif == 2:  # a merge with an earlier output of the same shape, or any earlier one for Concat
        same = [k for k, s in shapes.items() if s == current]
        src = draw(st.sampled_from(same)) if same else "input"
        kind = draw(st.sampled_from(["Add", "Concat", "Mul", "Concatenate"]))
        branch = layer(draw, ctx)
        branch["from"] = src
        branch["id"] = "b" + str(len(shapes))
        # two paths; the same output twice; or three inputs, one repeated
        sources = draw(st.sampled_from([[last, branch["id"]], [last, last], [branch["id"], last, branch["id"]]]))
        merge: dict[str, Any] = {"type": kind, "from": sources}
        if kind == "Concat" and draw(st.booleans()):
            kind_dim = _dim()(draw, ctx)
            merge["dim"] = kind_dim[1]
            COVERAGE[("Concat", "dim", kind_dim[0])] += 1
        elif kind == "Concatenate" and draw(st.booleans()):
            merge["axis"] = draw(st.sampled_from([-1, *range(1, len(current) + 1)]))
            COVERAGE[("Concatenate", "axis", "axis")] += 1
        else:
            COVERAGE[(kind, "", "merge")] += 1
        COVERAGE[(kind, "from", f"{len(sources)} inputs, {len(set(sources))} distinct")] += 1
        return [branch, merge]
    if motif == 3 and len(current) >= 2:  # x @ x^T over the last two dims, then attention on a sequence
        rank = len(current) + 1
        order = list(range(rank))
        order[-1], order[-2] = order[-2], order[-1]
        COVERAGE[("MatMul", "", "merge")] += 1
        out = [{"type": "Permute", "dims": order, "id": "t" + str(len(shapes))},
               {"type": "MatMul", "from": [last, "t" + str(len(shapes))]}]  # fmt: skip
        if len(current) == 2:
            out.append(layer(draw, {**ctx, "last": current[0]}, "MultiheadAttention"))
        return out
    return [layer(draw, ctx)]
