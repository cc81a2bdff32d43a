"""The rich table people read in a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from .. import symbolic as sym
from ..analysis.cost import human_count
from ..budget import tick
from ..errors import Loc
from ..report import Row, fold, rows
from ..report import ShapesReport as Report
from .fit import FIXED, SHAPE, WORDS, Column, Ticking, fit, safe
from .formats import FOLD_NOTE, summary_lines, verification_line
from .notation import count_text, rf_text, shape_text

_MARK = {True: Text("✓", style="green"), False: Text("✗", style="bold red"), None: Text("")}


def shown_rows(report: Report, expand: bool = False) -> list[Row]:
    """The rows people read: a layer repeated in a chain folded into one (``ReLU ×9000``) unless ``expand``."""
    every = rows(report)
    tick(Loc(report.spec.file, every[-1].line, every[-1].column) if every else None, "writing the table")
    return every if expand else fold(every)


def columns(report: Report, expand: bool = False, layer_rows: list[Row] | None = None) -> list[Column]:
    """The layer table's columns, totals in the footer (RF, MACs and buffers may move to a second table)."""
    symbolic = bool(report.symbols)
    main, totals = report.main, report.defaults
    layer_rows = shown_rows(report, expand) if layer_rows is None else layer_rows
    has_buffers = any(r.buffers != 0 for r in main.layers)
    cols = [
        Column("Layer", [Ticking("  " * r.depth + r.label, style="bold" if r.group else "",
                                 loc=Loc(report.spec.file, r.line, r.column)) for r in layer_rows], "Total"),
        Column("Type", [Text(r.type_label, style="dim" if r.group else "") for r in layer_rows], label="type"),
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


def table(report: Report, width: int | None = None, expand: bool = False,
          layer_rows: list[Row] | None = None) -> Any:  # fmt: skip
    """The layer table with totals in the footer, fitted to ``width`` (None: as wide as it needs)."""
    title = f"{report.main.graph.name} · input {shape_text(report.shown(report.main.graph.input_shape))}"
    return fit(title, columns(report, expand, layer_rows), width)


def print_report(report: Report, console: Console, width: int | None = None, expand: bool = False) -> None:
    """Table, then symbolic parameter formulas, totals, conditions and verification status.

    ``width`` None: a pipe or a log; the table takes the width it needs and sentences are not wrapped.
    ``expand``: a row per layer (default: a layer repeated in a chain is one row, ``ReLU ×9000``).
    """
    layer_rows = shown_rows(report, expand)
    console.print(table(report, width, expand, layer_rows))
    for line in notes(report, expand, layer_rows):
        console.print(safe(line), soft_wrap=width is None)


def notes(report: Report, expand: bool = False, layer_rows: list[Row] | None = None) -> list[Text]:
    """The lines under the table: symbolic parameter formulas, then totals, conditions and verification."""
    layer_rows = shown_rows(report, expand) if layer_rows is None else layer_rows
    out = [Text(f"params of {r.label} = {count_text(r.params)}", style="dim")
           for r in layer_rows if not isinstance(r.params, int) and not r.group]  # fmt: skip
    if any(r.count > 1 for r in layer_rows):
        out.append(Text(FOLD_NOTE, style="dim"))
    for line in summary_lines(report):
        style = "bold red" if line.startswith("MISMATCH") else ("green" if line.startswith("Verified") else "")
        out.append(Text(line, style=style))
    return out


def rf_table(report: Report, width: int | None = None, expand: bool = False) -> Any:
    """``cnncalc rf``: per layer and spatial dim, size r, stride S, padding P, and the region of unit 0 (a layer
    repeated in a chain with the same numbers is one row, ``ReLU ×9000``, unless ``expand``)."""
    from ..analysis.receptive import region

    main = report.main
    spatial = len(main.graph.input_shape) - 1
    title = f"{main.graph.name} · receptive fields on input {shape_text(report.shown(main.graph.input_shape))}"
    assert report.rf is not None
    cells: list[list[Any]] = []
    runs: list[tuple[int, int]] = []  # per row: its first and last layer
    for i, (r, rf) in enumerate(zip(main.layers, report.rf.layers)):
        row: list[Any] = [Ticking(r.node.name, loc=r.node.loc), r.node.layer.name]
        if not rf.dims:
            row += ["—"] * (3 * spatial) + [f"not derived: {rf.note}" if rf.note else "", _MARK[None]]
            _add_row(main, cells, runs, row, i, expand)
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
        _add_row(main, cells, runs, row, i, expand)
    for row, (first, last) in zip(cells, runs):
        if last > first:
            n = last - first + 1
            row[0] = row[0].like(
                Text(f"{main.layers[first].node.name} … {main.layers[last].node.name.rpartition('.')[2]}")
            )
            row[1] = f"{row[1]} ×{n}"
    if len(cells) < len(main.layers) and spatial:
        title += " (a row ×N: N identical layers in a chain; --expand lists each)"
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


def _add_row(main: Any, cells: list[list[Any]], runs: list[tuple[int, int]], row: list[Any], i: int,
             expand: bool) -> None:  # fmt: skip
    """Append layer ``i``'s row, or fold it into the previous one when it repeats that layer with the same numbers
    (fed by it, written on the same line in the same scope)."""
    tick(row[0].loc, "writing the table")
    if not expand and cells:
        first, last = runs[-1]
        a, b = main.layers[last].node, main.layers[i].node
        if (b.inputs == (last,) and a.loc == b.loc and a.layer.name == b.layer.name
                and a.name.rpartition(".")[0] == b.name.rpartition(".")[0]
                and [str(x) for x in cells[-1][1:]] == [str(x) for x in row[1:]]):  # fmt: skip
            runs[-1] = (first, i)
            return
    cells.append(row)
    runs.append((i, i))


def beyond_input(d: Any, input_size: Any) -> bool:
    """Whether a receptive field is larger than the input along its dim (at concrete sizes)."""
    return sym.is_concrete(d.size) and sym.is_concrete(input_size) and d.size > input_size


def print_rf(report: Report, console: Console, width: int | None = None, expand: bool = False) -> None:
    """The receptive-field table with its notes."""
    console.print(rf_table(report, width, expand))
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
