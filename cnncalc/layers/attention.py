"""Self-attention: ``nn.MultiheadAttention`` called as ``mha(x, x, x)`` with ``batch_first=True`` (ViT)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import symbolic as sym
from .base import Arg, Args, Ctx, LayerType, Shape
from .window import ALL, GLOBAL, Channels


class MultiheadAttention(LayerType):
    """Self-attention over the sequence dim of a per-sample (L, E) input; the output has the input's shape.

    Parameters: the query, key and value projections (``E*E + E*kdim + E*vdim``, plus ``3E`` with bias),
    the output projection (``E*E``, plus ``E`` with bias), and ``2E`` with ``add_bias_kv``.
    """

    family = "dense"  # projections: dense layers over the embedding
    name = "MultiheadAttention"
    inferred = ("embed_dim",)
    args = {
        "num_heads": Arg("int", minimum=1),
        "dropout": Arg("float", 0.0),
        "bias": Arg("bool", True),
        "add_bias_kv": Arg("bool", False),
        "add_zero_attn": Arg("bool", False),
        "kdim": Arg("int", None, minimum=1, nullable=True),
        "vdim": Arg("int", None, minimum=1, nullable=True),
        "batch_first": Arg("bool", False, note="write true: cnncalc's inputs have the batch first"),
    }

    def infer(self, arg: str, shape: Shape) -> Any:
        return shape[-1]

    def read_module(self, module: Any) -> dict[str, Any]:
        """What the module's attributes do not name directly (``bias``, ``add_bias_kv``)."""
        bias = module.in_proj_bias is not None if hasattr(module, "in_proj_bias") else True
        return {"bias": bias, "add_bias_kv": getattr(module, "bias_k", None) is not None}

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        self._need_rank(shape, (2,), ctx)

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        if not a["batch_first"]:
            raise ctx.fail("batch_first is false: the batch is dim 1 of (L, N, E)",
                           "cnncalc's inputs have the batch first; use batch_first=True", "batch_first")  # fmt: skip
        e, heads = ins[0][-1], a["num_heads"]
        ctx.require(sym.equal(sym.mod(e, heads), 0), f"embed_dim {sym.to_text(e)} is not divisible by num_heads "
                    f"{heads}", "each head takes embed_dim / num_heads features", "num_heads")  # fmt: skip
        for key in ("kdim", "vdim"):
            if a[key] is not None:
                ctx.require(sym.equal(a[key], e), f"{key} {a[key]} differs from the {sym.to_text(e)} features of "
                            "the input that is used as key and value", "leave it unset for self-attention", key)  # fmt: skip
        return ins[0]

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        e = ins[0][-1]
        k = a["kdim"] if a["kdim"] is not None else e
        v = a["vdim"] if a["vdim"] is not None else e
        bias = 4 * e if a["bias"] else 0
        return e * e + e * k + e * v + e * e + bias + (2 * e if a["add_bias_kv"] else 0)

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape | None = None) -> Any:
        return GLOBAL  # every position attends to every other

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return ALL  # the sequence is dim 0 of (L, E): every token on every token

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.mix_all(xs[0])

    def macs(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        length, e = ins[0][0], ins[0][-1]
        return 4 * length * e * e + 2 * length * length * e  # projections, then scores and their weighted sum

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.opmodules import SelfAttention

        return SelfAttention(**a.torch_kwargs())

    def formulas(self) -> dict[str, str]:
        return {"output": "the input's shape", "params": "4 E^2 (+ 4E with bias, + 2E with add_bias_kv)"}


def catalogue() -> list[LayerType]:
    """The attention layer types."""
    return [MultiheadAttention()]
