"""Arithmetic that works the same on Python ints and sympy expressions.

Layer rules are written once against these helpers. With concrete sizes they
stay on plain ints (fast, no sympy import); as soon as a value is a sympy
expression they dispatch to sympy, imported lazily on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    import sympy

Num = Union[int, "sympy.Expr"]
"""A size or count: a Python int, or a sympy expression over positive integer symbols."""


def is_concrete(x: object) -> bool:
    """True for a plain Python number (int, float, Fraction), not a sympy expression."""
    return isinstance(x, (int, float, Fraction))


def symbol(name: str) -> sympy.Symbol:
    """A positive-integer sympy symbol (sizes are positive integers)."""
    import sympy

    return sympy.Symbol(name, integer=True, positive=True)


def floordiv(a: Any, b: Any) -> Any:
    """``floor(a / b)`` for ints or sympy expressions, in a simple canonical form.

    Nested floors merge (``floor((floor(y) + r)/b) == floor((y + r)/b)`` for integer
    r and b > 0), so a chain of strided layers reads ``floor(H/8)``; and
    ``floor((x + b - 1)/b)`` is written ``ceiling(x/b)``, as a 'same'-padded stride gives.
    """
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    import sympy

    a, b = sympy.sympify(a), sympy.sympify(b)
    if not (b.is_Integer and b.is_positive):
        return sympy.floor(a / b)
    a = _ceilings_as_floors(a)
    for term in sympy.Add.make_args(a):
        if isinstance(term, sympy.floor):
            rest = a - term
            if rest.is_integer:
                return _canonical_floor((term.args[0] + rest) / b)
    return _canonical_floor(a / b)


def _ceilings_as_floors(a: Any) -> Any:
    """``ceiling(p/q)`` -> ``floor((p + q - 1)/q)`` so nested-floor merging applies to it too."""
    import sympy

    for term in sympy.Add.make_args(a):
        if isinstance(term, sympy.ceiling):
            p, q = sympy.fraction(sympy.together(term.args[0]))
            if q.is_Integer and q.is_positive and p.is_integer:
                return _ceilings_as_floors(a - term + sympy.floor((p + q - 1) / q))
    return a


def _canonical_floor(q: Any) -> Any:
    """``floor(q)``, with ``floor(x/b + (b-1)/b + n)`` written as ``ceiling(x/b) + n``."""
    import sympy

    const, rest = q.as_coeff_Add()
    num, den = sympy.fraction(sympy.together(rest))
    if den.is_Integer and den > 1 and num.is_integer:
        whole = sympy.floor(const)
        if const - whole == sympy.Rational(den - 1, den):
            return sympy.ceiling(rest) + whole
    return sympy.floor(q)


def truediv(a: Any, b: Any) -> Any:
    """Exact division: an int when it divides evenly, else a Fraction or sympy Rational."""
    if isinstance(a, int) and isinstance(b, int):
        q = Fraction(a, b)
        return q.numerator if q.denominator == 1 else q
    import sympy

    return sympy.sympify(a) / sympy.sympify(b)


def mod(a: Any, b: Any) -> Any:
    """``a mod b`` for ints or sympy expressions."""
    if isinstance(a, int) and isinstance(b, int):
        return a % b
    import sympy

    return sympy.Mod(a, b)


def maximum(a: Any, b: Any) -> Any:
    """``max(a, b)`` for ints or sympy expressions."""
    if is_concrete(a) and is_concrete(b):
        return max(a, b)
    import sympy

    return sympy.Max(a, b)


def minimum(a: Any, b: Any) -> Any:
    """``min(a, b)`` for ints or sympy expressions."""
    if is_concrete(a) and is_concrete(b):
        return min(a, b)
    import sympy

    return sympy.Min(a, b)


def product(values: Any) -> Any:
    """The product of a sequence (1 when empty)."""
    out: Any = 1
    for v in values:
        out = out * v
    return out


def decide(cond: Any) -> bool | None:
    """True/False when a condition is decided, None when it depends on symbols."""
    if isinstance(cond, bool):
        return cond
    import sympy

    if cond is sympy.true or cond == sympy.true:
        return True
    if cond is sympy.false or cond == sympy.false:
        return False
    if isinstance(cond, sympy.Eq):
        values = set(_samples(cond.lhs - cond.rhs))
        if len(values) > 1:
            return None  # differs between sizes: depends on the symbols (and simplify would be slow to say so)
        if sympy.count_ops(cond.lhs - cond.rhs) > _SIMPLIFY_OPS:
            return None  # left as a condition: the solver finds it always holds (simplify can take minutes)
        diff = sympy.simplify(cond.lhs - cond.rhs)
        if diff == 0:
            return True
        if diff.is_number:
            return False
    return None


_PROBES = (1, 2, 3, 5, 8, 13, 24, 61, 224, 1000)
_SIMPLIFY_OPS = 40


def _samples(expr: Any) -> list[Any]:
    """``expr`` at a few sizes (every symbol the same size, then each symbol apart): exact values."""
    names = sorted(expr.free_symbols, key=str)
    points = [dict.fromkeys(names, v) for v in _PROBES]
    points += [{s: v + k for k, s in enumerate(names)} for v in _PROBES[:4]]
    return [expr.xreplace(p) for p in points] if names else [expr]


def agree(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are equal at every probe size (evidence, not proof)."""
    import sympy

    return set(_samples(sympy.sympify(a) - sympy.sympify(b))) == {0}


def equal(a: Any, b: Any) -> Any:
    """A condition ``a == b``: a bool when decided, else a sympy Eq."""
    if is_concrete(a) and is_concrete(b):
        return bool(a == b)
    import sympy

    return sympy.Eq(a, b)


def substitute(x: Any, values: Mapping[str, int]) -> Any:
    """Replace symbols by integers (by name); ints pass through unchanged."""
    if is_concrete(x) or isinstance(x, (bool, str)) or x is None:
        return x
    if isinstance(x, tuple):
        return tuple(substitute(v, values) for v in x)
    mapping = {s: values[s.name] for s in x.free_symbols if s.name in values}
    out = x.xreplace(mapping)
    if getattr(out, "is_Integer", False):
        return int(out)
    if getattr(out, "is_Rational", False):
        return Fraction(int(out.p), int(out.q))
    if getattr(out, "is_Boolean", False) and out in (True, False):
        return bool(out)
    return out


def to_text(x: Any) -> str:
    """A stable text form: ``64``, ``floor(H/2)``, ``H - 4``."""
    if isinstance(x, Fraction):
        return f"{x.numerator}/{x.denominator}"
    return str(x)


def is_integer_valued(x: Any) -> bool | None:
    """True if ``x`` is certainly an integer, False if certainly not, None if unknown."""
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    if isinstance(x, (float, Fraction)):
        return False
    result: bool | None = x.is_integer
    return result
