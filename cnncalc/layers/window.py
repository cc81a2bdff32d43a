"""How an output unit of a layer depends on its input units: the receptive-field geometry of the layer types.

A layer states it per spatial dim of its own input (``LayerType.window``) and for its
channel dim (``LayerType.channel_rule``). ``sources(u, size)`` lists exactly the input
units (of ``size``) that output unit ``u`` depends on through weights that are not
identically zero:

- ``Affine(k, s, p, d)``: windows of effective size ``k`` every ``s``, starting at
  ``-p``, with taps every ``d`` (convolution, pooling, zero padding, cropping).
  The only kind with closed-form (r, S, P) summaries.
- ``PaddedAffine``: the same over reflection, replication or circular padding,
  where border windows see mirrored, edge or wrapped units.
- ``Transpose(k, s, p, d)``: transposed convolution; output o receives input i
  when ``o = i*s - p + t*d`` for a tap t (stride 1/s; some outputs may receive none).
- ``NearestScale``: nearest upsampling, computed in float32 as torch's kernels do.
- ``Interp``: linear-family interpolation (torch's float32 source coordinate); taps
  whose weight is exactly zero are not sources.
- ``Bins(i, o)``: adaptive pooling; bin j is ``[floor(j*i/o), ceil((j+1)*i/o))``.
- ``GLOBAL``: every output unit depends on the whole input along this dim.

Channel rules (``Channels``): ``SAME`` (channel c depends on channel c), ``ALL`` (every
output channel on every input channel), ``groups`` (grouped convolution), ``shuffle``
and ``unshuffle`` (PixelShuffle/PixelUnshuffle move channel into space and back).
"""

from __future__ import annotations

