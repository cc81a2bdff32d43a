"""The library core: from an architecture file to a verified report.

``shapes()`` parses the file, derives every number (symbolically when the input
has symbols), works out for which sizes the network is valid, then checks the
derivation against torch at the default sizes and at other valid sizes. It
imports neither click nor rich; torch only when verifying, sympy only when a
symbol appears.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from . import budget
from . import symbolic as sym
from .analysis.conditions import Solution, holds, solve, verification_points
from .analysis.cost import cost
from .analysis.receptive import receptive_fields
from .analysis.shapes import Analysis, analyze
from .errors import CnnCalcError, CnnCalcErrors, Loc, NoSymbolicForm, did_you_mean
from .graph import expand
from .graph.expand import Graph
from .graph.layout import channels_last_hint
from .layers import fmt_shape
from .parse.spec import ArchSpec, FileText, parse_bytes, parse_file, parse_text
from .report import Explanation, Mismatch, PointCheck, ShapesReport, SolveReport

Report = ShapesReport
"""The report of an architecture file (the name ``cnncalc.Report`` keeps working)."""


F = TypeVar("F", bound=Callable[..., Any])


def _time_limited(fn: F) -> F:
    """An architecture file (a path) gets the --timeout limit for all the work on it (budget.deadline); a spec
    traced from a Python model does not: its code's runs have their own limit, each (pymodel/guard.py)."""

    @functools.wraps(fn)
    def run(source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, ArchSpec):
            return fn(source, *args, **kwargs)
        with budget.deadline():
            return fn(source, *args, **kwargs)

    return run  # type: ignore[return-value]


def load(source: str | Path | FileText, text: str | None = None) -> ArchSpec:
    """Parse an architecture file (or ``text``, reported as ``source``; or a file's content received as bytes); a
    saved Keras model is read as one."""
    if isinstance(source, FileText):
        return parse_bytes(source.raw, source.file)
    if text is None:
        from .keras import is_keras_file

        if is_keras_file(source):
            from .keras.files import spec

            return spec(source)
    return parse_text(text, str(source)) if text is not None else parse_file(source)


@_time_limited
def shapes(
    source: str | Path | FileText | ArchSpec,
    set_values: Mapping[str, int] | None = None,
    verify: bool = True,
    device: str = "auto",
    batch: int = 2,
    extra_points: int = 2,
    progress: Callable[[int, int], None] | None = None,
    dtype: str = "float32",
    convention: str | None = None,
) -> ShapesReport:
    """Derive, and unless ``verify`` is False check with torch, every shape and count of a network.

    ``progress(done, total)`` is called as layers are verified (total = layers x points).
    ``convention`` ("torch" or "keras") overrides the file's ``convention:``; torch verifies
    torch's counts, which the Keras convention then regroups (analysis/convention.py).
    """
    try:
        spec = source if isinstance(source, ArchSpec) else load(source)
    except CnnCalcErrors as e:  # the file's structure has errors: report them, and those of the rest
        if not isinstance(e.partial, ArchSpec):
            raise e.single from None
        partial = dataclasses.replace(e.partial, convention=convention or e.partial.convention)
        raise _every_error(e.errors, partial, {n: sym.symbol(n) for n, _, _ in partial.symbols}) from None
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
        lowest = 0 if declared[name] is None else 1  # an unknown (null) may be a padding: 0 is a value (a solution)
        if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
            kind = "sizes are positive integers" if lowest else "values are integers >= 0"
            raise CnnCalcError(f"--set {name}={value}: {kind}", None)
    free = tuple(n for n in declared if n not in fixed)
    hint = channels_last_hint(spec, {**fixed, **{n: sym.symbol(n) for n in free}})
    notes: tuple[str, ...] = (hint,) if hint else ()
    try:
        report = _derived(spec, declared, fixed, free, verify, device, batch, extra_points, progress, dtype)
    except CnnCalcError as e:
        at_defaults = _only_at_defaults(spec, declared, fixed, free, e)
        if at_defaults is not None:
            why = "" if isinstance(e, NoSymbolicForm) else ": a size-1 dim broadcasts there"
            notes += (f"the symbolic analysis fails ({e.message}), but the default sizes "
                      f"{', '.join(f'{k}={v}' for k, v in at_defaults.items())} work{why}; "
                      "everything is derived at those sizes",)  # fmt: skip
            report = _derived(spec, declared, {**fixed, **at_defaults}, (), verify, device, batch, extra_points,
                              progress, dtype)  # fmt: skip
        elif hint is None:
            raise
        else:
            raise CnnCalcError(e.message, e.loc, hint + (f"; else: {e.hint}" if e.hint else ""), e.chain) from None
    if spec.origin is not None and spec.origin.weights is not None:  # a saved Keras model: its weights' shapes
        from .keras.weights import compared

        report = compared(report)
    mixing = report.defaults.mixing()
    if mixing:  # a trap (Softmax without dim over the batch) or a design (statistics of the batch): said, not failed
        r, why = mixing
        notes += (f"{r.node.name!r} ({r.node.layer.name}): {why}, so each sample's output depends on the other "
                  "samples of the batch (cnncalc check fails on it)",)  # fmt: skip
    return dataclasses.replace(report, notes=notes) if notes else report


