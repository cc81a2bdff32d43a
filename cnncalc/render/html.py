"""HTML for Jupyter (``_repr_html_``): the same rich table people see in a terminal, as an HTML table.

The table is converted cell by cell from the rich ``Table`` the terminal renderer builds, so the
columns, the totals in the footer and the ✓ marks are the same by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

_STYLE = """<style>
.cnncalc table {border-collapse: collapse; font-variant-numeric: tabular-nums;}
.cnncalc caption {text-align: left; font-weight: bold; padding-bottom: 0.3em;}
.cnncalc th, .cnncalc td {padding: 0.15em 0.6em; text-align: left; white-space: nowrap;}
.cnncalc .right {text-align: right;} .cnncalc .center {text-align: center;}
.cnncalc thead th {border-bottom: 1px solid #999;} .cnncalc tfoot td {border-top: 1px solid #999; font-weight: bold;}
.cnncalc .dim {opacity: 0.65;} .cnncalc .ok {color: #1a7f37;} .cnncalc .bad {color: #cf222e; font-weight: bold;}
.cnncalc p {margin: 0.2em 0; font-family: monospace;}
</style>"""


def _span(cell: Any) -> str:
    """One cell (a str, or a rich Text) as escaped HTML, its style as a class; a str is never read as rich markup
    (a network named ``[link=...]`` is shown as written)."""
    from rich.text import Text

    from ..textsafe import visible

    text = cell if isinstance(cell, Text) else Text(visible(str(cell))) if cell is not None else Text("")
    style = str(text.style or "")
    classes = [c for word, c in (("green", "ok"), ("red", "bad"), ("dim", "dim")) if word in style]
    body = escape(text.plain)
    if "bold" in style and "red" not in style:
        body = f"<strong>{body}</strong>"
    return f'<span class="{" ".join(classes)}">{body}</span>' if classes else body


def from_rich(table: Any, lines: Iterable[Any] = ()) -> str:
    """A rich ``Table`` (title, header, rows, footer) and the lines under it, as one HTML fragment."""
    columns = table.columns
    align = [{"right": ' class="right"', "center": ' class="center"'}.get(c.justify, "") for c in columns]
    head = "".join(f"<th{a}>{_span(c.header)}</th>" for c, a in zip(columns, align))
    cells = [list(c.cells) for c in columns]
    body = "".join(
        "<tr>" + "".join(f"<td{a}>{_span(col[i])}</td>" for col, a in zip(cells, align)) + "</tr>"
        for i in range(table.row_count)
    )
    foot = ""
    if table.show_footer:
        foot = (
            "<tfoot><tr>" + "".join(f"<td{a}>{_span(c.footer)}</td>" for c, a in zip(columns, align)) + "</tr></tfoot>"
        )
    caption = f"<caption>{_span(table.title)}</caption>" if table.title else ""
    notes = "".join(f"<p>{_span(line)}</p>" for line in lines)
    return (f'<div class="cnncalc">{_STYLE}<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            f"{foot}</table>{notes}</div>")  # fmt: skip
