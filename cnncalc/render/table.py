"""The rich table people read in a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..pipeline import Report
from .formats import _summary_lines
from .rows import count_text, rows, shape_text


def table(report: Report) -> Table:
    """The layer table with totals in the footer."""
    symbolic = bool(report.symbols)
    main = report.main
    t = Table(title=f"{main.graph.name} · input {shape_text(main.graph.input_shape)}", show_footer=True,
              title_justify="left", header_style="bold")
    has_buffers = any(r.buffers != 0 for r in main.layers)
    t.add_column("Layer", footer="Total")
    t.add_column("Type")
    t.add_column("Output shape", footer=shape_text(main.output_shape))
    if symbolic:
        at = ", ".join(f"{n}={report.defaults.graph.binding[n]}" for n in report.symbols)
        t.add_column(f"At {at}", footer=shape_text(report.defaults.output_shape))
    t.add_column("Params", justify="right", footer=count_text(main.total_params))
    if has_buffers:
        t.add_column("Buffers", justify="right", footer=count_text(main.total_buffers))
    t.add_column("✓", justify="center")
    for r in rows(report):
        name = Text("  " * r.depth + r.name, style="bold" if r.group else "")
        cells: list[Any] = [name, Text(r.type, style="dim" if r.group else ""), shape_text(r.shape)]
        if symbolic:
            cells.append(shape_text(r.shape_at_defaults or ()))
        params = count_text(r.params) + ("" if r.trainable else " (frozen)")
        cells.append(Text(params, style="dim" if r.group else ""))
        if has_buffers:
            cells.append(count_text(r.buffers))
        cells.append({True: Text("✓", style="green"), False: Text("✗", style="bold red"), None: ""}[r.verified])
        t.add_row(*cells)
    return t


def print_report(report: Report, console: Console) -> None:
    """Table, then totals, conditions and verification status."""
    console.print(table(report))
    for line in _summary_lines(report):
        style = "bold red" if line.startswith("MISMATCH") else ("green" if line.startswith("Verified") else "")
        console.print(Text(line, style=style))
