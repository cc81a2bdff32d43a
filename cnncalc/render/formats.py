"""Machine and document formats: JSON (stable schema), Markdown and CSV."""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction
from typing import Any

from ..analysis.cost import human_bytes, human_count
from ..budget import tick
from ..errors import Loc, plural
from ..report import Row, fold, rows
from ..report import ShapesReport as Report
from .notation import count_text, number, shape_list, shape_text

SCHEMA = "cnncalc.shapes/1"


def to_dict(report: Report) -> dict[str, Any]:
    """The JSON document (see docs/json.md); keys are stable within a schema version."""
    main, d = report.main, report.defaults
    symbolic = bool(report.symbols)
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "name": main.graph.name,
        "file": main.graph.file,
        "input": shape_list(report.shown(main.graph.input_shape)),
        "layout": "channels_last" if report.channels_last else "channels_first",
        "symbols": {n: default for n, default, _ in report.spec.symbols if n in report.symbols},
        "fixed": dict(report.fixed),
        "conditions": report.solution.describe(machine=True) if report.solution else [],
        "output_shape": shape_list(report.shown(main.output_shape)),
        "total_params": number(main.total_params),
        "trainable_params": number(main.trainable_params),
        "non_trainable_params": number(main.total_params - main.trainable_params),
        "buffers": number(main.total_buffers),
        "verified": report.verified,
    }
    if symbolic:
        doc["at_defaults"] = {
            "point": {n: d.graph.binding[n] for n in report.symbols},
            "output_shape": shape_list(report.shown(d.output_shape)),
            "total_params": d.total_params,
            "trainable_params": d.trainable_params,
            "buffers": d.total_buffers,
        }
    doc["verification"] = (
        None
        if not report.checks
        else {
            "device": report.device,
            "torch": report.torch_version,
            "points": [dict(c.point) for c in report.checks],
            "mismatches": [
                {
                    "layer": m.name,
                    "line": m.loc.line,
                    "what": m.what,
                    "derived": m.derived,
                    "actual": m.actual,
                    "source": m.source,
                    "point": dict(m.point),
                }
                for m in report.mismatches
            ],
        }
    )
    doc["expect_failures"] = report.expect_failures
    if report.cost is not None and report.cost_at_defaults is not None:
        c = report.cost_at_defaults
        doc["macs"] = number(report.cost.total_macs)
        doc["memory"] = {
            "dtype": c.dtype,
            "batch": c.batch,
            "param_bytes": c.total_param_bytes,
            "activation_bytes": c.total_activation_bytes,
        }
    doc["receptive_field_warnings"] = list(report.rf.warnings) if report.rf else []
    doc["receptive_field_checks"] = report.rf_probes
    doc["layers"] = [_row_dict(_ticked(report, r), symbolic) for r in rows(report)]  # every layer, never folded
    return doc


FOLD_NOTE = "A row ×N stands for N identical layers in a chain (its counts are their sums); --expand lists each."


def _ticked(report: Report, r: Row) -> Row:
    """``r``, once the time limit is checked (--timeout covers the writing too), located at its layer."""
    tick(Loc(report.spec.file, r.line, r.column), "writing the output")
    return r


def _rf_dict(rf: Any) -> dict[str, Any] | None:
    if rf is None or not rf.dims:
        return None

    def val(x: Any) -> Any:
        if x is None:
            return None
        return f"{x.numerator}/{x.denominator}" if isinstance(x, Fraction) else number(x)

    return {
        "size": [val(d.size) for d in rf.dims],
        "stride": [val(d.stride) for d in rf.dims],
        "padding": [val(d.padding) for d in rf.dims],
        "min_size": [val(d.min_size) for d in rf.dims],
        "global": [d.is_global for d in rf.dims],
        "closed_form": [d.closed_form for d in rf.dims],
    }


def _row_dict(r: Row, symbolic: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "name": r.name,
        "type": r.type,
        "line": r.line,
        "column": r.column,
        "depth": r.depth,
        "group": r.group,
        "inputs": list(r.inputs),
        "output_shape": shape_list(r.shape),
        "params": number(r.params),
        "buffers": number(r.buffers),
        "trainable": r.trainable,
        "verified": r.verified,
    }
    if not r.group:
        out["macs"] = number(r.macs)
        out["activation_bytes"] = number(r.activation_bytes)
        out["receptive_field"] = _rf_dict(r.rf)
        if r.rf is not None and r.rf.note:
            out["receptive_field_note"] = r.rf.note
    if symbolic:
        out["output_shape_at_defaults"] = list(r.shape_at_defaults or ())
        out["params_at_defaults"] = r.params_at_defaults
    return out


def to_json(report: Report) -> str:
    """The JSON text, indented, with a trailing newline."""
    return json.dumps(to_dict(report), indent=2) + "\n"


def _mark(v: bool | None) -> str:
    return {True: "✓", False: "✗", None: ""}[v]


