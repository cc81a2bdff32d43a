"""Propagating shapes, parameter and buffer counts through an expanded graph.

One function, :func:`analyze`, serves concrete and symbolic graphs: the layer
rules do not know which they are given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import symbolic as sym
from ..budget import tick
from ..errors import Collector, Loc
from ..graph.expand import BROKEN, INPUT, Expectation, Graph, Group, Node
from ..layers import Args, Condition, Ctx, Shape, fmt_shape


@dataclass(frozen=True)
class LayerResult:
    """What the analysis derived for one node."""

    node: Node
    args: Args  # including inferred arguments
    shape: Shape
    params: Any
    buffers: Any
    frozen: Any = 0  # parameters that are never trained (Keras' BatchNorm statistics)


@dataclass(frozen=True)
class GroupResult:
    """A summary row for a block use or repeated item with an id."""

    group: Group
    shape: Shape
    params: Any
    buffers: Any


@dataclass(frozen=True)
class ExpectFailure:
    """An ``expect:`` that does not hold."""

    name: str
    loc: Loc
    expected: Shape
    found: Shape
    channels_last: bool = False  # shown as the file writes shapes

    def text(self) -> str:
        """``'pool1': expected output shape (...), derived (...)``."""
        last = self.channels_last
        return f"{self.name!r}: expected output shape {fmt_shape(self.expected, last)}, derived {fmt_shape(self.found, last)}"

    def message(self) -> str:
        """``FILE:LINE:COL: error: ...`` for this failure."""
        return f"{self.loc}: error: {self.text()}"


@dataclass(frozen=True)
class Analysis:
    """Shapes and counts for every node of a graph, and what must hold for it to be valid."""

    graph: Graph
    layers: tuple[LayerResult, ...]
    groups: tuple[GroupResult, ...]
    conditions: tuple[Condition, ...]
    expect_failures: tuple[ExpectFailure, ...]

    @property
    def output_shape(self) -> Shape:
        """The per-sample output shape of the network."""
        return self.layers[self.graph.output].shape if self.layers else self.graph.input_shape

    @property
    def total_params(self) -> Any:
        """All parameter values."""
        return sum((r.params for r in self.layers), 0)

    @property
    def trainable_params(self) -> Any:
        """Parameter values of layers not marked ``trainable: false``."""
        return sum((r.params - r.frozen for r in self.layers if r.node.trainable), 0)

    @property
    def total_buffers(self) -> Any:
        """All buffer values (running statistics)."""
        return sum((r.buffers for r in self.layers), 0)

    def mixing(self) -> tuple[LayerResult, str] | None:
        """The first layer whose output sample depends on other samples of the batch (in eval mode), and why."""
        for r in self.layers:
            ins = [self.graph.input_shape if i == INPUT else self.layers[i].shape for i in r.node.inputs]
            why = r.node.layer.mixes_samples(r.args, ins)
            if why:
                return r, why
        return None


_PLACEHOLDER: Any = None  # stands for a failed layer's result; the analysis raises before anything reads it


def analyze(graph: Graph) -> Analysis:
    """Derive every node's output shape, parameters and buffers; raise CnnCalcError if the net cannot work."""
    results: list[LayerResult] = []
    conditions: list[Condition] = []
    failures: list[ExpectFailure] = []
    errors = Collector()
    failed: set[int] = {BROKEN}  # layers whose output is unknown: what they feed is not analysed
    for node in graph.nodes:
        tick(node.loc, "deriving shapes")
        if failed.intersection(node.inputs):
            failed.add(node.index)
            results.append(results[-1] if results else _PLACEHOLDER)  # never read: the index stays aligned
            continue
        ins = [graph.input_shape if i == INPUT else results[i].shape for i in node.inputs]
        found = len(results)
        with errors.attempt(node.chain):
            results.append(_layer(node, ins, graph, results, conditions, errors))
        if len(results) == found:
            failed.add(node.index)
            results.append(results[-1] if results else _PLACEHOLDER)
            continue
        if node.expect is not None:
            _check_expect(node.name, node.expect, results[-1].shape, conditions, failures, graph.channels_last)
    errors.check()  # every independent error: branches that do not depend on a failed layer were analysed
    groups = []
    for g in graph.groups:
        members = results[g.first : g.last + 1]
        gr = GroupResult(
            g, results[g.output].shape, sum((r.params for r in members), 0), sum((r.buffers for r in members), 0)
        )
        groups.append(gr)
        if g.expect is not None:
            _check_expect(g.name, g.expect, gr.shape, conditions, failures, graph.channels_last)
    return Analysis(graph, tuple(results), tuple(groups), tuple(conditions), tuple(failures))


