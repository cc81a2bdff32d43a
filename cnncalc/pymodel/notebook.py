"""Jupyter notebooks as targets (``course.ipynb:Net``): only the definitions in the code cells run.

A notebook is read with nbformat. From each code cell, cnncalc executes only the top-level
``import``/``from`` statements, ``def`` and ``class`` definitions, and assignments of literal
constants (``BATCH = 64``, ``CLASSES = ("cat", "dog")``). Nothing else runs: training loops, data
downloads, ``!pip`` lines, ``%magics`` and ``%%cell magics``, ``if __name__ == "__main__":`` blocks.
What was skipped is listed by :func:`read` (``--verbose``). An import that fails (a package of the
notebook's own machine, such as ``google.colab``) is skipped too and listed.

Cells are numbered by their position in the notebook (1-based, markdown cells included), as one
counts them on the page; execution counts (``In [7]``) are not reliable, so they are not used.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CnnCalcError, Loc, first_line
from .cells import cell_filename, indent_col, register

_IPYTHON_LINE = (
    (re.compile(r"^\s*!"), "shell command"),
    (re.compile(r"^\s*%"), "magic"),
    (re.compile(r"^\s*[A-Za-z_][\w\s,]*=\s*[!%]"), "shell or magic assignment"),
    (re.compile(r"^[^#]*\?\s*$"), "help request"),
)
_KINDS = {ast.For: "for loop", ast.AsyncFor: "for loop", ast.While: "while loop", ast.With: "with block",
          ast.AsyncWith: "with block", ast.If: "if block", ast.Try: "try block", ast.Expr: "expression",
          ast.Assign: "assignment of a computed value", ast.AugAssign: "augmented assignment",
          ast.AnnAssign: "assignment of a computed value", ast.Delete: "del statement", ast.Assert: "assert",
          ast.Raise: "raise", ast.Global: "global statement", ast.Match: "match block"}  # fmt: skip


@dataclass(frozen=True)
class Skipped:
    """A part of a code cell that cnncalc did not run, and why."""

    cell: int
    line: int
    what: str  # "for loop", "shell command", "import failed (ModuleNotFoundError: ...)", ...
    text: str  # the first line of it

    def note(self, file: str) -> str:
        """``course.ipynb:cell 3:1: note: skipped for loop: for epoch in range(10):``."""
        return f"{file}:cell {self.cell}:{self.line}:1: note: skipped {self.what}: {self.text}"


@dataclass(frozen=True)
class Cell:
    """A code cell: its position, its source as written, and the statements that will run."""

    index: int  # 1-based position among all the notebook's cells
    source: str
    kept: tuple[ast.stmt, ...]
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class Plan:
    """What a notebook's code cells define and what is skipped, before anything runs."""

    file: str
    cells: tuple[Cell, ...]

    @property
    def skipped(self) -> list[Skipped]:
        """Every skipped statement or line, in notebook order."""
        return [s for c in self.cells for s in c.skipped]


def is_notebook(path: str) -> bool:
    """Whether ``path`` names a Jupyter notebook."""
    return path.endswith(".ipynb")


MAX_NOTEBOOK_BYTES = 64 * 2**20
"""Largest notebook read (outputs with pictures make notebooks large)."""


def read(path: str) -> Plan:
    """Read a notebook with nbformat and decide, statement by statement, what runs; nothing is executed."""
    import nbformat

    from ..inputfile import read_bounded

    if Path(path).is_dir():
        raise CnnCalcError(f"{path} is a directory", None, "name a notebook, e.g. course.ipynb:Net")
    raw = read_bounded(path, path, MAX_NOTEBOOK_BYTES, "check the path (targets are FILE.ipynb:Name)")
    hint = "open and save it in Jupyter, or check that it is a .ipynb file"
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise CnnCalcError(f"{path} is not a readable Jupyter notebook (not JSON: {first_line(e)[:200]})", None,
                           hint) from None  # fmt: skip
    if not isinstance(doc, dict) or not isinstance(doc.get("cells", []), list):
        found = "the top level is not an object" if not isinstance(doc, dict) else "its cells are not a list"
        raise CnnCalcError(f"{path} is not a readable Jupyter notebook ({found})", None, hint)
    try:
        with warnings.catch_warnings():  # nbformat's notes on missing cell ids point into its own source
            warnings.simplefilter("ignore")
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)  # type: ignore[no-untyped-call]
    except Exception as e:  # nbformat raises NotJSONError, ValidationError, KeyError... for a broken file
        raise CnnCalcError(f"{path} is not a readable Jupyter notebook ({type(e).__name__}: {first_line(e)[:200]})",
                           None, hint) from None  # fmt: skip
    cells = []
    for index, cell in enumerate(nb.cells, 1):
        if cell.get("cell_type") == "code":
            cells.append(_plan_cell(index, str(cell.get("source", ""))))
    return Plan(path, tuple(cells))


