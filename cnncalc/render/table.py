"""The rich table people read in a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..pipeline import Report
from .formats import _summary_lines
from .rows import count_text, pretty_math, rows, shape_text


def table(report: Report) -> Table:
    """The layer table with totals in the footer."""
    symbolic = bool(report.symbols)
    main = report.main
    t = Table(
        title=f"{main.graph.name} · input {shape_text(main.graph.input_shape, True)}",
        show_footer=True,
        title_justify="left",
        header_style="bold",
    )
    has_buffers = any(r.buffers != 0 for r in main.layers)
    t.add_column("Layer", footer="Total")
    t.add_column("Type")
    t.add_column("Output shape", footer=shape_text(main.output_shape, True))
    if symbolic:
        at = ", ".join(f"{n}={report.defaults.graph.binding[n]}" for n in report.symbols)
        t.add_column(f"At {at}", footer=shape_text(report.defaults.output_shape))
    # Counts are shown at the default sizes; formulas that depend on symbols are listed below the table.
    totals = report.defaults
    t.add_column("Params", justify="right", footer=count_text(totals.total_params))
    if has_buffers:
        t.add_column("Buffers", justify="right", footer=count_text(totals.total_buffers))
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
        cells.append({True: Text("✓", style="green"), False: Text("✗", style="bold red"), None: ""}[r.verified])
        t.add_row(*cells)
    return t


def print_report(report: Report, console: Console) -> None:
    """Table, then symbolic parameter formulas, totals, conditions and verification status."""
    console.print(table(report))
    for r in rows(report):
        if not isinstance(r.params, int) and not r.group:
            console.print(Text(f"params of {r.name} = {pretty_math(count_text(r.params))}", style="dim"))
    for line in _summary_lines(report):
        style = "bold red" if line.startswith("MISMATCH") else ("green" if line.startswith("Verified") else "")
        console.print(Text(line, style=style))