def _source_name(graph: Graph | None, node: Node, results: Sequence[LayerResult]) -> str:
    i = node.inputs[0]
    return "the network input" if i == INPUT else f"output of {results[i].node.name!r}"


def _layer(
    node: Node, ins: list[Shape], graph: Graph | None, results: list[LayerResult], conditions: list[Condition],
    errors: Collector | None = None,
) -> LayerResult:  # fmt: skip
    """One layer's result; a written in_channels/in_features that disagrees with the input is recorded in
    ``errors`` and the analysis goes on with the input's value (so later layers are still checked)."""
    layer = node.layer
    ctx = Ctx(node.name, layer.name, node.loc, conditions, node.arg_locs, graph.channels_last if graph else False)
    args = node.args
    if not layer.merge:
        layer.check_input(ins[0], ctx)
    if layer.inferred:
        values = dict(args.values)
        written = {n: (v, loc) for n, v, loc in node.written_inferred}
        for name in layer.inferred:
            value = layer.infer(name, ins[0])
            if name in written:
                got, loc = written[name]
                ctx.arg_locs = {**ctx.arg_locs, name: loc}
                with errors.attempt(node.chain) if errors is not None else contextlib.nullcontext():
                    ctx.require(
                        sym.equal(got, value),
                        f"{name} is {sym.to_text(got)} in the file, but the input has {sym.to_text(value)} "
                        f"({_source_name(graph, node, results)}, shape {ctx.shape(ins[0])})",
                        _fix(node.name, name, got, value, graph.input_shape if graph else ins[0]),
                        name,
                    )
            values[name] = value
        args = Args(values, (*args.given, *layer.inferred), args.written)
    try:
        shape = layer.output(args, ins, ctx)
    except (TypeError, ZeroDivisionError, AttributeError, ValueError) as e:
        symbolic = symbolic_args(args)
        if not symbolic:
            raise  # a bug: with numbers every rule works
        raise ctx.fail(f"{', '.join(symbolic)} {'depends' if len(symbolic) == 1 else 'depend'} on symbols in a way "
                       f"its rule cannot follow ({type(e).__name__})", "write numbers there, or fix the symbols "
                       "with --set", symbolic[0]) from None  # fmt: skip
    for d in shape:  # a zero-size dim is refused whatever the layer (a documented difference from torch)
        if sym.is_concrete(d) and int(d) < 1:
            raise ctx.fail(f"the output {ctx.shape(tuple(shape))} has a dim of size {sym.to_text(d)}",
                           "cnncalc refuses empty tensors: every dim needs at least one entry")  # fmt: skip
    return LayerResult(node, args, tuple(shape), layer.params(args, ins), layer.buffers(args, ins))


def symbolic_args(args: Args) -> list[str]:
    """The arguments written in the file whose values have symbols in them."""
    return [n for n in args.written if sym.has_symbols(args.values.get(n))]


def _fix(layer: str, arg: str, written: Any, actual: Any, input_shape: Shape) -> str:
    """``fc3 expects 512 features; at 32×32 it needs in_features: 800, or leave in_features out (any size)``."""
    noun = "features" if arg == "in_features" else "channels"
    spatial = input_shape[1:]
    at = f"at {'×'.join(sym.to_text(d) for d in spatial)} " if spatial and sym.is_concrete(actual) else ""
    return (
        f"`{layer}` expects {sym.to_text(written)} {noun}; {at}it needs `{arg}: {sym.to_text(actual)}`, "
        f"or leave {arg} out and cnncalc infers it for any size"
    )


def _check_expect(
    name: str, expect: Expectation, found: Shape, conditions: list[Condition], failures: list[ExpectFailure],
    last: bool = False,
) -> None:  # fmt: skip
    if len(expect.shape) != len(found):
        failures.append(ExpectFailure(name, expect.loc, expect.shape, found, last))
        return
    pending = []
    for j, (want, got) in enumerate(zip(expect.shape, found)):
        decided = sym.decide(sym.equal(want, got))
        if decided is False:
            failures.append(ExpectFailure(name, expect.loc, expect.shape, found, last))
            return
        if decided is None:
            pending.append((j, sym.equal(want, got)))
    for j, cond in pending:
        conditions.append(Condition(cond, f"{name}: expect {fmt_shape(expect.shape, last)}", expect.loc, True, name, j))
