"""Safe arithmetic expressions in architecture files (``2*base``, ``depth - 1``).

Parsed with :mod:`ast` and walked against a whitelist: names, integer literals,
``+ - * / // %``, unary minus and parentheses. Nothing is ever passed to
``eval`` or ``sympify``; sizes stay within :data:`~cnncalc.parse.limits.MAX_INT`.
"""

from __future__ import annotations

import ast
import re
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
    source = text.strip()
    leading_zero = _LEADING_ZERO.search(source)
    if leading_zero is not None:
        raise CnnCalcError(f"{leading_zero.group(1)!r} in expression {text!r} is not a decimal integer", loc,
                           "integers are decimal, without leading zeros (YAML 1.1 reads 010 as octal 8)")  # fmt: skip
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise CnnCalcError(f"cannot parse expression {text!r}", loc, f"expressions may use {_ALLOWED}") from None
    return _walk(tree.body, env, loc, text, source)


_DECIMAL = re.compile(r"(?:0|[1-9][0-9_]*)")
_LEADING_ZERO = re.compile(r"(?<![\w.])(0[0-9_]+)(?![\w.])")


def _walk(node: ast.AST, env: Mapping[str, Any], loc: Loc, text: str, source: str) -> Any:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise CnnCalcError(
                f"{node.value!r} is not allowed in expression {text!r}", loc, f"expressions may use {_ALLOWED}"
            )
        written = ast.get_source_segment(source, node) or ""
        if not _DECIMAL.fullmatch(written):  # 0x10, 0o7, 0b11: integers are decimal, as plain values are
            raise CnnCalcError(f"{written!r} in expression {text!r} is not a decimal integer", loc,
                               f"integers are decimal: write {node.value}")  # fmt: skip
        return _bounded(node.value, loc, text)
    if isinstance(node, ast.Name):
        if node.id not in env:
            hint = did_you_mean(node.id, env) or "declare it under symbols: or params:"
            raise CnnCalcError(f"unknown name {node.id!r} in expression {text!r}", loc, hint)
        return env[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _number(_walk(node.operand, env, loc, text, source), node.operand, loc, text)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left = _number(_walk(node.left, env, loc, text, source), node.left, loc, text)
        right = _number(_walk(node.right, env, loc, text, source), node.right, loc, text)
        if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and sym.is_concrete(right) and right == 0:
            raise CnnCalcError(f"division by zero in expression {text!r}", loc)
        return _bounded(_BINOPS[type(node.op)](left, right), loc, text)
    what = type(node).__name__
    if isinstance(node, ast.BinOp):
        what = f"operator {type(node.op).__name__}"
    raise CnnCalcError(f"{what} is not allowed in expression {text!r}", loc, f"expressions may use {_ALLOWED}")


def _number(value: Any, node: ast.AST, loc: Loc, text: str) -> Any:
    """An operand of arithmetic: a boolean is not a number (``c + 3`` with ``c: true`` is an error, as ``true`` is)."""
    if isinstance(value, bool):
        name = f"{node.id!r} is" if isinstance(node, ast.Name) else "a boolean is"
        raise CnnCalcError(f"{name} {str(value).lower()} in expression {text!r}: booleans are not numbers", loc,
                           "give the param a number, or use it where true/false is expected")  # fmt: skip
    return value


def _bounded(value: Any, loc: Loc, text: str) -> Any:
    if getattr(value, "is_number", False) and value.is_finite is not True:  # sympy's zoo, nan: a division by 0
        raise CnnCalcError(
            f"expression {text!r} divides by zero", loc, "check the divisors (they may cancel, as H - H)"
        )
    if isinstance(value, (int, Fraction)) and abs(value) > MAX_INT:  # type: ignore[operator]
        raise CnnCalcError(
            f"expression {text!r} gives a number beyond the limit of 2**40",
            loc,
            "sizes and channel counts are far smaller",
        )
    return value
