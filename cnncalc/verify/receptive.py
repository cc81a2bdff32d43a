"""Checking receptive fields against torch by autograd, exactly.

The network is rebuilt for geometry only, each layer by its own twin (``LayerType.twin``):
constant positive weights, no nonlinearity, max pooling as average pooling of the same
geometry, statistics as a positive mix over what they average. The input gradient of a unit
is then non-zero exactly where the unit depends on the input. Each probed unit gets its own
sample of the batch, so one backward pass gives every probe's support; per spatial dim its
hull must equal the region cnncalc derived (analysis/receptive.py).

Convolutions mixing all channels give one output channel in the twin (every output channel
of them sees the same); a twin tensor remembers how many real channels each of its channels
stands for (``Twin.mult``) and is expanded to the real channels where a layer needs them
(grouped convolutions, PixelShuffle, Flatten over channels, channel-mixing statistics).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..analysis.receptive import Elems, Frame, ReceptiveFields, State, Unit, View, unravel
from ..analysis.shapes import Analysis
from ..budget import tick
from ..graph.expand import INPUT
from ..report import Mismatch
from .torchload import import_torch

MAX_TWIN_BYTES = 1 << 30
"""The largest twin activation the check allocates (at the probe batch); beyond it fewer probes, then none."""


class TwinTooLarge(Exception):
    """A twin layer would allocate more than MAX_TWIN_BYTES (a kernel 10**6 wide): the check stops, with a note."""


@dataclass
class Twin:
    """A twin tensor (batch first); ``mult[i]`` real channels share channel i's dependencies (None: all real)."""

    t: Any
    mult: tuple[int, ...] | None = None

    def real_channels(self) -> int:
        return int(self.t.shape[1]) if self.mult is None else sum(self.mult)


