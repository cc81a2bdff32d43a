"""Tensor operations that real models write in ``forward``: broadcast products, reductions, permutes, slices.

They are what ``torch.fx`` records for ``scale * x`` (squeeze-excitation),
``x.mean([2, 3])``, ``x.permute(0, 2, 3, 1)``, ``x.chunk(2, dim=1)`` and
``self.gamma * x`` (a learned per-channel scale); Python models traced into the
catalogue use them, and architecture files may too. Dims are batch-inclusive,
as in torch (0 is the batch, 1 the channels); none of them may touch the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import symbolic as sym
from .base import Arg, Args, Ctx, LayerType, Shape, fmt_shape
from .window import ALL, GLOBAL, IDENTITY, SAME, Affine, Broadcast, Channels


def _dim(dim: int, rank: int, ctx: Ctx, arg: str) -> int:
    """A batch-inclusive dim as a per-sample index; the batch itself is refused."""
    full = dim + rank if dim < 0 else dim
    if not 0 <= full < rank:
        raise ctx.fail(f"{arg} {dim} is out of range for a batched input of rank {rank}",
                       f"use a dim in [{-rank}, {rank - 1}]; dim 0 is the batch", arg)  # fmt: skip
    if full == 0:
        raise ctx.fail(f"{arg} {dim} is the batch dimension", "dims count the batch as 0, so channels are dim 1", arg)
    return full - 1


def _broadcast_geometry(x: Shape, out: Shape) -> tuple[list[Any], Channels]:
    """How a broadcast output reads an input: unit u of a full-size dim, unit 0 of a size-1 one."""
    windows = [IDENTITY if x[1 + j] == out[1 + j] else Broadcast() for j in range(len(out) - 1)]
    return windows, SAME if x[0] == out[0] else Channels("broadcast")


def broadcast(shapes: Sequence[Shape], ctx: Ctx, what: str) -> Shape:
    """torch's broadcast of per-sample shapes of equal rank: each dim equal, or 1 in all but one."""
    first = shapes[0]
    for other in shapes[1:]:
        if len(other) != len(first):
            raise ctx.fail(f"cannot {what} shapes {fmt_shape(first)} and {fmt_shape(other)} (different ranks)",
                           "the inputs need the same number of dims (size-1 dims broadcast)")  # fmt: skip
    out = []
    for dims in zip(*shapes):
        big = [d for d in dims if not (sym.is_concrete(d) and d == 1)]
        for d in big[1:]:
            ctx.require(sym.equal(big[0], d), f"cannot {what} shapes {', '.join(map(fmt_shape, shapes))}",
                        "each dim must be equal, or 1 in all inputs but one (broadcasting)")  # fmt: skip
        out.append(big[0] if big else 1)
    return tuple(out)


class Mul(LayerType):
    """Elementwise product of two or more inputs, broadcasting size-1 dims (``scale * x``)."""

    family = "merge"
    name = "Mul"
    merge = True

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        pass

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        return broadcast(ins, ctx, "multiply")

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape | None = None) -> Any:
        sizes = {ins_k[1 + dim] for ins_k in ins}
        return IDENTITY if len(sizes) == 1 else Broadcast()

    def input_geometry(self, a: Args, ins: Sequence[Shape], out: Shape, k: int) -> tuple[list[Any], Channels]:
        return _broadcast_geometry(ins[k], out)

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.broadcast_sum(xs, out)  # a product of positive values depends on each factor: a sum does too

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.opmodules import MulModule

        return MulModule()

    def formulas(self) -> dict[str, str]:
        return {"output": "the broadcast shape of the inputs", "params": "0"}


