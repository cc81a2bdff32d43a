"""The library core: from an architecture file to a verified report.

``shapes()`` parses the file, derives every number (symbolically when the input
has symbols), works out for which sizes the network is valid, then checks the
derivation against torch at the default sizes and at other valid sizes. It
imports neither click nor rich; torch only when verifying, sympy only when a
symbol appears.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import symbolic as sym
from .analysis.conditions import Solution, holds, solve, verification_points
from .analysis.cost import Cost, cost
from .analysis.receptive import ReceptiveFields, receptive_fields
from .analysis.shapes import Analysis, analyze
from .analysis.unknowns import Solved
from .errors import CnnCalcError, Loc, did_you_mean
from .graph import expand
from .layers import fmt_shape
from .parse.spec import ArchSpec, parse_file, parse_text
from .verify.forward import Mismatch, PointCheck


@dataclass(frozen=True)
class Report:
    """Everything ``cnncalc shapes`` shows: derivation, validity conditions and verification."""

    spec: ArchSpec
    symbols: tuple[str, ...]  # symbols left symbolic (not fixed by --set)
    main: Analysis  # symbolic when ``symbols`` is non-empty, else concrete
    points: tuple[Analysis, ...]  # concrete analyses at the verification points (first = defaults)
    solution: Solution | None
    checks: tuple[PointCheck, ...] = ()
    consistency: tuple[Mismatch, ...] = ()
    device: str | None = None
    torch_version: str | None = None
    fixed: Mapping[str, int] = field(default_factory=dict)
    rf: ReceptiveFields | None = None
    cost: Cost | None = None
    rf_checks: tuple[Mismatch, ...] = ()
    rf_probes: int = 0
    cost_at_defaults: Cost | None = None

    @property
    def verified(self) -> bool | None:
        """True when torch agreed on every number; None when not verified."""
        if not self.checks:
            return None
        return not self.mismatches

    @property
    def mismatches(self) -> tuple[Mismatch, ...]:
        """Every disagreement found, symbolic-vs-concrete and derivation-vs-torch."""
        return self.consistency + tuple(m for c in self.checks for m in c.mismatches) + self.rf_checks

    def node_verified(self, index: int) -> bool | None:
        """Whether torch confirmed node ``index`` at every verification point."""
        if not self.checks:
            return None
        bad = {m.name for m in (*self.consistency, *self.rf_checks)}
        return all(c.verified[index] for c in self.checks) and self.main.layers[index].node.name not in bad

    @property
    def conditions(self) -> list[str]:
        """Readable validity conditions, e.g. ``["H >= 8", "H % 2 == 0"]``."""
        return self.solution.describe() if self.solution else []

    @property
    def defaults(self) -> Analysis:
        """The concrete analysis at the default sizes (or the first valid sizes)."""
        return self.points[0]

    @property
    def expect_failures(self) -> list[str]:
        """Messages for ``expect:`` entries that do not hold."""
        seen, out = set(), []
        for a in (self.main, *self.points):
            for f in a.expect_failures:
                if (f.name, f.loc) not in seen:
                    seen.add((f.name, f.loc))
                    out.append(f.message() + (_at(a.graph.binding, self.symbols) if a is not self.main else ""))
        return out

    @property
    def ok(self) -> bool:
        """No mismatch and every expectation met."""
        return not self.mismatches and not self.expect_failures


def _at(binding: Mapping[str, Any], names: tuple[str, ...]) -> str:
    pts = [f"{n}={binding[n]}" for n in names if n in binding]
    return f" (at {', '.join(pts)})" if pts else ""


def load(source: str | Path, text: str | None = None) -> ArchSpec:
    """Parse an architecture file (or ``text``, reported as ``source``)."""
    return parse_text(text, str(source)) if text is not None else parse_file(source)


def shapes(
    source: str | Path | ArchSpec,
    set_values: Mapping[str, int] | None = None,
    verify: bool = True,
    device: str = "auto",
    batch: int = 2,
    extra_points: int = 2,
    progress: Callable[[int, int], None] | None = None,
    dtype: str = "float32",
    convention: str | None = None,
) -> Report:
    """Derive, and unless ``verify`` is False check with torch, every shape and count of a network.

    ``progress(done, total)`` is called as layers are verified (total = layers x points).
    ``convention`` ("torch" or "keras") overrides the file's ``convention:``; torch verifies
    torch's counts, which the Keras convention then regroups (analysis/convention.py).
    """
    spec = source if isinstance(source, ArchSpec) else load(source)
    if convention is not None:
        spec = dataclasses.replace(spec, convention=convention)
    declared = {name: default for name, default, _ in spec.symbols}
    fixed = dict(set_values or {})
    for name, value in fixed.items():
        if name not in declared:
            raise CnnCalcError(
                f"--set {name}: the file declares no symbol {name!r}",
                None,
                did_you_mean(name, declared)
                or ("declared symbols: " + ", ".join(declared) if declared else "the file declares no symbols"),
            )
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise CnnCalcError(f"--set {name}={value}: sizes are positive integers", None)
    free = tuple(n for n in declared if n not in fixed)
    solution: Solution | None = None
    if free:
        main = analyze(expand(spec, {**fixed, **{n: sym.symbol(n) for n in free}}))
        solution = solve(main.conditions, free)
        points = verification_points(solution, {n: declared[n] for n in free}, extra_points if verify else 0)
        _check_defaults(spec, solution, declared, fixed)
        analyses = tuple(analyze(expand(spec, {**fixed, **p})) for p in points)
        consistency = tuple(m for a in analyses for m in _consistency(main, a, free))
    else:
        main = analyze(expand(spec, fixed))
        analyses, consistency = (main,), ()
    report = Report(
        spec, free, main, analyses, solution, (), consistency, fixed=fixed,
        rf=receptive_fields(main, analyses[0]), cost=cost(main, dtype, batch),
        cost_at_defaults=cost(analyses[0], dtype, batch),
    )  # fmt: skip
    if not verify:
        return _counted(report)
    from .verify.forward import torch_version
    from .verify.forward import verify as run_verify

    total, done = sum(len(a.layers) for a in analyses), [0]

    def step(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    checks = tuple(run_verify(a, device, batch, step if progress else None) for a in analyses)
    from .verify.torchload import import_torch, resolve_device

    dev = str(resolve_device(import_torch(), device))
    from .verify.receptive import check as check_receptive_fields

    rf_checks, probes = check_receptive_fields(analyses[0])
    return _counted(dataclasses.replace(report, checks=checks, device=dev, torch_version=torch_version(),
                                        rf_checks=rf_checks, rf_probes=probes))  # fmt: skip


def _counted(report: Report) -> Report:
    """Apply the file's counting convention to what is shown (after verification)."""
    if report.spec.convention != "keras":
        return report
    from .analysis.convention import keras_counts

    return dataclasses.replace(report, main=keras_counts(report.main), points=tuple(map(keras_counts, report.points)))


