"""Solving validity conditions over the symbols: "needs H >= 8, H % 16 == 0".

Every supported layer maps a size ``i`` to ``floor((i + a)/s) + b``-like
expressions that are monotone in ``i``, so "size >= 1" conditions are
thresholds, found by exponential search and bisection; equalities (Add, Concat,
divisibility) are periodic with period M = lcm of the strides in the
expressions, so evaluating M consecutive sizes gives the valid residues.
Conditions evaluate exactly (sympy substitution, no floats).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import lcm
from typing import Any

from .. import symbolic as sym
from ..errors import CnnCalcError
from ..layers import Condition

_LIMIT = 2**31
_FINITE_SEARCH = 256  # periods searched for isolated valid sizes
_MAX_PERIOD = 4096  # longer periods are not enumerated: the conditions are checked as they stand


@dataclass(frozen=True)
class SymbolRange:
    """The valid values of one symbol: ``v >= minimum and v % modulus in residues``."""

    name: str
    minimum: int
    modulus: int
    residues: tuple[int, ...]
    only: tuple[int, ...] | None = None  # a finite set, when merged paths scale differently

    def describe(self) -> list[str]:
        """Readable conditions, e.g. ``["H >= 8", "H % 4 == 0"]``."""
        if self.only is not None:
            return [f"{self.name} in {{{', '.join(map(str, self.only))}}}"]
        out = []
        if self.minimum > 1:
            out.append(f"{self.name} >= {self.minimum}")
        if self.modulus > 1 and len(self.residues) < self.modulus:
            if len(self.residues) == 1:
                out.append(f"{self.name} % {self.modulus} == {self.residues[0]}")
            else:
                out.append(f"{self.name} % {self.modulus} in {{{', '.join(map(str, self.residues))}}}")
        return out

    def contains(self, value: int) -> bool:
        """Whether ``value`` satisfies this symbol's conditions."""
        if self.only is not None:
            return value in self.only
        return value >= self.minimum and value % self.modulus in self.residues

    def values(self, start: int, count: int) -> list[int]:
        """The first ``count`` valid values >= ``start``."""
        if self.only is not None:
            return [v for v in self.only if v >= start][:count]
        out: list[int] = []
        v = max(start, self.minimum)
        while len(out) < count:
            if self.contains(v):
                out.append(v)
            v += 1
        return out


@dataclass(frozen=True)
class Solution:
    """Per-symbol ranges, plus the conditions that tie several symbols together."""

    ranges: Mapping[str, SymbolRange]
    coupled: tuple[Condition, ...]  # conditions on several symbols, or on one that no range summarises

    def simplified(self, expr: Any) -> Any:
        """``expr`` rewritten under the symbols' proven divisibility, for people to read.

        Where the network is valid only for ``H % 4 == 0``, ``2·⌊H/4⌋`` is ``H/2`` and ``⌊H/2⌋`` is ``H/2``
        at every valid size: each symbol with one residue ``r`` modulo ``m`` is written ``m·k + r``, sympy
        drops the floors and ceilings that become exact, and ``k`` is written back as ``(H − r)/m``. The
        result is kept only when it has fewer roundings, and it is checked against ``expr`` at valid sizes.
        """
        steps = tuple(sorted((n, r.modulus, r.residues[0]) for n, r in self.ranges.items()
                             if r.only is None and r.modulus > 1 and len(r.residues) == 1))  # fmt: skip
        if not steps or not sym.has_symbols(expr):
            return expr
        return _simplified(expr, steps)

    def describe(self, machine: bool = False) -> list[str]:
        """All conditions as readable text (``512 == 32·(⌊H/4⌋ − 3)``), or in sympy's form for JSON."""
        out = [text for r in self.ranges.values() for text in r.describe()]
        out += [(sym.machine_text if machine else sym.to_text)(c.expr) for c in self.coupled]
        return out


@functools.lru_cache(maxsize=8192)
def _simplified(expr: Any, steps: tuple[tuple[str, int, int], ...]) -> Any:
    import sympy

    names = {s.name: s for s in expr.free_symbols}
    used = [(names[n], m, r) for n, m, r in steps if n in names]
    if not used:
        return expr
    ks = {s: sympy.Symbol(f"_k_{s.name}", integer=True, nonnegative=True) for s, _, _ in used}
    inner = expr.xreplace({s: m * ks[s] + r for s, m, r in used})
    back = inner.xreplace({ks[s]: (s - r) / sympy.Integer(m) for s, m, r in used})
    out = sympy.expand(back)
    if not out.as_coeff_Add()[0].is_integer:  # H/3 − 4/3 reads better as (H − 4)/3
        out = sympy.together(out)
    if _roundings(out) >= _roundings(expr):
        return expr
    for k in range(1, 4):  # the same value at valid sizes (each symbol m·k + r), or the original
        at = {s: m * k + r for s, m, r in used}
        if sympy.simplify(expr.xreplace(at) - out.xreplace(at)) != 0:
            return expr
    return out


def _roundings(expr: Any) -> int:
    import sympy

    return sum(1 for e in sympy.preorder_traversal(expr) if isinstance(e, (sympy.floor, sympy.ceiling)))


def solve(conditions: Sequence[Condition], symbols: Sequence[str]) -> Solution:
    """Summarise ``conditions`` per symbol; raise CnnCalcError when no size can satisfy one."""
    import sympy

    unique: dict[Any, Condition] = {}
    for c in conditions:
        unique.setdefault(c.expr, c)
    by_symbol: dict[str, list[Condition]] = {s: [] for s in symbols}
    coupled: list[Condition] = []
    for c in unique.values():
        names = sorted(s.name for s in c.expr.free_symbols)
        if len(names) == 1 and names[0] in by_symbol:
            by_symbol[names[0]].append(c)
        elif names:
            coupled.append(c)
    ranges = {}
    for name, conds in by_symbol.items():
        symbol = sympy.Symbol(name, integer=True, positive=True)
        ranges[name], unsolved = _solve_one(symbol, conds)
        coupled += unsolved
    return Solution(ranges, tuple(coupled))