def _plan_cell(index: int, source: str) -> Cell:
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return Cell(index, source, (), (Skipped(index, 1, "cell magic (the whole cell)", lines[0].strip()),))
    skipped: list[Skipped] = []
    replaced: set[int] = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        text, skipped = _without_ipython(index, lines)
        replaced = {s.line for s in skipped}
        try:
            tree = ast.parse(text)
        except SyntaxError as e:
            what = f"the whole cell: it is not valid Python ({e.msg}, line {e.lineno})"
            return Cell(index, source, (), (*skipped, Skipped(index, e.lineno or 1, what, _line(lines, e.lineno))))
    kept = []
    for stmt in tree.body:
        why = _reason_to_skip(stmt)
        if why is None:
            kept.append(stmt)
        elif not (isinstance(stmt, ast.Pass) and stmt.lineno in replaced):
            skipped.append(Skipped(index, stmt.lineno, why, _line(lines, stmt.lineno)))
    skipped.sort(key=lambda s: s.line)
    return Cell(index, source, tuple(kept), tuple(skipped))


def _line(lines: list[str], number: int | None) -> str:
    return lines[number - 1].strip() if number and 0 < number <= len(lines) else ""


def _without_ipython(index: int, lines: list[str]) -> tuple[str, list[Skipped]]:
    """Replace IPython-only lines (``!pip``, ``%matplotlib``, ``x = !ls``, ``obj?``) by ``pass``; list them."""
    out, skipped = [], []
    for number, text in enumerate(lines, 1):
        kind = next((k for pattern, k in _IPYTHON_LINE if pattern.match(text)), None)
        if kind is None:
            out.append(text)
            continue
        skipped.append(Skipped(index, number, kind, text.strip()))
        out.append(text[: len(text) - len(text.lstrip())] + "pass")
    return "\n".join(out), skipped


def _reason_to_skip(stmt: ast.stmt) -> str | None:
    """None for a statement that runs (imports, definitions, literal constants), else what it is."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return None
    if isinstance(stmt, ast.Assign) and all(_names_only(t) for t in stmt.targets) and _literal(stmt.value):
        return None
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        if _literal(stmt.value):
            return None
    if isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
        return 'if __name__ == "__main__": block'
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return "call"
    return _KINDS.get(type(stmt), type(stmt).__name__.lower())


def _names_only(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, (ast.Tuple, ast.List)) and all(_names_only(e) for e in target.elts)


def _literal(value: ast.expr) -> bool:
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _is_main_guard(test: ast.expr) -> bool:
    return isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"


def import_notebook(path: str, shown: str) -> tuple[Any, Plan]:
    """Run the definitions of the notebook at ``path`` in a fresh module; locations name ``shown:cell N``.

    Returns the module and the plan, whose ``skipped`` also lists imports that failed.
    """
    plan = read(path)
    resolved = Path(path).resolve()
    name = "cnncalc_notebook_" + "".join(c if c.isalnum() else "_" for c in resolved.stem)
    module = types.ModuleType(name, f"Definitions of the notebook {shown}")
    sys.modules[name] = module
    failed: list[Skipped] = []
    sys.path.insert(0, str(resolved.parent))  # the notebook's own directory, as Jupyter runs it
    try:
        for cell in plan.cells:
            filename = cell_filename(shown, cell.index)
            register(filename, cell.source)
            for stmt in cell.kept:
                skip = _run(stmt, filename, module, cell)
                failed += [skip] if skip else []
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        if sys.path and sys.path[0] == str(resolved.parent):
            sys.path.pop(0)
    return module, _with(plan, failed)


def _with(plan: Plan, more: list[Skipped]) -> Plan:
    """The plan with ``more`` skipped statements (failed imports) in their cells."""
    if not more:
        return plan
    cells = []
    for c in plan.cells:
        skipped = sorted((*c.skipped, *(s for s in more if s.cell == c.index)), key=lambda s: s.line)
        cells.append(Cell(c.index, c.source, c.kept, tuple(skipped)))
    return Plan(plan.file, tuple(cells))


def _run(stmt: ast.stmt, filename: str, module: Any, cell: Cell) -> Skipped | None:
    """Execute one kept statement; a failed import is skipped (and listed), any other failure is an error."""
    code = compile(ast.Module([stmt], []), filename, "exec")
    try:
        exec(code, module.__dict__)
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as e:
        text = cell.source.splitlines()[stmt.lineno - 1].strip()
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) and isinstance(e, ImportError):
            return Skipped(cell.index, stmt.lineno, f"import failed ({type(e).__name__}: {first_line(e)})", text)
        file, _, _ = filename.rpartition(":cell ")
        line = _error_line(e, filename) or stmt.lineno
        raise CnnCalcError(f"running the definition in cell {cell.index} failed: {type(e).__name__}: {first_line(e)}",
                           Loc(file, line, indent_col(filename, line), cell.index),
                           "only imports, definitions and literal constants run; they must work on their own") from None  # fmt: skip
    return None


def _error_line(e: BaseException, filename: str) -> int | None:
    tb, line = e.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