def explain(source: str | Path | ArchSpec, set_values: Mapping[str, int] | None = None, layer: str | None = None,
            fmt: str = "text", verify: bool = True, device: str = "auto", only: tuple[str, ...] | None = None,
            title: str | None = None, convention: str | None = None) -> tuple[str, Report]:  # fmt: skip
    """The worked derivation of every layer (or one) as text, markdown or LaTeX, and the report behind it.

    ``only`` keeps the steps whose label starts with one of these words (the calculators use it).
    """
    from .analysis.derivation import derive
    from .render import derivation as render
    from .render.formats import verification_line

    report = shapes(source, set_values, verify=verify, device=device, convention=convention)
    ds = derive(report.main, report.rf if only is None else None, layer)
    if only is not None:
        ds = [dataclasses.replace(d, steps=tuple(s for s in d.steps if s.label.startswith(only))) for d in ds]
    verified = [report.node_verified(d.index) for d in ds]
    shape = fmt_shape(report.main.graph.input_shape)
    title = title or f"{report.spec.name}: input {shape}"
    if report.symbols:
        title += " with " + ", ".join(f"{n} = {report.defaults.graph.binding[n]} by default" for n in report.symbols)
    footer = []
    if report.symbols:
        footer.append("Valid when: " + (", ".join(report.conditions) if report.conditions else "any positive size"))
    footer.append(verification_line(report))
    writer = {"text": render.to_text, "markdown": render.to_markdown, "latex": render.to_latex}[fmt]
    return writer(title, ds, verified, footer), report


@dataclass(frozen=True)
class SolveReport:
    """``cnncalc solve``: the unknowns, each solution, torch's verdict on it."""

    spec: ArchSpec
    solved: Solved
    checks: tuple[PointCheck | None, ...] = ()  # per candidate: the forward pass of an accepted one
    torch_refusals: tuple[str | None, ...] = ()  # per candidate: torch's own error for a refused one
    torch_version: str | None = None

    @property
    def disagreements(self) -> list[str]:
        """Where torch and cnncalc's rules differ: a mismatch, or a refusal torch does not make."""
        out = [m.message() for c in self.checks if c is not None for m in c.mismatches]
        for cand, err in zip(self.solved.candidates, self.torch_refusals):
            if not cand.accepted and err is None:
                at = ", ".join(f"{k}={v}" for k, v in cand.values.items())
                out.append(f"{self.spec.file}: error: at {at} cnncalc refuses ({cand.reason}) but torch runs it")
        return out

    @property
    def ok(self) -> bool:
        """At least one accepted solution, and torch agrees everywhere."""
        return any(c.accepted for c in self.solved.candidates) and not self.disagreements


