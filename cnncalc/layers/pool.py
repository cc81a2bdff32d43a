"""Pooling: Max/Avg/LP pooling and adaptive pooling, 1d/2d/3d."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .. import symbolic as sym
from ..formula import PARAMS
from . import steps
from .base import Arg, Args, Ctx, LayerType, Shape
from .spatial import dim_name
from .window import GLOBAL, IDENTITY, Affine, Bins


def pool_size(i: Any, k: Any, s: Any, p: Any, d: Any, ceil_mode: bool) -> Any:
    """torch's ``pooling_output_shape``, in the simplest form that equals it at every valid size.

    ``floor((i + 2p - d(k-1) - 1 + (s-1 if ceil_mode))/s) + 1``; with ceil_mode a
    last window that would start inside the right padding is dropped. That drop
    happens at most once, so it is ``min(o, floor((i + p - 1)/s) + 1)``. Both terms
    are ``ceil(n/s)`` of numerators that differ by a constant, ``i + 2p - k_eff + s``
    and ``i + p``, so for known k, s, p, d one of them is the smaller at every size:
    the first when ``p + s <= k_eff`` (no window can start in the padding), else the
    second. Only unknown hyper-parameters (``cnncalc solve``) keep the ``min``.
    (tests/test_symbolic.py checks the equality exhaustively over sizes and arguments.)
    """
    k_eff = d * (k - 1) + 1
    if not ceil_mode:
        return sym.floordiv(i + 2 * p - k_eff, s) + 1
    o = sym.floordiv(i + 2 * p - k_eff + s - 1, s) + 1
    dropped = sym.floordiv(i + p - 1, s) + 1
    if all(sym.is_concrete(v) for v in (k, s, p, d)):
        return o if p + s <= k_eff else dropped
    return sym.minimum(o, dropped)


class Pool(LayerType):
    """MaxPoolNd, AvgPoolNd and LPPoolNd (window pools with kernel, stride, padding)."""

    family = "pooling"

    def __init__(self, kind: str, ndim: int) -> None:
        self.kind, self.ndim = kind, ndim
        self.name = f"{kind}Pool{ndim}d"
        args: dict[str, Arg] = {}
        if kind == "LP":
            args["norm_type"] = Arg("float")
        args["kernel_size"] = Arg("size", minimum=1)
        args["stride"] = Arg("size", None, minimum=1, nullable=True)
        if kind != "LP":
            args["padding"] = Arg("size", 0, minimum=0)
        if kind == "Max":
            args["dilation"] = Arg("size", 1, minimum=1)
            args["return_indices"] = Arg("bool", False)
        args["ceil_mode"] = Arg("bool", False)
        if kind == "Avg":
            args["count_include_pad"] = Arg("bool", True)
            if ndim > 1:
                args["divisor_override"] = Arg("int", None, nullable=True, nonzero=True)  # torch: any but 0
        self.args = args

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        c, *spatial = ins[0]
        k = a["kernel_size"]
        s = a["stride"] if a["stride"] is not None else k
        p = a.values.get("padding", (0,) * self.ndim)
        d = a.values.get("dilation", (1,) * self.ndim)
        if a.values.get("return_indices"):
            raise ctx.fail(
                "return_indices=True returns (values, indices), which a layer table cannot carry",
                "use return_indices: false",
                "return_indices",
            )
        if self.kind == "LP" and a["norm_type"] == 0:
            raise ctx.fail("norm_type 0 is not allowed: LP pooling takes the (1/norm_type)-th power",
                           "use a non-zero norm_type, e.g. 2", "norm_type")  # fmt: skip
        if self.kind == "LP" and self.ndim == 1:
            if a.was_list("kernel_size"):
                raise ctx.fail(
                    "LPPool1d takes an integer kernel_size, not a list",
                    f"write kernel_size: {a['kernel_size'][0]}",
                    "kernel_size",
                )
        out = []
        for j, i in enumerate(spatial):
            name = dim_name(self.ndim, j)
            ctx.require(
                2 * p[j] <= k[j],
                f"padding {p[j]} is more than half of kernel_size {k[j]}",
                "torch requires padding <= kernel_size/2 for pooling",
                "padding",
            )
            if self.ndim == 3 and self.kind != "Max":
                ctx.require(
                    i >= k[j],
                    f"input {name} {sym.to_text(i)} is smaller than kernel_size {k[j]}",
                    f"{self.name} needs the unpadded input to be at least the kernel size",
                )
            o = pool_size(i, k[j], s[j], p[j], d[j], a["ceil_mode"])
            ctx.positive_size(
                name,
                o,
                "floor((i + 2p - d(k-1) - 1" + (" + s - 1" if a["ceil_mode"] else "") + ")/s) + 1",
                f"floor(({sym.to_text(i)} + 2*{p[j]} - {d[j]}*({k[j]}-1) - 1"
                + (f" + {s[j]} - 1" if a["ceil_mode"] else "")
                + f")/{s[j]}) + 1",
            )
            out.append(o)
        return (c, *out)

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        k = a["kernel_size"][dim]
        s = a["stride"][dim] if a["stride"] is not None else k
        p = a.values.get("padding", (0,) * self.ndim)[dim]
        d = a.values.get("dilation", (1,) * self.ndim)[dim]
        return Affine(d * (k - 1) + 1, s, p, d)

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        # Every window pool as an average of the same geometry: max pooling's gradient reaches only the argmax.
        return kit.window_average(xs[0], [self.window(a, ins, j, out) for j in range(self.ndim)], out[1:])

    def explain(self, a: Args, ins: Sequence[Shape], out: Shape) -> list[steps.Step]:
        k = a["kernel_size"]
        s = a["stride"] if a["stride"] is not None else k
        p = a.values.get("padding", (0,) * self.ndim)
        d = a.values.get("dilation", (1,) * self.ndim)
        sizes = steps.window_sizes(self.ndim, ins[0][1:], k, s, p, d, out[1:], a["ceil_mode"])
        if a["stride"] is None:
            sizes[0] = dataclasses.replace(sizes[0], label=sizes[0].label + " (stride defaults to kernel_size)")
        return [*sizes, steps.Step("output channels", statement="unchanged: pooling acts on each channel separately",
                                   result=out[0]),
                steps.Step("parameters", "params", statement="none: pooling has no weights", result=0,
                           quantity=PARAMS)]  # fmt: skip

    def formulas(self) -> dict[str, str]:
        return {
            "output": "floor((i + 2p - d(k-1) - 1 [+ s - 1 if ceil_mode])/s) + 1; ceil_mode drops a last window "
            "starting in the right padding",
            "params": "0",
        }


class AdaptivePool(LayerType):
    """AdaptiveAvgPoolNd and AdaptiveMaxPoolNd: the output size is what is asked for."""

    family = "pooling"

    def __init__(self, kind: str, ndim: int) -> None:
        self.kind, self.ndim = kind, ndim
        self.name = f"Adaptive{kind}Pool{ndim}d"
        self.args = {"output_size": Arg("sizeopt", minimum=1)}
        if kind == "Max":
            self.args = {**self.args, "return_indices": Arg("bool", False)}

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        if a.values.get("return_indices"):
            raise ctx.fail(
                "return_indices=True returns (values, indices), which a layer table cannot carry",
                "use return_indices: false",
                "return_indices",
            )
        c, *spatial = ins[0]
        if self.ndim == 1 and None in a["output_size"]:
            raise ctx.fail(
                "output_size null (keep the size) is not accepted by 1d adaptive pooling",
                "write the size",
                "output_size",
            )
        return (c, *(i if o is None else o for i, o in zip(spatial, a["output_size"])))

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        i, o = ins[0][1 + dim], a["output_size"][dim]
        if o is None or sym.decide(sym.equal(i, o)) is True:
            return IDENTITY
        if o == 1:
            return GLOBAL
        return Bins(i, o)

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        # Adaptive max pooling as adaptive average pooling of the same bins (the max's gradient reaches one unit).
        pool = getattr(kit.nn, f"AdaptiveAvgPool{self.ndim}d")(tuple(out[1:]))
        return kit.per_channel(xs[0], pool)

    def formulas(self) -> dict[str, str]:
        return {
            "output": "output_size (null keeps the input size); bins [floor(j*i/o), ceil((j+1)*i/o))",
            "params": "0",
        }


def catalogue() -> list[LayerType]:
    """Every pooling layer type."""
    out: list[LayerType] = []
    for n in (1, 2, 3):
        out += [Pool("Max", n), Pool("Avg", n), Pool("LP", n), AdaptivePool("Avg", n), AdaptivePool("Max", n)]
    return out
