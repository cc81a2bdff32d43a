"""Shapes while a traced graph is written: each layer derived as it is added, by the catalogue's own rules.

The writer needs the (symbolic) shape of every tensor as it goes, because real
models compute with shapes (``b, c, h, w = x.size()``, ``x.view(b, g, c // g, h, w)``).
Each layer dict goes through the same steps as a line of an architecture file
(parse, expand, derive), one layer at a time, so the shapes, parameters and
conditions the writer sees are the ones the finished spec will give.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..analysis.shapes import ExpectFailure, LayerResult, _check_expect, _layer
from ..errors import Collector, Loc
from ..graph.expand import INPUT, Expectation, _Builder
from ..layers import Condition
from ..parse.spec import ArchSpec
from ..parse.spec import _layer as parse_layer
from ..parse.yamlnodes import YMap, YNode, YScalar, YSeq


def ynode(value: Any, loc: Loc) -> YNode:
    """A plain Python value (dict, list, scalar) as located YAML nodes."""
    if isinstance(value, Mapping):
        return YMap(tuple((YScalar(str(k), loc), ynode(v, loc)) for k, v in value.items()), loc)
    if isinstance(value, (list, tuple)):
        return YSeq(tuple(ynode(v, loc) for v in value), loc)
    return YScalar(value, loc)


class Shaper:
    """Derives layer after layer on an input of ``shape`` (ints, or sympy expressions of the symbols)."""

    def __init__(self, label: str, shape: Sequence[Any], env: Mapping[str, Any]) -> None:
        self.loc = Loc(label, 1, 1)
        spec = ArchSpec(label, label, (), self.loc, (), (), {}, (), self.loc, "torch")
        self.env = dict(env)
        self.builder = _Builder(spec, self.env)
        self.input = tuple(shape)
        self.results: list[LayerResult] = []
        self.conditions: list[Condition] = []
        self.failures: list[ExpectFailure] = []
        self.index: dict[str, int] = {"input": INPUT}

    def shape(self, ident: str) -> tuple[Any, ...]:
        """The per-sample shape of a layer's output (or of the input)."""
        i = self.index[ident]
        return self.input if i == INPUT else self.results[i].shape

    def add(self, ident: str, layer: Mapping[str, Any], sources: Sequence[str], loc: Loc | None = None) -> LayerResult:
        """Derive ``layer`` (an architecture-file entry without id/from) on the outputs of ``sources``; its
        conditions and failures are located at ``loc`` (the user's line) when given."""
        errors = Collector()
        item = parse_layer(ynode(dict(layer), loc or self.loc), set(), errors)
        errors.check()
        inputs = tuple(self.index[s] for s in sources)
        node = self.builder.nodes[self.builder.layer(item, self.env, inputs, ident, True, (), 0, None)]
        ins = [self.input if i == INPUT else self.results[i].shape for i in inputs]
        result = _layer(node, ins, None, self.results, self.conditions)
        self.results.append(result)
        if item.expect is not None:
            want = Expectation(self.builder.expect_shape(item.expect, self.env), item.expect.loc)
            _check_expect(ident, want, result.shape, self.conditions, self.failures)
        self.index[ident] = node.index
        return result
