"""Where in the user's code something happened: traceback frames and call stacks as locations.

Frames in torch, cnncalc, installed packages and the standard library are not the user's;
the innermost frame outside them is where a failure is reported.
"""

from __future__ import annotations

import functools
import sys
import traceback
from pathlib import Path
from typing import Any

from ..errors import Loc


def user_frame(tb: Any, prefer: str | None = None) -> Loc | None:
    """The innermost traceback frame outside torch and cnncalc (or in ``prefer``), as a location."""
    best = None
    for frame, line in traceback.walk_tb(tb):
        name = frame.f_code.co_filename
        if prefer is not None and Path(name) == Path(prefer):
            best = frame_loc(name, line)
        elif prefer is None and not is_library(name):
            best = frame_loc(name, line)
    return best


def frame_loc(filename: str, line: int) -> Loc:
    """The location of a line of running code, at the column where its statement starts: ``model.py:19:9``, or
    ``course.ipynb:cell 4:12:9`` in a notebook."""
    from .cells import indent_col, split

    cell = split(filename)
    if cell is None:
        import linecache

        text = linecache.getline(filename, line)
        col = len(text) - len(text.lstrip()) + 1 if text.strip() else 1
        return Loc(display_path(filename), line, col)
    return Loc(display_path(cell[0]), line, indent_col(filename, line), cell[1])


@functools.lru_cache(maxsize=4096)
def is_library(filename: str) -> bool:
    """Whether a frame's file belongs to torch, cnncalc, an installed package or the standard library."""
    if filename.startswith("<"):
        return True
    path = str(Path(filename).resolve())
    return any(path.startswith(root) for root in _library_roots())


@functools.lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    import sysconfig

    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib", "scripts")}
    launcher = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None  # "-c" or "" is no launcher: not the cwd
    roots.add(str(launcher.resolve().parent) if launcher is not None and launcher.is_file() else "/nonexistent")
    roots.add(str(Path(__file__).resolve().parents[1]))  # cnncalc itself, also when installed editable
    torch_file = getattr(sys.modules.get("torch"), "__file__", None)
    if torch_file:
        roots.add(str(Path(torch_file).resolve().parent))
    return tuple(str(Path(r).resolve()) + "/" for r in roots)


def display_path(filename: str) -> str:
    """A path relative to the current directory when inside it."""
    try:
        return str(Path(filename).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return filename