class MatMul(LayerType):
    """``a @ b`` of two inputs: (..., n, k) times (..., k, m) is (..., n, m), leading dims broadcast."""

    family = "merge"
    name = "MatMul"
    merge = True

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        pass

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        if len(ins) != 2:
            raise ctx.fail(f"multiplies two inputs, 'from' lists {len(ins)}", "write from: [a, b]")
        x, y = ins
        if len(x) < 2 or len(x) != len(y):
            raise ctx.fail(f"cannot multiply shapes {fmt_shape(x)} and {fmt_shape(y)}",
                           "both need the same number of dims, at least two per sample")  # fmt: skip
        ctx.require(sym.equal(x[-1], y[-2]), f"cannot multiply shapes {fmt_shape(x)} and {fmt_shape(y)}: "
                    f"{sym.to_text(x[-1])} columns against {sym.to_text(y[-2])} rows",
                    "the last dim of the first must equal the second-to-last of the second")  # fmt: skip
        lead = broadcast([x[:-2], y[:-2]], ctx, "multiply") if len(x) > 2 else ()
        return (*lead, x[-2], y[-1])

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape | None = None) -> Any:
        return GLOBAL

    def input_geometry(self, a: Args, ins: Sequence[Shape], out: Shape, k: int) -> tuple[list[Any], Channels]:
        # (i, j) of the output reads row i of the first input (all its columns) and column j of the second
        x = ins[k]
        mixed = len(x) - 1 if k == 0 else len(x) - 2  # per-sample dim summed over
        windows, rule = _broadcast_geometry(x[:-2] + out[-2:] if len(x) > 2 else out, out)
        windows = [GLOBAL if 1 + j == mixed else w for j, w in enumerate(windows)]
        return windows, (ALL if mixed == 0 else rule)

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.matmul(xs[0], xs[1], out)

    def macs(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        return sym.product(out) * ins[0][-1]

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.opmodules import MatMulModule

        return MatMulModule()

    def formulas(self) -> dict[str, str]:
        return {"output": "(..., n, k) @ (..., k, m) = (..., n, m)", "params": "0"}


class Learned(LayerType):
    """A learned tensor of ``shape`` (batch-inclusive, broadcast) times the input (Scale: ``gamma * x``, a
    layer scale) or plus it (Shift: ``x + pos_embedding``)."""

    def __init__(self, name: str, verb: str) -> None:
        self.name, self.verb = name, verb
        self.args = {"shape": Arg("ints")}

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        pass

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        shape = tuple(a["shape"])
        rank = len(ins[0]) + 1
        if len(shape) > rank or any(s < 1 for s in shape):
            raise ctx.fail(f"a learned tensor of shape {list(shape)} cannot {self.verb} an input of rank {rank}",
                           "its dims, right-aligned with the batched input, must be 1 or the input's", "shape")  # fmt: skip
        full = (1,) * (rank - len(shape)) + shape
        if full[0] != 1:
            raise ctx.fail(f"shape {list(shape)} would broadcast over the batch", "its batch entry must be 1", "shape")
        return broadcast([ins[0], full[1:]], ctx, self.verb)

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        return sym.product(a["shape"])

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape | None = None) -> Any:
        return IDENTITY if out is None or ins[0][1 + dim] == out[1 + dim] else Broadcast()

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return SAME if not ins[0] or ins[0][0] == out[0] else Channels("broadcast")

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.broadcast_sum(xs, out)  # the learned values are constants: only the broadcast matters

    def macs(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        return sym.product(out) if self.name == "Scale" else 0

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.opmodules import LearnedModule

        return LearnedModule(tuple(a["shape"]), self.name == "Scale")

    def formulas(self) -> dict[str, str]:
        return {"output": "the broadcast shape", "params": "product of shape"}


class Prepend(LayerType):
    """A learned tensor of per-sample ``shape``, expanded over the batch, put before the input along ``dim``
    (ViT's class token: ``torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)``)."""

    name = "Prepend"
    args = {"shape": Arg("ints"), "dim": Arg("int", 1)}

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        pass

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        x, token = ins[0], tuple(a["shape"])
        j = _dim(a["dim"], len(x) + 1, ctx, "dim")
        if len(token) != len(x):
            raise ctx.fail(f"a learned tensor of shape {list(token)} cannot join an input of shape {fmt_shape(x)}",
                           "both need the same number of dims", "shape")  # fmt: skip
        for k, (d, t) in enumerate(zip(x, token)):
            if k != j:
                ctx.require(sym.equal(d, t), f"cannot put a learned {list(token)} before {fmt_shape(x)} along dim "
                            f"{a['dim']}", "all dims except the joined one must agree", "shape")  # fmt: skip
        return (*x[:j], x[j] + token[j], *x[j + 1 :])

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        return sym.product(a["shape"])

    def _axis(self, a: Args, ins: Sequence[Shape]) -> int:
        return int(a["dim"]) % (len(ins[0]) + 1) - 1

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape | None = None) -> Any:
        # along its dim, the input moves up by the learned entries, which depend on nothing
        return Affine(1, 1, a["shape"][dim + 1]) if self._axis(a, ins) == dim + 1 else IDENTITY

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return Channels("slice", -a["shape"][0]) if self._axis(a, ins) == 0 else SAME

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.prepend(xs[0], self._axis(a, ins), a["shape"][self._axis(a, ins)])

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.opmodules import PrependModule

        return PrependModule(tuple(a["shape"]), a["dim"])

    def formulas(self) -> dict[str, str]:
        return {"output": "the input with shape[dim] more entries along dim", "params": "product of shape"}


