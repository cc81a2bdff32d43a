"""Solving for unknowns (``cnncalc solve``): symbols declared ``null`` are found from ``expect:``.

The network is analysed once with the unknowns as symbols; every ``expect:`` becomes
equations over them. Integer candidates are searched in bounded ranges (kernel,
stride and dilation >= 1, padding >= 0, sizes >= 1), constraint by constraint so
that an equation in one unknown narrows it before the next is tried. Each solution
of the equations is then analysed concretely: that applies every rule torch
applies (a pooling padding above half the kernel, a kernel larger than its input),
so each solution is either accepted or refused with torch's reason.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .. import symbolic as sym
from ..errors import CnnCalcError, Loc
from ..formula import Step, output_dim
from ..graph import expand
from ..layers import Condition
from ..parse.spec import ArchSpec
from .algebra import Working, working
from .shapes import Analysis, analyze

MAX_CANDIDATES = 2_000_000
_INPUT_SIZE_MAX = 4096


@dataclass(frozen=True)
class Unknown:
    """One unknown: where it is used and the range searched."""

    name: str
    uses: tuple[str, ...]  # e.g. ("conv1.kernel_size",)
    low: int
    high: int


@dataclass(frozen=True)
class Candidate:
    """A solution of the equations; ``analysis`` is None when torch's rules refuse it (``reason``)."""

    values: Mapping[str, int]
    analysis: Analysis | None
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.analysis is not None


@dataclass(frozen=True)
class Solved:
    """What ``cnncalc solve`` found."""

    unknowns: tuple[Unknown, ...]
    constraints: tuple[Condition, ...]
    candidates: tuple[Candidate, ...]
    searched: int
    truncated: bool
    impossible: str = ""  # when there is no solution: the constraint that cannot hold, and why
    impossible_loc: Loc | None = None  # where that constraint is written
    impossible_constraint: int | None = None  # which of ``constraints`` it is
    workings: tuple[Working | None, ...] = ()  # per constraint: the algebra, when it has a worked form


def solve_unknowns(spec: ArchSpec, fixed: Mapping[str, int], high: int | None = None, limit: int = 100,
                   order: Callable[[Mapping[str, int]], Any] | None = None) -> Solved:  # fmt: skip
    """Every assignment of the null symbols (not in ``fixed``) that makes each ``expect:`` hold.

    Solutions come in increasing values (the first unknown first), or by the key ``order`` when given (the
    calculators put the conventional answer first); the first ``limit`` of them are analysed.
    """
    declared = {n: d for n, d, _ in spec.symbols}
    names = tuple(n for n, d in declared.items() if d is None and n not in fixed)
    if not names:
        raise CnnCalcError(
            "nothing to solve: the file declares no unknown symbols",
            spec.loc,
            "declare the unknowns as null, e.g. symbols: {F: null}, and use them, e.g. kernel_size: F",
        )
    given = {n: d for n, d in declared.items() if d is not None and n not in fixed}
    base = {**given, **fixed}
    graph = expand(spec, {**base, **{n: sym.symbol(n) for n in names}})
    unknowns = _unknowns(graph, names, base, high)
    shift = {u.name: sym.symbol(u.name) - 1 for u in unknowns if u.low == 0}  # padding may be 0
    main = analyze(expand(spec, {**base, **{n: shift.get(n, sym.symbol(n)) for n in names}}))
    if main.expect_failures:
        f = main.expect_failures[0]
        why = (f"{f.name}: expect {_shape(f.expected)} cannot hold for any positive {', '.join(names)}: "
               f"the derived shape is {_shape(f.found)}")  # fmt: skip
        return Solved(tuple(unknowns), (), (), 0, False, why, f.loc)
    first: dict[Any, Condition] = {}
    for c in main.conditions:
        if c.expect:
            first.setdefault(c.expr, c)  # the first dim that gives it (H before W: W says "same as H")
    constraints = tuple(first.values())
    if not constraints:
        raise CnnCalcError(
            f"no expect: constrains {', '.join(names)}",
            spec.loc,
            "add the known output size to a layer, e.g. expect: [16, 504, 504]",
        )
    free = set(names) - {s.name for c in constraints for s in c.expr.free_symbols}
    if free:
        raise CnnCalcError(
            f"no expect: depends on {', '.join(sorted(free))}, so any value would do",
            spec.loc,
            "add an expectation on a layer after the one that uses it",
        )
    offsets = {n: (1 if n in shift else 0) for n in names}
    workings = _workings(main, constraints, unknowns, tuple(shift))
    found, searched, failed = _search(constraints, unknowns, offsets)
    impossible, impossible_loc = "", None
    if failed is not None:  # the text starts with the constraint's ``why``, which a calculator renames
        cond = constraints[failed]
        where = ", ".join(f"{u.name} in {u.low}..{u.high}" for u in unknowns if u.name in names)
        shown = sym.to_text(_shown(cond.expr, tuple(shift)))
        impossible, impossible_loc = f"{cond.why} cannot hold for any {where} ({shown})", cond.loc
    truncated = len(found) > limit
    candidates = []
    position = {n: j for j, n in enumerate(names)}
    found = sorted(({n: v[n] for n in sorted(v, key=position.__getitem__)} for v in found),
                   key=lambda v: (order(v) if order is not None else (), tuple(v.values())))  # fmt: skip
    for values in found[:limit]:
        try:
            concrete = analyze(expand(spec, {**base, **values}))
            candidates.append(Candidate(values, concrete))
        except CnnCalcError as e:
            candidates.append(Candidate(values, None, e.message))
    return Solved(tuple(unknowns), constraints, tuple(candidates), searched, truncated, impossible, impossible_loc,
                  failed, workings)  # fmt: skip


