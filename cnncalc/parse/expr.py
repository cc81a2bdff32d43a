"""Safe arithmetic expressions in architecture files (``2*base``, ``depth - 1``).

Parsed with :mod:`ast` and walked against a whitelist: names, integer literals,
``+ - * / // %``, unary minus and parentheses. Nothing is ever passed to
``eval`` or ``sympify``; sizes stay within :data:`~cnncalc.parse.limits.MAX_INT`.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .. import symbolic as sym
from ..errors import CnnCalcError, Loc, did_you_mean
from .limits import MAX_EXPR_CHARS, MAX_INT

_BINOPS: dict[type, Any] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: sym.floordiv,
    ast.Div: sym.truediv,
    ast.Mod: sym.mod,
}
_ALLOWED = "names, integers, + - * / // % and parentheses"


def looks_like_expression(text: str) -> bool:
    """Whether a YAML string is meant as an expression rather than a word like 'same'."""
    return any(c in text for c in "+-*/%() ") or text.isidentifier() or text.strip().lstrip("-").isdigit()


def evaluate(text: str, env: Mapping[str, Any], loc: Loc) -> Any:
    """Evaluate ``text`` with names from ``env``; returns an int, Fraction, float or sympy expression."""
    if len(text) > MAX_EXPR_CHARS:
        raise CnnCalcError(
            f"expression is {len(text)} characters long, over the limit of {MAX_EXPR_CHARS}",
            loc,
            "use params: to name parts of it",
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise CnnCalcError(f"cannot parse expression {text!r}", loc, f"expressions may use {_ALLOWED}") from None
    return _walk(tree.body, env, loc, text)


def _walk(node: ast.AST, env: Mapping[str, Any], loc: Loc, text: str) -> Any:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise CnnCalcError(
                f"{node.value!r} is not allowed in expression {text!r}", loc, f"expressions may use {_ALLOWED}"
            )
        return _bounded(node.value, loc, text)
    if isinstance(node, ast.Name):
        if node.id not in env:
            hint = did_you_mean(node.id, env) or "declare it under symbols: or params:"
            raise CnnCalcError(f"unknown name {node.id!r} in expression {text!r}", loc, hint)
        return env[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _walk(node.operand, env, loc, text)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left = _walk(node.left, env, loc, text)
        right = _walk(node.right, env, loc, text)
        if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and sym.is_concrete(right) and right == 0:
            raise CnnCalcError(f"division by zero in expression {text!r}", loc)
        return _bounded(_BINOPS[type(node.op)](left, right), loc, text)
    what = type(node).__name__
    if isinstance(node, ast.BinOp):
        what = f"operator {type(node.op).__name__}"
    raise CnnCalcError(f"{what} is not allowed in expression {text!r}", loc, f"expressions may use {_ALLOWED}")


def _bounded(value: Any, loc: Loc, text: str) -> Any:
    if isinstance(value, (int, Fraction)) and abs(value) > MAX_INT:  # type: ignore[operator]
        raise CnnCalcError(
            f"expression {text!r} gives a number beyond the limit of 2**40",
            loc,
            "sizes and channel counts are far smaller",
        )
    return value