def solve_file(source: str | Path | ArchSpec, set_values: Mapping[str, int] | None = None, high: int | None = None,
               limit: int = 100, verify: bool = True, device: str = "auto") -> SolveReport:  # fmt: skip
    """Solve the null symbols of an architecture file from its ``expect:`` entries; verify each solution."""
    from .analysis.unknowns import solve_unknowns

    spec = source if isinstance(source, ArchSpec) else load(source)
    solved = solve_unknowns(spec, dict(set_values or {}), high, limit)
    if not verify:
        return SolveReport(spec, solved)
    from .verify.eager import torch_error
    from .verify.forward import torch_version
    from .verify.forward import verify as run_verify

    checks: list[PointCheck | None] = []
    refusals: list[str | None] = []
    for cand in solved.candidates:
        if cand.analysis is not None:
            checks.append(run_verify(cand.analysis, device))
            refusals.append(None)
        else:
            checks.append(None)
            declared = {n: d for n, d, _ in spec.symbols if d is not None}
            refusals.append(torch_error(expand(spec, {**declared, **dict(set_values or {}), **cand.values})))
    return SolveReport(spec, solved, tuple(checks), tuple(refusals), torch_version())


def _check_defaults(
    spec: ArchSpec, solution: Solution, declared: Mapping[str, int | None], fixed: Mapping[str, int]
) -> None:
    """A default that violates the conditions is an error, explained with numbers and the valid sizes."""
    bad = {n: r for n, r in solution.ranges.items() if declared.get(n) is not None and not r.contains(declared[n] or 0)}
    given = {n: v for n, v in declared.items() if v is not None}
    coupled_fails = len(given) == len(declared) and not all(holds(c, {**given, **fixed}) for c in solution.coupled)
    if not bad and not coupled_fails:
        return
    valid = "; the network is valid when " + ", ".join(
        [t for r in bad.values() for t in r.describe()] + [str(c.expr) for c in solution.coupled]
    )
    at = ", ".join(f"{n} = {declared[n]}" for n in (bad or given))
    try:  # the concrete analysis explains why, with numbers
        analyze(expand(spec, {**{n: v for n, v in declared.items() if v is not None}, **fixed}))
    except CnnCalcError as e:
        raise CnnCalcError(f"{e.message} (at the default {at})", e.loc, (e.hint or "") + valid, e.chain) from None
    name, rng = next(iter(bad.items()))
    loc = next((loc for n, _, loc in spec.symbols if n == name), None)
    raise CnnCalcError(
        f"the default {name} = {declared[name]} does not satisfy " + " and ".join(rng.describe()),
        loc,
        f"valid values: {', '.join(map(str, rng.values(rng.minimum, 4)))}, ...",
    )


def _consistency(symbolic: Analysis, concrete: Analysis, names: tuple[str, ...]) -> list[Mismatch]:
    """The symbolic results, evaluated at a point, must equal the concrete derivation there."""
    point = {n: concrete.graph.binding[n] for n in names}
    out = []
    for s, c in zip(symbolic.layers, concrete.layers):
        for what, sv, cv in (
            ("output shape", s.shape, c.shape),
            ("parameters", s.params, c.params),
            ("buffers", s.buffers, c.buffers),
        ):
            got = sym.substitute(sv, point)
            if got != cv:
                text = fmt_shape if isinstance(sv, tuple) else sym.to_text
                out.append(Mismatch(s.node.name, s.node.loc, what, text(got), text(cv), point, "the concrete rule"))
    return out


def load_python(target: str, kwargs: Mapping[str, Any] | None = None) -> Any:
    """Import and instantiate a Python target (``model.py:Net``); see :mod:`cnncalc.target.load`."""
    from .target.load import load_target

    return load_target(target, kwargs)


def python_spec(target: Any, inputs: Any, values: Mapping[str, int]) -> ArchSpec:
    """A traced Python model as an architecture spec (symbolic engine, rf, explain); a CnnCalcError if not traceable."""
    from .target.fxspec import NotConvertible, convert

    try:
        return convert(target.model, inputs, values, target.text).spec
    except NotConvertible as e:
        raise CnnCalcError(f"{target.text} cannot be analysed symbolically: {e}", None,
                           "cnncalc shapes TARGET --input ... works on any model (forward hooks)") from None  # fmt: skip


def modules(target: Any, inputs: Any, values: Mapping[str, int], device: str = "auto", batch: int = 2) -> Any:
    """The nested per-module report of a Python target (one hooked forward pass); see :mod:`cnncalc.target.report`."""
    from .target.report import module_report

    return module_report(target, inputs, values, device, batch)


__all__ = [
    "Loc",
    "Report",
    "SolveReport",
    "explain",
    "load",
    "load_python",
    "modules",
    "python_spec",
    "shapes",
    "solve_file",
]
