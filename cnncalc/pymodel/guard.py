"""Running a user's Python code under cnncalc's rules: bounded in time, quiet on stdout, never exiting for us.

A model's code may loop forever, call ``sys.exit``, raise ``KeyboardInterrupt`` or print to
standard output (which would corrupt ``--format json``). :func:`running` runs a block of it:

- with a time limit (:func:`cnncalc.budget.timeout`): in the main thread a ``SIGALRM`` timer, which
  also interrupts a ``time.sleep``; in another thread (a notebook's worker) an asynchronous
  exception. Either raises :class:`ModelTimeout` in the model's code;
- with ``sys.stdout`` sent to ``sys.stderr``;
- telling a real Ctrl-C (the user's SIGINT: it still stops cnncalc) from a ``KeyboardInterrupt``
  the model raises itself (:func:`real_interrupt`).

What escapes the block is turned into a :class:`ModelError` (exit 1: the model failed), located at
the user's line. Code that records a failure itself (one hooked forward pass) catches inside.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from .. import budget
from ..errors import CnnCalcError, Loc, described

_state = threading.local()


class ModelTimeout(BaseException):
    """The model's code ran past the time limit (raised inside it; a BaseException so that its
    own ``except Exception`` does not swallow it)."""


class ModelError(CnnCalcError):
    """The user's model failed while cnncalc ran it: not bad input, a failed check (exit 1)."""

    exit_code = 1


def real_interrupt() -> bool:
    """Whether the last KeyboardInterrupt came from the user's Ctrl-C (SIGINT) rather than the model."""
    return bool(getattr(_state, "sigint", False))


def stops(e: BaseException) -> bool:
    """Whether ``e`` must stop cnncalc rather than be reported as the model's failure (a real Ctrl-C)."""
    return isinstance(e, KeyboardInterrupt) and real_interrupt()


def what_happened(e: BaseException, limit: float | None = None) -> str:
    """``called sys.exit(3)``, ``did not finish within 30 s (--timeout)``, ``raised KeyboardInterrupt``."""
    if isinstance(e, SystemExit):
        return f"called sys.exit({e.code!r})" if e.code is not None else "called sys.exit()"
    if isinstance(e, ModelTimeout):
        return f"did not finish within {_seconds(limit or budget.timeout() or 0)} (--timeout)"
    if isinstance(e, KeyboardInterrupt):
        return "raised KeyboardInterrupt"
    if isinstance(e, RecursionError):
        return f"exceeded Python's recursion limit ({described(e)})"
    return f"raised {described(e)}"


def _seconds(t: float) -> str:
    return f"{t:g} s"


@contextlib.contextmanager
def running(what: str, home: Loc | None = None, stage: str = "run") -> Iterator[None]:
    """Run the block as the model's code (see the module doc); ``what`` names it in messages
    (``the forward pass of model.py:Net``); ``home`` locates failures outside the user's files."""
    from .frames import user_frame

    nested = getattr(_state, "depth", 0) > 0
    _state.depth = getattr(_state, "depth", 0) + 1
    limit = budget.timeout()
    try:
        with contextlib.redirect_stdout(sys.stderr), _sigint(nested), _timer(None if nested else limit):
            yield
    except CnnCalcError:
        raise
    except BaseException as e:
        if stops(e) or nested:
            raise
        if isinstance(e, ModelTimeout | SystemExit | KeyboardInterrupt | RecursionError):
            loc = user_frame(e.__traceback__) or home
            raise ModelError(f"{what} {what_happened(e, limit)}", loc, HINTS.get(type(e))) from None
        raise
    finally:
        _state.depth -= 1


HINTS: dict[type, str] = {
    ModelTimeout: "a loop that never ends? for a slow model, raise the limit: --timeout 120 (0: none)",
    SystemExit: "a model never calls sys.exit or exit(); guard script code with if __name__ == '__main__':",
    KeyboardInterrupt: "a model never raises KeyboardInterrupt",
    RecursionError: "a model nested thousands of levels deep is too deep to run; check the code that builds it",
}


@contextlib.contextmanager
def _timer(limit: float | None) -> Iterator[None]:
    if not limit:
        yield
        return
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):

        def expire(signum: int, frame: Any) -> None:
            raise ModelTimeout

        old = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        return
    import ctypes

    ident = threading.get_ident()
    done = threading.Event()

    def expire_thread() -> None:
        if not done.is_set():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(ModelTimeout))

    timer = threading.Timer(limit, expire_thread)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        done.set()
        timer.cancel()


@contextlib.contextmanager
def _sigint(nested: bool) -> Iterator[None]:
    """Remember whether a KeyboardInterrupt is the user's Ctrl-C."""
    if nested or threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.sigint = False
    previous = signal.getsignal(signal.SIGINT)

    def interrupted(signum: int, frame: Any) -> None:
        _state.sigint = True
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGINT, interrupted)
    except ValueError:  # not allowed here (an embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def failures(label: str, home: Loc | None) -> Iterator[None]:
    """A block that handles the user's model (counting, moving, running): an exception raised in the
    user's own code (a ``parameters()`` that raises), or a RecursionError (a model nested thousands of
    levels deep), is the model's failure (exit 1); anything else is cnncalc's own (exit 3)."""
    from .frames import user_frame

    try:
        yield
    except CnnCalcError:
        raise
    except Exception as e:
        loc = user_frame(e.__traceback__)
        if loc is None and not isinstance(e, RecursionError):
            raise
        raise ModelError(f"{label} {what_happened(e)}", loc or home, HINTS.get(type(e))) from None
