"""``cnncalc solve`` output: the unknowns, each solution, and torch's verdict, as text or JSON."""

from __future__ import annotations

import json
from typing import Any

from ..report import SolveReport
from .notation import shape_text


def _values(values: Any) -> str:
    return ", ".join(f"{k} = {v}" for k, v in values.items())


def _verdict(report: SolveReport, i: int) -> str:
    cand = report.solved.candidates[i]
    check = report.checks[i] if report.checks else None
    if cand.analysis is not None:
        out = f"output {shape_text(cand.analysis.output_shape)}"
        if check is None:
            return f"accepted ({out}; not verified)"
        return f"accepted, verified with torch ({out})" if not check.mismatches else "accepted, but torch DISAGREES"
    torch_says = report.torch_refusals[i] if report.torch_refusals else None
    tail = f"; torch says: {torch_says}" if torch_says else ""
    return f"refused by torch's rules: {cand.reason}{tail}"


def to_text(report: SolveReport, file: str) -> str:
    """Plain text for people."""
    s = report.solved
    lines = []
    for u in s.unknowns:
        lines.append(f"Unknown {u.name}: {', '.join(u.uses) or 'unused'} (searched {u.low}..{u.high})")
    lines.append("Constraints:")
    for c in s.constraints:
        lines.append(f"  {c.why} (line {c.loc.line}): {c.expr}")
    accepted = sum(c.accepted for c in s.candidates)
    n = len(s.candidates)
    more = " (more exist; raise --limit)" if s.truncated else ""
    lines.append(f"{n} solution{'s' if n != 1 else ''}{more}, {accepted} accepted by torch "
                 f"({s.searched:,} candidates tried):")  # fmt: skip
    for i, cand in enumerate(s.candidates):
        lines.append(f"  {_values(cand.values)}: {_verdict(report, i)}")
    if s.impossible:
        lines.append(f"No solution: {s.impossible} (widen the search with --max if the answer may be larger)")
    first = next((c for c in s.candidates if c.accepted), None)
    if first is not None:
        sets = " ".join(f"--set {k}={v}" for k, v in first.values.items())
        lines.append(f"Working for the first: cnncalc explain {file} {sets}")
    for line in report.disagreements:
        lines.append(line)
    if report.torch_version:
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
        "constraints": [{"why": c.why, "line": c.loc.line, "equation": str(c.expr)} for c in s.constraints],
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
