"""How an output unit of a layer depends on its input units, along one spatial dim.

These are the receptive-field rules of the layer types (``LayerType.window``).
``sources(u, size)`` lists exactly the input units (of ``size``) that output unit
``u`` depends on, through weights that are not identically zero:

- ``Affine(k, s, p, d)``: windows of effective size ``k`` every ``s``, starting at
  ``-p``, with taps every ``d`` (convolution, pooling, zero padding,
  PixelUnshuffle). The only kind with closed-form (r, S, P) summaries.
- ``PaddedAffine``: the same over reflection, replication or circular padding,
  where border windows see mirrored, edge or wrapped units.
- ``Transpose(k, s, p, d)``: transposed convolution; output o receives input i
  when ``o = i*s - p + t*d`` for a tap t (stride 1/s; some outputs may receive none).
- ``NearestScale``: nearest upsampling (and PixelShuffle): ``floor(o*scale)``.
- ``Interp``: linear-family interpolation: the two (cubic: four) input units
  around the source coordinate, one when it falls exactly on a unit.
- ``Bins(i, o)``: adaptive pooling; bin j is ``[floor(j*i/o), ceil((j+1)*i/o))``.
- ``GLOBAL``: every output unit depends on the whole input along this dim.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
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
        return (v for v in self.positions(u) if 0 <= v < size)


@dataclass(frozen=True)
class PaddedAffine(Affine):
    """Windows over an input padded by reflection, replication or wrap-around (not zeros)."""

    mode: str = "reflect"

    def sources(self, u: int, size: int) -> Iterable[int]:
        return (self._source(v, size) for v in self.positions(u))

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

    def sources(self, u: int, size: int) -> Iterable[int]:
        for t in range((self.k - 1) // self.d + 1):
            i, rem = divmod(u + self.p - t * self.d, self.s)
            if rem == 0 and 0 <= i < size:
                yield i


@dataclass(frozen=True)
class NearestScale:
    """Nearest upsampling with torch's source scale (input/output), 'nearest-exact' rounding optional."""

    scale: float
    exact: bool

    def sources(self, u: int, size: int) -> Iterable[int]:
        return (min(math.floor((u + 0.5) * self.scale if self.exact else u * self.scale), size - 1),)


@dataclass(frozen=True)
class Interp:
    """Linear-family interpolation from ``i`` to ``o`` units (torch's source-coordinate rule)."""

    i: Any
    o: Any
    align_corners: bool
    scale: float
    cubic: bool = False

    def sources(self, u: int, size: int) -> Iterable[int]:
        if self.align_corners:
            src = u * (self.i - 1) / (self.o - 1) if self.o > 1 else 0.0
        else:
            src = (u + 0.5) * self.scale - 0.5
            if not self.cubic:
                src = max(src, 0.0)
        base = math.floor(src)
        if src == base:  # falls on a unit: the other taps have weight 0
            return (min(max(base, 0), size - 1),)
        taps = range(base - 1, base + 3) if self.cubic else range(base, base + 2)
        return {min(max(t, 0), size - 1) for t in taps}


@dataclass(frozen=True)
class Bins:
    """Adaptive pooling from ``i`` to ``o`` units: overlapping bins of varying size."""

    i: Any
    o: Any

    def sources(self, u: int, size: int) -> Iterable[int]:
        return range((u * self.i) // self.o, -((-(u + 1) * self.i) // self.o))


class _Global:
    def __repr__(self) -> str:
        return "GLOBAL"


GLOBAL: Any = _Global()
"""Every output unit depends on the whole input along the dim."""

IDENTITY = Affine(1, 1, 0)
"""One output unit per input unit (activations, BatchNorm, dropout)."""