import functools
import math
import os
import platform
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class Affine:
    """Sliding windows: effective kernel ``k``, stride ``s``, left padding ``p``, dilation ``d``."""

    k: Any
    s: Any
    p: Any
    d: Any = 1

    def positions(self, u: int) -> Iterable[int]:
        start = u * self.s - self.p
        return range(start, start + self.k, self.d)

    def sources(self, u: int, size: int) -> Iterable[int]:
        """The positions inside the input, without visiting the rest of the window (a kernel may be 10**9 wide)."""
        start = u * self.s - self.p
        first = start if start >= 0 else start + -(start // self.d) * self.d  # the first tap at 0 or after
        return range(first, min(start + self.k, size), self.d)

    @property
    def closed_form(self) -> bool:
        """Whether unit u always sees a subset of ``[u*s - p, u*s - p + k - 1]`` (not so for reflection or wrap)."""
        return True

    def nominal(self, i: int, o: int) -> Fraction:
        """The nominal stride: input units per output unit."""
        return Fraction(self.s)


@dataclass(frozen=True)
class PaddedAffine(Affine):
    """Windows over an input padded by reflection, replication or wrap-around (not zeros)."""

    mode: str = "reflect"

    def sources(self, u: int, size: int) -> Iterable[int]:
        return (self._source(v, size) for v in self.positions(u))

    @property
    def closed_form(self) -> bool:
        return self.mode == "replicate"  # clamping keeps a window inside its clipped interval; mirrors do not

    def _source(self, v: int, size: int) -> int:
        if 0 <= v < size:
            return v
        if self.mode == "replicate":
            return min(max(v, 0), size - 1)
        if self.mode == "circular":
            return v % size
        period = 2 * (size - 1)  # reflect, without repeating the edge
        v = abs(v) % period if period else 0
        return period - v if v >= size else v


@dataclass(frozen=True)
class Transpose:
    """Transposed convolution: effective kernel ``k``, stride ``s``, padding ``p``, dilation ``d``."""

    k: int
    s: int
    p: int
    d: int = 1

    closed_form = False

    def sources(self, u: int, size: int) -> Iterable[int]:
        for t in range((self.k - 1) // self.d + 1):
            i, rem = divmod(u + self.p - t * self.d, self.s)
            if rem == 0 and 0 <= i < size:
                yield i

    def nominal(self, i: int, o: int) -> Fraction:
        return Fraction(1, self.s)


def f32(x: float) -> float:
    """``x`` rounded to the nearest float32, as C++ ``float`` arithmetic rounds every result."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def f32_div(a: float, b: float) -> float:
    """``a / b`` in float32 arithmetic (correctly rounded, ties to even), for float32 values ``a`` and ``b``."""
    return f32_round(Fraction(a) / Fraction(b))


def f32_round(exact: Fraction) -> float:
    """The float32 nearest to an exact value (ties to even): one rounding, never through a double first."""
    r = f32(float(exact))
    bits = struct.unpack("I", struct.pack("f", r))[0]
    candidates = [r]
    for step in (-1, 1):
        neighbour = float(struct.unpack("f", struct.pack("I", (bits + step) & 0xFFFFFFFF))[0])
        if math.isfinite(neighbour):
            candidates.append(neighbour)

    def key(c: float) -> tuple[Fraction, int]:
        return abs(Fraction(c) - exact), struct.unpack("I", struct.pack("f", c))[0] & 1

    return min(candidates, key=key)


def _scale(i: int, o: int, factor: float | None) -> float:
    """torch's ``compute_scales_value<float>``: ``1/scale_factor`` when one is used, else ``i/o``, in float32."""
    if factor is not None and factor > 0:
        return f32(1.0 / factor)
    return f32_div(f32(i), f32(o))


@functools.cache
def fused_multiply_add() -> bool:
    """Whether torch's resampling kernels here compute ``a * b - c`` with one rounding (a fused multiply-add).

    torch's CPU kernels are built once per instruction set and picked at run time: the AVX2 and AVX512 builds
    (compiled with FMA, which the compiler contracts ``a * b - c`` into), its ARM and CUDA kernels fuse; the
    baseline x86 build (``ATEN_CPU_CAPABILITY=default``, or a CPU without AVX2 and FMA) rounds the product
    first. Decided as torch decides, without importing it: the variable, then the CPU's flags.
    """
    chosen = os.environ.get("ATEN_CPU_CAPABILITY", "").strip().lower()
    if chosen:
        return chosen != "default"
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return True
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return "avx2" in flags and "fma" in flags
    except OSError:
        pass
    return True  # x86 without /proc/cpuinfo (macOS, Windows): CPUs of the last ten years have AVX2


@dataclass(frozen=True)
class NearestScale:
    """Nearest resampling from ``i`` to ``o`` units, as torch's ``nearest_idx`` computes it (float32).

    ``factor`` is the scale factor torch receives (None when a size was given); ``exact`` is 'nearest-exact'.
    PixelShuffle's spatial step is ``NearestScale(i, i*r, float(r), False)``.
    """

    i: int
    o: int
    factor: float | None
    exact: bool

    closed_form = False

    def sources(self, u: int, size: int) -> Iterable[int]:
        return (self.source(u),)

    def source(self, u: int) -> int:
        if not self.exact:
            if self.o == self.i:
                return u
            if self.o == 2 * self.i:
                return u >> 1
        scale = _scale(self.i, self.o, self.factor)
        # nearest: floorf(float(u) * scale); nearest-exact: floorf(float((u + 0.5) * (double) scale))
        src = f32(f32(u) * scale) if not self.exact else f32((u + 0.5) * scale)
        return min(math.floor(src), self.i - 1)

    def nominal(self, i: int, o: int) -> Fraction:
        return Fraction(i, o)


@dataclass(frozen=True)
class Interp:
    """Linear-family interpolation from ``i`` to ``o`` units, as torch's kernels compute it (float32).

    Taps with a weight of exactly zero are not sources: the gradient does not reach them. Whether a border
    tap's weight is exactly zero depends on torch's rounding of the source index (``fused_multiply_add``).
    """

    i: int
    o: int
    align_corners: bool
    factor: float | None
    cubic: bool = False

    closed_form = False

    def sources(self, u: int, size: int) -> Iterable[int]:
        if self.o == self.i and not self.cubic:
            return (u,)  # torch copies when the sizes agree
        if self.align_corners:
            scale = f32_div(f32(self.i - 1), f32(self.o - 1)) if self.o > 1 else 0.0
            src = f32(scale * f32(u))
        else:
            scale = _scale(self.i, self.o, self.factor)
            half = f32(u + 0.5)
            # ``scale * (u + 0.5) - 0.5``: one fused multiply-add where torch's kernels were built with FMA (its
            # AVX2/AVX512 CPU kernels, CUDA): the product is not rounded, so a unit whose source index is
            # 0.5000000149 - 0.5 gets the next input with a weight of 1.5e-8, which the gradient sees
            if fused_multiply_add() and not self.cubic:  # torch's bicubic backward: a baseline CPU kernel, no FMA
                src = f32_round(Fraction(scale) * Fraction(half) - Fraction(1, 2))
            else:
                src = f32(f32(scale * half) - 0.5)
            if not self.cubic and src < 0:
                src = 0.0
        base = min(math.floor(src), self.i - 1)
        lam = min(max(f32(src - base), 0.0), 1.0)
        if self.cubic:
            if lam == 0.0:
                return (min(max(base, 0), size - 1),)
            return {min(max(t, 0), size - 1) for t in range(base - 1, base + 3)}
        nxt = base + (1 if base < self.i - 1 else 0)
        if lam == 0.0:
            return (base,)
        if lam == 1.0:
            return (nxt,)
        return {base, nxt}

    def nominal(self, i: int, o: int) -> Fraction:
        return Fraction(i, o)


@dataclass(frozen=True)
class Bins:
    """Adaptive pooling from ``i`` to ``o`` units: overlapping bins of varying size."""

    i: Any
    o: Any

    closed_form = False

    def sources(self, u: int, size: int) -> Iterable[int]:
        return range((u * self.i) // self.o, -((-(u + 1) * self.i) // self.o))

    def nominal(self, i: int, o: int) -> Fraction:
        return Fraction(i, o)


@dataclass(frozen=True)
class Repeat:
    """Each input unit repeated ``r`` times (PixelShuffle's spatial step): output u reads input ``u // r``."""

    r: int

    closed_form = False

    def sources(self, u: int, size: int) -> Iterable[int]:
        return (u // self.r,)

    def nominal(self, i: int, o: int) -> Fraction:
        return Fraction(1, self.r)


@dataclass(frozen=True)
class Broadcast:
    """A size-1 dim broadcast to the output: every output unit reads input unit 0 (a full-size dim reads u)."""

    closed_form = False

    def sources(self, u: int, size: int) -> Iterable[int]:
        return (u if size > 1 else 0,)

    def nominal(self, i: int, o: int) -> Fraction:
        return Fraction(i, o)


class _Global:
    def __repr__(self) -> str:
        return "GLOBAL"


GLOBAL: Any = _Global()
"""Every output unit depends on the whole input along the dim."""

IDENTITY = Affine(1, 1, 0)
"""One output unit per input unit (activations, BatchNorm, dropout)."""


@dataclass(frozen=True)
class Channels:
    """How output channels depend on input channels (dim 0 of the per-sample shape).

    ``kind``: ``same`` (channel c on channel c), ``all`` (every channel on every one), ``groups`` (``n`` groups:
    output group g on input group g), ``window`` (channels ``[c - n//2, c + (n-1)//2]``), ``slice`` (channel c
    on channel ``c + n``, none outside the input), ``broadcast`` (every channel on channel 0),
    ``shuffle``/``unshuffle`` (PixelShuffle/PixelUnshuffle by ``n``).
    """

    kind: str
    n: int = 1


SAME = Channels("same")
ALL = Channels("all")
