"""Which input sizes a traced model accepts, stated exactly: per dimension, and whether the dims are tied.

The conditions of the symbolic spec are first solved per symbol (thresholds and
periods, as for architecture files: ``H ≥ 16``, ``H ≡ 0 (mod 16)``); a symbol
whose conditions involve only itself is exact for every size. Conditions on
several symbols (a flatten size ``16·⌊(H − 6)/4⌋·⌊(W − 6)/4⌋ == 576``, a residual
``x + x.transpose(2, 3)``) are evaluated exactly (rational arithmetic) over every
pair of valid sizes up to a limit: the valid set is then a product of the per-dim
sets (independent), the diagonal (``H = W required``), or blocks of sizes
(``H in 28..31 with W in 28..31; ...``), each said so. :class:`AcceptedSizes`
carries the same facts as data, so a program can test a size against it
(:meth:`AcceptedSizes.contains`) and JSON can carry it (docs/json.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from typing import Any

from ..analysis.conditions import Solution, SymbolRange, solve
from ..errors import CnnCalcError
from ..layers import Condition

_LIMITS = {1: 4096, 2: 256, 3: 40}  # the largest size tried per dim when dims are tied (about 65,000 points)


@dataclass(frozen=True)
class DimSizes:
    """The valid sizes of one dim on its own: ``size >= minimum``, ``size % modulus in residues``, or ``only``."""

    name: str
    minimum: int
    modulus: int
    residues: tuple[int, ...]
    only: tuple[int, ...] | None = None  # a finite set
    upto: int | None = None  # only sizes up to this were examined (a dim tied to another)

    def contains(self, size: int) -> bool:
        """Whether ``size`` is valid for this dim (for a tied dim: for some size of the others)."""
        if self.only is not None:
            return size in self.only
        return size >= self.minimum and size % self.modulus in self.residues

    def text(self) -> str:
        """``H in 28..31``, ``H ≥ 16``, ``H ≥ 16, H ≡ 0 (mod 16)``, ``any H``."""
        if self.only is not None:
            return f"{self.name} in {runs(self.only)}" if self.only else f"no {self.name}"
        parts = [f"{self.name} ≥ {self.minimum}"] if self.minimum > 1 else []
        if self.modulus > 1 and len(self.residues) < self.modulus:
            parts.append(f"{self.name} ≡ {', '.join(map(str, self.residues))} (mod {self.modulus})")
        return ", ".join(parts) or f"any {self.name}"

    def to_json(self) -> dict[str, Any]:
        """``{"name": "H", "min": 16, "modulus": 16, "residues": [0], "only": null}``."""
        return {"name": self.name, "min": self.minimum, "modulus": self.modulus, "residues": list(self.residues),
                "only": None if self.only is None else list(self.only)}  # fmt: skip


@dataclass(frozen=True)
class Block:
    """Sizes valid together: every combination of one size per dim from ``sizes`` (tied dims)."""

    sizes: tuple[tuple[int, ...], ...]  # one sorted tuple of sizes per tied dim

    def contains(self, values: Sequence[int]) -> bool:
        """Whether this combination of sizes is in the block."""
        return all(v in s for v, s in zip(values, self.sizes))


@dataclass(frozen=True)
class AcceptedSizes:
    """The input sizes a model accepts: one :class:`DimSizes` per symbol, and how the symbols are tied.

    ``tie`` is "independent" (any combination of valid sizes), "equal" (every tied dim the same size),
    "blocks" (the combinations in ``blocks``, up to ``limit``), or "none" (no size works).
    """

    dims: tuple[DimSizes, ...]
    tie: str
    tied: tuple[str, ...] = ()  # the symbols the tie is about (the others are independent of them)
    blocks: tuple[Block, ...] = ()
    limit: int | None = None  # tied sizes were examined up to this size per dim
    conditions: tuple[str, ...] = ()  # the conditions that tie them (machine form)
    reason: str = ""  # why no size works

    def contains(self, values: Mapping[str, int]) -> bool:
        """Whether the model accepts these sizes (one per symbol); a tied size above ``limit``: False."""
        if self.tie == "none":
            return False
        if not all(d.contains(values[d.name]) for d in self.dims):
            return False
        tied = [values[n] for n in self.tied]
        if self.tie == "equal":
            return len(set(tied)) == 1
        if self.tie == "blocks":
            return any(b.contains(tied) for b in self.blocks)
        return True

    def example(self) -> dict[str, int | None] | None:
        """The accepted sizes nearest to square and smallest (every dim, when dims are tied), or None."""
        if self.tie == "none":
            return None
        if self.tie == "blocks":
            corners = [tuple(s[0] for s in b.sizes) for b in self.blocks]
            best = min(corners, key=lambda c: (max(c), sum(c)))
            tied = dict(zip(self.tied, best))
        elif self.tie == "equal":
            v = next((v for v in range(1, (self.limit or 0) + 1) if all(d.contains(v) for d in self.dims
                                                                          if d.name in self.tied)), None)  # fmt: skip
            if v is None:
                return None
            tied = dict.fromkeys(self.tied, v)
        else:
            tied = {}
        return {d.name: tied.get(d.name) for d in self.dims}

    @property
    def text(self) -> str:
        """One wording everywhere (CLI, API ``accepted``, notebooks): see the module doc."""
        if self.tie == "none":
            return self.reason
        free = [d.text() for d in self.dims if d.name not in self.tied]
        if self.tie == "independent":
            texts = [d.text() for d in self.dims]
            sep = "; " if any(", " in t for t in texts) else ", "
            return sep.join(texts) + (" (independent)" if len(self.dims) > 1 else "")
        names = " = ".join(self.tied)
        if self.tie == "equal":
            first = next(d for d in self.dims if d.name == self.tied[0])
            head = f"{names} required" + (f", {first.text()}" if first.text() != f"any {first.name}" else "")
        else:
            listed = [" with ".join(f"{n} {_one(s)}" for n, s in zip(self.tied, b.sizes)) for b in self.blocks[:10]]
            more = f"; ... ({len(self.blocks)} blocks)" if len(self.blocks) > 10 else ""
            head = f"{_and(self.tied)} tied: " + "; ".join(listed) + more
        if self.limit is not None:
            head += f" (sizes up to {self.limit} examined)"
        return "; ".join([head, *free]) + (" (independent of " + _and(self.tied) + ")" if free else "")

    def to_json(self) -> dict[str, Any]:
        """The structured form (docs/json.md): a program tests a size with the same rules as :meth:`contains`."""
        return {"text": self.text, "tie": self.tie, "tied": list(self.tied), "dims": [d.to_json() for d in self.dims],
                "blocks": [[list(s) for s in b.sizes] for b in self.blocks], "limit": self.limit,
                "conditions": list(self.conditions)}  # fmt: skip


def _and(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def _one(sizes: Sequence[int]) -> str:
    return f"= {sizes[0]}" if len(sizes) == 1 else f"in {runs(sizes)}"


def runs(values: Sequence[int], most: int = 6) -> str:
    """``28..31``, ``16..19, 28..31``, ``30, 34, 38, ...`` (at most ``most`` runs)."""
    parts: list[list[int]] = []
    for v in values:
        if parts and v == parts[-1][-1] + 1:
            parts[-1].append(v)
        else:
            parts.append([v])
    text = [f"{r[0]}" if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in parts[:most]]
    return ", ".join(text) + (", ..." if len(parts) > most else "")


def accepted(conditions: Sequence[Condition], names: Sequence[str]) -> AcceptedSizes | None:
    """The sizes that satisfy ``conditions`` over the symbols ``names``; None without symbols."""
    if not names:
        return None
    try:
        solution = solve(conditions, names)
    except CnnCalcError as e:
        return AcceptedSizes((), "none", reason=f"no input size works: {e.message}")
    dims = {n: _dim(solution.ranges[n]) for n in names}
    if not solution.coupled:
        return AcceptedSizes(tuple(dims.values()), "independent")
    return _tied(solution, dims, list(names))


def _dim(r: SymbolRange, upto: int | None = None) -> DimSizes:
    return DimSizes(r.name, r.minimum, r.modulus, r.residues, r.only, upto)


def _tied(solution: Solution, dims: dict[str, DimSizes], names: list[str]) -> AcceptedSizes:
    """Conditions on several symbols: every combination of valid sizes up to a limit, evaluated exactly."""
    from .. import symbolic as sym

    coupled = list(solution.coupled)
    tied = [n for n in names if any(n in {s.name for s in c.expr.free_symbols} for c in coupled)]
    span = _LIMITS.get(len(tied), 24)
    limit = max(dims[n].minimum for n in tied) + span - 1  # from the smallest size each dim allows on its own
    values = [[v for v in range(dims[n].minimum, limit + 1) if dims[n].contains(v)] for n in tied]
    tests = [_evaluator(c, tied) for c in coupled]
    good = [combo for combo in product(*values) if all(t(combo) for t in tests)]
    machine = tuple(sym.machine_text(c.expr) for c in coupled)
    if not good:
        why = "; ".join(dict.fromkeys(sym.to_text(c.expr) for c in coupled))
        return AcceptedSizes((), "none", reason=f"no input size works ({_and(tied)} up to {limit} tried): {why}")
    seen = [sorted({g[k] for g in good}) for k in range(len(tied))]
    projected = {n: DimSizes(n, s[0], 1, (0,), tuple(s), limit) for n, s in zip(tied, seen)}
    everything = len(good) == len(list(product(*values)))
    if everything:  # the tie holds at every valid size examined: each dim's own conditions say it all
        return AcceptedSizes(tuple(dims.values()), "independent", conditions=machine)
    if len(good) == len(list(product(*seen))):  # a product of per-dim sets, narrower than each dim's own
        out = tuple(projected.get(n, dims[n]) for n in names)
        return AcceptedSizes(out, "independent", (), (), limit, machine)
    final = tuple(dims[n] if n not in projected else DimSizes(n, dims[n].minimum, dims[n].modulus, dims[n].residues,
                                                            dims[n].only, limit) for n in names)  # fmt: skip
    if len(good) > 1 and all(len(set(g)) == 1 for g in good):
        return AcceptedSizes(final, "equal", tuple(tied), (), limit, machine)
    return AcceptedSizes(final, "blocks", tuple(tied), _blocks(good, len(tied)), limit, machine)


def _blocks(good: list[tuple[int, ...]], n: int) -> tuple[Block, ...]:
    """The valid combinations as blocks: consecutive first sizes whose valid rest is the same, recursively."""
    if n == 1:
        return (Block((tuple(sorted({g[0] for g in good})),)),)
    rest: dict[int, set[tuple[int, ...]]] = {}
    for g in good:
        rest.setdefault(g[0], set()).add(g[1:])
    out: list[Block] = []
    group: list[int] = []
    for v in sorted(rest):
        if group and v == group[-1] + 1 and rest[v] == rest[group[-1]]:
            group.append(v)
            continue
        if group:
            out += _extend(tuple(group), rest[group[-1]], n)
        group = [v]
    out += _extend(tuple(group), rest[group[-1]], n)
    return tuple(out)


def _extend(first: tuple[int, ...], rest: set[tuple[int, ...]], n: int) -> list[Block]:
    return [Block((first, *b.sizes)) for b in _blocks(sorted(rest), n - 1)]


def _evaluator(cond: Condition, names: Sequence[str]) -> Callable[[tuple[int, ...]], bool]:
    """The condition as a fast exact function of the sizes: rationals stay fractions (no float rounding);
    where it is undefined (a division by zero) it is false, as in the solver."""
    import sympy
    from sympy.printing.pycode import PythonCodePrinter

    class Exact(PythonCodePrinter):  # type: ignore[misc]
        def _print_Rational(self, expr: Any) -> str:
            return f"Fraction({expr.p}, {expr.q})"

        def _print_Half(self, expr: Any) -> str:
            return "Fraction(1, 2)"

        def _print_floor(self, expr: Any) -> str:  # floor(p/q) of an integer polynomial p: p // q, in integers
            num, den = sympy.fraction(sympy.together(expr.args[0]))
            if den.is_Integer and num.is_polynomial() and all(c.is_Integer for c in sympy.Poly(num).coeffs()):
                return f"(({self._print(sympy.expand(num))}) // {den})"
            return f"math.floor({self._print(expr.args[0])})"

    symbols = [sympy.Symbol(n, integer=True, positive=True) for n in names]
    try:
        f = sympy.lambdify(symbols, cond.expr, modules=[{"Fraction": Fraction}, "math"], printer=Exact)
    except Exception:  # an expression the printer cannot write: sympy's own substitution, slower
        f = None

    def slow(values: tuple[int, ...]) -> bool:
        try:
            return bool(cond.expr.xreplace(dict(zip(symbols, values))))
        except (TypeError, ZeroDivisionError):
            return False

    if f is None:
        return slow

    def fast(values: tuple[int, ...]) -> bool:
        try:
            return bool(f(*values))
        except ZeroDivisionError:
            return False
        except (TypeError, ValueError, NameError):
            return slow(values)

    return fast


__all__ = ["AcceptedSizes", "Block", "DimSizes", "accepted", "runs"]
