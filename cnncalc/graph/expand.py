"""Expanding a spec into a flat graph: blocks, ``repeat``, ids and ``from``.

The result is a list of :class:`Node` in topological order (every input of a
node comes before it), plus :class:`Group` rows for block uses and repeated
items that carry an id. Each node's arguments are fully evaluated and typed;
what depends on the input shape (``in_channels``...) is left to the analysis.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..budget import tick
from ..errors import CnnCalcError, CnnCalcErrors, Collector, Frame, Loc, did_you_mean
from ..layers import CATALOGUE, KERAS_SAME, REQUIRED, Args, LayerType, channels_first
from ..layers.keras import Keras, keras_name
from ..parse.limits import MAX_BLOCK_DEPTH, MAX_NODES, MAX_REPEAT
from ..parse.spec import ArchSpec, LayerSpec
from ..parse.yamlnodes import YNode, YScalar, YSeq
from .values import Env, convert, integer, scalar_value

INPUT = -1
"""The index standing for the network (or block) input in ``Node.inputs``."""

BROKEN = -2
"""The index standing for the output of a layer that had an error, in the partial graph of an error report:
everything fed by it is skipped by the analysis (its shapes would be meaningless)."""


@dataclass(frozen=True)
class Expectation:
    """An ``expect:`` shape, evaluated, with where it was written."""

    shape: tuple[Any, ...]
    loc: Loc


@dataclass(frozen=True)
class Node:
    """One layer instance in the expanded network."""

    index: int
    name: str  # unique, qualified: "layer1.0.conv1" or an automatic "conv2d_1"
    id: str | None  # the qualified id written in the file, if any
    layer: LayerType
    args: Args  # typed and defaulted; inferred arguments are added by the analysis
    written_inferred: tuple[tuple[str, Any, Loc], ...]
    inputs: tuple[int, ...]
    loc: Loc
    chain: tuple[Frame, ...]
    expect: Expectation | None
    trainable: bool
    depth: int
    arg_locs: Mapping[str, Loc]


@dataclass(frozen=True)
class Group:
    """A block use or repeated item with an id: a summary row over nodes ``first..last``."""

    name: str
    type: str
    first: int
    last: int
    output: int
    loc: Loc
    depth: int
    expect: Expectation | None


@dataclass(frozen=True)
class Graph:
    """The expanded network for one assignment of the symbols."""

    file: str
    name: str
    input_shape: tuple[Any, ...]
    nodes: tuple[Node, ...]
    groups: tuple[Group, ...]
    output: int
    binding: Mapping[str, Any]
    channels_last: bool = False  # the file writes shapes (H, W, C) (convention: keras); the graph is (C, H, W)


def expand(spec: ArchSpec, binding: Mapping[str, Any]) -> Graph:
    """Expand ``spec`` with symbols bound to ints or sympy symbols."""
    env: dict[str, Any] = dict(binding)
    for name, node in spec.params:
        env[name] = param_value(node, env, f"param {name!r}")
    last = spec.convention == "keras"  # Keras writes (H, W, C); every shape inside is channels first
    shape = channels_first(tuple(integer(n, env, f"input[{j}]", minimum=1) for j, n in enumerate(spec.input)), last)
    b = _Builder(spec, env)
    out = b.sequence(spec.layers, env, INPUT, "", (), 0)
    graph = Graph(spec.file, spec.name, shape, tuple(b.nodes), tuple(b.groups), out, dict(binding), last)
    b.errors.check(graph)  # every error of every layer, and the graph without them for the analysis to go on
    return graph


def param_value(node: YNode, env: Env, what: str) -> Any:
    """The value of a param or block parameter: a number, bool, or evaluated expression."""
    if isinstance(node, YSeq):
        raise CnnCalcError(f"{what} must be a single value, found a list", node.loc)
    return scalar_value(node, env, what)


class _Reported(Exception):
    """A layer whose errors are recorded already: leave it (and what it feeds) out of the graph."""


@dataclass
class _Scope:
    ids: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    keras: bool = False  # the file's convention is Keras': every type is named as Keras names it
    taken: set[str] = field(default_factory=set)  # the ids written in this list, and the names given

    def auto_name(self, type_name: str) -> str:
        """``conv2d_1``, ``conv2d_2`` for torch's types; Keras' own naming for its types and in a file of Keras'
        convention (``dense``, ``dense_1``, ``flatten``), so that the table and ``--format keras`` say what Keras
        would."""
        while True:  # never the id of a layer of this list, nor a name given already
            n = self.counts.get(type_name, 0) + 1
            self.counts[type_name] = n
            keras = self.keras or isinstance(CATALOGUE.get(type_name), Keras)
            name = keras_name(type_name, n - 1) if keras else f"{type_name.lower()}_{n}"
            if name not in self.taken:
                self.taken.add(name)
                return name


class _Builder:
    def __init__(self, spec: ArchSpec, base_env: Env) -> None:
        self.spec = spec
        self.base_env = base_env
        self.nodes: list[Node] = []
        self.groups: list[Group] = []
        self.active: list[str] = []
        self.errors = Collector()

    def sequence(
        self, items: tuple[LayerSpec, ...], env: Env, inp: int, prefix: str, chain: tuple[Frame, ...], depth: int
    ) -> int:
        """Expand the items in order; an item with an error is recorded and stands as BROKEN for what follows."""
        later = {item.id: item for item in items if item.id}
        scope = _Scope(keras=self.spec.convention == "keras", taken=set(later))
        prev = inp
        for item in items:
            found = len(self.errors.errors)
            with contextlib.suppress(_Reported), self.errors.attempt(chain):
                prev = self.item(item, env, scope, later, prev, inp, prefix, chain, depth)
            if len(self.errors.errors) > found:
                prev = BROKEN
                if item.id and item.id not in scope.ids:
                    scope.ids[item.id] = BROKEN
        return prev

    def item(
        self,
        item: LayerSpec,
        env: Env,
        scope: _Scope,
        later: dict[str, LayerSpec],
        prev: int,
        inp: int,
        prefix: str,
        chain: tuple[Frame, ...],
        depth: int,
    ) -> int:
        if item.broken:  # its error is reported already; what it feeds is skipped
            if item.id:
                scope.ids[item.id] = BROKEN
            return BROKEN
        inputs = self.sources(item, scope, later, prev, inp)
        repeat = 1
        if item.repeat is not None:
            repeat = integer(item.repeat, env, "repeat", minimum=1)
            if not isinstance(repeat, int):
                raise CnnCalcError("repeat must not depend on symbols", item.repeat.loc, "use a number or a param")
            if repeat > MAX_REPEAT:
                raise CnnCalcError(
                    f"repeat {repeat} is over the limit of {MAX_REPEAT}",
                    item.repeat.loc,
                    "networks this deep are not supported",
                )
        if item.id and item.id in scope.ids:
            raise CnnCalcError(f"duplicate id {item.id!r}", item.loc, "ids must be unique within a layer list")
        type_name = item.type or "Sequence"
        base = item.id or scope.auto_name(type_name)
        expect = None
        if item.expect is not None:
            expect = Expectation(self.expect_shape(item.expect, env), item.expect.loc)
        start = len(self.nodes)
        out = prev
        for t in range(repeat):
            name = (
                base
                if repeat == 1
                else (f"{base}.{t}" if item.id else (base if t == 0 else scope.auto_name(type_name)))
            )
            single = repeat == 1 and item.body is None and item.type in CATALOGUE
            if item.body is not None or item.type not in CATALOGUE:
                out = self.use(item, env, inputs, prefix + name, chain, depth)
            else:
                out = self.layer(
                    item, env, inputs, prefix + name, item.id is not None, chain, depth, expect if single else None
                )
            inputs = (out,)
        if item.id:
            scope.ids[item.id] = out
            if not (repeat == 1 and item.type in CATALOGUE):
                self.groups.append(
                    Group(prefix + item.id, type_name, start, len(self.nodes) - 1, out, item.loc, depth, expect)
                )
                return out
        if expect is not None and not (repeat == 1 and item.type in CATALOGUE):
            self.groups.append(
                Group(prefix + base, type_name, start, len(self.nodes) - 1, out, item.loc, depth, expect)
            )
        return out

    def sources(
        self, item: LayerSpec, scope: _Scope, later: dict[str, LayerSpec], prev: int, inp: int
    ) -> tuple[int, ...]:
        if item.sources is None:
            return (prev,)
        out = []
        for ref in item.sources:
            if ref.name == "input":
                out.append(inp)
            elif ref.name in scope.ids:
                out.append(scope.ids[ref.name])
            elif ref.name in later and later[ref.name].loc == item.loc:
                raise CnnCalcError(
                    f"'from' refers to {ref.name!r}, the layer itself",
                    ref.loc,
                    "a layer takes input from earlier layers (or input); cycles are not allowed",
                )
            elif ref.name in later:
                raise CnnCalcError(
                    f"'from' refers to {ref.name!r}, which is defined later (line {later[ref.name].loc.line})",
                    ref.loc,
                    "a layer can only take input from earlier layers; cycles are not allowed",
                )
            else:
                raise CnnCalcError(
                    f"'from' refers to unknown id {ref.name!r}",
                    ref.loc,
                    did_you_mean(ref.name, [*scope.ids, "input"]) or "known here: " + ", ".join(["input", *scope.ids]),
                )
        return tuple(out)

    def expect_shape(self, node: YNode, env: Env) -> tuple[Any, ...]:
        if not isinstance(node, YSeq):
            node = YSeq((node,), node.loc)
        shape = tuple(integer(v, env, f"expect[{j}]", minimum=1, allow_fraction=True) for j, v in enumerate(node.items))
        return channels_first(shape, self.spec.convention == "keras")

    def layer(
        self,
        item: LayerSpec,
        env: Env,
        inputs: tuple[int, ...],
        name: str,
        has_id: bool,
        chain: tuple[Frame, ...],
        depth: int,
        expect: Expectation | None,
    ) -> int:
        assert item.type is not None
        tick(item.loc, "expanding the layers")
        t = CATALOGUE[item.type]
        if self.spec.convention == "keras":
            t = KERAS_SAME.get(item.type, t)
        if len(self.nodes) >= MAX_NODES:  # a limit: stop here, with no further errors to look for
            raise CnnCalcErrors([CnnCalcError(
                f"the network expands to more than {MAX_NODES} layers",
                item.loc,
                "reduce repeat counts or block nesting",
            )])  # fmt: skip
        if t.merge and len(inputs) < 2:
            raise CnnCalcError(f"{t.name} needs at least two inputs", item.loc, "write from: [a, b] with earlier ids")
        if not t.merge and len(inputs) > 1:
            raise CnnCalcError(
                f"{t.name} takes one input, 'from' lists {len(inputs)}", item.loc, "merge them first with Add or Concat"
            )
        written = dict(item.args)
        values: dict[str, Any] = {}
        raw: dict[str, Any] = {}
        given: list[str] = []
        arg_locs: dict[str, Loc] = {}
        found = len(self.errors.errors)
        for arg_name, arg in t.args.items():  # every bad argument of the layer is reported, not the first
            with self.errors.attempt(chain):
                if arg_name in written:
                    values[arg_name] = convert(arg, written[arg_name], env, arg_name, t.ndim)
                    as_list = isinstance(written[arg_name], YSeq)
                    single = isinstance(values[arg_name], tuple) and not as_list and arg.kind != "ints"
                    raw[arg_name] = values[arg_name][0] if single else values[arg_name]
                    given.append(arg_name)
                    arg_locs[arg_name] = written[arg_name].loc
                elif arg.default is REQUIRED:
                    raise CnnCalcError(f"{t.name} needs {arg_name!r}", item.loc, f"add {arg_name}: ...")
                elif arg.kind == "size" and isinstance(arg.default, int):
                    values[arg_name] = (arg.default,) * t.ndim
                else:
                    values[arg_name] = arg.default
        inferred = []
        for n in t.inferred:
            if n in written:
                with self.errors.attempt(chain):
                    inferred.append((n, integer(written[n], env, n, minimum=1), written[n].loc))
        if len(self.errors.errors) > found:
            raise _Reported
        index = len(self.nodes)
        qualified_id = name if has_id else None
        self.nodes.append(
            Node(
                index,
                name,
                qualified_id,
                t,
                Args(values, tuple(given), raw),
                tuple(inferred),
                inputs,
                item.loc,
                chain,
                expect,
                item.trainable,
                depth,
                arg_locs,
            )
        )
        return index

    def use(
        self, item: LayerSpec, env: Env, inputs: tuple[int, ...], name: str, chain: tuple[Frame, ...], depth: int
    ) -> int:
        if len(inputs) != 1:
            raise CnnCalcError(
                f"a block use takes one input, 'from' lists {len(inputs)}",
                item.loc,
                "merge them first with Add or Concat",
            )
        if depth >= MAX_BLOCK_DEPTH:
            raise CnnCalcError(f"blocks are nested more than {MAX_BLOCK_DEPTH} deep", item.loc)
        if item.body is not None:
            frame = Frame("sub-sequence", item.loc)
            try:
                return self.sequence(item.body, env, inputs[0], name + ".", (frame, *chain), depth + 1)
            except CnnCalcError as e:
                raise e.with_frame(frame) from None
        assert item.type is not None
        block = self.spec.blocks[item.type]
        if not block.layers:  # the block had an error, reported where it is defined
            return BROKEN
        if block.name in self.active:
            raise CnnCalcError(
                f"block {block.name!r} uses itself",
                item.loc,
                "blocks cannot be recursive: " + " -> ".join([*self.active, block.name]),
            )
        written = dict(item.args)
        known = [p for p, _ in block.params]
        for key, value in item.args:
            if key not in known:
                raise CnnCalcError(
                    f"unknown parameter {key!r} for block {block.name!r}",
                    value.loc,
                    did_you_mean(key, known)
                    or ("allowed: " + ", ".join(known) if known else f"block {block.name!r} takes no parameters"),
                )
        benv = dict(self.base_env)
        for pname, default in block.params:
            if pname in written:
                benv[pname] = param_value(written[pname], env, f"parameter {pname!r}")
            elif default is None:
                raise CnnCalcError(f"block {block.name!r} needs parameter {pname!r}", item.loc, f"add {pname}: ...")
            else:
                benv[pname] = param_value(default, benv, f"parameter {pname!r}")
        frame = Frame(f"block {block.name!r}", item.loc)
        self.active.append(block.name)
        try:
            return self.sequence(block.layers, benv, inputs[0], name + ".", (frame, *chain), depth + 1)
        except CnnCalcError as e:
            raise e.with_frame(frame) from None
        finally:
            self.active.pop()


__all__ = ["BROKEN", "INPUT", "Expectation", "Graph", "Group", "Node", "YScalar", "expand"]