_BROADCASTING = ("Mul", "MatMul", "Scale", "Shift")
"""Layer types whose inputs broadcast: a size that is 1 only at some input sizes has no single symbolic rule."""


def _only_at_defaults(spec: ArchSpec, declared: Mapping[str, int | None], fixed: Mapping[str, int],
                      free: tuple[str, ...], error: CnnCalcError) -> dict[str, int] | None:  # fmt: skip
    """The default sizes, when the symbolic analysis failed where only numbers work (a broadcast that only the
    defaults make, a scale factor no fraction follows: NoSymbolicForm) and the defaults do work."""
    defaults = {n: declared[n] for n in free}
    if not free or any(v is None for v in defaults.values()):
        return None
    if not isinstance(error, NoSymbolicForm) and not _uses(spec, _BROADCASTING):
        return None
    try:
        analyzed(spec, {**fixed, **defaults})
    except CnnCalcError:
        return None
    return {k: int(v) for k, v in defaults.items() if v is not None}


def _uses(spec: ArchSpec, types: tuple[str, ...]) -> bool:
    items = [*spec.layers, *(item for b in spec.blocks.values() for item in b.layers)]
    stack = list(items)
    while stack:
        item = stack.pop()
        if item.type in types:
            return True
        stack.extend(item.body or ())
    return False


def _every_error(found: Sequence[CnnCalcError], spec: ArchSpec, binding: Mapping[str, Any]) -> CnnCalcError:
    """``found`` and every independent error that expanding and analysing the rest of ``spec`` finds."""
    try:
        analyzed(spec, binding)
    except CnnCalcError as e:
        return CnnCalcErrors([*found, e]).single
    return CnnCalcErrors(found).single


def analyzed(spec: ArchSpec, binding: Mapping[str, Any]) -> Analysis:
    """``analyze(expand(spec, binding))``; with errors, every independent one of both steps at once.

    A layer with an error stands out of the graph, and so does everything it feeds: their shapes
    would be meaningless, while the errors of the other layers are not.
    """
    try:
        graph = expand(spec, binding)
    except CnnCalcErrors as e:
        if not isinstance(e.partial, Graph):
            raise e.single from None
        try:
            analyze(e.partial)
        except CnnCalcError as more:
            raise CnnCalcErrors([*e.errors, more]).single from None
        raise e.single from None
    try:
        return analyze(graph)
    except CnnCalcErrors as e:
        raise e.single from None


