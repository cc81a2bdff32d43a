"""Code that lives in notebook cells: its file name for Python (``course.ipynb:cell 4``) and its source lines.

The code of a notebook target is compiled under the name ``course.ipynb:cell 4`` (the cell's
1-based position in the notebook), with its lines in :mod:`linecache`, so that tracebacks, hooks
and ``inspect`` see the cell; :func:`split` turns such a name back into the notebook and the cell.
"""

from __future__ import annotations

import linecache
import re
from typing import Any

from ..errors import Loc

_CELL = re.compile(r"^(?P<file>.*\.ipynb):cell (?P<cell>[1-9][0-9]*)$")


def cell_filename(file: str, cell: int) -> str:
    """The file name Python sees for code of a notebook cell: ``course.ipynb:cell 4``."""
    return f"{file}:cell {cell}"


def split(filename: str) -> tuple[str, int] | None:
    """``course.ipynb:cell 4`` -> ``("course.ipynb", 4)``; None for an ordinary file name."""
    m = _CELL.match(filename)
    return (m["file"], int(m["cell"])) if m else None


def register(filename: str, source: str) -> None:
    """Make the cell's lines readable through :mod:`linecache` (tracebacks, ``inspect``, source lines)."""
    lines = [line + "\n" for line in source.splitlines()]
    linecache.cache[filename] = (len(source), None, lines, filename)


def source_line(loc: Loc) -> str:
    """The stripped source text at ``loc`` (in its cell for a notebook location)."""
    name = cell_filename(loc.file, loc.cell) if loc.cell is not None else loc.file
    return linecache.getline(name, loc.line).strip()


def indent_col(filename: str, line: int) -> int:
    """The 1-based column where the statement on that line starts (1 when the line is unknown)."""
    text = linecache.getline(filename, line)
    return len(text) - len(text.lstrip()) + 1 if text.strip() else 1


def class_line(cls: Any) -> tuple[str, int] | None:
    """Where a class defined in a notebook cell starts: (cell file name, line), from its methods' code."""
    for value in vars(cls).values():
        code = getattr(value, "__code__", None)
        if code is None or split(code.co_filename) is None:
            continue
        lines = linecache.getlines(code.co_filename)
        pattern = re.compile(rf"\s*class\s+{re.escape(cls.__name__)}\b")
        found = [i for i, text in enumerate(lines[: code.co_firstlineno], 1) if pattern.match(text)]
        return code.co_filename, found[-1] if found else code.co_firstlineno
    return None