def _workings(main: Analysis, constraints: Sequence[Condition], unknowns: Sequence[Unknown],
              shifted: tuple[str, ...]) -> tuple[Working | None, ...]:  # fmt: skip
    """The algebra of each constraint, written in the unknowns as the user declared them.

    A padding unknown is analysed as ``p - 1`` (symbols are positive; padding may be 0), so
    the working puts the user's ``p`` back: the symbol stands for ``p + 1``.
    """
    from .derivation import derive

    lows = {u.name: u.low for u in unknowns}
    steps: dict[str, list[Step]] = {}
    out: list[Working | None] = []
    for c in constraints:
        formula = ""
        if c.node and c.node not in steps:
            try:
                steps[c.node] = [s for d in derive(main, None, c.node) for s in d.steps]
            except CnnCalcError:  # a group row (block use): no formula of its own
                steps[c.node] = []
        rounding = None
        equation = _shown(c.expr, shifted)
        for step in steps.get(c.node, []):
            if step.formula is not None and step.quantity == output_dim(c.dim):
                env = {k: _shown(v, shifted) for k, v in step.env.items()}
                formula = step.formula.text(env)
                rounding = _rounding(step.formula, env, equation)
        out.append(working(equation, tuple(lows), formula, lows, rounding))
    return tuple(out)


def _rounding(formula: Any, env: Mapping[str, Any], equation: Any) -> tuple[Any, bool, Any] | None:
    """``(N, up, rest)`` when a formula reads ``⌊N⌋ + rest`` and equals the constrained size (a ceil_mode
    pool that drops its last window does not: its working is left to the search)."""
    from ..formula import Round, Sum

    if not isinstance(formula, Sum):
        return None
    rounds = [t for sign, t in formula.terms if isinstance(t, Round) and sign == 1]
    if len(rounds) != 1:
        return None
    size = equation.rhs if equation.lhs.is_number else equation.lhs
    if sym.decide(sym.equal(formula.value(env), size)) is not True:
        return None
    rest = sum((sign * t.value(env) for sign, t in formula.terms if t is not rounds[0]), 0)
    return rounds[0].arg.value(env), rounds[0].up, rest


def _shown(value: Any, shifted: tuple[str, ...]) -> Any:
    """``value`` with each shifted unknown (analysed as ``p - 1``) written as the user's ``p``."""
    if not shifted or not hasattr(value, "xreplace"):
        return value
    import sympy

    return value.xreplace({sym.symbol(n): sympy.Symbol(n, integer=True, nonnegative=True) + 1 for n in shifted})


def _shape(shape: Sequence[Any]) -> str:
    return "[" + ", ".join(sym.to_text(x) for x in shape) + "]"