def _derived(spec: ArchSpec, declared: Mapping[str, int | None], fixed: Mapping[str, int], free: tuple[str, ...],
             verify: bool, device: str, batch: int, extra_points: int, progress: Callable[[int, int], None] | None,
             dtype: str) -> ShapesReport:  # fmt: skip
    """``shapes`` once the symbols are checked: derive, solve the conditions, verify."""
    solution: Solution | None = None
    if free:
        main = analyzed(spec, {**fixed, **{n: sym.symbol(n) for n in free}})
        solution = solve(main.conditions, free)
        points = verification_points(solution, {n: declared[n] for n in free}, extra_points if verify else 0)
        _check_defaults(spec, solution, declared, fixed)
        if not points:  # conditions tie unknown (null) symbols together, and no small sizes meet them
            raise CnnCalcError(f"no sizes were found to work out the network at: {', '.join(solution.describe())}",
                               next((loc for n, _, loc in spec.symbols if n in free), spec.loc),
                               "give the sizes with --set, or find the unknowns with cnncalc solve")  # fmt: skip
        analyses = tuple(analyze(expand(spec, {**fixed, **p})) for p in points)
        consistency = tuple(m for a in analyses for m in _consistency(main, a, free))
    else:
        main = analyzed(spec, fixed)
        analyses, consistency = (main,), ()
    report = ShapesReport(
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
    meta = tuple(dict.fromkeys(c.note for c in checks if c.note))
    if meta:  # over --max-memory: verified on the meta device
        dev = "meta" if all(c.note for c in checks) else f"{dev} and meta"
        report = dataclasses.replace(report, notes=report.notes + meta)
    from .verify.receptive import check as check_receptive_fields

    assert report.rf is not None
    rf_checks: tuple[Mismatch, ...]
    if checks[0].mismatches:  # torch disagrees at the defaults already: the twin of that network proves nothing
        rf_checks, probes, rf_notes = (), 0, ["receptive fields not checked: torch disagrees with the shapes"]
    else:
        rf_checks, probes, rf_notes = check_receptive_fields(analyses[0], report.rf)
    if rf_notes:
        report = dataclasses.replace(report, rf=dataclasses.replace(report.rf, notes=report.rf.notes + tuple(rf_notes)))
    return _counted(dataclasses.replace(report, checks=checks, device=dev, torch_version=torch_version(),
                                        rf_checks=rf_checks, rf_probes=probes))  # fmt: skip


def _counted(report: ShapesReport) -> ShapesReport:
    """Apply the file's counting convention to what is shown (after verification)."""
    if report.spec.convention != "keras":
        return report
    from .analysis.convention import keras_counts

    return dataclasses.replace(report, main=keras_counts(report.main), points=tuple(map(keras_counts, report.points)))


@_time_limited
def explain(source: str | Path | FileText | ArchSpec, set_values: Mapping[str, int] | None = None, layer: str | None = None,
            verify: bool = True, device: str = "auto", only: tuple[str, ...] | None = None,
            title: str | None = None, convention: str | None = None) -> Explanation:  # fmt: skip
    """The worked derivation of every layer (or the one named ``layer``), with the report behind it.

    ``only`` keeps the steps whose label starts with one of these words (the calculators use it).
    """
    from .analysis.derivation import derive

    report = shapes(source, set_values, verify=verify, device=device, convention=convention)
    ds = derive(report.main, report.rf if only is None else None, layer)
    if only is not None:
        ds = [dataclasses.replace(d, steps=tuple(s for s in d.steps if s.label.startswith(only))) for d in ds]
    verified = tuple(report.node_verified(d.index) for d in ds)
    title = title or f"{report.spec.name}: input {fmt_shape(report.main.graph.input_shape, report.channels_last)}"
    if report.symbols:
        title += " with " + ", ".join(f"{n} = {report.defaults.graph.binding[n]} by default" for n in report.symbols)
    return Explanation(title, tuple(ds), verified, report, layer is None)


@_time_limited
def solve_file(source: str | Path | FileText | ArchSpec, set_values: Mapping[str, int] | None = None,
               high: int | None = None, limit: int = 100, verify: bool = True, device: str = "auto",
               order: Callable[[Mapping[str, int]], Any] | None = None) -> SolveReport:  # fmt: skip
    """Solve the null symbols of an architecture file from its ``expect:`` entries; verify each solution
    (``order``: a sort key of the solutions, see ``solve_unknowns``)."""
    from .analysis.unknowns import solve_unknowns

    spec = source if isinstance(source, ArchSpec) else load(source)
    solved = solve_unknowns(spec, dict(set_values or {}), high, limit, order)
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
        [t for r in bad.values() for t in r.describe()] + [sym.to_text(c.expr) for c in solution.coupled]
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


__all__ = [
    "Explanation",
    "Loc",
    "Report",
    "ShapesReport",
    "SolveReport",
    "explain",
    "load",
    "shapes",
    "solve_file",
]