class Kit:
    """What the layers' twins are built from (torch, with the helpers every twin needs)."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.nn = torch.nn
        self.F = torch.nn.functional

    def affordable(self, numel: int, what: str) -> None:
        """Stop the check before allocating a tensor of ``numel`` float32 values over MAX_TWIN_BYTES."""
        if numel * 4 > MAX_TWIN_BYTES:
            raise TwinTooLarge(f"{what} would take {numel * 4:,} bytes")

    # -- channels

    def real(self, x: Twin) -> Any:
        """The twin tensor with its real channels (identical copies where channels were merged)."""
        if x.mult is None:
            return x.t
        reps = self.torch.tensor(x.mult, device=x.t.device)
        return self.torch.repeat_interleave(x.t, reps, dim=1)

    def mix_channels(self, x: Twin) -> Twin:
        """Every output channel depends on every input channel: one twin channel for all of them."""
        return Twin(x.t.sum(dim=1, keepdim=True), (x.real_channels(),))

    def group_mix(self, x: Twin, groups: int) -> Twin:
        """GroupNorm: each channel on its group's channels and every position (one twin channel per group)."""
        t = self.real(x)
        b, c = t.shape[:2]
        sums = t.reshape(b, groups, -1).sum(dim=2)
        out = sums.reshape(b, groups, *([1] * (t.dim() - 2))).expand(b, groups, *t.shape[2:])
        return Twin(out, (c // groups,) * groups)

    def channel_window(self, x: Twin, size: int) -> Twin:
        """LocalResponseNorm: channel c on channels [c - size//2, c + (size-1)//2]."""
        t = self.real(x)
        b, c = t.shape[:2]
        size = min(size, 2 * int(c) + 1)  # wider windows see every channel, as this one does: no huge padding
        flat = t.reshape(b, 1, c, -1)
        padded = self.F.pad(flat, (0, 0, size // 2, (size - 1) // 2))
        out = self.F.avg_pool2d(padded, (size, 1), stride=1)
        return Twin(out.reshape(t.shape))

    # -- positions

    def mix_dims(self, x: Twin, dims: Sequence[int]) -> Twin:
        """Statistics over batch-inclusive ``dims`` (each >= 2): each value also depends on all values along them."""
        if not dims:
            return x
        return Twin(x.t + x.t.mean(dim=tuple(dims), keepdim=True), x.mult)

    def per_channel(self, x: Twin, module: Any) -> Twin:
        """A module that acts channel by channel (padding, resampling, adaptive pooling) on the twin's channels."""
        return Twin(module.to(x.t.dtype)(x.t), x.mult)

    def real_module(self, x: Twin, module: Any) -> Twin:
        """A module that needs the real channels (PixelShuffle)."""
        return Twin(module(self.real(x)))

    def pad(self, x: Twin, pads: Sequence[tuple[Any, Any]]) -> Twin:
        """Zero padding per spatial dim (before, after), as Keras' 'same' adds it."""
        flat = [int(v) for lo, hi in reversed(pads) for v in (lo, hi)]
        return Twin(self.F.pad(x.t, flat), x.mult)

    def window_average(self, x: Twin, windows: Sequence[Any], out: Sequence[int]) -> Twin:
        """A pooling window of this geometry as an average: a depthwise convolution with equal weights, padded so
        that every window torch takes (ceil_mode's last one included) is there, cut to the output size."""
        t = x.t
        n = len(windows)
        pads = []
        for w, size, o in zip(windows, t.shape[2:], out):
            before = int(w.p)
            after = max(0, (o - 1) * int(w.s) + int(w.k) - (int(size) + before))
            pads.append((before, after))
        flat = [v for lo, hi in reversed(pads) for v in (lo, hi)]
        padded = self.F.pad(t, flat) if any(flat) else t
        taps = [(int(w.k) - 1) // int(w.d) + 1 for w in windows]
        self.affordable(int(t.shape[0]) * int(t.shape[1]) * math.prod(taps), "a pooling window's weights")
        b, c = int(t.shape[0]), int(t.shape[1])  # the probes as groups, as in conv
        weight = self.torch.ones((b * c, 1, *taps), dtype=t.dtype) / math.prod(taps)
        conv = getattr(self.F, f"conv{n}d")
        y = conv(padded.reshape(1, b * c, *padded.shape[2:]), weight, None, [int(w.s) for w in windows], 0,
                 [int(w.d) for w in windows], b * c)  # fmt: skip
        y = y.reshape(b, c, *y.shape[2:])
        return Twin(y[(slice(None), slice(None), *(slice(0, o) for o in out))], x.mult)

    def global_average(self, x: Twin) -> Twin:
        """Keras' global pooling: (B, C, *spatial) -> (B, C)."""
        return Twin(x.t.mean(dim=tuple(range(2, x.t.dim()))), x.mult)

    # -- layers with weights

    def conv(self, x: Twin, layer: Any, a: Any, out_channels: int, transposed: bool = False) -> Twin:
        """A convolution of the layer's geometry with constant positive weights: one output channel per group."""
        g = int(a["groups"])
        n = layer.ndim
        mult: tuple[int, ...]
        if g == 1:
            t, c_out, mult = x.t, 1, (out_channels,)
        else:
            t, c_out, mult = self.real(x), g, (out_channels // g,) * g
        b, c_in = int(t.shape[0]), int(t.shape[1])
        kind = f"ConvTranspose{n}d" if transposed else f"Conv{n}d"
        # the probes of the batch become groups of one sample: torch's CPU backward of a convolution with few
        # channels per sample is tens of times slower than that of the same grouped convolution
        kwargs: dict[str, Any] = {"stride": a["stride"], "padding": a["padding"], "dilation": a["dilation"],
                                  "groups": g * b, "bias": False}  # fmt: skip
        if transposed:
            kwargs["output_padding"] = a["output_padding"]
        else:
            kwargs["padding_mode"] = a["padding_mode"]
        self.affordable(b * c_out * (c_in // g) * math.prod(_per_dim(a["kernel_size"], n)), "a convolution's weights")
        module = getattr(self.nn, kind)(c_in * b, c_out * b, a["kernel_size"], **kwargs).to(t.dtype)
        with self.torch.no_grad():
            module.weight.fill_(1.0 / module.weight[0].numel())
        module.weight.requires_grad_(False)
        y = module(t.reshape(1, b * c_in, *t.shape[2:]))
        return Twin(y.reshape(b, c_out, *y.shape[2:]), mult)

    def linear(self, x: Twin, out_features: int) -> Twin:
        """A Linear on the last dim: every output feature on every input feature."""
        if x.t.dim() == 2:  # (B, F): the features are the channel dim
            return Twin(x.t.sum(dim=1, keepdim=True), (out_features,))
        s = x.t.sum(dim=-1, keepdim=True)
        return Twin(s.expand(*x.t.shape[:-1], out_features), x.mult)

    # -- structure

    def reshape(self, x: Twin, out: Sequence[int]) -> Twin:
        """Flatten/Unflatten; on the real channels when the channel dim takes part."""
        b = x.t.shape[0]
        if x.mult is not None and out and out[0] == x.real_channels():
            return Twin(x.t.reshape(b, x.t.shape[1], *out[1:]), x.mult)
        return Twin(self.real(x).reshape(b, *out))

    def add(self, xs: Sequence[Twin]) -> Twin:
        if all(x.mult == xs[0].mult for x in xs):
            out = xs[0].t
            for x in xs[1:]:
                out = out + x.t
            return Twin(out, xs[0].mult)
        total = self.real(xs[0])
        for x in xs[1:]:
            total = total + self.real(x)
        return Twin(total)

    def cat(self, xs: Sequence[Twin], axis: int) -> Twin:
        """Concatenation along per-sample dim ``axis`` (0 = channels)."""
        if axis == 0:
            mult = tuple(m for x in xs for m in (x.mult or (1,) * int(x.t.shape[1])))
            return Twin(self.torch.cat([x.t for x in xs], dim=1), mult)
        if all(x.mult == xs[0].mult for x in xs):
            return Twin(self.torch.cat([x.t for x in xs], dim=axis + 1), xs[0].mult)
        return Twin(self.torch.cat([self.real(x) for x in xs], dim=axis + 1))

    def broadcast_sum(self, xs: Sequence[Twin], out: Sequence[int]) -> Twin:
        """Each input broadcast to the per-sample shape ``out`` (real channels), summed."""
        total = None
        for x in xs:
            t = self.real(x)
            t = t.expand(t.shape[0], *out)
            total = t if total is None else total + t
        return Twin(total)

    def matmul(self, a: Twin, b: Twin, out: Sequence[int]) -> Twin:
        """``a @ b``: (i, j) on row i of ``a`` and column j of ``b`` (sums, broadcast to ``out``)."""
        x, y = self.real(a), self.real(b)
        rows = x.sum(dim=-1, keepdim=True).expand(x.shape[0], *out)
        cols = y.sum(dim=-2, keepdim=True).expand(y.shape[0], *out)
        return Twin(rows + cols)

    def mix_all(self, x: Twin) -> Twin:
        """Every output value on every input value of its sample."""
        t = self.real(x)
        return Twin(t.sum(dim=tuple(range(1, t.dim())), keepdim=True).expand(t.shape))

    def prepend(self, x: Twin, axis: int, n: int) -> Twin:
        """``n`` constant entries (a learned token: no input behind it) before the input along per-sample ``axis``."""
        t = self.real(x) if axis == 0 else x.t
        shape = list(t.shape)
        shape[axis + 1] = n
        pad = self.torch.zeros(shape, dtype=t.dtype)
        return Twin(self.torch.cat([pad, t], dim=axis + 1), None if axis == 0 else x.mult)

    def select(self, x: Twin, axis: int, index: int) -> Twin:
        """One entry along per-sample ``axis``, the dim dropped."""
        if axis == 0:
            return Twin(self.real(x).select(1, index))
        return Twin(x.t.select(axis + 1, index), x.mult)

    def narrow(self, x: Twin, axis: int, start: int, length: int) -> Twin:
        if axis == 0:
            return Twin(self.real(x).narrow(1, start, length))
        return Twin(x.t.narrow(axis + 1, start, length), x.mult)

    def reduce(self, x: Twin, axes: Sequence[int], out: Sequence[int]) -> Twin:
        """A mean over per-sample ``axes`` (amax and sum too: the twin averages), reshaped to ``out``."""
        t = self.real(x) if 0 in axes else x.t
        y = t.mean(dim=tuple(a + 1 for a in axes), keepdim=True)
        mult = None if 0 in axes else x.mult
        if mult is not None:
            return Twin(y.reshape(y.shape[0], y.shape[1], *out[1:]), mult)
        return Twin(y.reshape(y.shape[0], *out))

    def permute(self, x: Twin, order: Sequence[int]) -> Twin:
        return Twin(self.real(x).permute(0, *(d + 1 for d in order)))

    def locate(self, x: Twin, index: Sequence[int]) -> tuple[int, ...]:
        """The twin index of a real per-sample index (the channel of a merged twin channel)."""
        if x.mult is None or not index:
            return tuple(index)
        c, acc = index[0], 0
        for k, m in enumerate(x.mult):
            if c < acc + m:
                return (k, *index[1:])
            acc += m
        raise IndexError(index)


@dataclass(frozen=True)
class _Probe:
    layer: int
    index: tuple[int, ...] | None  # frame: a position (all channels); else an element; with ``channel`` one channel
    channel: int | None = None


def check(analysis: Analysis, rf: ReceptiveFields, max_nodes: int = 16) -> tuple[tuple[Mismatch, ...], int, list[str]]:
    """Compare derived regions with gradient supports; returns mismatches, the number of units checked, and notes
    (layers whose twin is missing, or a check cut short by its memory bound)."""
    spatial = len(analysis.graph.input_shape) - 1
    if spatial == 0 or not rf.maps:
        return (), 0, []
    torch = import_torch()
    kit = Kit(torch)
    states = list(rf.maps)
    notes: list[str] = []
    stop = _first_without_twin(analysis, notes)
    candidates = [i for i in range(stop) if isinstance(states[i], (Frame, View, Elems))]
    if not candidates:
        return (), 0, notes
    step = max(1, math.ceil(len(candidates) / max_nodes))
    chosen = candidates[::step]
    if candidates[-1] not in chosen:
        chosen.append(candidates[-1])
    probes = [p for i in chosen for p in _probes(i, states[i], analysis.layers[i].shape, _varies(rf, i))]
    per_sample = _largest_numel(analysis, max(chosen))
    while probes and len(probes) * per_sample * 4 * 3 > MAX_TWIN_BYTES:
        probes = probes[: len(probes) // 2]
    if not probes:
        notes.append("receptive fields not checked: the twin network would not fit the memory bound")
        return (), 0, notes
    upto = max(p.layer for p in probes)
    x = torch.ones((len(probes), *analysis.graph.input_shape), dtype=torch.float32, requires_grad=True)
    try:
        outs = twin_forward(kit, analysis, Twin(x), upto)
    except TwinTooLarge as e:
        notes.append(f"receptive fields not checked: the twin network would not fit the memory bound ({e})")
        return (), 0, notes
    loss: Any = 0
    for b, p in enumerate(probes):
        y = outs[p.layer]
        loss = loss + _selected(kit, y, b, p, states[p.layer])
    loss.backward()
    support = x.grad.abs().sum(dim=1) > 0  # (batch, *spatial)
    hulls = []  # per spatial dim: for every probe, the first and last position its support reaches
    for j in range(spatial):
        other = tuple(1 + k for k in range(spatial) if k != j)
        line = support.any(dim=other) if other else support  # (batch, n_j)
        n = line.shape[1]
        pos = torch.arange(n).expand_as(line)
        first = torch.where(line, pos, n).amin(dim=1).tolist()
        last = torch.where(line, pos, -1).amax(dim=1).tolist()
        hulls.append([(a, b) if b >= 0 else None for a, b in zip(first, last)])
    mismatches = []
    for b, p in enumerate(probes):
        node = analysis.layers[p.layer].node
        want = _derived(states[p.layer], p)
        for j in range(spatial):
            got = hulls[j][b]
            wanted = want[j] if want is not None else None
            if got != wanted:
                mismatches.append(Mismatch(node.name, node.loc, f"receptive field of {_where(p)} in spatial dim {j}",
                                           str(list(wanted) if wanted else "none"), str(list(got) if got else "none"),
                                           {}, "the input gradient"))  # fmt: skip
    return tuple(mismatches), len(probes), notes


def _per_dim(value: Any, n: int) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * n


def _first_without_twin(analysis: Analysis, notes: list[str]) -> int:
    """The index of the first layer whose twin is missing (len(layers) when every layer has one)."""
    for i, r in enumerate(analysis.layers):
        if type(r.node.layer).twin is _base_twin():
            notes.append(f"receptive fields from {r.node.name!r} ({r.node.layer.name}) on are not checked: "
                         f"{r.node.layer.name} has no geometry twin")  # fmt: skip
            return i
    return len(analysis.layers)


def _base_twin() -> Any:
    from ..layers.base import LayerType

    return LayerType.twin


def _largest_numel(analysis: Analysis, upto: int) -> int:
    return max(math.prod(r.shape) for r in analysis.layers[: upto + 1])


def _varies(rf: ReceptiveFields, i: int) -> bool:
    """Whether layer ``i``'s regions have no closed form (resampling, transposed convolution, reflection): the far
    border is then not implied by unit 0 and the centre."""
    return i < len(rf.layers) and any(not d.closed_form for d in rf.layers[i].dims)


def _probes(i: int, state: State, shape: Sequence[int], far: bool = False) -> list[_Probe]:
    if isinstance(state, Frame):
        grid = shape[1:]
        centre = tuple(d // 2 for d in grid)
        ends = ((0,) * len(grid), tuple(d - 1 for d in grid)) if far else ((0,) * len(grid),)  # the far border too
        out = [_Probe(i, p) for p in dict.fromkeys((centre, *ends))]
        if len(set(state.chan)) > 1:  # channels with their own regions: one channel alone too
            out.append(_Probe(i, centre, len(state.chan) - 1))
        return out
    n = math.prod(shape)
    picks = sorted({0, n // 2, n - 1})
    return [_Probe(i, unravel(e, shape)) for e in picks]


def _selected(kit: Kit, y: Twin, b: int, p: _Probe, state: State) -> Any:
    if isinstance(state, Frame):
        assert p.index is not None
        if p.channel is None:
            return y.t[(b, slice(None), *p.index)].sum()
        return y.t[(b, *kit.locate(y, (p.channel, *p.index)))]
    assert p.index is not None
    return y.t[(b, *kit.locate(y, p.index))]


def _derived(state: State, p: _Probe) -> Unit:
    assert p.index is not None
    if isinstance(state, Frame):
        if p.channel is not None:
            return state.unit((p.channel, *p.index))
        acc: Unit = None
        for k in sorted(set(state.chan)):
            u = state.classes[k].unit(p.index)
            if u is not None:
                acc = u if acc is None else tuple((min(a[0], c[0]), max(a[1], c[1])) for a, c in zip(acc, u))
        return acc
    assert isinstance(state, (View, Elems))
    return state.unit(p.index)


def _where(p: _Probe) -> str:
    if p.channel is not None:
        return f"channel {p.channel} at {list(p.index or ())}"
    return f"unit {list(p.index or ())}"


def twin_forward(kit: Kit, analysis: Analysis, x: Twin, upto: int) -> dict[int, Twin]:
    """The twin network run up to layer ``upto``: every layer's twin output (and the input's), by index."""
    outs: dict[int, Twin] = {INPUT: x}
    shapes = {INPUT: analysis.graph.input_shape}
    for i, r in enumerate(analysis.layers[: upto + 1]):
        tick(r.node.loc, "checking receptive fields with torch")
        ins = [shapes[s] for s in r.node.inputs]
        xs = [outs[s] for s in r.node.inputs]
        outs[i] = r.node.layer.twin(r.args, ins, r.shape, xs, kit)
        shapes[i] = r.shape
    return outs


__all__ = ["Kit", "Twin", "check", "twin_forward"]
