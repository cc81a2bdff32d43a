"""Layers that change the shape: Flatten, Unflatten, Linear, Upsample, PixelShuffle/Unshuffle."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from .. import symbolic as sym
from ..errors import NoSymbolicForm
from . import steps
from .base import Arg, Args, Ctx, LayerType, Shape
from .window import ALL, GLOBAL, IDENTITY, SAME, Affine, Bins, Channels, Interp, NearestScale, Repeat


def _batch_dim(dim: int, rank: int, ctx: Ctx, arg: str) -> int:
    """Normalise a batch-inclusive dim (torch convention) to a per-sample index."""
    full = dim + rank if dim < 0 else dim
    if not 0 <= full < rank:
        raise ctx.fail(
            f"{arg} {dim} is out of range for a batched input of rank {rank}",
            f"use a dim in [{-rank}, {rank - 1}]; dim 0 is the batch",
            arg,
        )
    if full == 0:
        raise ctx.fail(f"{arg} {dim} is the batch dimension", "dims count the batch as 0, so channels are dim 1", arg)
    return full - 1


class Flatten(LayerType):
    """Flatten(start_dim=1, end_dim=-1): batch-inclusive dims, as ``nn.Flatten``."""

    family = "reshape"
    name = "Flatten"
    args = {"start_dim": Arg("int", 1), "end_dim": Arg("int", -1)}
    reshapes = True

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        shape = ins[0]
        rank = len(shape) + 1
        for key in ("start_dim", "end_dim"):
            if not -rank <= a[key] < rank:
                raise ctx.fail(f"{key} {a[key]} is out of range for a batched input of rank {rank}",
                               f"use a dim in [{-rank}, {rank - 1}]; dim 0 is the batch", key)  # fmt: skip
        if a["start_dim"] % rank == 0 and a["end_dim"] % rank == 0:
            return shape  # flattening the batch dim alone changes nothing
        start = _batch_dim(a["start_dim"], rank, ctx, "start_dim")
        end = _batch_dim(a["end_dim"], rank, ctx, "end_dim")
        if start > end:
            raise ctx.fail(f"start_dim {a['start_dim']} comes after end_dim {a['end_dim']}", arg="start_dim")
        return (*shape[:start], sym.product(shape[start : end + 1]), *shape[end + 1 :])

    def formulas(self) -> dict[str, str]:
        return {"output": "product of dims start_dim..end_dim", "params": "0"}

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.reshape(xs[0], out)

    def explain(self, a: Args, ins: Sequence[Shape], out: Shape) -> list[steps.Step]:
        from ..formula import PARAMS, output_dim, product, var

        names = (
            ["C", *steps.letters(len(ins[0]) - 1)] if 2 <= len(ins[0]) <= 4 else [f"n{j}" for j in range(len(ins[0]))]
        )
        start = (a["start_dim"] % (len(ins[0]) + 1)) - 1
        end = (a["end_dim"] % (len(ins[0]) + 1)) - 1
        if start < 0 or start > end:
            return steps.generic(self, a, ins, out)
        dims = names[start : end + 1]
        f = product([var(n) for n in dims])
        env = {n: ins[0][start + j] for j, n in enumerate(dims)}
        return [steps.Step("output features", "features", f, env, out[start], quantity=output_dim(start)),
                steps.Step("parameters", "params", statement="none", result=0, quantity=PARAMS)]  # fmt: skip


class Unflatten(LayerType):
    """Unflatten(dim, unflattened_size): the sizes must multiply to the dim's size."""

    family = "reshape"
    name = "Unflatten"
    args = {"dim": Arg("int"), "unflattened_size": Arg("ints")}
    reshapes = True

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        shape = ins[0]
        j = _batch_dim(a["dim"], len(shape) + 1, ctx, "dim")
        sizes = a["unflattened_size"]
        bad = [s for s in sizes if sym.is_concrete(s) and s < 1 and s != -1]
        if bad or sum(1 for s in sizes if s == -1) > 1:
            raise ctx.fail(f"unflattened_size {list(sizes)}: sizes are positive, and one of them may be -1 (inferred)",
                           "write every size, or -1 for one of them", "unflattened_size")  # fmt: skip
        if -1 in sizes:  # torch infers it: the dim's size over the product of the others
            rest = sym.product([s for s in sizes if s != -1])
            ctx.require(sym.equal(sym.mod(shape[j], rest), 0),
                        f"unflattened_size {list(sizes)}: the dim has size {sym.to_text(shape[j])}, not a multiple "
                        f"of {sym.to_text(rest)}", "the sizes must divide the size of the dim", "unflattened_size")  # fmt: skip
            sizes = tuple(sym.floordiv(shape[j], rest) if s == -1 else s for s in sizes)
        ctx.require(
            sym.equal(sym.product(sizes), shape[j]),
            f"unflattened_size {list(sizes)} multiplies to {sym.to_text(sym.product(sizes))}, "
            f"but the dim has size {sym.to_text(shape[j])}",
            "the sizes must multiply to the size of the dim being unflattened",
            "unflattened_size",
        )
        return (*shape[:j], *sizes, *shape[j + 1 :])

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        return nn.Unflatten(a["dim"], tuple(a["unflattened_size"]))

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.reshape(xs[0], out)


