"""The algebra behind a solved ``expect:`` (``cnncalc solve`` and ``conv --out``), as data.

``504 = ⌊(512 + 2·0 − F)/1⌋ + 1 ⇒ 503 ≤ 512 − F < 504 ⇒ 8 < F ≤ 9 ⇒ F = 9``: the
layer's formula with the numbers in, then, when it floors, the interval the
floor came from (``m = ⌊N⌋`` means ``m ≤ N < m + 1``), solved for the unknown
when there is one. Only the forms the layer rules produce are worked
(``a·⌊N⌋ + b`` and ``a·⌈N⌉ + b`` with ``N`` linear, or a linear expression);
anything else is listed without working, and the search finds its solutions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bound:
    """``low ≤ middle < high`` (``strict`` says which sides are strict): an interval a rounding came from."""

    low: Any
    middle: Any
    high: Any
    low_strict: bool
    high_strict: bool


@dataclass(frozen=True)
class Working:
    """How one constraint is solved: ``target = formula`` and what follows from it."""

    target: Any  # the number written in expect:
    formula: str  # the layer's formula with numbers in (readable), or "" when the layer has none
    expr: Any  # the derived size in the unknowns
    bracket: Bound | None  # the interval around the floor's or ceiling's argument
    interval: Bound | None  # that interval solved for the one unknown
    values: tuple[int, ...] | None  # the integer solutions in the interval (None: found by search)
    unknown: str = ""
    no_integer: bool = False  # the rounding would have to equal a fraction: no solution at all


def working(equation: Any, unknowns: Sequence[str], formula: str = "", low: Mapping[str, int] | None = None,
            rounding: tuple[Any, bool, Any] | None = None) -> Working | None:  # fmt: skip
    """The working of ``Eq(target, expr)`` (either side may be the number); None when it is not worked.

    ``rounding`` is ``(N, up, rest)`` when the layer's formula reads ``⌊N⌋ + rest`` (``⌈N⌉`` when ``up``):
    sympy may have simplified the floor away (``⌊p + 217/2⌋ = p + 108`` for an integer p), but the
    interval it came from is still the working a person follows.
    """
    import sympy

    lhs, rhs = equation.lhs, equation.rhs
    if not (lhs.is_number or rhs.is_number):
        return None
    target, expr = (lhs, rhs) if lhs.is_number else (rhs, lhs)
    names = sorted({s.name for s in expr.free_symbols} & set(unknowns))
    rounds = list(expr.atoms(sympy.floor, sympy.ceiling))
    one = names[0] if len(names) == 1 else ""
    x = next((s for s in expr.free_symbols if s.name == one), None)
    smallest = (low or {}).get(one, 1)
    if rounding is not None and not _whole(rounding[0]):
        inner, up, rest = rounding
        return _rounded(target, formula, expr, sympy.expand(inner), up, rest, 1, x, one, smallest)
    if len(rounds) > 1 or expr.atoms(sympy.Min, sympy.Max, sympy.Mod):
        return None
    if not rounds:
        if x is None or not expr.is_polynomial(x) or sympy.degree(expr, x) != 1:
            return Working(target, formula, expr, None, None, None, one)
        roots = sympy.solve(sympy.Eq(target, expr), x)
        if not roots:  # no positive size solves it (the symbol is a positive integer)
            return Working(target, formula, expr, None, None, (), one)
        value = roots[0]
        ok = value.is_integer and value >= smallest
        return Working(target, formula, expr, None, Bound(value, x, value, False, False),
                       (int(value),) if ok else (), one)  # fmt: skip
    r = rounds[0]
    rest, part = expr.as_independent(r, as_Add=True)
    scale = sympy.simplify(part / r)
    if r in scale.atoms(sympy.floor, sympy.ceiling) or scale.free_symbols:
        return None
    return _rounded(target, formula, expr, sympy.expand(r.args[0]), isinstance(r, sympy.ceiling), rest, scale, x,
                    one, smallest)  # fmt: skip


def _whole(inner: Any) -> bool:
    """Whether ``N`` is an integer for integer unknowns (a division by 1): then its floor is itself."""
    import sympy

    if not inner.free_symbols:
        return bool(inner.is_integer)
    if not inner.is_polynomial():
        return False
    return all(sympy.Rational(c).q == 1 for c in sympy.Poly(inner, *inner.free_symbols).coeffs())


def _rounded(target: Any, formula: str, expr: Any, inner: Any, up: bool, rest: Any, scale: Any, x: Any, one: str,
             smallest: int) -> Working:  # fmt: skip
    """``target = scale·⌊inner⌋ + rest`` (``⌈⌉`` when ``up``) worked back to an interval for ``x``."""
    import sympy

    m = (target - rest) / scale
    if m.is_number and not m.is_integer:
        return Working(target, formula, expr, None, None, (), one, no_integer=True)
    bracket = Bound(m - 1, inner, m, True, False) if up else Bound(m, inner, m + 1, False, True)
    if x is None or m.free_symbols or not inner.is_polynomial(x) or sympy.degree(inner, x) != 1:
        return Working(target, formula, expr, bracket, None, None, one)
    u, v = inner.coeff(x, 1), inner.coeff(x, 0)
    lo, hi = (bracket.low - v) / u, (bracket.high - v) / u
    lo_strict, hi_strict = bracket.low_strict, bracket.high_strict
    if u < 0:
        lo, hi, lo_strict, hi_strict = hi, lo, hi_strict, lo_strict
    first = sympy.floor(lo) + 1 if lo_strict or not lo.is_integer else lo
    last = sympy.ceiling(hi) - 1 if hi_strict or not hi.is_integer else hi
    values = tuple(range(max(int(first), smallest), int(last) + 1))
    return Working(target, formula, expr, bracket, Bound(lo, x, hi, lo_strict, hi_strict), values, one)


__all__ = ["Bound", "Working", "working"]