def to_markdown(report: Report, expand: bool = False) -> str:
    """A GitHub-flavoured Markdown table, ready to paste into a report (``expand``: a row per layer; default: a
    layer repeated in a chain is one row, ``ReLU ×9000``)."""
    symbolic = bool(report.symbols)
    header = ["Layer", "Type", "Output shape"] + (["At defaults"] if symbolic else []) + ["Params", "Verified"]
    lines = [
        f"**{report.main.graph.name}**: input {shape_text(report.shown(report.main.graph.input_shape))}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    every = rows(report)
    shown = every if expand else fold(every)
    for r in shown:
        _ticked(report, r)
        name = ("&nbsp;&nbsp;" * r.depth) + (f"**{r.label}**" if r.group else r.label)
        cells = [name, r.type_label, shape_text(r.readable, pretty=True)]
        if symbolic:
            cells.append(shape_text(r.shape_at_defaults or ()))
        cells += [count_text(r.params), _mark(r.verified)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", *([FOLD_NOTE] if len(shown) < len(every) else []), *summary_lines(report)]
    return "\n".join(lines) + "\n"


def to_csv(report: Report) -> str:
    """One CSV row per table row, with a header."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "name",
            "id",
            "type",
            "line",
            "depth",
            "group",
            "output_shape",
            "output_shape_at_defaults",
            "params",
            "buffers",
            "trainable",
            "verified",
        ]
    )
    for r in rows(report):  # every layer, never folded
        _ticked(report, r)
        w.writerow(
            [
                r.name,
                r.id or "",
                r.type,
                r.line,
                r.depth,
                int(r.group),
                "x".join(map(str, r.shape)),
                "x".join(map(str, r.shape_at_defaults)) if r.shape_at_defaults else "",
                number(r.params),
                number(r.buffers),
                int(r.trainable),
                "" if r.verified is None else int(r.verified),
            ]
        )
    return buf.getvalue()


def summary_lines(report: Report) -> list[str]:
    """Totals, conditions and verification status as plain sentences (shared by table and Markdown)."""
    m = report.main
    out = [
        f"Total params: {count_text(m.total_params)}  ·  trainable: {count_text(m.trainable_params)}  ·  "
        f"non-trainable: {count_text(m.total_params - m.trainable_params)}  ·  buffers: {count_text(m.total_buffers)}"
    ]
    if report.symbols:
        d = report.defaults
        at = point_text(report)
        out.append(
            f"At {at}: output {shape_text(report.shown(d.output_shape))}, params {count_text(d.total_params)}, "
            f"buffers {count_text(d.total_buffers)}"
        )
        out.append("Valid when: " + (", ".join(report.conditions) if report.conditions else "any positive size"))
    if report.cost_at_defaults is not None:
        c = report.cost_at_defaults
        at = f" at {point_text(report)}" if report.symbols else ""
        out.append(f"MACs per sample{at}: {human_count(c.total_macs)} ({c.total_macs:,}; FLOPs ≈ 2 × MACs)  ·  "
                   f"params+buffers {human_bytes(c.total_param_bytes)}  ·  forward activations "
                   f"{human_bytes(c.total_activation_bytes)} ({c.dtype}, batch {c.batch}; 1 MiB = 2^20 bytes)")  # fmt: skip
    for w in report.rf.warnings if report.rf else ():
        out.append(f"Warning: {w}")
    out += [f"Note: {n}" for n in report.notes]
    out.append(verification_line(report))
    return out


def point_text(report: Report) -> str:
    """``H=32, W=32``: the sizes the concrete figures are at (the defaults, or the first valid sizes of a null symbol)."""
    return ", ".join(f"{n}={report.defaults.graph.binding[n]}" for n in report.symbols)


def verification_line(report: Report) -> str:
    """One sentence on what torch confirmed."""
    if not report.checks:
        return "Not verified (--no-verify): numbers are derived, not checked with torch."
    points = "; ".join(", ".join(f"{k}={v}" for k, v in c.point.items()) for c in report.checks if c.point)
    where = f" at {points}" if points else ""
    n = len(report.main.layers)
    agree = f"all {n:,} layers agree" if n != 1 else "its one layer agrees"
    probes = report.rf_probes
    rf = (f"; receptive fields of {plural(probes, 'unit')} match the input gradients" if probes > 1 else
          "; the receptive field of 1 unit matches the input gradients" if probes == 1 else "")  # fmt: skip
    if report.verified:
        return f"Verified: torch {report.torch_version} forward pass on {report.device}{where}: {agree}{rf}."
    places = plural(len(report.mismatches), "place")
    others = sorted({m.source.split(" (")[0] for m in report.mismatches})
    if "torch" not in others:  # a saved Keras model's weights, Keras' own forward pass
        return (f"MISMATCH: torch {report.torch_version} on {report.device}{where} agrees with every derived number, "
                f"but {' and '.join(others)} disagree{'s' if others == ['Keras'] else ''} in {places}.")  # fmt: skip
    return f"MISMATCH: torch {report.torch_version} on {report.device}{where} disagrees in {places}."
