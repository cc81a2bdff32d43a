"""The rich table people read in a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import symbolic as sym
from ..analysis.cost import human_count
from ..report import ShapesReport as Report
from ..report import rows
from .formats import summary_lines, verification_line
from .notation import count_text, rf_text, shape_text


def table(report: Report) -> Table:
    """The layer table with totals in the footer."""
    symbolic = bool(report.symbols)
    main = report.main
    t = Table(
        title=f"{main.graph.name} · input {shape_text(report.shown(main.graph.input_shape))}",
        show_footer=True,
        title_justify="left",
        header_style="bold",
    )
    has_buffers = any(r.buffers != 0 for r in main.layers)
    t.add_column("Layer", footer="Total")
    t.add_column("Type")
    t.add_column("Output shape", footer=shape_text(report.shown(main.output_shape)))
    if symbolic:
        at = ", ".join(f"{n}={report.defaults.graph.binding[n]}" for n in report.symbols)
        t.add_column(f"At {at}", footer=shape_text(report.shown(report.defaults.output_shape)))
    # Counts are shown at the default sizes; formulas that depend on symbols are listed below the table.
    totals = report.defaults
    t.add_column("Params", justify="right", footer=count_text(totals.total_params))
    if has_buffers:
        t.add_column("Buffers", justify="right", footer=count_text(totals.total_buffers))
    t.add_column(
        "MACs",
        justify="right",
        footer=human_count(report.cost_at_defaults.total_macs) if report.cost_at_defaults else "",
    )
    t.add_column("RF", justify="right")
    t.add_column("✓", justify="center")
    for r in rows(report):
        name = Text("  " * r.depth + r.name, style="bold" if r.group else "")
        cells: list[Any] = [name, Text(r.type, style="dim" if r.group else ""), shape_text(r.shape, True)]
        if symbolic:
            cells.append(shape_text(r.shape_at_defaults or ()))
        shown = r.params_at_defaults if r.params_at_defaults is not None else r.params
        params = count_text(shown) + ("" if r.trainable else " (frozen)")
        cells.append(Text(params, style="dim" if r.group else ""))
        if has_buffers:
            cells.append(count_text(r.buffers))
        cells.append("" if r.group else human_count(r.macs_at_defaults) if isinstance(r.macs_at_defaults, int) else "")
        cells.append(rf_text(r.rf))
        cells.append({True: Text("✓", style="green"), False: Text("✗", style="bold red"), None: ""}[r.verified])
        t.add_row(*cells)
    return t


def print_report(report: Report, console: Console) -> None:
    """Table, then symbolic parameter formulas, totals, conditions and verification status."""
    console.print(table(report))
    for r in rows(report):
        if not isinstance(r.params, int) and not r.group:
            console.print(Text(f"params of {r.name} = {count_text(r.params)}", style="dim"))
    for line in summary_lines(report):
        style = "bold red" if line.startswith("MISMATCH") else ("green" if line.startswith("Verified") else "")
        console.print(Text(line, style=style))


def rf_table(report: Report) -> Table:
    """``cnncalc rf``: per layer and spatial dim, size r, stride S, padding P, and the region of unit 0."""
    from ..analysis.receptive import region

    main = report.main
    spatial = len(main.graph.input_shape) - 1
    t = Table(title=f"{main.graph.name} · receptive fields on input {shape_text(report.shown(main.graph.input_shape))}",
              title_justify="left", header_style="bold")  # fmt: skip
    t.add_column("Layer")
    t.add_column("Type")
    for j in range(spatial):
        suffix = f" d{j}" if spatial > 1 else ""
        t.add_column(f"r{suffix}", justify="right")
        t.add_column(f"S{suffix}", justify="right")
        t.add_column(f"P{suffix}", justify="right")
    t.add_column("unit 0 sees", justify="left")
    t.add_column("✓", justify="center")
    assert report.rf is not None
    for i, (r, rf) in enumerate(zip(main.layers, report.rf.layers)):
        cells: list[Any] = [r.node.name, r.node.layer.name]
        for j, d in enumerate(rf.dims):
            if d.is_global:
                cells += [f"{sym.to_text(d.size)} global", "", ""]
                continue
            size = sym.to_text(d.size) + ("" if d.closed_form else f" (min {sym.to_text(d.min_size)})")
            if beyond_input(d, main.graph.input_shape[1 + j]):
                size += " > input"
            cells += [size, sym.to_text(d.stride), sym.to_text(d.padding)]
        reg = region(report.defaults, i, {j: (0, 0) for j in range(spatial)})
        cells.append(" × ".join(f"[{lo}, {hi}]" for lo, hi in reg.values()))
        cells.append(
            {True: Text("✓", style="green"), False: Text("✗", style="bold red"), None: ""}[report.node_verified(i)]
        )
        t.add_row(*cells)
    return t


def beyond_input(d: Any, input_size: Any) -> bool:
    """Whether a receptive field is larger than the input along its dim (at concrete sizes)."""
    return sym.is_concrete(d.size) and sym.is_concrete(input_size) and d.size > input_size


def print_rf(report: Report, console: Console) -> None:
    """The receptive-field table with its notes."""
    console.print(rf_table(report))
    note = (
        "r: receptive field size, S: effective stride, P: effective padding; unit u sees input units "
        "[u*S - P, u*S - P + r - 1] (Araujo et al., Distill 2019). 'min' marks sizes that vary with "
        "position (transposed convolution, upsampling): r is then the maximum. Regions are clipped to the input."
    )
    console.print(Text(note, style="dim"))
    for w in report.rf.warnings if report.rf else ():
        console.print(Text(f"Warning: {w}", style="yellow"))
    line = verification_line(report)
    console.print(Text(line, style="bold red" if line.startswith("MISMATCH") else "green"))
