"""The exact receptive field of one unit, at every layer on the way (the data of ``cnncalc rf --draw``).

:func:`unit_field` pulls one output unit back through the network, in reverse
topological order, as a set of unit coordinates (not per-dim intervals, and not
per-dim sets either): each layer's window is separable per dim, but a union over
merged paths is not, so a 1x7 branch added to a 7x1 branch sees a cross, not a
square. The result has, for the network input and for every layer the unit
depends on, exactly the units it depends on there. ``verify/unitfield.py``
confirms every one of these sets by input gradients.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any

from ..errors import CnnCalcError
from ..graph.expand import INPUT
from ..layers.merge import Concat
from ..layers.window import GLOBAL
from .shapes import Analysis

Unit = tuple[int, ...]

MAX_UNITS = 1 << 22
"""The most units (over all maps before the chosen layer) listed one by one."""


@dataclass(frozen=True)
class UnitField:
    """What one unit of layer ``layer`` sees: per node (``INPUT`` for the network input) the set of its units."""

    analysis: Analysis
    layer: int
    unit: Unit
    sets: Mapping[int, frozenset[Unit]]
    confirmed: Mapping[int, frozenset[Unit]] | None = None  # input-gradient supports, once checked
    unchecked: str | None = None  # why the gradient check could not run

    @property
    def path(self) -> tuple[int, ...]:
        """The spatial nodes the unit depends on, the input first and ``layer`` last (topological order)."""
        return tuple(sorted(i for i in self.sets if self.spatial(i)))

    def spatial(self, index: int) -> bool:
        """Whether node ``index`` (or ``INPUT``) has a spatial output of the input's rank."""
        return len(self.shape(index)) == len(self.analysis.graph.input_shape)

    def shape(self, index: int) -> tuple[int, ...]:
        """The output shape of node ``index`` (the input shape for ``INPUT``)."""
        return tuple(self.analysis.graph.input_shape if index == INPUT else self.analysis.layers[index].shape)

    def name(self, index: int) -> str:
        """``input`` or the node's name."""
        return "input" if index == INPUT else self.analysis.layers[index].node.name

    @property
    def disagreements(self) -> tuple[int, ...]:
        """Nodes where the derived set and the gradient support differ (empty when unchecked)."""
        if self.confirmed is None:
            return ()
        return tuple(i for i in self.path if self.confirmed.get(i, frozenset()) != self.sets[i])


