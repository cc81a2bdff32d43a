"""Receptive fields: for every layer and every spatial dim of the network input, what each unit sees.

**Units.** While a layer's output keeps the network input's layout ``(C, *spatial)`` (a *frame*), a unit
is one spatial position, all channels together: its region is the union over channels (what the input
gradient of the sum over channels at that position reaches). After a Flatten, Unflatten or Keras global
pooling the output's elements are the units; an element stands for its own channel at its position, so
channels whose paths differ (after a Concat, a grouped convolution, PixelUnshuffle) keep their own regions.

**Exact maps.** At concrete sizes (the defaults), cnncalc computes the region of every unit: per input
spatial dim the hull ``(lo, hi)`` of the input units it depends on, or nothing. Frames keep one map per
*channel class* (channels that see the same things), separable per dim when it can be, over the whole grid
when it cannot; other outputs keep one region per element. Every layer type states its geometry once
(``window`` per spatial dim, ``channel_rule`` for channels, layers/window.py); the maps compose it exactly,
including holes, clipping, mirrored and wrapped borders, and torch's float32 resampling. The maps are
bounded (``BUDGET`` entries in all); past the bound cnncalc keeps the closed forms and says so.

**Summaries** per layer and dim (Araujo, Norris & Sim, Distill 2019): ``size`` r, effective stride S,
effective padding P. Along a path of affine windows (convolution, pooling, zero or replicate padding)
unit u sees a subset of ``[u*S - P, u*S - P + r - 1]``, the whole interval when it lies inside the
input; then r, S, P follow ``r += (k-1)*S``, ``S *= s``, ``P += p*S`` and are sympy expressions when sizes
are symbols (``closed_form``). Merged paths with the same S give the hull of their intervals. Everywhere
else (transposed convolution, resampling, adaptive bins, reflection, after a reshape) ``size`` is the
largest region of any unit at the defaults, so no unit's region exceeds it, and ``min_size`` the
smallest region of an interior unit; S is nominal and P is read from unit 0. ``global`` says every unit
that sees anything sees the same region. ``region()`` gives the region of any unit, which the gradient
check in verify/receptive.py compares with torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .. import symbolic as sym
from ..budget import tick
from ..graph.expand import INPUT
from ..layers.merge import Concat
from ..layers.window import GLOBAL, IDENTITY, Affine, Channels
from .shapes import Analysis, LayerResult, symbolic_args

BUDGET = 4_000_000
"""Map entries (unit regions) the exact maps may hold in all; beyond it, closed forms only."""

Hull = tuple[int, int]
Unit = tuple[Hull, ...] | None
"""A unit's region: per network-input spatial dim the hull (lo, hi) of what it sees; None when it sees nothing."""


# ---------------------------------------------------------------- summaries


@dataclass(frozen=True)
class DimRF:
    """The receptive field of a layer's units along one spatial dim of the network input."""

    size: Any  # r: int or sympy expression (closed form); else the largest region at the defaults
    stride: Any  # S: int, Fraction or expression; None when it means nothing (after a reshape)
    padding: Any  # P: from unit 0; None when unit 0 sees nothing or after a reshape
    min_size: Any
    is_global: bool = False
    closed_form: bool = True  # every unit u sees a subset of [u*S - P, u*S - P + r - 1], all of it inside the input


@dataclass(frozen=True)
class NodeRF:
    """Per input spatial dim, for one layer; ``note`` says why there are no numbers (None when there are)."""

    dims: tuple[DimRF, ...]
    note: str | None = None

    @property
    def is_global(self) -> bool:
        return bool(self.dims) and all(d.is_global for d in self.dims)


@dataclass(frozen=True)
class ReceptiveFields:
    """Receptive fields of every layer, warnings about unaligned merges, and the exact maps at the defaults."""

    layers: tuple[NodeRF, ...]
    warnings: tuple[str, ...]
    maps: tuple[Any, ...] = ()  # per layer: Frame, View, Elems or Unknown (at the concrete sizes)
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------- exact maps


@dataclass
class ClassMap:
    """The regions of one channel class over a frame's spatial grid.

    ``sep``: per spatial dim j, the hull along input dim j of each position (a position sees the product;
    nothing if any dim has None). ``full``: one Unit per position, row-major. Exactly one is set.
    """

    shape: tuple[int, ...]
    sep: tuple[list[Hull | None], ...] | None = None
    full: list[Unit] | None = None

    def size(self) -> int:
        return sum(len(d) for d in self.sep) if self.sep is not None else len(self.full or ())

    def unit(self, pos: Sequence[int]) -> Unit:
        if self.sep is not None:
            hulls = tuple(self.sep[j][u] for j, u in enumerate(pos))
            return None if any(h is None for h in hulls) else hulls  # type: ignore[return-value]
        assert self.full is not None
        return self.full[_ravel(pos, self.shape)]

    def as_full(self) -> list[Unit]:
        if self.full is not None:
            return self.full
        return [self.unit(pos) for pos in _positions(self.shape)]