class Select(LayerType):
    """``x[:, index]`` along ``dim``: that entry, the dim removed (ViT's class token ``x[:, 0]``)."""

    family = "reshape"
    name = "Select"
    args = {"dim": Arg("int"), "index": Arg("int")}

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        pass

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        x = ins[0]
        j = _dim(a["dim"], len(x) + 1, ctx, "dim")
        i = a["index"]
        ctx.require(i < x[j] if i >= 0 else -i <= x[j], f"index {i} is out of range for dim {a['dim']} "
                    f"(size {sym.to_text(x[j])})", "use an index within the dim", "index")  # fmt: skip
        return (*x[:j], *x[j + 1 :])

    def _axis_index(self, a: Args, ins: Sequence[Shape]) -> tuple[int, int]:
        j = int(a["dim"]) % (len(ins[0]) + 1) - 1
        i = int(a["index"])
        return j, i if i >= 0 else i + int(ins[0][j])

    def kept_shape(self, a: Args, ins: Sequence[Shape], out: Shape) -> Shape | None:
        j, _ = self._axis_index(a, ins)
        return (*ins[0][:j], 1, *ins[0][j + 1 :])

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape | None = None) -> Any:
        j, i = self._axis_index(a, ins)
        return Affine(1, 1, -i) if j == dim + 1 else IDENTITY  # one entry of its dim, which then goes

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        j, i = self._axis_index(a, ins)
        return Channels("slice", i) if j == 0 else SAME

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        j, i = self._axis_index(a, ins)
        return kit.select(xs[0], j, i)

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.opmodules import SelectModule

        return SelectModule(a["dim"], a["index"])

    def formulas(self) -> dict[str, str]:
        return {"output": "the input without dim", "params": "0"}


class Reduce(LayerType):
    """``x.mean(dim, keepdim)`` (and ``sum``, ``amax``): the reduced dims go, or stay as 1."""

    family = "pooling"  # a mean, sum or max over dims: a global pooling

    def __init__(self, name: str) -> None:
        self.name = name
        self.args = {"dim": Arg("ints"), "keepdim": Arg("bool", False)}

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        pass

    def _reduced(self, a: Args, shape: Shape, ctx: Ctx) -> set[int]:
        dims = [_dim(d, len(shape) + 1, ctx, "dim") for d in a["dim"]]
        if not dims or len(set(dims)) != len(dims):
            raise ctx.fail(f"dim {list(a['dim'])} must name distinct dims", arg="dim")
        return set(dims)

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        gone = self._reduced(a, ins[0], ctx)
        if a["keepdim"]:
            return tuple(1 if k in gone else d for k, d in enumerate(ins[0]))
        return tuple(d for k, d in enumerate(ins[0]) if k not in gone)

    def _gone(self, a: Args, ins: Sequence[Shape]) -> set[int]:
        rank = len(ins[0]) + 1
        return {int(d) % rank - 1 for d in a["dim"]}

    def kept_shape(self, a: Args, ins: Sequence[Shape], out: Shape) -> Shape | None:
        gone = self._gone(a, ins)
        return None if a["keepdim"] else tuple(1 if k in gone else d for k, d in enumerate(ins[0]))

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape | None = None) -> Any:
        return GLOBAL if dim + 1 in self._gone(a, ins) else IDENTITY

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return ALL if 0 in self._gone(a, ins) else SAME

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.reduce(xs[0], sorted(self._gone(a, ins)), out)  # amax too: the twin averages

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.opmodules import ReduceModule

        return ReduceModule(self.name.lower(), tuple(a["dim"]), bool(a["keepdim"]))

    def formulas(self) -> dict[str, str]:
        return {"output": "the input without the reduced dims (1 with keepdim)", "params": "0"}