class Linear(LayerType):
    """Linear(in_features, out_features) on the last dim: ``in*out + out`` parameters."""

    family = "dense"
    name = "Linear"
    inferred = ("in_features",)
    args = {"out_features": Arg("int", minimum=1), "bias": Arg("bool", True)}

    def infer(self, arg: str, shape: Shape) -> Any:
        return shape[-1]

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        self._need_rank(shape, range(1, 9), ctx)

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        return (*ins[0][:-1], a["out_features"])

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        return ins[0][-1] * a["out_features"] + (a["out_features"] if a["bias"] else 0)

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        return GLOBAL if dim == len(ins[0]) - 2 else IDENTITY  # mixes the last dim only

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return ALL if len(ins[0]) == 1 else SAME  # on a rank-1 input the features are dim 0

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.linear(xs[0], a["out_features"])

    def macs(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        return ins[0][-1] * a["out_features"] * sym.product(ins[0][:-1])

    def formulas(self) -> dict[str, str]:
        return {"output": "(..., out_features)", "params": "in_features * out_features + (out_features if bias)"}

    def explain(self, a: Args, ins: Sequence[Shape], out: Shape) -> list[steps.Step]:
        from ..formula import PARAMS, output_dim, var

        n_in, n_out = var("in_features"), var("out_features")
        f = (n_in + 1) * n_out if a["bias"] else n_in * n_out
        env = {"in_features": ins[0][-1], "out_features": a["out_features"]}
        return [steps.Step("output features", "out", n_out, env, out[-1], quantity=output_dim(len(out) - 1)),
                steps.Step("parameters", "params", f, env, self.params(a, ins),
                           "" if a["bias"] else "bias: false, so no +1", quantity=PARAMS)]  # fmt: skip


_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


class Upsample(LayerType):
    """Upsample(size | scale_factor): ``size``, or ``floor(i * scale_factor)`` computed in float64."""

    family = "up-sampling"
    name = "Upsample"
    args = {
        "size": Arg("sizeopt", None, minimum=1, nullable=True),
        "scale_factor": Arg("floats", None, nullable=True),
        "mode": Arg(
            "str", "nearest", choices=("nearest", "linear", "bilinear", "bicubic", "trilinear", "nearest-exact", "area")
        ),
        "align_corners": Arg("bool", None, nullable=True),
        "recompute_scale_factor": Arg("bool", None, nullable=True),
    }

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        self._need_rank(shape, (2, 3, 4), ctx)

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        c, *spatial = ins[0]
        n = len(spatial)
        mode = a["mode"]
        if mode in _MODE_DIMS and _MODE_DIMS[mode] != n:
            raise ctx.fail(
                f"mode {mode!r} needs {_MODE_DIMS[mode]} spatial dim{'s' if _MODE_DIMS[mode] > 1 else ''}, the input "
                f"has {n}",
                "use 'nearest', or the mode for this many dims",
                "mode",
            )
        if a["align_corners"] is not None and mode not in _MODE_DIMS:
            raise ctx.fail(
                "align_corners can only be set with the interpolating modes (linear, bilinear, bicubic, trilinear)",
                arg="align_corners",
            )
        size, scale = a["size"], a["scale_factor"]
        if (size is None) == (scale is None):
            raise ctx.fail("give exactly one of size and scale_factor", "size: [H, W] or scale_factor: 2")
        if size is not None:
            if a["recompute_scale_factor"]:
                raise ctx.fail("recompute_scale_factor is only meaningful with scale_factor, not with size",
                               "drop recompute_scale_factor (torch refuses it with size)", "recompute_scale_factor")  # fmt: skip
            size = size if isinstance(size, tuple) else (size,) * n
            if len(size) != n:
                raise ctx.fail(f"size has {len(size)} entries for {n} spatial dims", arg="size")
            return (c, *size)
        scale = scale if isinstance(scale, tuple) else (scale,) * n
        if len(scale) != n:
            raise ctx.fail(f"scale_factor has {len(scale)} entries for {n} spatial dims", arg="scale_factor")
        out = []
        for i, f in zip(spatial, scale):
            o = scale_floor(i, f)
            if o is None:
                e = ctx.fail(f"scale_factor {f!r} has no exact formula in the symbols: torch rounds "
                             f"{sym.to_text(i)}·{f!r} to a double before the floor, which no fraction matches at "
                             "every size", "give the sizes with --set, or a scale factor such as 0.5 or 0.75",
                             "scale_factor")  # fmt: skip
                raise NoSymbolicForm(e.message, e.loc, e.hint)
            ctx.positive_size("size", o, "floor(i * scale_factor)", f"floor({sym.to_text(i)} * {f!r})")
            out.append(o)
        return (c, *out)

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        i, o = ins[0][1 + dim], out[1 + dim]
        mode = a["mode"]
        if mode == "area":  # adaptive average pooling
            return IDENTITY if i == o else (GLOBAL if o == 1 else Bins(i, o))
        # torch receives the scale factor unless a size was given or recompute_scale_factor is set
        factor = (
            None if a["scale_factor"] is None or a["recompute_scale_factor"] else float(_at(a["scale_factor"], dim))
        )
        if mode in ("nearest", "nearest-exact"):
            return NearestScale(i, o, factor, mode == "nearest-exact")
        return Interp(i, o, bool(a["align_corners"]), factor, cubic=mode == "bicubic")

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.per_channel(xs[0], self.build(a, kit.nn, ins))  # resampling acts channel by channel

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        kwargs = a.torch_kwargs()
        for key in ("size", "scale_factor"):
            if isinstance(kwargs.get(key), tuple) and len(set(kwargs[key])) == 1:
                kwargs[key] = kwargs[key][0]
        return nn.Upsample(**kwargs)

    def formulas(self) -> dict[str, str]:
        return {"output": "size, or floor(float(i) * scale_factor)", "params": "0"}


def _at(value: Any, dim: int) -> Any:
    return value[dim] if isinstance(value, tuple) else value


def scale_floor(i: Any, factor: float) -> Any:
    """``floor(float(i) * factor)`` as torch computes it (in double precision); with a symbolic ``i``, the floor of
    ``i`` times the fraction that matches torch at every size, or None when no fraction does."""
    if float(factor).is_integer():
        return i * int(factor)
    if isinstance(i, int) or getattr(i, "is_Integer", False):
        return int(float(int(i)) * factor)
    exact = exact_scale(factor)
    if exact is None:
        return None
    import sympy

    return sympy.floor(i * sympy.Rational(exact.numerator, exact.denominator))


def exact_scale(factor: float) -> Fraction | None:
    """The fraction f with ``floor(i * f) == floor(float(i) * factor)`` for every size i, or None.

    torch rounds ``i * factor`` to a double before the floor. The double's exact value is wrong where ``i * factor``
    is meant to be an integer and lies just below it (0.3 is 0.29999...: 10 * 0.3 rounds up to 3.0000000000000004);
    the decimal written (3/10) is right unless the double lies below it by more than a 2**-54 relative error, when
    products that are whole numbers in decimal can round down (0.7, 1.15: about one factor in seven of 0.01..9.99).
    """
    written, value = Fraction(repr(factor)), Fraction(factor)
    if written == value:  # exact in binary (0.5, 1.25): no rounding in the product up to 2**53
        return written
    if written.denominator > 2**12:
        return None
    below = written - value  # the double is below the decimal by this much
    return written if below < 0 or below / written < Fraction(1, 2**54) else None


class PixelShuffle(LayerType):
    """PixelShuffle(r): ``(C r^2, H, W) -> (C, rH, rW)``; PixelUnshuffle the reverse."""

    def __init__(self, unshuffle: bool) -> None:
        self.unshuffle = unshuffle
        self.name = "PixelUnshuffle" if unshuffle else "PixelShuffle"
        self.family = "reshape" if unshuffle else "up-sampling"
        self.key = "downscale_factor" if unshuffle else "upscale_factor"
        self.args = {self.key: Arg("int", minimum=1)}

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        self._need_rank(shape, range(3, 9), ctx)

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        *lead, c, h, w = ins[0]
        r = a[self.key]
        if not self.unshuffle:
            ctx.require(
                sym.equal(sym.mod(c, r * r), 0),
                f"{sym.to_text(c)} channels are not divisible by upscale_factor^2 = {r * r}",
                f"the channels before PixelShuffle must be a multiple of {r * r}",
                self.key,
            )
            return (*lead, sym.floordiv(c, r * r), h * r, w * r)
        for name, v in (("height", h), ("width", w)):
            ctx.require(
                sym.equal(sym.mod(v, r), 0),
                f"{name} {sym.to_text(v)} is not divisible by downscale_factor {r}",
                f"use an input whose {name} is a multiple of {r}",
                self.key,
            )
        return (*lead, c * r * r, sym.floordiv(h, r), sym.floordiv(w, r))

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        """Over all channels of a (C, H, W) input: unshuffle reads an r×r block, shuffle repeats each unit r times."""
        r = a[self.key]
        return Affine(r, r, 0) if self.unshuffle else Repeat(r)

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return Channels("unshuffle" if self.unshuffle else "shuffle", a[self.key])

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.real_module(xs[0], self.build(a, kit.nn, ins))  # moves channels into space: real channels


def catalogue() -> list[LayerType]:
    """Every reshaping layer type."""
    return [Flatten(), Unflatten(), Linear(), Upsample(), PixelShuffle(False), PixelShuffle(True)]
