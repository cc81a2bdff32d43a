"""``cnncalc solve`` output: the unknowns, each solution, and torch's verdict, as text or JSON."""

from __future__ import annotations

import json
from typing import Any, Protocol

from .. import symbolic as sym
from ..analysis.algebra import Bound, Working
from ..analysis.unknowns import Unknown
from ..layers import Condition, in_layout
from ..report import SolveReport
from .notation import shape_text


def _values(values: Any) -> str:
    return ", ".join(f"{k} = {v}" for k, v in values.items())


def _verdict(report: SolveReport, i: int) -> str:
    cand = report.solved.candidates[i]
    check = report.checks[i] if report.checks else None
    if cand.analysis is not None:
        out = f"output {shape_text(in_layout(cand.analysis.output_shape, cand.analysis.graph.channels_last))}"
        if check is None:
            return f"accepted ({out}; not verified)"
        return f"accepted, verified with torch ({out})" if not check.mismatches else "accepted, but torch DISAGREES"
    torch_says = report.torch_refusals[i] if report.torch_refusals else None
    tail = f"; torch says: {torch_says}" if torch_says else ""
    return f"refused by torch's rules: {cand.reason}{tail}"


def working_text(w: Working | None, high: int | None = None) -> str:
    """``504 = ⌊(512 + 2·0 − F)/1⌋ + 1 ⇒ 504 = 513 − F ⇒ F = 9`` (with a floor: the interval it came from)."""
    if w is None:
        return ""
    target = sym.to_text(w.target)
    derived = sym.to_text(w.expr)
    parts = [f"{target} = {w.formula or derived}"]
    if w.formula and w.bracket is None and w.formula != derived:
        parts.append(f"{target} = {derived}")
    if w.bracket is not None:
        parts.append(_bound(w.bracket, together=True))
    if w.interval is not None:
        i = w.interval
        parts.append(f"{w.unknown} = {sym.to_text(i.low)}" if i.low == i.high and not i.low_strict else _bound(i))
    if w.no_integer:
        parts.append("no whole-number solution")
    elif w.values is not None and w.interval is not None and (w.interval.low != w.interval.high or not w.values):
        shown = ", ".join(map(str, w.values[:8])) + (", …" if len(w.values) > 8 else "")
        parts.append(f"{w.unknown} = {shown}" if len(w.values) == 1 else
                     f"{w.unknown} ∈ {{{shown}}}" if w.values else f"no whole {w.unknown} fits")  # fmt: skip
    text = " ⇒ ".join(parts)
    if high is not None and w.values and min(w.values) > high:
        text += f" (above the search bound {high}: --max {max(w.values[:8])} reaches it)"
    return text


def _bound(b: Bound, together: bool = False) -> str:
    middle = b.middle
    if together:
        import sympy

        middle = sympy.together(middle)
    low, high = ("<" if b.low_strict else "≤"), ("<" if b.high_strict else "≤")
    return f"{sym.to_text(b.low)} {low} {sym.to_text(middle)} {high} {sym.to_text(b.high)}"


class Naming(Protocol):
    """How a calculator names what its generated file holds: the flags, not the lines of that file."""

    def label(self, condition: Condition) -> str:
        """The flag a constraint came from (``--out-size 112``)."""

    def unknown(self, u: Unknown) -> str:
        """The line for an unknown (``Unknown p (-p; searched 0..224)``)."""

    def reason(self, text: str) -> str:
        """A refusal, without the generated layer's id."""


