"""Shape-preserving layers: activations and dropout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import symbolic as sym
from .base import Arg, Args, Ctx, LayerType, Shape
from .window import ALL, GLOBAL, IDENTITY, SAME, Channels

_INPLACE = {"inplace": Arg("bool", False)}


class Elementwise(LayerType):
    """A layer that keeps the shape and has no parameters."""

    def __init__(self, name: str, args: dict[str, Arg] | None = None, ranks: Sequence[int] | None = None,
                 family: str = "activation", keras_names: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self.name = name
        self.args = args or {}
        self.ranks = ranks
        self.family = family
        self.keras_names = dict(keras_names or {})

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        if self.ranks:
            self._need_rank(shape, self.ranks, ctx)

    def formulas(self) -> dict[str, str]:
        return {"output": "same as input", "params": "0"}

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return xs[0]  # acts value by value (dropout is the identity in eval mode)


class PReLU(LayerType):
    """PReLU: ``num_parameters`` learnable slopes (1, or one per channel)."""

    family = "activation"
    name = "PReLU"
    args = {"num_parameters": Arg("int", 1, minimum=1), "init": Arg("float", 0.25)}

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        n = a["num_parameters"]
        if n != 1:
            ctx.require(
                sym.equal(ins[0][0], n),
                f"num_parameters {n} does not match the {sym.to_text(ins[0][0])} input channels",
                "use 1 or the channel count",
                "num_parameters",
            )
        return ins[0]

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        return a["num_parameters"]

    def formulas(self) -> dict[str, str]:
        return {"params": "num_parameters"}

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return xs[0]  # a slope per channel: value by value


class Softmax(LayerType):
    """Softmax / LogSoftmax over ``dim`` (batch-inclusive, as in torch)."""

    family = "activation"

    def __init__(self, name: str) -> None:
        self.name = name
        self.args = {"dim": Arg("int", None, nullable=True)}

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        rank = len(ins[0]) + 1
        dim = a["dim"]
        if dim is not None and not -rank <= dim < rank:
            raise ctx.fail(
                f"dim {dim} is out of range for a batched input of rank {rank}",
                f"use a dim in [{-rank}, {rank - 1}] (dim 0 is the batch)",
                "dim",
            )
        return ins[0]

    def _dim(self, a: Args, ins: Sequence[Shape]) -> int:
        """The batch-inclusive dim it normalises over; with dim None, torch's implicit choice
        (``_get_softmax_dim``: dim 0 for batched ranks 1 and 3, else dim 1)."""
        rank = len(ins[0]) + 1
        if a["dim"] is None:
            return 0 if rank in (1, 3) else 1
        return int(a["dim"]) % rank

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        return GLOBAL if self._dim(a, ins) == dim + 2 else IDENTITY

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return ALL if self._dim(a, ins) == 1 else SAME

    def mixes_samples(self, a: Args, ins: Sequence[Shape]) -> str | None:
        if self._dim(a, ins) != 0:
            return None
        if a["dim"] is None:
            return (f"{self.name} with dim None on a batched rank-{len(ins[0]) + 1} input normalises over dim 0, "
                    "the batch (torch's implicit choice of dim)")  # fmt: skip
        return f"{self.name} over dim {a['dim']} normalises over the batch"

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        d = self._dim(a, ins)
        if d == 0:
            return xs[0]  # over the batch: within one sample, value by value
        return kit.mix_channels(xs[0]) if d == 1 else kit.mix_dims(xs[0], (d,))


def catalogue() -> list[LayerType]:
    """Every activation and dropout layer type."""
    slope = {"negative_slope": Arg("float", 0.01), **_INPLACE}
    dropout = {"p": Arg("float", 0.5, low=0.0, high=1.0), **_INPLACE}
    return [
        Elementwise("ReLU", _INPLACE),
        Elementwise("ReLU6", _INPLACE),
        Elementwise("LeakyReLU", slope, keras_names={"alpha": "negative_slope"}),  # Keras 2's name
        Elementwise("ELU", {"alpha": Arg("float", 1.0), **_INPLACE}),
        Elementwise("SELU", _INPLACE),
        Elementwise("GELU", {"approximate": Arg("str", "none", choices=("none", "tanh"))}),
        Elementwise("SiLU", _INPLACE),
        Elementwise("Mish", _INPLACE),
        Elementwise("Sigmoid"),
        Elementwise("Tanh"),
        Elementwise("Hardswish", _INPLACE),
        Elementwise("Hardsigmoid", _INPLACE),
        Elementwise("Identity", family="other"),
        Softmax("Softmax"),
        Softmax("LogSoftmax"),
        PReLU(),
        Elementwise("Dropout", dropout, family="other", keras_names={"rate": "p"}),
        Elementwise("Dropout1d", dropout, ranks=(2,), family="other"),
        Elementwise("Dropout2d", dropout, ranks=(3,), family="other"),
        Elementwise("Dropout3d", dropout, ranks=(4,), family="other"),
        Elementwise("AlphaDropout", dropout, family="other", keras_names={"rate": "p"}),
        Elementwise("FeatureAlphaDropout", dropout, family="other"),
    ]
