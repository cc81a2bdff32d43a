"""Merge nodes: Add (elementwise sum, for residuals) and Concat (torch.cat)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import symbolic as sym
from .base import Arg, Args, Ctx, LayerType, Shape


class Add(LayerType):
    """Elementwise sum of two or more inputs of the same shape."""

    family = "merge"
    name = "Add"
    merge = True

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        pass

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        first = ins[0]
        for other in ins[1:]:
            if len(other) != len(first):
                raise ctx.fail(
                    f"cannot add shapes {ctx.shape(first)} and {ctx.shape(other)} (different ranks)",
                    "Add needs inputs of the same shape",
                )
            for d1, d2 in zip(first, other):
                ctx.require(
                    sym.equal(d1, d2),
                    f"cannot add shapes {ctx.shape(first)} and {ctx.shape(other)}",
                    "Add needs inputs of the same shape; use a projection (1x1 conv) on the shortcut",
                )
        return first

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.network import AddModule

        return AddModule()

    def formulas(self) -> dict[str, str]:
        return {"output": "the common input shape", "params": "0"}

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.add(xs)


class Concat(LayerType):
    """``torch.cat`` along ``dim`` (batch-inclusive; 1 = channels); other dims must agree."""

    family = "merge"
    name = "Concat"
    merge = True
    args = {"dim": Arg("int", 1)}

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        pass

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        first = ins[0]
        rank = len(first) + 1
        dim = a["dim"]
        full = dim + rank if dim < 0 else dim
        if not 0 < full < rank:
            raise ctx.fail(
                f"dim {dim} is " + ("the batch dimension" if full == 0 else f"out of range for rank {rank}"),
                f"dims count the batch as 0, so channels are 1; use a dim in [1, {rank - 1}]",
                "dim",
            )
        j = full - 1
        for other in ins[1:]:
            if len(other) != len(first):
                raise ctx.fail(f"cannot concatenate shapes {ctx.shape(first)} and {ctx.shape(other)} (different ranks)")
            for k, (d1, d2) in enumerate(zip(first, other)):
                if k != j:
                    ctx.require(
                        sym.equal(d1, d2),
                        f"cannot concatenate shapes {ctx.shape(first)} and {ctx.shape(other)} along dim {dim}",
                        "all dims except the concatenated one must agree; crop or pad one input",
                    )
        return (*first[:j], sum(s[j] for s in ins), *first[j + 1 :])

    def axis(self, a: Args, ins: Sequence[Shape]) -> int:
        """The per-sample dim it concatenates along (0 = channels)."""
        return int(a["dim"]) % (len(ins[0]) + 1) - 1

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.cat(xs, self.axis(a, ins))

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.network import ConcatModule

        return ConcatModule(a["dim"])

    def formulas(self) -> dict[str, str]:
        return {"output": "sum of the inputs' sizes along dim", "params": "0"}


def catalogue() -> list[LayerType]:
    """The merge layer types."""
    return [Add(), Concat()]
