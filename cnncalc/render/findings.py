"""Rendering ``cnncalc check`` results: text, JSON, GitHub workflow annotations and JUnit XML."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from ..report import CheckReport, Finding, ReportBase


def to_text(report: ReportBase) -> str:
    """One line per check (✓/✗), the failure messages indented, then the counts."""
    lines = [f"cnncalc check {report.subject}"]
    for f in report.findings:
        lines.append(f"  {'✓' if f.ok else '✗'} {f.title}" + (f": {f.message}" if f.ok and f.message else ""))
        if not f.ok:
            where = f"{f.loc}: " if f.loc else ""
            lines.append(f"      {where}error: {f.message}")
    passed = sum(f.ok for f in report.findings)
    lines.append(f"{passed} passed, {len(report.findings) - passed} failed")
    return "\n".join(lines) + "\n"


def to_dict(report: CheckReport) -> dict[str, Any]:
    """The stable JSON document (schema ``cnncalc.check/1``)."""
    return {
        "schema": "cnncalc.check/1", "target": report.target, "kind": report.kind, "ok": report.ok,
        "passed": sum(f.ok for f in report.findings), "failed": len(report.failures), "params": report.params,
        "checks": [_finding(f) for f in report.findings],
    }  # fmt: skip


def _finding(f: Finding) -> dict[str, Any]:
    loc: dict[str, Any] | None = None
    if f.loc is not None:
        loc = {"file": f.loc.file, "line": f.loc.line, "column": f.loc.col}
        if f.loc.cell is not None:
            loc["cell"] = f.loc.cell  # a notebook: line and column are within this cell
    return {"name": f.name, "where": f.where, "ok": f.ok, "message": f.message, "location": loc}


def to_json(report: CheckReport) -> str:
    """``to_dict`` as indented JSON."""
    return json.dumps(to_dict(report), indent=2) + "\n"


def _escape(text: str, prop: bool = False) -> str:
    """GitHub's workflow-command escaping (properties also escape ``:`` and ``,``)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def to_github(report: ReportBase) -> str:
    """``::error file=...,line=...,col=...,title=...::message`` per failure, then the text summary."""
    lines = []
    for f in report.failures:
        props, cell = [], ""
        if f.loc is not None and f.loc.cell is not None:  # a line of the notebook's JSON would mislead: name the cell
            props.append(f"file={_escape(f.loc.file, True)}")
            cell = f"{f.loc}: "
        elif f.loc is not None:
            props += [f"file={_escape(f.loc.file, True)}", f"line={f.loc.line}", f"col={f.loc.col}"]
        props.append(f"title={_escape('cnncalc: ' + f.title, True)}")
        lines.append(f"::error {','.join(props)}::{_escape(cell + f.message)}")
    return "\n".join(lines) + ("\n" if lines else "") + to_text(report)


def to_junit(report: ReportBase) -> str:
    """A JUnit XML test suite, one test case per check (CI systems show these as tests)."""
    suite = ET.Element("testsuite", name=f"cnncalc check {report.subject}", tests=str(len(report.findings)),
                       failures=str(len(report.failures)), errors="0", skipped="0")  # fmt: skip
    for f in report.findings:
        case = ET.SubElement(suite, "testcase", classname=f"cnncalc.{report.subject}", name=f.title)
        if f.loc is not None:
            case.set("file", f.loc.file)
            if f.loc.cell is None:
                case.set("line", str(f.loc.line))
        if not f.ok:
            failure = ET.SubElement(case, "failure", message=f.message[:500], type=f.name)
            failure.text = (f"{f.loc}: " if f.loc else "") + f.message
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
