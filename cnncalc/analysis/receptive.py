"""Receptive fields: for every layer and input spatial dim, which input units an output unit sees.

Summaries follow Araujo, Norris & Sim (Distill 2019): size ``r``, effective stride
``S`` and effective padding ``P``, so output unit u sees input units
``[u*S - P, u*S - P + r - 1]`` (centre ``u*S - P + (r-1)/2``), through

    r_out = r_in + (k - 1) * S_in,   S_out = S_in * s,   P_out = P_in + p * S_in

for every affine window (convolution, pooling, padding), with sympy values when
sizes are symbolic. Transposed convolutions, upsampling and adaptive bins have
fractional strides and sizes that vary with position: there cnncalc composes the
exact per-unit intervals at the default sizes and reports ``r`` as the maximum over
positions (``min_size`` the minimum), ``S`` as the nominal stride (1/s for a
transposed convolution, input/output size for resampling) and ``P`` from unit 0.
Alignment of merged paths is checked where both have closed forms. ``region()`` gives the exact input region of any unit, which is
what the gradient check in verify/receptive.py compares with torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .. import symbolic as sym
from ..graph.expand import INPUT
from ..layers.window import GLOBAL, Affine, Transpose
from .shapes import Analysis


@dataclass(frozen=True)
class DimRF:
    """The receptive field of a layer's units along one input spatial dim."""

    size: Any
    stride: Any
    padding: Any
    min_size: Any
    is_global: bool = False
    closed_form: bool = True  # every unit u sees exactly [u*S - P, u*S - P + r - 1]


@dataclass(frozen=True)
class NodeRF:
    """Per input spatial dim, for one layer."""

    dims: tuple[DimRF, ...]

    @property
    def is_global(self) -> bool:
        return all(d.is_global for d in self.dims)


@dataclass(frozen=True)
class ReceptiveFields:
    """Receptive fields of every layer, plus warnings about unaligned merges."""

    layers: tuple[NodeRF, ...]
    warnings: tuple[str, ...]


_START = DimRF(1, 1, 0, 1)


def _global(concrete: Analysis, idx: int, j: int) -> DimRF:
    """Every unit sees the same region; its size is what the whole layer input covers (not always all of it)."""
    lo, hi = region(concrete, idx, {j: (0, 0)})[j]
    return DimRF(hi - lo + 1, 0, -lo, hi - lo + 1, True, False)


def receptive_fields(main: Analysis, concrete: Analysis) -> ReceptiveFields:
    """Receptive fields for ``main`` (maybe symbolic); non-affine steps use ``concrete`` (defaults)."""
    spatial = len(main.graph.input_shape) - 1
    out: list[NodeRF] = []
    warnings: list[str] = []
    maps: dict[tuple[int, int], list[frozenset[int]]] = {}  # per (node, dim): input units seen by each unit
    for idx, r in enumerate(main.layers):
        node = r.node
        ins = [main.graph.input_shape if i == INPUT else main.layers[i].shape for i in node.inputs]
        dims = []
        for j in range(spatial):
            sources = [_START if i == INPUT else out[i].dims[j] for i in node.inputs]
            if node.layer.merge and all(s.closed_form and not s.is_global for s in sources):
                _check_alignment(main, node.inputs, sources, j, warnings)
            dims.append(_step(main, concrete, idx, j, sources, ins, maps))
        out.append(NodeRF(tuple(dims)))
    return ReceptiveFields(tuple(out), tuple(warnings))


def _step(
    main: Analysis, concrete: Analysis, idx: int, j: int, sources: list[DimRF], ins: list[Any],
    maps: dict[tuple[int, int], list[frozenset[int]]],
) -> DimRF:  # fmt: skip
    r = main.layers[idx]
    if any(s.is_global for s in sources) or any(len(s) != len(main.graph.input_shape) for s in ins):
        return _global(concrete, idx, j)
    window = r.node.layer.window(r.args, ins, j)
    if window is GLOBAL:
        return _global(concrete, idx, j)
    widest = max(sources, key=lambda s: s.size if sym.is_concrete(s.size) else 0)
    if isinstance(window, Affine) and all(s.closed_form for s in sources):
        k, s, p = window.k, window.s, window.p
        return DimRF(widest.size + (k - 1) * widest.stride, widest.stride * s, widest.padding + p * widest.stride,
                     widest.min_size + (k - 1) * widest.stride)  # fmt: skip
    c = concrete.layers[idx]
    c_ins = [concrete.graph.input_shape if i == INPUT else concrete.layers[i].shape for i in c.node.inputs]
    c_window = c.node.layer.window(c.args, c_ins, j)
    if isinstance(c_window, Transpose):
        factor = Fraction(1, c_window.s)
    elif isinstance(c_window, Affine):
        factor = Fraction(c_window.s)
    else:
        factor = Fraction(c_ins[0][1 + j], c.shape[1 + j])
    return _composed(concrete, idx, j, Fraction(widest.stride) * factor, maps)


