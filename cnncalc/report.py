"""The report family: what the core returns and every renderer reads.

Every command's result is a report with the same core (:class:`ReportBase`):
``findings`` (each check passed or failed, with a location when one is known),
``ok`` (decides exit 0 or 1) and, for the table-shaped reports, ``totals``.

- :class:`ShapesReport`: an architecture file derived and verified (``cnncalc shapes|rf|explain``);
  its table rows are :func:`rows`.
- ``pymodel.report.ModuleReport``: a Python model run with forward hooks (the nested module table).
- :class:`CheckReport`: ``cnncalc check``, one finding per check.
- :class:`SolveReport`: ``cnncalc solve``, the unknowns and each solution with torch's verdict.

This module holds data only: it never formats for people (``render/`` does) and
imports neither click, rich, sympy nor torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import Loc

if TYPE_CHECKING:
    from .analysis.conditions import Solution
    from .analysis.cost import Cost
    from .analysis.derivation import LayerDerivation
    from .analysis.receptive import ReceptiveFields
    from .analysis.shapes import Analysis
    from .analysis.unknowns import Solved
    from .parse.spec import ArchSpec


@dataclass(frozen=True)
class Finding:
    """One check's result: passed or failed, what it found, and where (when known)."""

    name: str  # "forward pass", "batch size", "sample independence", "output shape", "verification", ...
    ok: bool
    where: str = ""  # e.g. "input 3x32x32"
    message: str = ""  # what failed, in shapes
    loc: Loc | None = None

    @property
    def title(self) -> str:
        """``forward pass at input 3x32x32``."""
        return f"{self.name} at {self.where}" if self.where else self.name

    def line(self) -> str:
        """``FILE:LINE:COL: error: message`` (without a location when there is none)."""
        return (f"{self.loc}: " if self.loc else "") + f"error: {self.message}"


@dataclass(frozen=True)
class Totals:
    """Counts over a whole network (ints, or sympy expressions for symbolic files)."""

    params: Any
    trainable: Any
    buffers: Any
    macs: Any = None

    @property
    def non_trainable(self) -> Any:
        """Frozen parameters (and Keras' BatchNorm statistics under ``convention: keras``)."""
        return self.params - self.trainable


