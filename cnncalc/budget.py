"""How much time and memory cnncalc may spend on a user's network: the limits, and the figures.

Two limits, set by the CLI (``--timeout``, ``--max-memory``) or the Python API for the duration
of one call (:func:`limits`), and read by the core where it runs a model or allocates:

- ``timeout``: seconds one run of a Python model's code may take (its import and construction,
  each forward pass, each torch.fx trace); past it, the run stops and says where it was. An
  architecture file has the same limit for all the work on it (derivation, receptive fields and
  every torch pass): :func:`deadline` arms it and :func:`tick`, called layer by layer, stops it.
- ``max_memory``: bytes a forward pass may allocate (parameters, buffers, activations), estimated
  before anything is allocated. A YAML network above it is verified on torch's ``meta`` device
  (shapes and counts, no storage); a Python model's inputs above it are refused.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import CnnCalcError, CnnCalcErrors, Loc

DEFAULT_TIMEOUT = 30.0
"""Seconds one run of a model's code may take: generous for a forward pass at batch 2 or 3 on a CPU."""

TIMEOUT_ENV = "CNNCALC_TIMEOUT"
"""The environment variable that replaces DEFAULT_TIMEOUT (a slow CI machine raises it); an explicit limit wins."""

_FROM_ENV = -1.0  # the limit not set by the caller: $CNNCALC_TIMEOUT, else DEFAULT_TIMEOUT

DEFAULT_MAX_MEMORY = 4 * 2**30
"""Bytes a forward pass may allocate (4 GiB)."""

TORCH_MAX_NUMEL = 2**62
"""Past this many elements (or bytes), torch cannot even describe a tensor (its sizes overflow int64)."""

_timeout: ContextVar[float | None] = ContextVar("cnncalc_timeout", default=_FROM_ENV)
_max_memory: ContextVar[int] = ContextVar("cnncalc_max_memory", default=DEFAULT_MAX_MEMORY)
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("cnncalc_deadline", default=None)


def timeout() -> float | None:
    """The time limit of one run of a model's code, in seconds (None: no limit)."""
    limit = _timeout.get()
    if limit != _FROM_ENV:
        return limit
    try:
        return default_timeout()
    except CnnCalcError:  # the CLI reports a bad value up front; a library call keeps the documented default
        return DEFAULT_TIMEOUT


def default_timeout() -> float | None:
    """The default limit: ``$CNNCALC_TIMEOUT`` where set (0: no limit), else DEFAULT_TIMEOUT; a value that is not
    seconds from 0 to 86400 raises CnnCalcError."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86_400:  # NaN fails this too
        raise CnnCalcError(f"${TIMEOUT_ENV} is {text!r}: expected seconds from 0 to 86400 (0: no limit)", None)
    return value or None


def max_memory() -> int:
    """The memory a forward pass may take, in bytes."""
    return _max_memory.get()


@contextmanager
def limits(timeout: float | None = _FROM_ENV, max_memory: int = DEFAULT_MAX_MEMORY) -> Iterator[None]:
    """Set both limits for the duration of the block (``timeout`` None or 0: no time limit; left out: the default,
    ``$CNNCALC_TIMEOUT`` or DEFAULT_TIMEOUT)."""
    t1 = _timeout.set(timeout or None)
    t2 = _max_memory.set(max_memory)
    try:
        yield
    finally:
        _timeout.reset(t1)
        _max_memory.reset(t2)


def configure(timeout: float | None = None, max_memory: int | None = None) -> None:
    """Change a limit for the rest of the current context (the CLI, inside :func:`limits`)."""
    if timeout is not None:
        _timeout.set(timeout or None)
    if max_memory is not None:
        _max_memory.set(max_memory)


@contextmanager
def deadline() -> Iterator[None]:
    """The time limit for the work on an architecture file, from now (nested: the outer one holds)."""
    limit = timeout()
    if limit is None or _deadline.get() is not None:
        yield
        return
    token = _deadline.set((time.monotonic() + limit, limit))
    try:
        yield
    finally:
        _deadline.reset(token)


def tick(loc: Loc | None = None, doing: str = "") -> None:
    """Stop (bad input, exit 2) when the armed deadline has passed; ``loc`` is the layer being worked on."""
    armed = _deadline.get()
    if armed is None or time.monotonic() < armed[0]:
        return
    torch = "torch" in doing
    error = CnnCalcError(
        f"the network did not finish within the time limit of {armed[1]:g} s (--timeout)"
        + (f" while {doing}, at this layer" if doing else ""),
        loc,
        "raise --timeout (0: no limit)" + ("; --no-verify derives without torch" if torch else ""),
    )
    raise CnnCalcErrors([error])  # a limit: stop here, never collected as one more error of the file


_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}  # fmt: skip


def parse_memory(text: str, option: str = "--max-memory") -> int:
    """``4GiB``, ``512MB``, ``2g``, ``1000000`` (bytes) -> bytes."""
    m = re.fullmatch(r"\s*([0-9]{1,12}(?:\.[0-9]{1,6})?)\s*([A-Za-z]{0,3})\s*", text)
    unit = m.group(2).lower() if m else ""
    if m is None or unit not in _UNITS:
        raise CnnCalcError(f"{option} {text!r}: expected a size like 4GiB, 512MB or 2g", None)
    value = int(float(m.group(1)) * _UNITS[unit])
    if value < 1:
        raise CnnCalcError(f"{option} {text!r}: the limit must be at least one byte", None)
    return value


def size_text(n: int) -> str:
    """``3.2 GiB``, ``512.0 MiB``, ``1.2e+20 bytes`` (binary units, as the memory figures of ``shapes``)."""
    if n >= 2**50:
        return f"{n:.1e} bytes"
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def limit_text(n: int) -> str:
    """The limit as given: ``4 GiB`` for the default."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return size_text(n)