def _holds(cond: Condition, symbol: Any, value: int) -> bool:
    return _truth(cond, {symbol: value})


def _truth(cond: Condition, values: Mapping[Any, int]) -> bool:
    """The condition at these values; false where it is undefined (a stride ``A - 1`` at A = 1 divides by 0)."""
    try:
        return bool(cond.expr.xreplace(values))
    except (TypeError, ZeroDivisionError):
        return False


def _solve_one(symbol: Any, conds: list[Condition]) -> tuple[SymbolRange, list[Condition]]:
    """The symbol's valid values, and the conditions left as they are (checked size by size, never summarised):
    equalities whose period is too long to enumerate (a float scale factor is a fraction over 2**23)."""
    import sympy

    thresholds = [c for c in conds if not isinstance(c.expr, (sympy.Eq, sympy.Ne))]
    equalities = [c for c in conds if isinstance(c.expr, (sympy.Eq, sympy.Ne))]
    minimum = 1
    for c in thresholds:
        minimum = max(minimum, _threshold(c, symbol))
    if not equalities:  # thresholds alone: every size from the minimum on
        return SymbolRange(symbol.name, minimum, 1, (0,)), []
    modulus = 1
    for c in equalities:
        modulus = lcm(modulus, _period(c.expr))
    if modulus > _MAX_PERIOD:
        return SymbolRange(symbol.name, minimum, 1, (0,)), equalities

    def ok(v: int) -> bool:
        return all(_holds(c, symbol, v) for c in equalities)

    residues = tuple(sorted({v % modulus for v in range(minimum, minimum + modulus) if ok(v)}))
    periodic = all((v % modulus in residues) == ok(v) for v in range(minimum + modulus, minimum + 3 * modulus))
    if residues and periodic:
        return SymbolRange(symbol.name, minimum, modulus, residues), []
    # Merged paths that scale differently agree only at isolated sizes, all below where they diverge.
    only = tuple(v for v in range(minimum, minimum + _FINITE_SEARCH * modulus) if ok(v))
    if not only:
        why = "; ".join(dict.fromkeys(c.why for c in equalities))  # one expect: gives a condition per dim
        raise CnnCalcError(
            f"no value of {symbol.name} makes the network valid: {why}",
            equalities[0].loc,
            "no input size gives the shape written in expect:; check it, or the layers before it"
            if all(c.expect for c in equalities)
            else "the paths being merged scale differently with the input size",
        )
    return SymbolRange(symbol.name, minimum, modulus, residues, only), []


def _threshold(cond: Condition, symbol: Any) -> int:
    """The smallest value from which a monotone condition holds."""
    if _holds(cond, symbol, 1):
        return 1
    hi = 2
    while not _holds(cond, symbol, hi):
        hi *= 2
        if hi > _LIMIT:
            raise CnnCalcError(f"no size of {symbol.name} up to 2**31 satisfies: {cond.why}", cond.loc)
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _holds(cond, symbol, mid):
            hi = mid
        else:
            lo = mid
    return hi


def _period(expr: Any) -> int:
    """lcm of the denominators inside floor/ceiling/Mod: the period of the expression's pattern."""
    import sympy

    period = 1
    for atom in expr.atoms(sympy.floor, sympy.ceiling):
        for term in sympy.Add.make_args(sympy.expand(atom.args[0])):
            coeff = term.as_coeff_Mul()[0]
            if coeff.is_Rational:
                period = lcm(period, int(coeff.q))
    for atom in expr.atoms(sympy.Mod):
        if atom.args[1].is_Integer:
            period = lcm(period, int(atom.args[1]))
    return period


def verification_points(solution: Solution, defaults: Mapping[str, int | None], extra: int = 2) -> list[dict[str, int]]:
    """The default sizes plus ``extra`` other valid assignments, for verification by torch.

    Candidates are the defaults, the smallest valid sizes, the next valid sizes above the
    defaults, then further valid sizes; each must also satisfy the conditions that tie
    several symbols together (e.g. ``D*H*W >= 2``).
    """
    ranges = solution.ranges
    if not ranges:
        return [{}]
    candidates: list[dict[str, int]] = []
    if all(defaults.get(n) is not None for n in ranges):
        candidates.append({n: int(defaults[n] or 0) for n in ranges})
    firsts = {n: r.values(r.minimum, 64) for n, r in ranges.items()}
    afters = {n: r.values((defaults.get(n) or r.minimum) + 1, 64) for n, r in ranges.items()}
    candidates.append({n: v[0] for n, v in firsts.items()})
    candidates += [{n: v[k] for n, v in afters.items() if k < len(v)} for k in range(64)]
    candidates += [{n: v[k] for n, v in firsts.items() if k < len(v)} for k in range(1, 64)]
    points: list[dict[str, int]] = []
    for c in candidates:
        if len(c) == len(ranges) and c not in points and all(holds(cond, c) for cond in solution.coupled):
            points.append(c)
        if len(points) == extra + 1:
            break
    return points


def holds(cond: Condition, point: Mapping[str, int]) -> bool:
    """Whether a condition holds at a point (every symbol in it given a value)."""
    values = {s: point[s.name] for s in cond.expr.free_symbols if s.name in point}
    return _truth(cond, values)