def _unknowns(graph: Any, names: tuple[str, ...], base: Mapping[str, int], high: int | None) -> list[Unknown]:
    uses: dict[str, list[tuple[str, int]]] = {n: [] for n in names}
    for j, d in enumerate(graph.input_shape):
        for s in getattr(d, "free_symbols", ()):
            if s.name in uses:
                uses[s.name].append((f"input[{j}]", 1))
    for node in graph.nodes:
        for arg, value in node.args.values.items():
            schema = node.layer.args.get(arg)
            for v in value if isinstance(value, tuple) else (value,):
                for s in getattr(v, "free_symbols", ()):
                    if s.name in uses:
                        lowest = schema.minimum if schema is not None and schema.minimum is not None else 1
                        uses[s.name].append((f"{node.name}.{arg}", lowest))
    sizes = [d for d in graph.input_shape[1:] if isinstance(d, int)]
    hyper = 2 * max(sizes, default=32)  # a kernel may reach over padding as large as the input
    out = []
    for n in names:
        where = list(dict.fromkeys(u for u, _ in uses[n]))
        low = min((m for _, m in uses[n]), default=1)
        is_size = any(u.startswith("input") for u in where)
        default = _INPUT_SIZE_MAX if is_size else hyper if low >= 1 else max(1, hyper // 2)  # padding: half
        out.append(Unknown(n, tuple(where), low, high or default))
    return out


def _search(
    constraints: Sequence[Condition], unknowns: Sequence[Unknown], offsets: Mapping[str, int]
) -> tuple[list[dict[str, int]], int, int | None]:
    """All assignments satisfying every constraint (unknowns bound constraint by constraint), the number
    of candidates tried, and when there is none, the index of the constraint that cannot hold."""
    ranges = {u.name: range(u.low, u.high + 1) for u in unknowns}
    compiled = [(_compile(c.expr), {s.name for s in c.expr.free_symbols}, c, i) for i, c in enumerate(constraints)]
    compiled.sort(key=lambda t: math.prod(len(ranges[n]) for n in t[1]))
    partial: list[dict[str, int]] = [{}]
    bound: set[str] = set()
    searched = 0
    for fn, involved, cond, index in compiled:
        new = sorted(involved - bound)
        size = len(partial) * math.prod(len(ranges[n]) for n in new)
        if size > MAX_CANDIDATES:
            raise CnnCalcError(
                f"too many candidates to search ({size:,}) for {', '.join(new)}",
                cond.loc,
                "fix some unknowns with --set NAME=N, or lower the search bound with --max",
            )
        nxt = []
        for p in partial:
            for combo in itertools.product(*(ranges[n] for n in new)):
                values = {**p, **dict(zip(new, combo))}
                searched += 1
                if fn({n: v + offsets[n] for n, v in values.items()}):
                    nxt.append(values)
        partial, bound = nxt, bound | set(new)
        if not partial:
            return [], searched, index
    return partial, searched, None


def _compile(expr: Any) -> Callable[[Mapping[str, int]], Any]:
    """An exact evaluator (ints and Fractions, no floats) for the sympy forms our rules produce."""
    import sympy

    if expr is sympy.true or expr is sympy.false or expr.is_Rational:
        const: Any = bool(expr) if expr in (sympy.true, sympy.false) else Fraction(int(expr.p), int(expr.q))
        return lambda env: const
    if expr.is_Symbol:
        name: str = expr.name
        return lambda env: env[name]
    parts = [_compile(a) for a in expr.args]
    ops: dict[type, Callable[[list[Any]], Any]] = {
        sympy.Add: sum,
        sympy.Mul: math.prod,
        sympy.floor: lambda v: math.floor(v[0]),
        sympy.ceiling: lambda v: math.ceil(v[0]),
        sympy.Mod: lambda v: v[0] % v[1],
        sympy.Max: max,
        sympy.Min: min,
        sympy.Eq: lambda v: v[0] == v[1],
        sympy.Ne: lambda v: v[0] != v[1],
        sympy.Ge: lambda v: v[0] >= v[1],
        sympy.Gt: lambda v: v[0] > v[1],
        sympy.Le: lambda v: v[0] <= v[1],
        sympy.Lt: lambda v: v[0] < v[1],
        sympy.And: all,
        sympy.Or: any,
    }
    if isinstance(expr, sympy.Pow) and expr.args[1].is_Integer:
        e = int(expr.args[1])
        return lambda env: Fraction(parts[0](env)) ** e
    for kind, op in ops.items():
        if isinstance(expr, kind):
            return lambda env: op([p(env) for p in parts])
    return lambda env: bool(expr.xreplace({sympy.Symbol(k, integer=True, positive=True): v for k, v in env.items()}))


__all__ = ["Candidate", "Loc", "Solved", "Unknown", "solve_unknowns"]
