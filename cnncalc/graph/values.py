"""Turning located YAML values into typed argument values (ints, tuples, floats, ...)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .. import symbolic as sym
from ..errors import CnnCalcError, did_you_mean
from ..layers import Arg
from ..parse.expr import evaluate
from ..parse.limits import MAX_INT
from ..parse.yamlnodes import YNode, YScalar, YSeq, describe

Env = Mapping[str, Any]


def scalar_value(node: YNode, env: Env, what: str) -> Any:
    """A number, bool or string; strings that are expressions are evaluated."""
    if not isinstance(node, YScalar):
        raise CnnCalcError(f"{what} must be a single value, found {describe(node)}", node.loc)
    v = node.value
    if isinstance(v, str):
        return evaluate(v, env, node.loc)
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT:
        digits = str(abs(v))
        shown = str(v) if len(digits) <= 40 else f"{'-' if v < 0 else ''}{digits[:12]}... ({len(digits)} digits)"
        raise CnnCalcError(
            f"{what} = {shown} is beyond the limit of 2**40", node.loc, "sizes and channel counts are far smaller"
        )
    return v


_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")
"""Scientific notation YAML 1.1 reads as a string (``1e-5``; ``1.0e-5`` is already a float)."""


def number(node: YNode, env: Env, what: str) -> int | float:
    """A plain number (YAML int or float, scientific notation such as ``1e-5``, or an expression)."""
    if isinstance(node, YScalar) and isinstance(node.value, str) and _FLOAT.fullmatch(node.value.strip()):
        parsed = float(node.value)
        if not math.isfinite(parsed):
            raise CnnCalcError(f"{what} = {node.value} is not a finite number", node.loc)
        return parsed
    value = scalar_value(node, env, what)  # a YAML int too: the 2**40 limit (a float field cannot overflow)
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise CnnCalcError(f"{what} must be a number, found {describe(node)}", node.loc)
    return float(value) if isinstance(value, Fraction) else value


def integer(node: YNode, env: Env, what: str, minimum: int | None = None, allow_fraction: bool = False) -> Any:
    """An integer (or integer-valued sympy expression), with an optional lower bound."""
    if isinstance(node, YScalar) and isinstance(node.value, bool):
        raise CnnCalcError(f"{what} must be an integer, found {describe(node)}", node.loc)
    if isinstance(node, YScalar) and isinstance(node.value, float):
        hint = f"write {int(node.value)}" if node.value.is_integer() else "sizes and counts are whole numbers"
        raise CnnCalcError(f"{what} must be an integer, found {describe(node)}", node.loc, hint)
    if isinstance(node, YScalar) and node.value is None:
        raise CnnCalcError(f"{what} must be an integer, found null", node.loc)
    value = scalar_value(node, env, what)
    if isinstance(value, (bool, float, str)) or value is None:
        shown = "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
        raise CnnCalcError(f"{what} must be an integer, found {shown}", node.loc)
    integral = sym.is_integer_valued(value)
    if integral is not True and not (allow_fraction and not sym.is_concrete(value)):
        text = node.value if isinstance(node, YScalar) and isinstance(node.value, str) else value
        raise CnnCalcError(
            f"{what} must be an integer, but {text} = {sym.to_text(value)} is not always one",
            node.loc,
            "use // for floor division",
        )
    if minimum is not None and sym.is_concrete(value) and value < minimum:
        raise CnnCalcError(f"{what} must be >= {minimum}, found {value}", node.loc)
    return value


def convert(arg: Arg, node: YNode, env: Env, name: str, ndim: int) -> Any:
    """Convert one written argument according to its schema; ``ndim`` sizes per-dimension tuples; a value outside
    the range torch accepts (``Arg.low``/``high``/``nonzero``) is an error here, while deriving."""
    value = _convert(arg, node, env, name, ndim)
    problem = arg.out_of_range(value)
    if problem is not None:
        raise CnnCalcError(f"{name} {problem}, found {value!r}", node.loc, "torch refuses it too")
    return value


def _convert(arg: Arg, node: YNode, env: Env, name: str, ndim: int) -> Any:
    what = name
    if isinstance(node, YScalar) and node.value is None:
        if arg.nullable:
            return None
        raise CnnCalcError(f"{what} must not be null", node.loc)
    kind = arg.kind
    if kind == "bool":
        if isinstance(node, YScalar) and isinstance(node.value, bool):
            return node.value
        raise CnnCalcError(f"{what} must be true or false, found {describe(node)}", node.loc)
    if kind == "float":
        return float(number(node, env, what))
    if kind == "str":
        if isinstance(node, YScalar) and isinstance(node.value, str) and node.value in arg.choices:
            return node.value
        found = node.value if isinstance(node, YScalar) and isinstance(node.value, str) else None
        raise CnnCalcError(
            f"{what} must be one of {', '.join(repr(c) for c in arg.choices)}, found "
            f"{repr(found) if found is not None else describe(node)}",
            node.loc,
            did_you_mean(str(found), arg.choices),
        )
    if isinstance(node, YScalar) and isinstance(node.value, str) and node.value in arg.strings:
        return node.value
    if kind == "int":
        return integer(node, env, what, arg.minimum)
    count = {"size": ndim, "sizeopt": ndim, "floats": ndim, "pad": 2 * ndim, "ints": 0}[kind]
    if isinstance(node, YSeq):
        if count and len(node.items) != count:
            raise CnnCalcError(
                f"{what} has {len(node.items)} entries, expected 1 or {count}", node.loc, _count_hint(kind, ndim)
            )
        if not node.items:
            raise CnnCalcError(f"{what} is an empty list", node.loc)
        return tuple(_entry(arg, item, env, f"{what}[{j}]") for j, item in enumerate(node.items))
    if (
        arg.strings
        and isinstance(node, YScalar)
        and isinstance(node.value, str)
        and node.value.isalpha()
        and node.value not in env
    ):
        raise CnnCalcError(
            f"{what} must be a number or one of {', '.join(repr(s) for s in arg.strings)}, found {node.value!r}",
            node.loc,
            did_you_mean(node.value, arg.strings),
        )
    one = _entry(arg, node, env, what)
    if kind == "ints":
        return (one,)
    return (one,) * count if count else one


def _entry(arg: Arg, node: YNode, env: Env, what: str) -> Any:
    if isinstance(node, YScalar) and node.value is None and arg.kind == "sizeopt":
        return None
    if arg.kind == "floats":
        value = number(node, env, what)
        if value <= 0:
            raise CnnCalcError(f"{what} must be a positive number, found {describe(node)}", node.loc)
        return float(value)
    return integer(node, env, what, arg.minimum)


def _count_hint(kind: str, ndim: int) -> str:
    if kind == "pad":
        return "padding lists (left, right) for the last dim first, then (top, bottom), then (front, back)"
    return f"give one value, or one per spatial dim ({ndim})"
