"""The rich table people read in a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from .. import symbolic as sym
from ..analysis.cost import human_count
from ..report import ShapesReport as Report
from ..report import rows
from .fit import FIXED, SHAPE, WORDS, Column, fit, safe
from .formats import summary_lines, verification_line
from .notation import count_text, rf_text, shape_text

_MARK = {True: Text("✓", style="green"), False: Text("✗", style="bold red"), None: Text("")}


def columns(report: Report) -> list[Column]:
    """The layer table's columns, totals in the footer (RF, MACs and buffers may move to a second table)."""
    symbolic = bool(report.symbols)
    main, totals = report.main, report.defaults
    layer_rows = rows(report)
    has_buffers = any(r.buffers != 0 for r in main.layers)
    cols = [
        Column("Layer", [Text("  " * r.depth + r.name, style="bold" if r.group else "") for r in layer_rows], "Total"),
        Column("Type", [Text(r.type, style="dim" if r.group else "") for r in layer_rows], label="type"),
        Column("Output shape", [shape_text(r.readable) for r in layer_rows], shape_text(report.readable(main.output_shape)),
               kind=SHAPE, label="output"),
    ]  # fmt: skip
    if symbolic:
        at = ", ".join(f"{n}={report.defaults.graph.binding[n]}" for n in report.symbols)
        cols.append(Column(f"At {at}", [shape_text(r.shape_at_defaults or ()) for r in layer_rows],
                           shape_text(report.shown(totals.output_shape)), kind=SHAPE, label=f"at {at}"))  # fmt: skip
    # Counts are shown at the default sizes; formulas that depend on symbols are listed below the table.
    params = [count_text(r.params_at_defaults if r.params_at_defaults is not None else r.params)
              + ("" if r.trainable else " (frozen)") for r in layer_rows]  # fmt: skip
    cols.append(Column("Params", [Text(p, style="dim" if r.group else "") for p, r in zip(params, layer_rows)],
                       count_text(totals.total_params), "right", label="params"))  # fmt: skip
    if has_buffers:
        cols.append(Column("Buffers", [count_text(r.buffers) for r in layer_rows], count_text(totals.total_buffers),
                           "right", secondary=True, label="buffers"))  # fmt: skip
    macs = [("" if r.group else human_count(r.macs_at_defaults) if isinstance(r.macs_at_defaults, int) else "")
            for r in layer_rows]  # fmt: skip
    total = human_count(report.cost_at_defaults.total_macs) if report.cost_at_defaults else ""
    cols.append(Column("MACs", macs, total, "right", secondary=True, label="MACs"))
    cols.append(Column("RF", [rf_text(r.rf) for r in layer_rows], justify="right", kind=WORDS, secondary=True,
                       label="RF"))  # fmt: skip
    cols.append(Column("✓", [_MARK[r.verified] for r in layer_rows], justify="center"))
    return cols


def table(report: Report, width: int | None = None) -> Any:
    """The layer table with totals in the footer, fitted to ``width`` (None: as wide as it needs)."""
    title = f"{report.main.graph.name} · input {shape_text(report.shown(report.main.graph.input_shape))}"
    return fit(title, columns(report), width)


def print_report(report: Report, console: Console, width: int | None = None) -> None:
    """Table, then symbolic parameter formulas, totals, conditions and verification status.

    ``width`` None: a pipe or a log; the table takes the width it needs and sentences are not wrapped.
    """
    console.print(table(report, width))
    for line in notes(report):
        console.print(safe(line), soft_wrap=width is None)


def notes(report: Report) -> list[Text]:
    """The lines under the table: symbolic parameter formulas, then totals, conditions and verification."""
    out = [Text(f"params of {r.name} = {count_text(r.params)}", style="dim")
           for r in rows(report) if not isinstance(r.params, int) and not r.group]  # fmt: skip
    for line in summary_lines(report):
        style = "bold red" if line.startswith("MISMATCH") else ("green" if line.startswith("Verified") else "")
        out.append(Text(line, style=style))
    return out


def rf_table(report: Report, width: int | None = None) -> Any:
    """``cnncalc rf``: per layer and spatial dim, size r, stride S, padding P, and the region of unit 0."""
    from ..analysis.receptive import region

    main = report.main
    spatial = len(main.graph.input_shape) - 1
    title = f"{main.graph.name} · receptive fields on input {shape_text(report.shown(main.graph.input_shape))}"
    assert report.rf is not None
    cells: list[list[Any]] = []
    for i, (r, rf) in enumerate(zip(main.layers, report.rf.layers)):
        row: list[Any] = [r.node.name, r.node.layer.name]
        if not rf.dims:
            row += ["—"] * (3 * spatial) + [f"not derived: {rf.note}" if rf.note else "", _MARK[None]]
            cells.append(row)
            continue
        for j, d in enumerate(rf.dims):
            if d.is_global:
                row += [f"{sym.to_text(d.size)} global", "", ""]
                continue
            size = sym.to_text(d.size) + ("" if d.closed_form else f" (min {sym.to_text(d.min_size)})")
            if beyond_input(d, main.graph.input_shape[1 + j]):
                size += " > input"
            row += [size, *("—" if v is None else sym.to_text(v) for v in (d.stride, d.padding))]
        reg = region(report.defaults, i, {j: (0, 0) for j in range(spatial)}, report.rf)
        row.append(" × ".join(f"[{lo}, {hi}]" for lo, hi in reg.values()))
        row.append(_MARK[report.node_verified(i)])
        cells.append(row)
    heads = ["Layer", "Type"]
    for j in range(spatial):
        suffix = f" d{j}" if spatial > 1 else ""
        heads += [f"r{suffix}", f"S{suffix}", f"P{suffix}"]
    heads += ["unit 0 sees", "✓"]
    cols = [Column(h, [row[k] for row in cells], justify="left" if k < 2 or h == "unit 0 sees" else "right",
                   kind=WORDS if k >= 2 and h != "✓" else FIXED, secondary=h == "unit 0 sees")
            for k, h in enumerate(heads)]  # fmt: skip
    cols[-1].justify = "center"
    return fit(title, cols, width)


def beyond_input(d: Any, input_size: Any) -> bool:
    """Whether a receptive field is larger than the input along its dim (at concrete sizes)."""
    return sym.is_concrete(d.size) and sym.is_concrete(input_size) and d.size > input_size


def print_rf(report: Report, console: Console, width: int | None = None) -> None:
    """The receptive-field table with its notes."""
    console.print(rf_table(report, width))
    note = (
        "r: receptive field size, S: effective stride, P: effective padding; where r has no 'min', unit u sees input "
        "units within [u*S - P, u*S - P + r - 1] (Araujo et al., Distill 2019), all of it when that lies inside the "
        "input. 'min' marks sizes that vary with position (transposed convolution, resampling, reflection, after a "
        "reshape): r is then the largest region of any unit, min the smallest of an interior unit. A unit is a "
        "position, all channels together; after Flatten it is one element."
    )
    soft = width is None
    console.print(safe(Text(note, style="dim")), soft_wrap=soft)
    for w in report.rf.warnings if report.rf else ():
        console.print(safe(Text(f"Warning: {w}", style="yellow")), soft_wrap=soft)
    for n in report.rf.notes if report.rf else ():
        console.print(safe(Text(f"Note: {n}", style="yellow")), soft_wrap=soft)
    line = verification_line(report)
    console.print(safe(Text(line, style="bold red" if line.startswith("MISMATCH") else "green")), soft_wrap=soft)
