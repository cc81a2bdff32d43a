"""Normalisation: BatchNorm, InstanceNorm, GroupNorm, LayerNorm, LocalResponseNorm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import symbolic as sym
from . import steps
from .base import Arg, Args, Ctx, LayerType, Shape
from .window import ALL, GLOBAL, IDENTITY, SAME, Channels


class BatchNorm(LayerType):
    """BatchNormNd / InstanceNormNd: ``2C`` parameters if affine; ``2C + 1`` buffer values if tracking."""

    family = "normalisation"
    inferred = ("num_features",)

    def __init__(self, kind: str, ndim: int) -> None:
        self.kind, self.ndim = kind, ndim
        self.name = f"{kind}{ndim}d"
        instance = kind == "InstanceNorm"
        self.args = {
            "eps": Arg("float", 1e-5, low=None if instance else 0.0),  # batch_norm: eps must be non-negative
            "momentum": Arg("float", 0.1, nullable=True),
            "affine": Arg("bool", not instance),
            "track_running_stats": Arg("bool", not instance),
        }
        # BatchNorm1d takes (C) or (C, L) per sample; InstanceNorm1d needs (C, L).
        self.ranks = (1, 2) if (ndim == 1 and not instance) else (ndim + 1,)

    def infer(self, arg: str, shape: Shape) -> Any:
        return shape[0]

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        self._need_rank(shape, self.ranks, ctx)

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        if self.kind == "BatchNorm" and not a["track_running_stats"] and a["eps"] <= 0:
            raise ctx.fail(f"eps {a['eps']!r} must be positive: without running statistics torch normalises with "
                           "the batch's, as in training, and refuses eps <= 0 there", "use eps: 1e-5", "eps")  # fmt: skip
        if self.kind == "InstanceNorm" and not a["track_running_stats"]:
            # Without running statistics it normalises each instance, in eval mode too.
            spatial = sym.product(ins[0][1:])
            ctx.require(
                spatial >= 2,
                f"needs more than 1 spatial element per channel to normalise, the input {ctx.shape(ins[0])} has "
                f"{sym.to_text(spatial)}",
                "normalise earlier, or use track_running_stats: true",
            )
        return ins[0]

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        # Without running statistics it normalises with statistics over every position of the channel
        # (BatchNorm over the batch too), in eval mode as well.
        return IDENTITY if a["track_running_stats"] else GLOBAL

    def mixes_samples(self, a: Args, ins: Sequence[Shape]) -> str | None:
        if self.kind == "BatchNorm" and not a["track_running_stats"]:
            return (f"{self.name} with track_running_stats: false normalises with the statistics of the batch, "
                    "in eval mode too")  # fmt: skip
        return None

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        if a["track_running_stats"] or len(ins[0]) < 2:
            return xs[0]  # running statistics: value by value (a rank-1 input has no positions to mix)
        return kit.mix_dims(xs[0], tuple(range(2, len(ins[0]) + 1)))

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        return 2 * ins[0][0] if a["affine"] else 0

    def buffers(self, a: Args, ins: Sequence[Shape]) -> Any:
        return 2 * ins[0][0] + 1 if a["track_running_stats"] else 0

    def running_stats(self, a: Args, ins: Sequence[Shape]) -> Any:
        return 2 * ins[0][0] if a["track_running_stats"] and self.kind == "BatchNorm" else 0

    def formulas(self) -> dict[str, str]:
        return {"params": "2C if affine", "buffers": "running_mean C + running_var C + num_batches_tracked 1"}

    def explain(self, a: Args, ins: Sequence[Shape], out: Shape) -> list[steps.Step]:
        from ..formula import BUFFERS, PARAMS, var

        env = {"C": ins[0][0]}
        out_steps = [steps.Step("output shape", statement="same as the input", result=tuple(out))]
        if a["affine"]:
            out_steps.append(steps.Step("parameters", "params", 2 * var("C"), env, 2 * ins[0][0],
                                        "a scale (gamma) and a shift (beta) per channel", quantity=PARAMS))  # fmt: skip
        if a["track_running_stats"]:
            out_steps.append(steps.Step("buffers", "buffers", 2 * var("C") + 1, env, 2 * ins[0][0] + 1,
                                        "running mean and variance per channel, plus num_batches_tracked; "
                                        "Keras counts the 2C statistics as non-trainable parameters", quantity=BUFFERS))  # fmt: skip
        return out_steps


class GroupNorm(LayerType):
    """GroupNorm(G, C): C must divide by G; ``2C`` parameters if affine."""

    family = "normalisation"
    name = "GroupNorm"
    inferred = ("num_channels",)
    args = {"num_groups": Arg("int", minimum=1), "eps": Arg("float", 1e-5), "affine": Arg("bool", True)}

    def infer(self, arg: str, shape: Shape) -> Any:
        return shape[0]

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        self._need_rank(shape, range(1, 9), ctx)

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        c = ins[0][0]
        ctx.require(
            sym.equal(sym.mod(c, a["num_groups"]), 0),
            f"{sym.to_text(c)} channels are not divisible by num_groups {a['num_groups']}",
            "choose num_groups that divides the channel count",
            "num_groups",
        )
        return ins[0]

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        return GLOBAL  # group statistics mix every position

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return Channels("groups", a["num_groups"])

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.group_mix(xs[0], a["num_groups"])

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        return 2 * ins[0][0] if a["affine"] else 0

    def formulas(self) -> dict[str, str]:
        return {"params": "2C if affine"}


class LayerNorm(LayerType):
    """LayerNorm(normalized_shape): must match the trailing dims; ``2*prod(shape)`` parameters."""

    family = "normalisation"
    name = "LayerNorm"
    args = {
        "normalized_shape": Arg("ints", minimum=1),
        "eps": Arg("float", 1e-5),
        "elementwise_affine": Arg("bool", True),
        "bias": Arg("bool", True),
    }

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        shape, ns = ins[0], a["normalized_shape"]
        if len(ns) > len(shape):
            raise ctx.fail(
                f"normalized_shape {list(ns)} has more dims than the input {ctx.shape(shape)}", arg="normalized_shape"
            )
        for want, got in zip(ns, shape[len(shape) - len(ns) :]):
            ctx.require(
                sym.equal(want, got),
                f"normalized_shape {list(ns)} does not match the trailing dims of the input {ctx.shape(shape)}",
                "normalized_shape must equal the last dims of the input",
                "normalized_shape",
            )
        return shape

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        # Statistics over the trailing normalized_shape dims mix positions along those dims.
        return GLOBAL if 1 + dim >= len(ins[0]) - len(a["normalized_shape"]) else IDENTITY

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return ALL if len(a["normalized_shape"]) >= len(ins[0]) else SAME

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        rank = len(ins[0]) + 1
        dims = tuple(range(rank - len(a["normalized_shape"]), rank))
        x = kit.mix_channels(xs[0]) if 1 in dims else xs[0]
        rest = tuple(d for d in dims if d != 1)
        return kit.mix_dims(x, rest) if rest else x

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        if not a["elementwise_affine"]:
            return 0
        return sym.product(a["normalized_shape"]) * (2 if a["bias"] else 1)

    def formulas(self) -> dict[str, str]:
        return {"params": "prod(normalized_shape) * (2 with bias, 1 without), 0 without elementwise_affine"}


class LocalResponseNorm(LayerType):
    """LocalResponseNorm: shape kept, no parameters."""

    family = "normalisation"
    name = "LocalResponseNorm"
    args = {
        "size": Arg("int", minimum=1),
        "alpha": Arg("float", 1e-4),
        "beta": Arg("float", 0.75),
        "k": Arg("float", 1.0),
    }

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        self._need_rank(shape, range(2, 9), ctx)

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        # x / (k + alpha/n * sum of x^2 over the channel window)^beta: no neighbours when alpha or beta is 0
        return Channels("window", a["size"]) if a["alpha"] != 0 and a["beta"] != 0 else SAME

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        rule = self.channel_rule(a, ins, out)
        return kit.channel_window(xs[0], rule.n) if rule.kind == "window" else xs[0]

    def workspace(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        # torch pads the squared input by size - 1 channels, then averages over the window (two such tensors)
        c, *spatial = ins[0]
        return 2 * (c + a["size"] - 1) * sym.product(spatial)


def catalogue() -> list[LayerType]:
    """Every normalisation layer type."""
    out: list[LayerType] = [GroupNorm(), LayerNorm(), LocalResponseNorm()]
    for n in (1, 2, 3):
        out += [BatchNorm("BatchNorm", n), BatchNorm("InstanceNorm", n)]
    return out
