"""The one error type of cnncalc, and the source locations it carries.

Every problem with a user's input is raised as :class:`CnnCalcError` with a
:class:`Loc` pointing into the architecture file. The CLI prints it as
``FILE:LINE:COL: error: what; hint: ...`` on one line and exits 2.
A disagreement between cnncalc and torch is not an input error; it is reported
by the verifier and exits 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Loc:
    """A position in an input file (1-based line and column); in a notebook, also the cell (1-based position).

    Line 0 names a command (``cnncalc conv``), not a file: it prints as the command alone.
    """

    file: str
    line: int
    col: int
    cell: int | None = None  # a Jupyter notebook's cell: ``line`` and ``col`` are then within that cell

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file  # a command, not a file
        where = f"{self.file}:cell {self.cell}" if self.cell is not None else self.file
        return f"{where}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Frame:
    """One step of the chain that led to an error inside a block use."""

    what: str  # e.g. "block 'Fire'"
    loc: Loc


class CnnCalcError(Exception):
    """A user-facing error: bad input, or an architecture that cannot work.

    ``message`` says what was expected and what was found; ``hint`` how to fix it.
    ``chain`` lists the block uses that led to the failing line, innermost first.
    """

    def __init__(
        self,
        message: str,
        loc: Loc | None = None,
        hint: str | None = None,
        chain: tuple[Frame, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.hint = hint
        self.chain = chain

    def with_frame(self, frame: Frame) -> CnnCalcError:
        """Return a copy of this error with one more (outer) frame of context."""
        return CnnCalcError(self.message, self.loc, self.hint, (*self.chain, frame))

    def at(self, loc: Loc) -> CnnCalcError:
        """Return a copy located at ``loc`` unless it already has a location."""
        if self.loc is not None:
            return self
        return CnnCalcError(self.message, loc, self.hint, self.chain)

    def format(self) -> str:
        """The one-line form printed to users."""
        where = f"{self.loc}: " if self.loc else ""
        text = f"{where}error: {self.message}"
        if self.hint:
            text += f"; hint: {self.hint}"
        if self.chain:

            def short(loc: Loc) -> str:
                same = self.loc is not None and loc.file == self.loc.file
                return f"line {loc.line}:{loc.col}" if same else str(loc)

            text += " (" + " <- ".join(f"in {f.what} used at {short(f.loc)}" for f in self.chain) + ")"
        return text

    def __str__(self) -> str:
        return self.format()


class NoSymbolicForm(CnnCalcError):
    """A layer has no exact formula in the symbols (a float scale factor that double rounding makes irregular):
    the network is then derived at the default sizes, with a note (pipeline.shapes)."""


class CnnCalcErrors(CnnCalcError):
    """Several independent errors of one input, reported together, each as its own located line.

    It is a :class:`CnnCalcError` whose ``message``, ``loc`` and ``hint`` are the first error's, so
    code that handles one error keeps working; ``errors`` holds them all (duplicates dropped).
    ``partial`` carries what could still be built (a spec or graph with the broken parts marked),
    so that a later stage can look for more independent errors.
    """

    LIMIT = 20

    def __init__(self, errors: Sequence[CnnCalcError], partial: Any = None) -> None:
        flat: list[CnnCalcError] = []
        seen: set[tuple[Any, str]] = set()
        for e in errors:
            for one in e.errors if isinstance(e, CnnCalcErrors) else (e,):
                if (one.loc, one.message) not in seen:
                    seen.add((one.loc, one.message))
                    flat.append(one)
        flat.sort(key=lambda e: (e.loc is not None, e.loc.file if e.loc else "", e.loc.line if e.loc else 0,
                                 e.loc.col if e.loc else 0))  # in file order, as a compiler lists them  # fmt: skip
        first = flat[0]
        super().__init__(first.message, first.loc, first.hint, first.chain)
        self.errors: tuple[CnnCalcError, ...] = tuple(flat)
        self.partial = partial

    @property
    def single(self) -> CnnCalcError:
        """The one error when there is only one, else this."""
        return self.errors[0] if len(self.errors) == 1 else self

    def with_frame(self, frame: Frame) -> CnnCalcError:
        return CnnCalcErrors([e.with_frame(frame) for e in self.errors], self.partial)

    def at(self, loc: Loc) -> CnnCalcError:
        return CnnCalcErrors([e.at(loc) for e in self.errors], self.partial)

    def format(self) -> str:
        """One line per error, like a compiler; at most ``LIMIT``, then how many more there are."""
        lines = [e.format() for e in self.errors[: self.LIMIT]]
        more = len(self.errors) - self.LIMIT
        if more > 0:
            lines.append(f"error: {more} more error{'s' if more > 1 else ''} not shown (fix these first)")
        return "\n".join(lines)


class Collector:
    """Gathers independent errors instead of stopping at the first (``with errors.attempt(): ...``)."""

    def __init__(self) -> None:
        self.errors: list[CnnCalcError] = []

    def __bool__(self) -> bool:
        return bool(self.errors)

    def add(self, e: CnnCalcError) -> None:
        """Record an error; past the limit, stop here with everything found so far."""
        self.errors.append(e)
        if len(self.errors) > 4 * CnnCalcErrors.LIMIT:  # bounded: a file cannot make us collect forever
            raise CnnCalcErrors(self.errors) from None

    @contextmanager
    def attempt(self, frames: Sequence[Frame] = ()) -> Iterator[None]:
        """Run the block; a CnnCalcError is recorded (with ``frames`` of context, innermost first).

        A :class:`CnnCalcErrors` is not: it means stop here (a limit was reached), so it passes through.
        """
        try:
            yield
        except CnnCalcErrors:
            raise
        except CnnCalcError as e:
            for frame in frames:
                e = e.with_frame(frame)
            self.add(e)

    def check(self, partial: Any = None) -> None:
        """Raise every error found so far, with what could still be built."""
        if self.errors:
            raise CnnCalcErrors(self.errors, partial)


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 layer``, ``8 layers``, ``2,048 units`` (``words`` for an irregular plural)."""
    return f"{n:,} {word if n == 1 else words or word + 's'}"


def first_line(e: BaseException) -> str:
    """The first line of an exception's message."""
    text = str(e).strip().splitlines()
    return text[0] if text else ""


def described(e: BaseException, limit: int = 400) -> str:
    """``TypeName: first line of the message``, at most ``limit`` characters."""
    return f"{type(e).__name__}: {first_line(e)}"[:limit]


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A click-style suggestion for a misspelt name, or None."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in options}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    if not close:
        return None
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"
