"""Convolutions: Conv1d/2d/3d and ConvTranspose1d/2d/3d."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import symbolic as sym
from ..formula import output_dim
from . import steps
from .base import Arg, Args, Ctx, LayerType, Shape
from .spatial import dim_name
from .window import ALL, Affine, Channels, PaddedAffine, Transpose


class Conv(LayerType):
    """``ConvNd``: ``o = floor((i + 2p - d(k-1) - 1)/s) + 1``."""

    family = "convolution"
    inferred = ("in_channels",)

    def __init__(self, ndim: int) -> None:
        self.ndim = ndim
        self.name = f"Conv{ndim}d"
        self.args = {
            "out_channels": Arg("int", minimum=1),
            "kernel_size": Arg("size", minimum=1),
            "stride": Arg("size", 1, minimum=1),
            "padding": Arg("size", 0, minimum=0, strings=("same", "valid")),
            "dilation": Arg("size", 1, minimum=1),
            "groups": Arg("int", 1, minimum=1),
            "bias": Arg("bool", True),
            "padding_mode": Arg("str", "zeros", choices=("zeros", "reflect", "replicate", "circular")),
        }

    def infer(self, arg: str, shape: Shape) -> Any:
        return shape[0]

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        c_in, *spatial = ins[0]
        g = a["groups"]
        check_groups(ctx, c_in, a["out_channels"], g)
        k, s, d, pad = a["kernel_size"], a["stride"], a["dilation"], a["padding"]
        out = []
        for j, i in enumerate(spatial):
            name = dim_name(self.ndim, j)
            k_eff = d[j] * (k[j] - 1) + 1
            if pad == "same":
                ctx.require(
                    s[j] == 1,
                    "padding='same' is not supported for strided convolutions",
                    "use an explicit padding",
                    "padding",
                )
                total = d[j] * (k[j] - 1)
                left, right = sym.floordiv(total, 2), total - sym.floordiv(total, 2)
                check_pad_mode(ctx, a["padding_mode"], i, left, right, name)
                out.append(i)
                continue
            p = 0 if pad == "valid" else pad[j]
            check_pad_mode(ctx, a["padding_mode"], i, p, p, name)
            o = sym.floordiv(i + 2 * p - k_eff, s[j]) + 1
            ctx.require(
                i + 2 * p >= k_eff,
                f"kernel is larger than the padded input in {name}: i + 2p = {sym.to_text(i)} + 2*{p} = "
                f"{sym.to_text(i + 2 * p)} < d(k-1)+1 = {sym.to_text(k_eff)}",
                "the input is too small here; use a larger input, more padding or a smaller kernel",
            )
            ctx.positive_size(
                name,
                o,
                "floor((i + 2p - d(k-1) - 1)/s) + 1",
                f"floor(({sym.to_text(i)} + 2*{p} - {d[j]}*({k[j]}-1) - 1)/{s[j]}) + 1",
            )
            out.append(o)
        return (a["out_channels"], *out)

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        k, s, d, pad = a["kernel_size"][dim], a["stride"][dim], a["dilation"][dim], a["padding"]
        left = sym.floordiv(d * (k - 1), 2) if pad == "same" else 0 if pad == "valid" else pad[dim]
        if a["padding_mode"] != "zeros":
            return PaddedAffine(d * (k - 1) + 1, s, left, d, mode=a["padding_mode"])
        return Affine(d * (k - 1) + 1, s, left, d)

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return ALL if a["groups"] == 1 else Channels("groups", a["groups"])

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.conv(xs[0], self, a, out[0])

    def macs(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        per_output = sym.floordiv(ins[0][0], a["groups"]) * sym.product(a["kernel_size"])
        return a["out_channels"] * per_output * sym.product(out[1:])

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        c_in = ins[0][0]
        weight = a["out_channels"] * sym.floordiv(c_in, a["groups"]) * sym.product(a["kernel_size"])
        return weight + (a["out_channels"] if a["bias"] else 0)

    def explain(self, a: Args, ins: Sequence[Shape], out: Shape) -> list[steps.Step]:
        c_in, *spatial = ins[0]
        k, s, d, pad = a["kernel_size"], a["stride"], a["dilation"], a["padding"]
        if pad == "same":
            sizes = [steps.Step(f"output {x}", f"{x}_out", statement="padding='same' keeps the size (stride 1): "
                                f"{x}_out = {x}_in, padding {sym.to_text(d[j] * (k[j] - 1))} split left/right",
                                result=out[1 + j], quantity=output_dim(1 + j))
                     for j, x in enumerate(steps.letters(self.ndim))]  # fmt: skip
        else:
            p = (0,) * self.ndim if pad == "valid" else pad
            sizes = steps.window_sizes(self.ndim, spatial, k, s, p, d, out[1:])
        return [*sizes, steps.channels(out[0]),
                steps.conv_params(self.ndim, k, c_in, a["out_channels"], a["groups"], a["bias"])]  # fmt: skip

    def formulas(self) -> dict[str, str]:
        return {
            "output": "floor((i + 2p - d(k-1) - 1)/s) + 1   ('same': i, stride 1 only)",
            "params": "C_out * (C_in/g) * prod(k) + (C_out if bias)",
        }


class ConvTranspose(LayerType):
    """``ConvTransposeNd``: ``o = (i-1)s - 2p + d(k-1) + output_padding + 1``."""

    family = "up-sampling"  # a learned up-sampling (U-Net's up-convolution)
    inferred = ("in_channels",)

    def __init__(self, ndim: int) -> None:
        self.ndim = ndim
        self.name = f"ConvTranspose{ndim}d"
        self.args = {
            "out_channels": Arg("int", minimum=1),
            "kernel_size": Arg("size", minimum=1),
            "stride": Arg("size", 1, minimum=1),
            "padding": Arg("size", 0, minimum=0),
            "output_padding": Arg("size", 0, minimum=0),
            "groups": Arg("int", 1, minimum=1),
            "bias": Arg("bool", True),
            "dilation": Arg("size", 1, minimum=1),
            "padding_mode": Arg("str", "zeros", choices=("zeros",)),
        }

    def infer(self, arg: str, shape: Shape) -> Any:
        return shape[0]

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        c_in, *spatial = ins[0]
        check_groups(ctx, c_in, a["out_channels"], a["groups"])
        k, s, d, p, op = a["kernel_size"], a["stride"], a["dilation"], a["padding"], a["output_padding"]
        out = []
        for j, i in enumerate(spatial):
            ctx.require(
                op[j] < sym.maximum(s[j], d[j]),
                f"output_padding {sym.to_text(op[j])} must be smaller than either stride {sym.to_text(s[j])} or "
                f"dilation {sym.to_text(d[j])}",
                "output_padding only picks among the sizes a stride can produce",
                "output_padding",
            )
            o = (i - 1) * s[j] - 2 * p[j] + d[j] * (k[j] - 1) + op[j] + 1
            ctx.positive_size(
                dim_name(self.ndim, j),
                o,
                "(i-1)s - 2p + d(k-1) + output_padding + 1",
                f"({sym.to_text(i)}-1)*{s[j]} - 2*{p[j]} + {d[j]}*({k[j]}-1) + {op[j]} + 1",
                "padding removes more than the transposed convolution produces; reduce padding",
            )
            out.append(o)
        return (a["out_channels"], *out)

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        k, s, d, p = a["kernel_size"][dim], a["stride"][dim], a["dilation"][dim], a["padding"][dim]
        return Transpose(d * (k - 1) + 1, s, p, d)

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return ALL if a["groups"] == 1 else Channels("groups", a["groups"])

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.conv(xs[0], self, a, out[0], transposed=True)

    def macs(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        # every input value is multiplied into C_out/g * prod(k) outputs
        per_input = sym.floordiv(a["out_channels"], a["groups"]) * sym.product(a["kernel_size"])
        return ins[0][0] * per_input * sym.product(ins[0][1:])

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        c_in = ins[0][0]
        weight = c_in * sym.floordiv(a["out_channels"], a["groups"]) * sym.product(a["kernel_size"])
        return weight + (a["out_channels"] if a["bias"] else 0)

    def explain(self, a: Args, ins: Sequence[Shape], out: Shape) -> list[steps.Step]:
        from ..formula import var

        c_in, *spatial = ins[0]
        k, s, d, p, op = a["kernel_size"], a["stride"], a["dilation"], a["padding"], a["output_padding"]
        sizes = []
        for j, x in enumerate(steps.letters(self.ndim)):
            f = (var(f"{x}_in") - 1) * var("s") - 2 * var("p") + var("d") * (var("k") - 1) + var("output_padding") + 1
            env = {f"{x}_in": spatial[j], "s": s[j], "p": p[j], "d": d[j], "k": k[j], "output_padding": op[j]}
            sizes.append(steps.Step(f"output {x}", f"{x}_out", f, env, out[1 + j], quantity=output_dim(1 + j)))
        return [*sizes, steps.channels(out[0]),
                steps.conv_params(self.ndim, k, c_in, a["out_channels"], a["groups"], a["bias"], True)]  # fmt: skip

    def formulas(self) -> dict[str, str]:
        return {
            "output": "(i-1)s - 2p + d(k-1) + output_padding + 1",
            "params": "C_in * (C_out/g) * prod(k) + (C_out if bias)",
        }


def check_groups(ctx: Ctx, c_in: Any, c_out: Any, g: Any) -> None:
    """in and out channels must both divide by groups."""
    ctx.require(
        sym.equal(sym.mod(c_in, g), 0),
        f"in_channels {sym.to_text(c_in)} is not divisible by groups {g}",
        "groups must divide both the input and output channels",
        "groups",
    )
    ctx.require(
        sym.equal(sym.mod(c_out, g), 0),
        f"out_channels {sym.to_text(c_out)} is not divisible by groups {g}",
        "groups must divide both the input and output channels",
        "groups",
    )


def check_pad_mode(ctx: Ctx, mode: str, i: Any, left: Any, right: Any, name: str) -> None:
    """Reflect padding needs p < i; circular needs p <= i (it may wrap around only once)."""
    if mode == "reflect":
        ctx.require(
            sym.maximum(left, right) < i,
            f"reflect padding {sym.to_text(sym.maximum(left, right))} must be less than the input {name} {sym.to_text(i)}",
            "use padding_mode 'zeros' or 'replicate', or a larger input",
            "padding",
        )
    elif mode == "circular":
        ctx.require(
            sym.maximum(left, right) <= i,
            f"circular padding {sym.to_text(sym.maximum(left, right))} wraps around the input {name} "
            f"{sym.to_text(i)} more than once",
            "use a larger input or less padding",
            "padding",
        )