def centre(shape: Iterable[int]) -> Unit:
    """The centre unit of a map with these spatial sizes (``size // 2`` per dim, as the gradient check probes)."""
    return tuple(d // 2 for d in shape)


def unit_field(analysis: Analysis, layer: int, unit: Unit | None = None) -> UnitField:
    """The units that ``unit`` of ``layer`` (default: its centre unit) depends on, at every node before it."""
    rank = len(analysis.graph.input_shape)
    out_shape = tuple(analysis.layers[layer].shape)
    name = analysis.layers[layer].node.name
    if len(out_shape) != rank:
        raise CnnCalcError(f"{name!r} has no spatial output (shape {'x'.join(map(str, out_shape))}); every unit of it "
                           "sees the same input region", analysis.layers[layer].node.loc,
                           "pick a layer before the Flatten or Linear")  # fmt: skip
    unit = centre(out_shape[1:]) if unit is None else tuple(unit)
    if len(unit) != rank - 1 or not all(0 <= u < d for u, d in zip(unit, out_shape[1:])):
        sizes = "x".join(map(str, out_shape[1:]))
        raise CnnCalcError(f"unit {','.join(map(str, unit))} is not a unit of {name!r} (spatial size {sizes})", None,
                           f"give {rank - 1} indices from 0, each below its size")  # fmt: skip
    shapes = [analysis.graph.input_shape, *(r.shape for r in analysis.layers[: layer + 1])]
    units = sum(math.prod(s[1:]) for s in shapes if len(s) == rank)
    if units > MAX_UNITS:  # an estimate before any set is built: each map's set is at most the whole map
        raise CnnCalcError(f"the maps up to {name!r} have {units:,} units, more than the {MAX_UNITS:,} followed one by "
                           "one", None, "use --set with smaller sizes, or pick an earlier layer with --unit")  # fmt: skip
    return UnitField(analysis, layer, unit, _pull_back(analysis, layer, unit))


def _pull_back(analysis: Analysis, layer: int, unit: Unit) -> dict[int, frozenset[Unit]]:
    input_shape = analysis.graph.input_shape
    rank = len(input_shape)
    want: dict[int, set[Unit]] = {layer: {unit}}
    done: dict[int, frozenset[Unit]] = {}
    for i in range(layer, -1, -1):
        if i not in want:
            continue
        have = want.pop(i)
        done[i] = frozenset(have)
        r = analysis.layers[i]
        ins = [tuple(input_shape if s == INPUT else analysis.layers[s].shape) for s in r.node.inputs]
        spatial_out = len(r.shape) == rank
        kind = r.node.layer
        axis = kind.axis(r.args, ins) if isinstance(kind, Concat) else 0  # type: ignore[attr-defined]
        offset = 0
        for s, shape in zip(r.node.inputs, ins):
            if len(shape) != rank:
                continue  # a non-spatial input carries no units to draw; what it sees is pulled back in full below
            if not spatial_out or not have:
                got = _all(shape) if have else set()
            elif axis > 0:  # along a spatial dim: each input holds a slice of the positions
                j = axis - 1
                got = {(*u[:j], u[j] - offset, *u[j + 1 :]) for u in have if offset <= u[j] < offset + shape[axis]}
                offset += shape[axis]
            elif kind.merge:
                got = set(have)
            else:
                got = _sources(kind, r.args, ins, tuple(r.shape), shape, have)
            want.setdefault(s, set()).update(got)
        if any(len(shape) != rank for shape in ins) and have:
            _everything_before(analysis, i, want)
    done[INPUT] = frozenset(want.get(INPUT, set()))
    return done


def _sources(kind: Any, args: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], shape: tuple[int, ...],
             have: set[Unit]) -> set[Unit]:  # fmt: skip
    """Every unit of an input of ``shape`` that the units ``have`` depend on (the window is separable per dim)."""
    per_dim: list[dict[int, tuple[int, ...]]] = []
    for j in range(len(shape) - 1):
        window = kind.window(args, ins, j, out)
        size = shape[1 + j]
        coords = {u[j] for u in have}
        if window is GLOBAL:
            per_dim.append({c: tuple(range(size)) for c in coords})
        else:
            per_dim.append({c: tuple(window.sources(c, size)) for c in coords})
    got: set[Unit] = set()
    for u in have:
        got.update(product(*(per_dim[j][c] for j, c in enumerate(u))))
    return got


def _all(shape: tuple[int, ...]) -> set[Unit]:
    return set(product(*(range(d) for d in shape[1:])))


def _everything_before(analysis: Analysis, index: int, want: dict[int, set[Unit]]) -> None:
    """A non-spatial input (after a Flatten) depends on every unit of the nearest spatial maps before it."""
    rank = len(analysis.graph.input_shape)
    stack = list(analysis.layers[index].node.inputs)
    seen: set[int] = set()
    while stack:
        s = stack.pop()
        if s in seen:
            continue
        seen.add(s)
        shape = tuple(analysis.graph.input_shape if s == INPUT else analysis.layers[s].shape)
        if len(shape) == rank:
            want.setdefault(s, set()).update(_all(shape))  # the pull-back goes on from there
        elif s != INPUT:
            stack.extend(analysis.layers[s].node.inputs)


def find_unit(analysis: Analysis, text: str | None) -> tuple[int, Unit | None]:
    """``ID``, ``ID@i,j`` or ``@i,j`` (indices from 0) as a layer index and a unit (None: the centre unit).

    Without an id, the layer is the last one with a spatial output.
    """
    from ..errors import did_you_mean

    name, at, coords = (text or "").partition("@")
    rank = len(analysis.graph.input_shape)
    if name:
        ids = {r.node.id: i for i, r in enumerate(analysis.layers) if r.node.id} | {
            r.node.name: i for i, r in enumerate(analysis.layers)
        }
        if name not in ids:
            raise CnnCalcError(f"--unit {text}: no layer {name!r}", None,
                               did_you_mean(name, ids) or "give a layer id as cnncalc rf lists it")  # fmt: skip
        layer = ids[name]
    else:
        spatial = [i for i, r in enumerate(analysis.layers) if len(r.shape) == rank]
        if not spatial:
            raise CnnCalcError("no layer has a spatial output, so no unit has a position to draw", None)
        layer = spatial[-1]
    if not at:
        return layer, None
    parts = [p.strip() for p in coords.split(",")]
    if not all(p.isascii() and p.isdigit() for p in parts):
        raise CnnCalcError(f"--unit {text}: expected indices from 0 after @, e.g. conv2@3,4", None)
    return layer, tuple(int(p) for p in parts)