@dataclass
class Frame:
    """A (C, *spatial) output aligned with the network input: a class per channel, a map per class."""

    chan: list[int]
    classes: list[ClassMap]

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.chan), *self.classes[0].shape)

    def unit(self, index: Sequence[int]) -> Unit:
        return self.classes[self.chan[index[0]]].unit(index[1:])


@dataclass
class View:
    """A reshape of a frame: element e of this tensor is element e of the frame (row-major order is kept)."""

    frame: Frame
    shape: tuple[int, ...]

    def unit(self, index: Sequence[int]) -> Unit:
        return self.frame.unit(unravel(_ravel(index, self.shape), self.frame.shape))


@dataclass
class Elems:
    """One region per element (row-major over ``shape``)."""

    shape: tuple[int, ...]
    data: list[Unit]

    def unit(self, index: Sequence[int]) -> Unit:
        return self.data[_ravel(index, self.shape)]


@dataclass
class Unknown:
    """No exact map for this layer; ``reason`` says why."""

    reason: str


State = Frame | View | Elems | Unknown


class _OverBudget(Exception):
    pass


def _ravel(index: Sequence[int], shape: Sequence[int]) -> int:
    flat = 0
    for i, n in zip(index, shape):
        flat = flat * n + i
    return flat


def unravel(flat: int, shape: Sequence[int]) -> tuple[int, ...]:
    out = []
    for n in reversed(shape):
        flat, r = divmod(flat, n)
        out.append(r)
    return tuple(reversed(out))


def _positions(shape: Sequence[int]) -> Iterable[tuple[int, ...]]:
    return (unravel(f, shape) for f in range(_numel(shape)))


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _join(a: Hull | None, b: Hull | None) -> Hull | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]))


def _join_units(a: Unit, b: Unit) -> Unit:
    if a is None:
        return b
    if b is None:
        return a
    return tuple((min(x[0], y[0]), max(x[1], y[1])) for x, y in zip(a, b))