class Permute(LayerType):
    """``x.permute(dims)``: a batch-inclusive order of every dim, with the batch first."""

    family = "reshape"
    name = "Permute"
    args = {"dims": Arg("ints")}

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        pass

    def _order(self, a: Args, shape: Shape, ctx: Ctx) -> list[int]:
        rank = len(shape) + 1
        dims = [d + rank if d < 0 else d for d in a["dims"]]
        if sorted(dims) != list(range(rank)):
            raise ctx.fail(f"dims {list(a['dims'])} is not an order of the {rank} dims of a batched input",
                           f"list each of 0..{rank - 1} once", "dims")  # fmt: skip
        if dims[0] != 0:
            raise ctx.fail(f"dims {list(a['dims'])} moves the batch dimension", "keep 0 first", "dims")
        return [d - 1 for d in dims[1:]]

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        return tuple(ins[0][k] for k in self._order(a, ins[0], ctx))

    def _perm(self, a: Args, ins: Sequence[Shape]) -> list[int]:
        rank = len(ins[0]) + 1
        return [int(d) % rank - 1 for d in a["dims"][1:]]

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape | None = None) -> Any:
        return IDENTITY if self._perm(a, ins)[dim + 1] == dim + 1 else GLOBAL  # (the exact maps use gather)

    def gather(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        order = self._perm(a, ins)
        if order == sorted(order):
            return None

        def source(index: Sequence[int]) -> tuple[int, ...]:
            src = [0] * len(order)
            for k, d in enumerate(order):
                src[d] = index[k]
            return tuple(src)

        return source

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.permute(xs[0], self._perm(a, ins))

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.opmodules import PermuteModule

        return PermuteModule(tuple(a["dims"]))

    def formulas(self) -> dict[str, str]:
        return {"output": "the input's dims in the order dims", "params": "0"}


class Narrow(LayerType):
    """``x.narrow(dim, start, length)``: ``length`` entries from ``start`` (``x.chunk``, ``x[:, a:b]``)."""

    family = "reshape"
    name = "Narrow"
    args = {"dim": Arg("int"), "start": Arg("int"), "length": Arg("int", minimum=0)}

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        pass

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        shape = ins[0]
        j = _dim(a["dim"], len(shape) + 1, ctx, "dim")
        size = shape[j]
        if a["start"] < 0:  # from the end, as torch reads it: start + size
            ctx.require(size + a["start"] >= 0, f"start {a['start']} is before the first entry of dim {a['dim']} "
                        f"(size {sym.to_text(size)})", "start counts from the end when negative: at least -size",
                        "start")  # fmt: skip
        start = self._start(a, ins)
        end = start + a["length"]
        ctx.require(end <= size, f"entries {sym.to_text(start)}..{sym.to_text(end - 1)} are past the end of dim "
                    f"{a['dim']} (size {sym.to_text(size)})", "narrow a shorter range, or check the layers before it",
                    "start")  # fmt: skip
        return (*shape[:j], a["length"], *shape[j + 1 :])

    def _axis(self, a: Args, ins: Sequence[Shape]) -> int:
        return int(a["dim"]) % (len(ins[0]) + 1) - 1

    def _start(self, a: Args, ins: Sequence[Shape]) -> Any:
        """The first entry kept: a negative start counts from the end (``size + start``)."""
        return a["start"] if a["start"] >= 0 else ins[0][self._axis(a, ins)] + a["start"]

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape | None = None) -> Any:
        return Affine(1, 1, -self._start(a, ins)) if self._axis(a, ins) == dim + 1 else IDENTITY

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return Channels("slice", self._start(a, ins)) if self._axis(a, ins) == 0 else SAME

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        return kit.narrow(xs[0], self._axis(a, ins), a["start"], a["length"])

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.opmodules import NarrowModule

        return NarrowModule(a["dim"], a["start"], a["length"])

    def formulas(self) -> dict[str, str]:
        return {"output": "length along dim, the rest as the input", "params": "0"}


def catalogue() -> list[LayerType]:
    """The tensor-operation layer types."""
    return [Mul(), MatMul(), Learned("Scale", "scale"), Learned("Shift", "shift"), Prepend(), Select(), Reduce("Mean"),
            Reduce("Sum"), Reduce("Amax"), Permute(), Narrow()]  # fmt: skip
