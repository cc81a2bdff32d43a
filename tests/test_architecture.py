"""The shape of the house: no import cycles (lazy imports included), and a core that never formats.

Imports are read from the source with ``ast`` (every ``import`` statement, at module
level or inside a function), so a lazy import that closes a circle is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import cnncalc

PACKAGE = Path(cnncalc.__file__).parent  # the source tree, or the installed wheel in .ci/run

CORE = ("cnncalc.parse", "cnncalc.graph", "cnncalc.layers", "cnncalc.analysis", "cnncalc.verify", "cnncalc.pymodel",
        "cnncalc.pipeline", "cnncalc.report", "cnncalc.checks", "cnncalc.symbolic", "cnncalc.formula",
        "cnncalc.errors", "cnncalc.calculators", "cnncalc.convolve")  # fmt: skip
"""Packages and modules that return data: they never import a renderer, the CLI, click or rich."""

FORMATTING = (
    "cnncalc.render",
    "cnncalc.cli",
    "cnncalc.api",
    "cnncalc.testing",
    "cnncalc.web",
    "click",
    "rich",
    "starlette",
    "uvicorn",
)


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module ``name`` imports (absolute names; ``from . import x`` resolves to the submodule x)."""
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                target = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            for a in node.names:
                sub = f"{target}.{a.name}"
                found.add(sub if sub in known else target)
    return found - {name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), plus self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_core_never_imports_renderers_or_the_cli() -> None:
    bad = []
    for name, targets in graph().items():
        if not name.startswith(CORE):
            continue
        for t in targets:
            if any(t == f or t.startswith(f + ".") for f in FORMATTING):
                bad.append(f"{name} imports {t}")
    assert bad == []