class _Engine:
    """Composes the layers' geometry into exact maps, within the budget."""

    def __init__(self, analysis: Analysis, budget: int) -> None:
        self.analysis = analysis
        self.budget = budget
        self.spatial = len(analysis.graph.input_shape) - 1

    def spend(self, n: int) -> None:
        self.budget -= n
        if self.budget < 0:
            raise _OverBudget

    # -- frames

    def input_frame(self) -> Frame:
        shape = tuple(self.analysis.graph.input_shape[1:])
        self.spend(sum(shape) + self.analysis.graph.input_shape[0])  # channels too: a list per channel
        sep: tuple[list[Hull | None], ...] = tuple([(u, u) for u in range(n)] for n in shape)
        return Frame([0] * self.analysis.graph.input_shape[0], [ClassMap(shape, sep=sep)])

    def windowed(self, cm: ClassMap, windows: Sequence[Any], out: tuple[int, ...]) -> ClassMap:
        """The class map after windows (one per spatial dim) from ``cm.shape`` to ``out``."""
        if cm.sep is not None:
            self.spend(sum(out))
            return ClassMap(out, sep=tuple(_window_list(w, lst, n) for w, lst, n in zip(windows, cm.sep, out)))
        data = cm.full
        assert data is not None
        shape = cm.shape
        for axis, (w, n) in enumerate(zip(windows, out)):
            new_shape = (*shape[:axis], n, *shape[axis + 1 :])
            self.spend(_numel(new_shape))
            data = _window_axis(data, shape, axis, w, n)
            shape = new_shape
        return ClassMap(out, full=data)

    def union(self, maps: Sequence[ClassMap]) -> ClassMap:
        """The union of several class maps over the same grid (what a channel mixing all of them sees)."""
        maps = _distinct(maps)
        if len(maps) == 1:
            return maps[0]
        shape = maps[0].shape
        if all(m.sep is not None and not any(h is None for lst in m.sep for h in lst) for m in maps):
            self.spend(sum(shape))
            sep = tuple([_join_all(m.sep[j][u] for m in maps) for u in range(n)]  # type: ignore[index]
                        for j, n in enumerate(shape))  # fmt: skip
            return ClassMap(shape, sep=sep)
        self.spend(_numel(shape) * (len(maps) + 1))
        fulls = [m.as_full() for m in maps]
        data: list[Unit] = []
        for units in zip(*fulls):
            acc: Unit = None
            for u in units:
                acc = _join_units(acc, u)
            data.append(acc)
        return ClassMap(shape, full=data)

    def frame_apply(self, x: Frame, windows: Sequence[Any], rule: Channels, out: tuple[int, ...], name: str) -> State:
        """A frame through windows (one per spatial dim) and a channel rule, to ``out`` (same rank)."""
        grid = out[1:]
        if rule.kind == "same":
            return Frame(list(x.chan), [self.windowed(cm, windows, grid) for cm in x.classes])
        if rule.kind == "all":
            return Frame([0] * out[0], [self.windowed(self.union(_used(x)), windows, grid)])
        if rule.kind == "broadcast":
            return Frame([0] * out[0], [self.windowed(x.classes[x.chan[0]], windows, grid)])
        if rule.kind == "slice":
            return self._slice(x, rule.n, out, windows)
        if rule.kind in ("groups", "window"):
            return self._channel_sets(x, rule, out, windows)
        if rule.kind == "unshuffle" and self.spatial == 2:
            return self._unshuffle(x, rule.n, out)
        if rule.kind == "shuffle" and self.spatial == 2:
            return self._shuffle(x, rule.n, out)
        return Unknown(f"{name} on a {len(out)}-d input moves a spatial dim into channels")

    def _slice(self, x: Frame, n: int, out: tuple[int, ...], windows: Sequence[Any]) -> Frame:
        """Output channel c is input channel c + n; channels with no input (a prepended token) see nothing."""
        maps = [self.windowed(cm, windows, out[1:]) for cm in x.classes]
        empty = len(maps)
        chan = [x.chan[c + n] if 0 <= c + n < len(x.chan) else empty for c in range(out[0])]
        if empty in chan:
            maps.append(ClassMap(out[1:], sep=tuple([None] * d for d in out[1:])))
        return Frame(chan, maps)

    def _channel_sets(self, x: Frame, rule: Channels, out: tuple[int, ...], windows: Sequence[Any]) -> Frame:
        c_in, c_out = len(x.chan), out[0]
        keys: list[tuple[int, ...]] = []
        for c in range(c_out):
            if rule.kind == "groups":
                g = c // (c_out // rule.n)
                per = c_in // rule.n
                sources = range(g * per, (g + 1) * per)
            else:  # a window of channels [c - n//2, c + (n-1)//2] (LocalResponseNorm)
                sources = range(max(c - rule.n // 2, 0), min(c + (rule.n - 1) // 2, c_in - 1) + 1)
            keys.append(tuple(sorted({x.chan[s] for s in sources})))
        index: dict[tuple[int, ...], int] = {}
        classes: list[ClassMap] = []
        chan = []
        for key in keys:
            if key not in index:
                index[key] = len(classes)
                classes.append(self.windowed(self.union([x.classes[k] for k in key]), windows, out[1:]))
            chan.append(index[key])
        return Frame(chan, classes)

    def _unshuffle(self, x: Frame, r: int, out: tuple[int, ...]) -> Frame:
        # output channel c*r*r + i*r + j at (h, w) is input channel c at (h*r + i, w*r + j)
        index: dict[tuple[int, int, int], int] = {}
        classes: list[ClassMap] = []
        chan = []
        for c in range(out[0]):
            k, rest = divmod(c, r * r)
            i, j = divmod(rest, r)
            key = (x.chan[k], i, j)
            if key not in index:
                index[key] = len(classes)
                classes.append(self.windowed(x.classes[key[0]], [Affine(1, r, -i), Affine(1, r, -j)], out[1:]))
            chan.append(index[key])
        return Frame(chan, classes)

    def _shuffle(self, x: Frame, r: int, out: tuple[int, ...]) -> Frame:
        # output channel c at (h, w) is input channel c*r*r + (h % r)*r + (w % r) at (h // r, w // r)
        index: dict[tuple[int, ...], int] = {}
        classes: list[ClassMap] = []
        chan = []
        grid = out[1:]
        for c in range(out[0]):
            key = tuple(x.chan[c * r * r + o] for o in range(r * r))
            if key not in index:
                index[key] = len(classes)
                if len(set(key)) == 1:
                    from ..layers.window import Repeat

                    classes.append(self.windowed(x.classes[key[0]], [Repeat(r), Repeat(r)], grid))
                else:
                    self.spend(_numel(grid))
                    data = [x.classes[key[(h % r) * r + w % r]].unit((h // r, w // r)) for h, w in _positions(grid)]
                    classes.append(ClassMap(grid, full=data))
            chan.append(index[key])
        return Frame(chan, classes)

    def add(self, xs: Sequence[Frame]) -> Frame:
        return _channelwise(xs, self.union)

    def concat_channels(self, xs: Sequence[Frame]) -> Frame:
        chan: list[int] = []
        classes: list[ClassMap] = []
        for x in xs:
            chan += [len(classes) + k for k in x.chan]
            classes += x.classes
        return Frame(chan, classes)

    def concat_spatial(self, xs: Sequence[Frame], axis: int) -> Frame:
        """Concatenation along spatial dim ``axis`` (per-sample dim ``axis + 1``)."""
        return _channelwise(xs, lambda maps: self._concat_maps(maps, axis))

    def _concat_maps(self, maps: Sequence[ClassMap], axis: int) -> ClassMap:
        shape = list(maps[0].shape)
        shape[axis] = sum(m.shape[axis] for m in maps)
        grid = tuple(shape)
        if all(m.sep is not None for m in maps):
            seps = [m.sep for m in maps]
            same = all(s[j] == seps[0][j] for s in seps for j in range(len(grid)) if j != axis)  # type: ignore[index]
            if same:
                self.spend(sum(grid))
                lists = list(seps[0])  # type: ignore[arg-type]
                lists[axis] = [h for s in seps for h in s[axis]]  # type: ignore[index]
                return ClassMap(grid, sep=tuple(lists))
        self.spend(_numel(grid))
        data: list[Unit] = []
        for pos in _positions(grid):
            u, k = pos[axis], 0
            while u >= maps[k].shape[axis]:
                u -= maps[k].shape[axis]
                k += 1
            data.append(maps[k].unit((*pos[:axis], u, *pos[axis + 1 :])))
        return ClassMap(grid, full=data)

    # -- elements (after a reshape)

    def elems(self, x: State, shape: tuple[int, ...]) -> Elems:
        if isinstance(x, Elems):
            return x
        n = _numel(shape)
        self.spend(n)
        if isinstance(x, View):
            f = x.frame
            return Elems(shape, [f.unit(unravel(e, f.shape)) for e in range(n)])
        assert isinstance(x, Frame)
        return Elems(shape, [x.unit(unravel(e, shape)) for e in range(n)])

    def elem_apply(self, x: Elems, windows: Sequence[Any], rule: Channels, out: tuple[int, ...], name: str) -> State:
        """Elements through windows (one per dim after the first) and a channel rule (dim 0), to ``out``."""
        shape = x.shape
        data = x.data
        if len(out) != len(shape):
            return Unknown(f"{name} changes the rank of its input in a way cnncalc does not map")
        if rule.kind in ("shuffle", "unshuffle"):
            return Unknown(f"{name} after a reshape is not mapped")
        for axis in range(1, len(shape)):
            w = windows[axis - 1]
            if w == IDENTITY and shape[axis] == out[axis]:
                continue
            self.spend(_numel(shape) + _numel(shape) // shape[axis] * out[axis])
            data = _window_axis(data, shape, axis, w, out[axis])
            shape = (*shape[:axis], out[axis], *shape[axis + 1 :])
        if rule.kind != "same" or shape[0] != out[0]:
            self.spend(_numel(shape) + _numel(out))
            data = _channel_axis(data, shape, rule, out[0])
        return Elems(out, data)

    def apply(self, x: State, windows: Sequence[Any], rule: Channels, out: tuple[int, ...], name: str,
              in_shape: tuple[int, ...]) -> State:  # fmt: skip
        """Any state through windows and a channel rule: frames stay frames, everything else element by element."""
        if isinstance(x, Frame):
            return self.frame_apply(x, windows, rule, out, name)
        if isinstance(x, Unknown):
            return x
        return self.elem_apply(self.elems(x, in_shape), windows, rule, out, name)

    def gathered(self, x: State, in_shape: tuple[int, ...], out: tuple[int, ...], source: Any) -> Elems:
        """A layer that copies elements (Permute): output element at index i is input element ``source(i)``."""
        e = self.elems(x, in_shape)
        self.spend(_numel(out))
        return Elems(out, [e.data[_ravel(source(unravel(f, out)), in_shape)] for f in range(_numel(out))])

    def union_states(self, xs: Sequence[State], out: tuple[int, ...]) -> State:
        """What an output element of a merge sees: the union over its inputs (each already brought to ``out``)."""
        if all(isinstance(x, Frame) for x in xs):
            return self.add(xs)  # type: ignore[arg-type]
        es = [self.elems(x, out) for x in xs]
        self.spend(_numel(out) * len(es))
        return Elems(out, [_join_all_units(us) for us in zip(*(e.data for e in es))])


def _distinct(maps: Sequence[ClassMap]) -> list[ClassMap]:
    out: list[ClassMap] = []
    for m in maps:
        if not any(m is o for o in out):
            out.append(m)
    return out


def _channelwise(xs: Sequence[Frame], combine: Callable[[list[ClassMap]], ClassMap]) -> Frame:
    """Frames of equal channel counts merged channel by channel: one class per distinct tuple of input classes,
    its map ``combine`` of theirs (Add: the union; Concat along space: the maps side by side)."""
    index: dict[tuple[int, ...], int] = {}
    classes: list[ClassMap] = []
    chan = []
    for c in range(len(xs[0].chan)):
        key = tuple(x.chan[c] for x in xs)
        if key not in index:
            index[key] = len(classes)
            classes.append(combine([x.classes[k] for x, k in zip(xs, key)]))
        chan.append(index[key])
    return Frame(chan, classes)


def _used(x: Frame) -> list[ClassMap]:
    return [x.classes[k] for k in sorted(set(x.chan))]


def _join_all(hulls: Iterable[Hull | None]) -> Hull | None:
    acc: Hull | None = None
    for h in hulls:
        acc = _join(acc, h)
    return acc


def _window_list(w: Any, lst: list[Hull | None], n_out: int) -> list[Hull | None]:
    """One spatial dim of a separable map through a window."""
    if w is GLOBAL:
        return [_join_all(lst)] * n_out
    if w == IDENTITY and len(lst) == n_out:
        return list(lst)
    size = len(lst)
    return [_join_all(lst[v] for v in w.sources(u, size)) for u in range(n_out)]


def _window_axis(data: list[Unit], shape: Sequence[int], axis: int, w: Any, n_out: int) -> list[Unit]:
    """A row-major grid of units through a window along ``axis``."""
    size = shape[axis]
    inner = _numel(shape[axis + 1 :])
    outer = _numel(shape[:axis])
    out: list[Unit] = []
    if w is GLOBAL:  # every output unit sees the union along the axis: computed once, repeated
        for o in range(outer):
            base = o * size * inner
            line = [_join_all_units(data[base + v * inner + i] for v in range(size)) for i in range(inner)]
            out += line * n_out
        return out
    sources = [list(w.sources(u, size)) for u in range(n_out)]
    for o in range(outer):
        base = o * size * inner
        for u in range(n_out):
            src = sources[u]
            for i in range(inner):
                out.append(_join_all_units(data[base + v * inner + i] for v in src))
    return out


def _channel_axis(data: list[Unit], shape: Sequence[int], rule: Channels, c_out: int) -> list[Unit]:
    """Axis 0 (channels) of a row-major grid through a channel rule."""
    c_in = shape[0]
    inner = _numel(shape[1:])

    def union(channels: Iterable[int]) -> list[Unit]:
        src = list(channels)
        return [_join_all_units(data[s * inner + i] for s in src) for i in range(inner)]

    if rule.kind == "same":
        return list(data)
    if rule.kind == "all":
        return union(range(c_in)) * c_out
    if rule.kind == "broadcast":
        return data[:inner] * c_out
    if rule.kind == "slice":
        nothing: list[Unit] = [None] * inner
        return [u for c in range(c_out) for u in (data[(c + rule.n) * inner : (c + rule.n + 1) * inner]
                                                  if 0 <= c + rule.n < c_in else nothing)]  # fmt: skip
    out: list[Unit] = []
    if rule.kind == "groups":
        per_in, per_out = c_in // rule.n, c_out // rule.n
        for g in range(rule.n):
            out += union(range(g * per_in, (g + 1) * per_in)) * per_out
        return out
    for c in range(c_out):  # a window of channels (LocalResponseNorm)
        out += union(range(max(c - rule.n // 2, 0), min(c + (rule.n - 1) // 2, c_in - 1) + 1))
    return out


def exact_maps(analysis: Analysis, budget: int = BUDGET) -> tuple[list[State], list[str]]:
    """The exact map of every layer at these (concrete) sizes, and notes on what could not be mapped."""
    engine = _Engine(analysis, budget)
    notes: list[str] = []
    states: list[State] = []
    try:
        source: State = engine.input_frame()
    except _OverBudget:
        source = Unknown("the input is too large to map unit by unit")
    for r in analysis.layers:
        tick(r.node.loc, "mapping receptive fields")
        try:
            states.append(_layer_state(engine, r, states, source))
        except _OverBudget:
            states.append(Unknown(f"the unit maps would exceed {budget:,} entries"))
            engine.budget = 0
    bad = next((s for s in states if isinstance(s, Unknown)), None)
    if bad is not None:
        notes.append(f"exact receptive-field maps stop at a layer: {bad.reason}; the closed forms remain")
    return states, notes


def _layer_state(engine: _Engine, r: LayerResult, states: list[State], source: State) -> State:
    analysis = engine.analysis
    ins = [analysis.graph.input_shape if i == INPUT else analysis.layers[i].shape for i in r.node.inputs]
    xs = [source if i == INPUT else states[i] for i in r.node.inputs]
    unknown = next((x for x in xs if isinstance(x, Unknown)), None)
    if unknown is not None:
        return Unknown(unknown.reason)
    layer = r.node.layer
    out = tuple(r.shape)
    if engine.budget <= 0:
        raise _OverBudget
    engine.spend(int(out[0]) if out else 0)  # channel lists and loops are as long as the channels
    if layer.reshapes:
        x = xs[0]
        frame = x.frame if isinstance(x, View) else x if isinstance(x, Frame) else None
        if frame is not None:
            return frame if out == frame.shape else View(frame, out)
        assert isinstance(x, Elems)
        return Elems(out, x.data)
    if layer.merge and isinstance(layer, Concat):
        axis = layer.axis(r.args, ins)  # type: ignore[attr-defined]
        if all(isinstance(x, Frame) for x in xs):
            frames: list[Frame] = xs  # type: ignore[assignment]
            return engine.concat_channels(frames) if axis == 0 else engine.concat_spatial(frames, axis - 1)
        es = [engine.elems(x, tuple(s)) for x, s in zip(xs, ins)]
        return Elems(out, _concat_elems(es, axis, out))
    if layer.merge:
        brought = []
        for k, (x, shape) in enumerate(zip(xs, ins)):
            windows, rule = layer.input_geometry(r.args, ins, out, k)
            brought.append(engine.apply(x, windows, rule, out, layer.name, tuple(shape)))
        bad = next((b for b in brought if isinstance(b, Unknown)), None)
        return bad if bad is not None else engine.union_states(brought, out)
    x = xs[0]
    if not ins[0] or not out:  # a scalar per sample: it is its own unit, or it turns into a tensor
        if not ins[0] and not out:
            return x if isinstance(x, Elems) else engine.elems(x, ())
        if not ins[0] and isinstance(x, Elems) and len(x.data) == 1:
            return Elems(out, x.data * _numel(out))  # broadcast from one value: every element sees what it sees
        return Unknown(f"{layer.name} on a rank-{len(ins[0])} input is not mapped")
    source_of = layer.gather(r.args, ins, out)
    if source_of is not None:
        return engine.gathered(x, tuple(ins[0]), out, source_of)
    if isinstance(x, View) and _pointwise(r, ins):
        return View(x.frame, out)
    if isinstance(x, Frame) and _pointwise(r, ins):
        return x  # each unit sees what it saw: the same map (90,000 ReLUs share one)
    kept = layer.kept_shape(r.args, ins, out)
    target = tuple(kept) if kept is not None else out
    if len(target) != len(ins[0]):
        return Unknown(f"{layer.name} changes the rank of its input in a way cnncalc does not map")
    windows = [layer.window(r.args, ins, j, target) for j in range(len(target) - 1)]
    state = engine.apply(x, windows, layer.channel_rule(r.args, ins, target), target, layer.name, tuple(ins[0]))
    if kept is None or isinstance(state, Unknown):
        return state
    if isinstance(state, Frame):
        return state if out == state.shape else View(state, out)
    assert isinstance(state, Elems)
    return Elems(out, state.data)


def _join_all_units(units: Iterable[Unit]) -> Unit:
    acc: Unit = None
    for u in units:
        acc = _join_units(acc, u)
    return acc


def _concat_elems(es: Sequence[Elems], axis: int, out: tuple[int, ...]) -> list[Unit]:
    inner = _numel(out[axis + 1 :])
    outer = _numel(out[:axis])
    data: list[Unit] = []
    for o in range(outer):
        for e in es:
            block = e.shape[axis] * inner
            data += e.data[o * block : (o + 1) * block]
    return data


def _pointwise(r: LayerResult, ins: list[Any]) -> bool:
    """Whether a layer maps each element to itself (activations, dropout, BatchNorm with running statistics)."""
    layer, a = r.node.layer, r.args
    out = tuple(r.shape)
    if out != tuple(ins[0]) or layer.channel_rule(a, ins, out).kind != "same":
        return False
    return all(layer.window(a, ins, j, out) == IDENTITY for j in range(len(out) - 1))


# ---------------------------------------------------------------- closed forms and summaries


_START = DimRF(1, 1, 0, 1)


def receptive_fields(main: Analysis, concrete: Analysis, budget: int = BUDGET) -> ReceptiveFields:
    """Receptive fields of ``main`` (maybe symbolic): closed forms where the path is affine, exact values from the
    maps of ``concrete`` (the default sizes) everywhere, and warnings where merged paths are not aligned."""
    spatial = len(main.graph.input_shape) - 1
    if spatial == 0:
        return ReceptiveFields(tuple(NodeRF(()) for _ in main.layers), ())
    states, notes = exact_maps(concrete, budget)
    warnings: list[str] = []
    closed: list[tuple[DimRF | None, ...] | None] = []  # per layer: per dim closed form, or None (not a frame)
    nominal: list[tuple[Any, ...] | None] = []
    out: list[NodeRF] = []
    for idx in range(len(main.layers)):
        tick(main.layers[idx].node.loc, "deriving receptive fields")
        try:
            cf, nom = _closed_step(main, concrete, idx, closed, nominal, warnings)
        except (TypeError, ZeroDivisionError, AttributeError, ValueError):
            if not symbolic_args(main.layers[idx].args):
                raise  # a bug: with numbers every rule works
            cf, nom = None, None  # an argument over symbols (an adaptive output size A): the exact maps only
        same = idx > 0 and states[idx] is states[idx - 1] and cf == closed[-1] and nom == nominal[-1]
        closed.append(cf)
        nominal.append(nom)
        out.append(out[-1] if same else _summary(main, concrete, idx, states[idx], cf, nom))  # a pointwise layer
    return ReceptiveFields(tuple(out), tuple(warnings), tuple(states), tuple(notes))


def _frame_out(analysis: Analysis, r: LayerResult) -> bool:
    return len(r.shape) == len(analysis.graph.input_shape)


def _closed_step(main: Analysis, concrete: Analysis, idx: int, closed: list[Any], nominal: list[Any],
                 warnings: list[str]) -> tuple[tuple[DimRF | None, ...] | None, tuple[Any, ...] | None]:  # fmt: skip
    """The closed form (r, S, P) per dim where the path is affine, and a nominal stride per dim."""
    r = main.layers[idx]
    spatial = len(main.graph.input_shape) - 1
    node, layer = r.node, r.node.layer
    srcs_cf = [(_START,) * spatial if i == INPUT else closed[i] for i in node.inputs]
    srcs_nom = [(1,) * spatial if i == INPUT else nominal[i] for i in node.inputs]
    ins = [main.graph.input_shape if i == INPUT else main.layers[i].shape for i in node.inputs]
    frame_in = all(len(s) == len(main.graph.input_shape) for s in ins) and all(c is not None for c in srcs_cf)
    if not frame_in or not _frame_out(main, r) or layer.reshapes or layer.gather(r.args, ins, r.shape) is not None:
        return None, None
    c = concrete.layers[idx]
    c_ins = [concrete.graph.input_shape if i == INPUT else concrete.layers[i].shape for i in node.inputs]
    dims: list[DimRF | None] = []
    noms: list[Any] = []
    rule = None if layer.merge else layer.channel_rule(r.args, ins, r.shape)
    for j in range(spatial):
        sources = [s[j] for s in srcs_cf]  # type: ignore[index]
        nom = [s[j] for s in srcs_nom]  # type: ignore[index]
        if layer.merge:
            axis = layer.axis(r.args, ins) if isinstance(layer, Concat) else 0  # type: ignore[attr-defined]
            if axis == j + 1:
                dims.append(None)
                noms.append(nom[0])
                continue
            if layer.name != "Concat":
                per_input = [layer.input_geometry(r.args, ins, r.shape, k)[0][j] for k in range(len(ins))]
                if any(w != IDENTITY for w in per_input):  # a broadcast or a product: no closed form
                    dims.append(None)
                    noms.append(0 if any(w is GLOBAL for w in per_input) else nom[0])
                    continue
            if all(s is not None for s in sources):
                if len(sources) > 1:
                    _check_alignment(main, node.inputs, sources, j, warnings)  # type: ignore[arg-type]
                dims.append(_merged(sources))  # type: ignore[arg-type]
            else:
                dims.append(None)
            noms.append(nom[0])
            continue
        w = layer.window(r.args, ins, j, r.shape)
        cw = layer.window(c.args, c_ins, j, c.shape)
        if w is GLOBAL:
            dims.append(None)
            noms.append(0)
            continue
        noms.append(None if nom[0] is None else Fraction(nom[0]) * cw.nominal(c_ins[0][1 + j], c.shape[1 + j]))
        s = sources[0]
        if s is None or not isinstance(w, Affine) or not w.closed_form or rule is None or rule.kind == "shuffle":
            dims.append(None)
            continue
        dims.append(DimRF(s.size + (w.k - 1) * s.stride, s.stride * w.s, s.padding + w.p * s.stride,
                          s.min_size + (w.k - 1) * s.stride))  # fmt: skip
    return tuple(dims), tuple(_plain(n) for n in noms)


def _plain(x: Any) -> Any:
    if isinstance(x, Fraction) and x.denominator == 1:
        return x.numerator
    return x


def _merged(sources: Sequence[DimRF]) -> DimRF | None:
    """Paths with the same stride merge into the hull of their intervals; different strides have no closed form."""
    first = sources[0]
    if len(sources) == 1:
        return first
    if any(sym.decide(sym.equal(s.stride, first.stride)) is not True for s in sources):
        return None
    p = _max([s.padding for s in sources])
    right = _max([s.size - s.padding for s in sources])
    return DimRF(right + p, first.stride, p, _max([s.min_size for s in sources]))


def _max(values: Sequence[Any]) -> Any:
    out = values[0]
    for v in values[1:]:
        out = sym.maximum(out, v)
    return out


def _summary(main: Analysis, concrete: Analysis, idx: int, state: State, cf: tuple[DimRF | None, ...] | None,
             nom: tuple[Any, ...] | None) -> NodeRF:  # fmt: skip
    """The per-dim numbers of one layer: the closed form where it holds at the defaults, else the exact maps'."""
    spatial = len(main.graph.input_shape) - 1
    input_sizes = concrete.graph.input_shape[1:]
    stats = _stats(state, spatial, input_sizes) if not isinstance(state, Unknown) else None
    dims = []
    for j in range(spatial):
        form = cf[j] if cf is not None else None
        if form is not None and (stats is None or _holds(form, concrete, idx, state, j)):
            dims.append(form)
            continue
        if stats is None:
            return NodeRF((), state.reason if isinstance(state, Unknown) else "not derived")
        big, small, equal, first = stats[j]
        stride = nom[j] if nom is not None else None
        padding = -first[0] if first is not None and isinstance(state, Frame) else None
        is_global = equal and big > 0
        dims.append(DimRF(big, 0 if is_global and stride is not None else stride, padding, small, is_global, False))
    return NodeRF(tuple(dims))


def _holds(form: DimRF, concrete: Analysis, idx: int, state: State, j: int) -> bool:
    """Whether the closed form describes every unit's exact region at the defaults (checked, not assumed)."""
    if not isinstance(state, Frame):
        return False
    point = dict(concrete.graph.binding)
    size, stride, pad = (sym.substitute(x, point) for x in (form.size, form.stride, form.padding))
    if not all(isinstance(v, int) for v in (size, stride, pad)):
        return False
    n_in = concrete.graph.input_shape[1 + j]
    for u, hull in _frame_hulls(state, j):
        lo, hi = u * stride - pad, u * stride - pad + size - 1
        if hull[0] < lo or hull[1] > hi:
            return False
        if lo >= 0 and hi <= n_in - 1 and hull != (lo, hi):
            return False
    return True


def _frame_hulls(f: Frame, j: int) -> list[tuple[int, Hull]]:
    """Along spatial dim j of a frame: (position, hull) for every distinct unit region (all channels together).

    A unit at position u along j sees the union over the classes that see anything at its position in the
    other dims; with separable maps those subsets are few, so this is exact without visiting the whole grid.
    """
    classes = _used(f)
    grid = classes[0].shape
    if any(cm.sep is None for cm in classes):
        out: list[tuple[int, Hull]] = []
        for pos in _positions(grid):
            unit = _join_all_units(cm.unit(pos) for cm in classes)
            if unit is not None:
                out.append((pos[j], unit[j]))
        return out
    seps = [cm.sep for cm in classes]
    alive: set[frozenset[int]] = {frozenset(range(len(classes)))}  # classes seeing something, per other position
    for k in range(len(grid)):
        if k == j:
            continue
        per = {frozenset(c for c, sep in enumerate(seps) if sep[k][u] is not None) for u in range(grid[k])}  # type: ignore[index]
        alive = {a & b for a in alive for b in per}
    out = []
    for subset in alive:
        for u in range(grid[j]):
            hull = _join_all(seps[c][j][u] for c in subset)  # type: ignore[index]
            if hull is not None:
                out.append((u, hull))
    return out


def _dim_hulls(state: State, j: int) -> tuple[list[Hull], Hull | None]:
    """Along input dim j: the hull of every unit that sees something, and unit 0's hull."""
    if isinstance(state, Elems):
        first = state.data[0][j] if state.data and state.data[0] is not None else None
        return [u[j] for u in state.data if u is not None], first
    if isinstance(state, Frame):
        hulls = [h for _, h in _frame_hulls(state, j)]
        unit0 = _join_all_units(cm.unit((0,) * len(cm.shape)) for cm in _used(state))
        return hulls, unit0[j] if unit0 is not None else None
    assert isinstance(state, View)
    f = state.frame
    hulls = []
    for cm in _used(f):  # an element is one channel at one position: per class, not the union over channels
        if cm.sep is None:
            hulls += [u[j] for u in cm.full or () if u is not None]
        elif all(any(h is not None for h in lst) for lst in cm.sep):
            hulls += [h for h in cm.sep[j] if h is not None]
    unit0 = f.unit((0,) * len(f.shape))
    return hulls, unit0[j] if unit0 is not None else None


def _stats(state: State, spatial: int, input_sizes: Sequence[int]) -> list[tuple[int, int, bool, Hull | None]]:
    """Per dim: the largest region, the smallest interior one, whether all units see the same, unit 0's."""
    out: list[tuple[int, int, bool, Hull | None]] = []
    for j in range(spatial):
        hulls, first = _dim_hulls(state, j)
        if not hulls:
            out.append((0, 0, False, None))
            continue
        sizes = [hi - lo + 1 for lo, hi in hulls]
        last = input_sizes[j] - 1
        interior = [hi - lo + 1 for lo, hi in hulls if 0 < lo and hi < last] or sizes
        out.append((max(sizes), min(interior), all(h == hulls[0] for h in hulls), first))
    return out


def region(analysis: Analysis, idx: int, units: dict[int, tuple[int, int]],
           rf: ReceptiveFields | None = None) -> dict[int, tuple[int, int]]:  # fmt: skip
    """The input region (per spatial dim, inclusive hull) that the units ``[a, b]`` of layer ``idx`` see together.

    For a frame, ``units`` gives a range of positions per spatial dim (all channels); for other outputs
    the range along dim 0 of the flattened output is read as element indices. Empty is ``(0, -1)``.
    """
    if rf is None or not rf.maps:
        states, _ = exact_maps(analysis)
    else:
        states = list(rf.maps)
    state = states[idx]
    spatial = len(analysis.graph.input_shape) - 1
    acc: Unit = None
    if isinstance(state, Frame):
        ranges = [range(units.get(j, (0, 0))[0], units.get(j, (0, 0))[1] + 1) for j in range(spatial)]
        for pos in _product(ranges):
            for k in sorted(set(state.chan)):
                acc = _join_units(acc, state.classes[k].unit(pos))
    elif isinstance(state, (View, Elems)):
        a, b = units.get(0, (0, 0))
        for e in range(a, b + 1):
            acc = _join_units(acc, state.unit(unravel(e, state.shape)))
    return {j: acc[j] if acc is not None else (0, -1) for j in range(spatial)}


def _product(ranges: Sequence[range]) -> Iterable[tuple[int, ...]]:
    if not ranges:
        yield ()
        return
    for head in ranges[0]:
        for rest in _product(ranges[1:]):
            yield (head, *rest)


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