class ReportBase:
    """The common core of every report: what was analysed, findings, ok, and (for tables) totals."""

    @property
    def subject(self) -> str:
        """What the report is about: the architecture file or the Python target, as given."""
        raise NotImplementedError

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every check made, passed or failed."""
        raise NotImplementedError

    @property
    def failures(self) -> list[Finding]:
        """The failed checks."""
        return [f for f in self.findings if not f.ok]

    @property
    def ok(self) -> bool:
        """Every check passed."""
        return not self.failures

    @property
    def totals(self) -> Totals | None:
        """Network totals, for the reports that have a layer table."""
        return None


@dataclass(frozen=True)
class Mismatch:
    """One number where the derivation and torch (or the symbolic form) disagree."""

    name: str
    loc: Loc
    what: str
    derived: str
    actual: str
    point: Mapping[str, int]
    source: str = "torch"

    def text(self) -> str:
        """``'conv1' output shape: derived X, torch gives Y (at H=32)``."""
        at = f" (at {', '.join(f'{k}={v}' for k, v in self.point.items())})" if self.point else ""
        return f"{self.name!r} {self.what}: derived {self.derived}, {self.source} gives {self.actual}{at}"

    def message(self) -> str:
        """One line: ``FILE:LINE:COL: error: 'conv1' output shape: derived X, torch gives Y (at H=32)``."""
        return f"{self.loc}: error: {self.text()}"

    def finding(self) -> Finding:
        """This disagreement as a failed check."""
        return Finding("verification", False, "", self.text(), self.loc)


@dataclass(frozen=True)
class PointCheck:
    """The verification at one assignment of the symbols."""

    point: Mapping[str, int]
    verified: tuple[bool, ...]
    mismatches: tuple[Mismatch, ...]
    seconds: float
    note: str = ""  # how it was verified when not as asked (on the meta device: a real pass was over the memory limit)


@dataclass(frozen=True)
class ShapesReport(ReportBase):
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
    notes: tuple[str, ...] = ()  # said with the results, e.g. that the input looks written channels last

    @property
    def subject(self) -> str:
        return self.spec.file

    @property
    def channels_last(self) -> bool:
        """Shapes are shown as the file writes them: (H, W, C) under ``convention: keras``."""
        return self.main.graph.channels_last

    def shown(self, shape: Sequence[Any]) -> tuple[Any, ...]:
        """A (channels-first) shape in the file's layout."""
        from .layers import in_layout

        return in_layout(tuple(shape), self.channels_last)

    def readable(self, shape: Sequence[Any], layout: bool = True) -> tuple[Any, ...]:
        """A shape for people: simplified under the file's own conditions (with ``H % 4 == 0``,
        ``32×2·⌊H/4⌋×2·⌊W/4⌋`` reads ``32×H/2×W/2``), in the file's layout unless ``layout`` is False (pictures
        draw torch's (C, H, W)); JSON and CSV keep :meth:`shown`."""
        out = tuple(shape) if self.solution is None else tuple(self.solution.simplified(v) for v in shape)
        return self.shown(out) if layout else out

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
        return [f.line() for f in self._expect_findings()]

    def _expect_findings(self) -> list[Finding]:
        seen, out = set(), []
        for a in (self.main, *self.points):
            for f in a.expect_failures:
                if (f.name, f.loc) not in seen:
                    seen.add((f.name, f.loc))
                    at = _at(a.graph.binding, self.symbols) if a is not self.main else ""
                    out.append(Finding("expect", False, "", f.text() + at, f.loc))
        return out

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Each expectation not met, then each disagreement with torch."""
        return (*self._expect_findings(), *(m.finding() for m in self.mismatches))

    @property
    def totals(self) -> Totals:
        """Totals of the (maybe symbolic) derivation."""
        m = self.main
        return Totals(m.total_params, m.trainable_params, m.total_buffers, self.cost.total_macs if self.cost else None)


def _at(binding: Mapping[str, Any], names: tuple[str, ...]) -> str:
    pts = [f"{n}={binding[n]}" for n in names if n in binding]
    return f" (at {', '.join(pts)})" if pts else ""


@dataclass(frozen=True)
class Row:
    """One line of the layer table of a :class:`ShapesReport`."""

    name: str
    id: str | None
    type: str
    line: int
    column: int
    depth: int
    group: bool
    inputs: tuple[str, ...]
    shape: tuple[Any, ...]  # in the file's layout: (H, W, C) under convention: keras
    shape_at_defaults: tuple[int, ...] | None  # only when the report is symbolic
    params: Any
    params_at_defaults: int | None
    buffers: Any
    trainable: bool
    verified: bool | None
    rf: Any = None  # NodeRF, layer rows only
    macs: Any = 0
    macs_at_defaults: Any = 0
    activation_bytes: Any = 0
    index: int | None = None  # the layer's index in the analysis (None for a summary row)
    simplified: tuple[Any, ...] | None = None  # ``shape`` simplified under the file's conditions

    @property
    def readable(self) -> tuple[Any, ...]:
        """The shape people read (ShapesReport.readable): simplified where the file's conditions allow."""
        return self.simplified if self.simplified is not None else self.shape


