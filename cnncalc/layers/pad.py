"""Padding layers: Zero, Constant, Reflection, Replication and Circular pads, 1d/2d/3d."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import symbolic as sym
from .base import Arg, Args, Ctx, LayerType, Shape
from .spatial import dim_name
from .window import Affine, PaddedAffine


class Pad(LayerType):
    """``o = i + left + right`` per padded dim; ``padding`` is an int or (left, right, top, bottom, front, back)."""

    def __init__(self, kind: str, ndim: int) -> None:
        self.kind, self.ndim = kind, ndim
        self.name = f"{kind}Pad{ndim}d"
        # Negative padding crops, in every mode (torch narrows the input by it).
        self.args = {"padding": Arg("pad")}
        if kind == "Constant":
            self.args = {**self.args, "value": Arg("float")}

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        c, *spatial = ins[0]
        pad = a["padding"]
        out = list(spatial)
        for j in range(self.ndim):
            # torch lists padding from the last dim backwards.
            left, right = pad[2 * (self.ndim - 1 - j)], pad[2 * (self.ndim - 1 - j) + 1]
            i, name = spatial[j], dim_name(self.ndim, j)
            if self.kind == "Reflection":
                ctx.require(
                    sym.maximum(left, right) < i,
                    f"reflection padding {sym.to_text(sym.maximum(left, right))} must be less than the input {name} "
                    f"{sym.to_text(i)}",
                    "use ReplicationPad or ZeroPad, or a larger input",
                    "padding",
                )
            if self.kind == "Circular":
                ctx.require(
                    sym.maximum(left, right) <= i,
                    f"circular padding {sym.to_text(sym.maximum(left, right))} wraps around the input {name} "
                    f"{sym.to_text(i)} more than once",
                    "use a larger input or less padding",
                    "padding",
                )
            if self.kind in ("Zero", "Constant"):
                # torch crops (narrow) by the negative amounts before it pads.
                crop = sym.minimum(left, 0) + sym.minimum(right, 0)
                ctx.require(
                    i + crop >= 0,
                    f"negative padding {sym.to_text(-crop)} crops more than the input {name} {sym.to_text(i)}",
                    "torch crops before it pads; reduce the negative padding",
                    "padding",
                )
            o = i + left + right
            ctx.positive_size(
                name,
                o,
                "i + left + right",
                f"{sym.to_text(i)} + {sym.to_text(left)} + {sym.to_text(right)}",
                "negative padding crops; it removes the whole input here",
            )
            out[j] = o
        return (c, *out)

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        left, right = a["padding"][2 * (self.ndim - 1 - dim)], a["padding"][2 * (self.ndim - 1 - dim) + 1]
        if self.kind in ("Zero", "Constant"):
            return Affine(1, 1, left)
        mode = {"Reflection": "reflect", "Replication": "replicate"}.get(self.kind, "circular")
        if sym.is_concrete(left) and sym.is_concrete(right) and min(left, right) < 0:
            return CroppedPad(1, 1, max(left, 0), mode=mode, crop=(-min(left, 0), -min(right, 0)))
        return PaddedAffine(1, 1, left, mode=mode)

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.per_channel(xs[0], self.build(a, kit.nn, ins))  # the padding itself, channel by channel

    def formulas(self) -> dict[str, str]:
        return {"output": "i + left + right per dim", "params": "0"}


@dataclass(frozen=True)
class CroppedPad(PaddedAffine):
    """Negative padding in a mode other than zeros: torch crops the input first (``crop``: from the left and
    right), then pads what is left by the positive amounts in its mode."""

    crop: tuple[int, int] = (0, 0)

    def sources(self, u: int, size: int) -> Iterable[int]:
        kept = size - self.crop[0] - self.crop[1]
        return (self.crop[0] + self._source(v, kept) for v in self.positions(u))

    @property
    def closed_form(self) -> bool:
        return False


def catalogue() -> list[LayerType]:
    """Every padding layer type."""
    return [Pad(kind, n) for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular") for n in (1, 2, 3)]