def to_text(report: SolveReport, file: str, naming: Naming | None = None, next_step: bool = True,
            refused: str = "list", more: str = "raise --limit", shown: int | None = None) -> str:  # fmt: skip
    """Plain text for people: the unknowns, the algebra of each constraint, every solution with torch's verdict.

    ``naming`` names constraints, unknowns and refusals (default: the layer, and the line in ``file``;
    the calculators name their flags); ``next_step`` adds the explain command for the first solution.
    ``refused``: ``list`` shows every refused solution, else one line with their number and the first, ending
    with ``refused`` (how to list them); ``shown``: at most this many accepted ones, then their count;
    ``more`` is what to do when more solutions exist than were analysed.
    """
    s = report.solved
    lines = []
    for u in s.unknowns:
        lines.append(naming.unknown(u) if naming is not None else
                     f"Unknown {u.name}: {', '.join(u.uses) or 'unused'} (searched {u.low}..{u.high})")  # fmt: skip
    for i, c in enumerate(s.constraints):
        name = naming.label(c) if naming is not None else f"{c.why} (line {c.loc.line})"
        w = s.workings[i] if i < len(s.workings) else None
        high = next((u.high for u in s.unknowns if w is not None and u.name == w.unknown), None)
        lines.append(f"{name}: {working_text(w, high) or sym.to_text(c.expr)}")
    accepted = sum(c.accepted for c in s.candidates)
    n = len(s.candidates)
    tail = f" (more exist; {more})" if s.truncated else ""
    if n:
        lines.append(f"{n} solution{'s' if n != 1 else ''}{tail}, {accepted} accepted by torch's rules "
                     f"({s.searched:,} candidate{'s' if s.searched != 1 else ''} tried):")  # fmt: skip
    hidden: list[tuple[str, str]] = []  # refused solutions counted, not listed: (line, values: reason)
    listed = 0
    for i, cand in enumerate(s.candidates):
        verdict = _verdict(report, i)
        line = f"  {_values(cand.values)}: {naming.reason(verdict) if naming is not None else verdict}"
        if refused != "list" and not cand.accepted:
            why = naming.reason(cand.reason) if naming is not None else cand.reason
            hidden.append((line, f"{_values(cand.values)}: {why}"))
        elif shown is None or listed < shown:
            lines.append(line)
            listed += 1
    if accepted > listed:
        lines.append(f"  {accepted - listed} more accepted ({refused})")
    if len(hidden) == 1:
        lines.append(hidden[0][0])
    elif hidden:
        lines.append(f"  {len(hidden)} {'more ' if accepted else ''}refused by torch's rules, e.g. {hidden[0][1]} "
                     f"({refused})")  # fmt: skip
    if s.impossible:
        text, where = s.impossible, "" if s.impossible_loc is None else f"{s.impossible_loc}: "
        if naming is not None:
            where = ""
            if s.impossible_constraint is not None:
                c = s.constraints[s.impossible_constraint]
                text = naming.label(c) + text[len(c.why) :] if text.startswith(c.why) else text
        lines.append(f"No solution: {where}{text} (widen the search with --max if the answer may be larger)")
    first = next((c for c in s.candidates if c.accepted), None)
    if first is not None and next_step:
        sets = " ".join(f"--set {k}={v}" for k, v in first.values.items())
        lines.append(f"Working for the first: cnncalc explain {file} {sets}")
    for line in report.disagreements:
        lines.append(line)
    checked = any(c is not None for c in report.checks) or any(r is not None for r in report.torch_refusals)
    if report.torch_version and checked:
        lines.append(f"Checked with torch {report.torch_version}.")
    return "\n".join(lines) + "\n"


def _verified(report: SolveReport, i: int) -> bool | None:
    check = report.checks[i] if report.checks else None
    return None if check is None else not check.mismatches


def to_json(report: SolveReport) -> str:
    """Stable JSON (schema ``cnncalc.solve/1``)."""
    s = report.solved
    doc = {
        "schema": "cnncalc.solve/1",
        "name": report.spec.name,
        "unknowns": [{"name": u.name, "uses": list(u.uses), "low": u.low, "high": u.high} for u in s.unknowns],
        "constraints": [
            {"why": c.why, "line": c.loc.line, "equation": sym.machine_text(c.expr)} for c in s.constraints
        ],
        "searched": s.searched,
        "truncated": s.truncated,
        "impossible": s.impossible or None,
        "solutions": [
            {
                "values": dict(c.values),
                "accepted": c.accepted,
                "reason": c.reason or None,
                "output": list(c.analysis.output_shape) if c.analysis is not None else None,
                "verified": _verified(report, i),
                "torch_error": report.torch_refusals[i] if report.torch_refusals else None,
            }
            for i, c in enumerate(s.candidates)
        ],
        "torch_version": report.torch_version,
        "disagreements": report.disagreements,
    }
    return json.dumps(doc, indent=2) + "\n"