def rows(report: ShapesReport) -> list[Row]:
    """Layer rows in order; a group row follows its last member."""
    from .graph.expand import INPUT

    main, concrete = report.main, report.defaults
    symbolic = bool(report.symbols)
    groups_after: dict[int, list[int]] = {}
    for k, g in enumerate(main.groups):
        groups_after.setdefault(g.group.last, []).append(k)
    out: list[Row] = []
    for i, r in enumerate(main.layers):
        n = r.node
        out.append(Row(
            n.name, n.id, n.layer.name, n.loc.line, n.loc.col, n.depth, False,
            tuple("input" if j == INPUT else main.layers[j].node.name for j in n.inputs),
            report.shown(r.shape), report.shown(concrete.layers[i].shape) if symbolic else None,
            r.params, concrete.layers[i].params if symbolic else None,
            r.buffers, n.trainable, report.node_verified(i),
            report.rf.layers[i] if report.rf else None,
            report.cost.macs[i] if report.cost else 0,
            report.cost_at_defaults.macs[i] if report.cost_at_defaults else 0,
            report.cost_at_defaults.activation_bytes[i] if report.cost_at_defaults else 0,
            i, report.readable(r.shape),
        ))  # fmt: skip
        for k in sorted(groups_after.get(i, []), key=lambda k: -main.groups[k].group.depth):
            g, cg = main.groups[k], concrete.groups[k]
            members = range(g.group.first, g.group.last + 1)
            verified = None if report.verified is None else all(report.node_verified(j) for j in members)
            out.append(Row(
                g.group.name, g.group.name, g.group.type, g.group.loc.line, g.group.loc.col, g.group.depth, True, (),
                report.shown(g.shape), report.shown(cg.shape) if symbolic else None, g.params,
                cg.params if symbolic else None, g.buffers,
                all(main.layers[j].node.trainable for j in members), verified, simplified=report.readable(g.shape),
            ))  # fmt: skip
    return out


@dataclass(frozen=True)
class CheckReport(ReportBase):
    """Every finding of ``cnncalc check`` for one target."""

    target: str
    kind: str  # "python" or "yaml"
    checks: tuple[Finding, ...]
    params: int | None = None

    @property
    def subject(self) -> str:
        return self.target

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.checks


@dataclass(frozen=True)
class SolveReport(ReportBase):
    """``cnncalc solve``: the unknowns, each solution, torch's verdict on it."""

    spec: ArchSpec
    solved: Solved
    checks: tuple[PointCheck | None, ...] = ()  # per candidate: the forward pass of an accepted one
    torch_refusals: tuple[str | None, ...] = ()  # per candidate: torch's own error for a refused one
    torch_version: str | None = None

    @property
    def subject(self) -> str:
        return self.spec.file

    @property
    def disagreements(self) -> list[str]:
        """Where torch and cnncalc's rules differ: a mismatch, or a refusal torch does not make."""
        return [f.line() if f.loc else f"{self.spec.file}: {f.line()}" for f in self._disagreements()]

    def _disagreements(self) -> list[Finding]:
        out = [m.finding() for c in self.checks if c is not None for m in c.mismatches]
        for cand, err in zip(self.solved.candidates, self.torch_refusals):
            if not cand.accepted and err is None:
                at = ", ".join(f"{k}={v}" for k, v in cand.values.items())
                out.append(Finding("verification", False, "", f"at {at} cnncalc refuses ({cand.reason}) but torch "
                                   "runs it"))  # fmt: skip
        return out

    @property
    def findings(self) -> tuple[Finding, ...]:
        """A solution exists (and torch accepts it), then each disagreement with torch."""
        found = any(c.accepted for c in self.solved.candidates)
        text = "no solution" + (f": {self.solved.impossible}" if self.solved.impossible else "")
        loc = self.solved.impossible_loc or self.spec.loc
        return (Finding("solution", found, "", "" if found else text, loc), *self._disagreements())


@dataclass(frozen=True)
class Explanation:
    """``cnncalc explain``: the worked derivation of every layer (or one), and the report behind it."""

    title: str
    derivations: tuple[LayerDerivation, ...]
    verified: tuple[bool | None, ...]  # per derivation: torch confirmed that layer
    report: ShapesReport
    whole: bool = True  # every layer is explained (not one picked with --layer): the totals are shown


def shape_x(shape: Sequence[Any]) -> str:
    """``3x32x32`` (``a scalar`` for an empty shape)."""
    return "x".join(map(str, shape)) or "a scalar"


__all__ = ["CheckReport", "Explanation", "Finding", "Mismatch", "PointCheck", "ReportBase", "Row", "ShapesReport", "SolveReport",
           "Totals", "rows", "shape_x"]  # fmt: skip