def _unit_map(
    concrete: Analysis, idx: int, j: int, maps: dict[tuple[int, int], list[frozenset[int]]]
) -> list[frozenset[int]]:
    """For every unit of layer ``idx`` along dim ``j``, the input units it depends on (built from its inputs' maps)."""
    if (idx, j) in maps:
        return maps[(idx, j)]
    input_shape = concrete.graph.input_shape
    r = concrete.layers[idx]
    ins = [input_shape if s == INPUT else concrete.layers[s].shape for s in r.node.inputs]
    window = r.node.layer.window(r.args, ins, j)
    units: list[set[int]] = [set() for _ in range(r.shape[1 + j])]
    for s, shape in zip(r.node.inputs, ins):
        size = shape[1 + j]
        source = [frozenset((v,)) for v in range(size)] if s == INPUT else _unit_map(concrete, s, j, maps)
        whole = frozenset().union(*source) if window is GLOBAL else frozenset()
        for u, acc in enumerate(units):
            if window is GLOBAL:
                acc |= whole
            else:
                for v in window.sources(u, size):
                    acc |= source[v]
    maps[(idx, j)] = [frozenset(u) for u in units]
    return maps[(idx, j)]


def _composed(
    concrete: Analysis, idx: int, j: int, stride: Fraction, maps: dict[tuple[int, int], list[frozenset[int]]]
) -> DimRF:
    """Sizes measured exactly over the layer's units at the default sizes (interior units when there are
    some, so that clipping at the border does not count as variation); nominal stride; P from unit 0."""
    last = concrete.graph.input_shape[1 + j] - 1
    spans = [(min(seen), max(seen)) if seen else (0, -1) for seen in _unit_map(concrete, idx, j, maps)]
    interior = [(lo, hi) for lo, hi in spans if 0 < lo <= hi < last] or [(lo, hi) for lo, hi in spans if lo <= hi]
    sizes = [hi - lo + 1 for lo, hi in interior] or [0]
    stride_out: Any = stride.numerator if stride.denominator == 1 else stride
    return DimRF(max(sizes), stride_out, -spans[0][0], min(sizes), False, False)


def region(analysis: Analysis, idx: int, units: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """The input region (per spatial dim, inclusive hull) that units ``[a, b]`` of layer ``idx`` depend on.

    The hull of :func:`region_sets`; an empty set gives ``(0, -1)``.
    """
    return {j: (min(s), max(s)) if s else (0, -1) for j, s in region_sets(analysis, idx, units).items()}


def region_sets(analysis: Analysis, idx: int, units: dict[int, tuple[int, int]]) -> dict[int, set[int]]:
    """The exact set of input units (per spatial dim) that units ``[a, b]`` of layer ``idx`` depend on.

    Exact for a concrete analysis: the set of units is pulled back through every layer
    in reverse topological order (sets, not intervals, so that holes left by strided
    transposed convolutions and dilation are respected). A layer whose output is not
    spatial (after Flatten) is asked for all of its units.
    """
    result = {}
    input_shape = analysis.graph.input_shape
    rank = len(input_shape)
    for j, (a, b) in units.items():
        want: dict[int, set[int] | None] = {
            idx: set(range(a, b + 1)) if len(analysis.layers[idx].shape) == rank else None
        }
        for i in range(idx, -1, -1):
            if i not in want:
                continue
            have = want.pop(i)  # None = every unit of a non-spatial output
            r = analysis.layers[i]
            ins = [input_shape if s == INPUT else analysis.layers[s].shape for s in r.node.inputs]
            spatial_out = len(r.shape) == rank
            if have is not None and not have:
                continue
            window = r.node.layer.window(r.args, ins, j) if spatial_out and len(ins[0]) == rank else GLOBAL
            for s, shape in zip(r.node.inputs, ins):
                if len(shape) != rank:
                    got: set[int] | None = None
                elif window is GLOBAL or have is None:
                    got = set(range(shape[1 + j]))
                else:
                    got = {v for u in have for v in window.sources(u, shape[1 + j])}
                old = want.get(s, set())
                want[s] = None if got is None or old is None else old | got
        final = want.get(INPUT, set())
        result[j] = set(final) if final is not None else set(range(input_shape[1 + j]))
    return result


def _check_alignment(
    main: Analysis, inputs: tuple[int, ...], sources: list[DimRF], j: int, warnings: list[str]
) -> None:
    """Paths into a merge are aligned only if stride and centre offset agree (Araujo et al.)."""

    def key(s: DimRF) -> tuple[Any, Any]:
        return s.stride, -s.padding + sym.truediv(s.size - 1, 2) if sym.is_concrete(s.size) else -s.padding + (
            s.size - 1
        ) / 2

    first = key(sources[0])
    for s in sources[1:]:
        if sym.decide(sym.equal(key(s)[0], first[0])) is False or sym.decide(sym.equal(key(s)[1], first[1])) is False:
            names = ["input" if k == INPUT else main.layers[k].node.name for k in inputs]
            warnings.append(f"receptive fields of {' and '.join(repr(n) for n in names)} are not aligned in spatial "
                            f"dim {j} (stride, centre offset {first} vs {key(s)})")  # fmt: skip
            return
