"""Notation shared by the renderers: counts with separators, shapes, floors as ⌊ ⌋, receptive-field text.

People read :func:`cnncalc.symbolic.to_text` (``⌊H/2⌋``, ``32·(H − 4)``); JSON and CSV keep the
machine form of :func:`cnncalc.symbolic.machine_text` (``floor(H/2)``), which sympy parses back.
"""

from __future__ import annotations

from typing import Any

from .. import symbolic as sym


def rf_text(rf: Any) -> str:
    """``7×7``, ``212×212``, ``≤40×40`` (varies with position), ``28×28 global`` (every unit sees it)."""
    if rf is None:
        return ""
    texts = [sym.to_text(d.size) for d in rf.dims]
    parts = [("" if d.closed_form or d.is_global else "≤") + (f"({t})" if _is_sum(t) and len(texts) > 1 else t)
             for d, t in zip(rf.dims, texts)]  # fmt: skip
    return "×".join(parts) + (" global" if rf.is_global else "")


def number(value: Any) -> int | str:
    """An int stays an int (JSON number); a symbolic count becomes its machine text."""
    return value if isinstance(value, int) else sym.machine_text(value)


def shape_list(shape: tuple[Any, ...]) -> list[int | str]:
    """A shape for JSON: integers, or strings of expressions."""
    return [number(d) for d in shape]


def count_text(value: Any) -> str:
    """``2,432`` for ints; the readable expression otherwise, with separators too (``640·⌊H/4⌋ + 53,706``)."""
    return sym.to_text(value, grouping=True)


def shape_text(shape: tuple[Any, ...], pretty: bool = True) -> str:
    """``32×⌊H/2⌋×⌊W/2⌋`` style shape text (``pretty`` is kept for callers; every form is readable)."""
    parts = [sym.to_text(d) for d in shape]
    parts = [f"({p})" if _is_sum(p) and len(shape) > 1 else p for p in parts]
    return "×".join(parts)


def _is_sum(text: str) -> bool:
    """Whether a readable expression has a + or − outside brackets (``H − 4``, not ``⌊(H − 5)/16⌋``)."""
    depth = 0
    for n, c in enumerate(text):
        depth += 1 if c in "(⌊⌈" else -1 if c in ")⌋⌉" else 0
        if depth == 0 and c in "+−" and n > 0 and not (c == "+" and text[n - 1] == "e"):  # 8.00e+300 is one number
            return True
    return False
