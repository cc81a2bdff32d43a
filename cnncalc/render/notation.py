"""Notation shared by the renderers: counts with separators, shapes, floors as ⌊ ⌋, receptive-field text."""

from __future__ import annotations

from typing import Any

from .. import symbolic as sym


def rf_text(rf: Any) -> str:
    """``7×7``, ``212×212``, ``≤40×40`` (varies with position), ``28×28 global`` (every unit sees it)."""
    if rf is None:
        return ""
    parts = [("" if d.closed_form or d.is_global else "≤") + sym.to_text(d.size) for d in rf.dims]
    return "×".join(parts) + (" global" if rf.is_global else "")


def number(value: Any) -> int | str:
    """An int stays an int (JSON number); a symbolic count becomes its text."""
    return value if isinstance(value, int) else sym.to_text(value)


def shape_list(shape: tuple[Any, ...]) -> list[int | str]:
    """A shape for JSON: integers, or strings of expressions."""
    return [number(d) for d in shape]


def count_text(value: Any) -> str:
    """``2,432`` for ints; the expression text otherwise."""
    return f"{value:,}" if isinstance(value, int) else sym.to_text(value)


def shape_text(shape: tuple[Any, ...], pretty: bool = False) -> str:
    """``32×16×16`` style shape text; ``pretty`` writes floor(x) as ⌊x⌋."""
    parts = [sym.to_text(d) for d in shape]
    parts = [f"({p})" if " " in p and len(shape) > 1 else p for p in parts]
    return "×".join(pretty_math(p) if pretty else p for p in parts)


def pretty_math(text: str) -> str:
    """``floor(H/2) - 1`` -> ``⌊H/2⌋ - 1`` (and ceiling -> ⌈ ⌉), for people; JSON keeps sympy text."""
    for word, left, right in (("floor(", "⌊", "⌋"), ("ceiling(", "⌈", "⌉")):
        while word in text:
            start = text.index(word)
            depth, j = 1, start + len(word)
            while depth and j < len(text):
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            text = text[:start] + left + text[start + len(word) : j - 1] + right + text[j:]
    return text
