"""Tables that never cut a number or a name: they fold to the width instead.

A table is described by its columns; :func:`fit` lays it out for a width:

1. every column at its natural width, when that fits (or when there is no width: a
   pipe or a CI log gets the width the table needs);
2. else shape and text columns wrap, shapes after a ``×`` or ``·`` (``64×⌊H/2⌋×`` /
   ``⌊W/2⌋``), text between words; numbers and names never break;
3. else the secondary columns (MACs, RF, buffers, notes) move to a second table,
   keyed by the same first column;
4. else one layer per line, ``name (Type): output 64×112×112 · params 1,792 · ...``,
   wrapped between fields (continuation lines indented).

Widths are measured in terminal cells (``rich.cells.cell_len``), so ``⌊`` and ``×`` count once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.cells import cell_len
from rich.console import Group
from rich.table import Table
from rich.text import Text

FIXED, SHAPE, WORDS = "fixed", "shape", "words"
_BREAKS = {SHAPE: re.compile(r"(?<=[×·])|(?<= )"), WORDS: re.compile(r"(?<= )")}


@dataclass
class Column:
    """One column: header, cells (str or rich Text), optional footer, and how it may fold."""

    header: str
    cells: list[Any] = field(default_factory=list)
    footer: str = ""
    justify: str = "left"
    kind: str = FIXED  # FIXED never breaks; SHAPE breaks after × or ·; WORDS between words
    secondary: bool = False  # may move to a second table when the width is short
    label: str = ""  # the field's name in the one-layer-per-line form ("" = the header)

    def texts(self) -> list[Text]:
        """Header, cells and footer as Text."""
        return [_text(x) for x in (self.header, *self.cells, self.footer)]

    @property
    def natural(self) -> int:
        """The width that shows every cell on one line."""
        return max(_width(t) for t in self.texts())

    @property
    def least(self) -> int:
        """The narrowest width that breaks no number, name or word."""
        words = max((cell_len(w) for w in self.header.split()), default=0)
        if self.kind == FIXED:
            return max(words, *(_width(_text(x)) for x in (*self.cells, self.footer)))
        pieces = [p for t in self.texts() for line in t.plain.split("\n") for p in _BREAKS[self.kind].split(line)]
        return max(cell_len(p.rstrip()) for p in pieces if p) if pieces else 1


def _text(x: Any) -> Text:
    return x if isinstance(x, Text) else Text(str(x))


def safe(x: Any) -> Any:
    """A cell or line with the user's control characters escaped (textsafe); a Text keeps its style.

    Everything a table or a line under it shows passes here, so a name such as ``\x1b[2J`` or
    ``[bold red]`` is shown as written: never a terminal escape sequence, never rich markup.
    """
    from ..textsafe import one_line, visible

    if isinstance(x, Text):
        plain = "\n".join(one_line(line) for line in x.plain.split("\n"))
        if plain == x.plain:
            return x
        escaped = Text(plain, style=x.style, justify=x.justify)
        return x.like(escaped) if isinstance(x, Ticking) else escaped
    if isinstance(x, str):
        return Text(visible(x))
    return x


def _safe_column(c: Column) -> Column:
    from dataclasses import replace

    return replace(c, header=safe(c.header).plain, cells=[safe(x) for x in c.cells],
                   footer=safe(c.footer).plain if isinstance(c.footer, str) else safe(c.footer))  # fmt: skip


def _width(t: Text) -> int:
    return max((cell_len(line) for line in t.plain.split("\n")), default=0)


def _folded(t: Text, width: int, kind: str) -> Text:
    """``t`` broken into lines of at most ``width`` cells at the column's break points."""
    if kind == FIXED or _width(t) <= width:
        return t
    out: list[str] = []
    for line in t.plain.split("\n"):
        current = ""
        for piece in _BREAKS[kind].split(line):
            if current and cell_len((current + piece).rstrip()) > width:
                out.append(current.rstrip())
                current = piece
            else:
                current += piece
        out.append(current.rstrip())
    return Text("\n".join(out), style=t.style, justify=t.justify)


def table_width(widths: Sequence[int]) -> int:
    """A rich table's width: each column plus its padding, and the borders between."""
    return sum(widths) + 3 * len(widths) + 1


def _widths(columns: Sequence[Column], width: int | None, fold: bool = True) -> list[int] | None:
    """Column widths that fit ``width`` (folding shapes and words when ``fold``) without breaking what must
    not break, or None."""
    natural = [c.natural for c in columns]
    if width is None or table_width(natural) <= width:
        return natural
    least = [c.least for c in columns]
    if not fold or table_width(least) > width:
        return None
    widths, spare = list(least), width - table_width(least)
    for k in sorted(range(len(columns)), key=lambda k: natural[k] - least[k]):  # give back the least-needy first
        grow = min(spare, natural[k] - least[k])
        widths[k] += grow
        spare -= grow
    return widths


class Ticking(Text):
    """A cell that checks the time limit (``budget.tick``, located at ``loc``) whenever rich renders it: printing a
    long table can be most of the work on a deep network, and --timeout covers everything up to the last byte."""

    def __init__(self, text: str = "", style: Any = "", loc: Any = None, doing: str = "writing the table") -> None:
        super().__init__(text, style=style)
        self.loc, self.doing = loc, doing

    def like(self, t: Text) -> Ticking:
        """``t`` (this cell escaped or folded) as a ticking cell again."""
        out = Ticking(loc=self.loc, doing=self.doing)
        out.append_text(t)
        out.style = t.style
        return out

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from ..budget import tick

        tick(self.loc, self.doing)
        return super().__rich_console__(console, options)


def _table(title: str | None, columns: Sequence[Column], widths: Sequence[int], footer: bool) -> Table:
    t = Table(title=Text(title) if title is not None else None, title_justify="left", header_style="bold",
              show_footer=footer)  # fmt: skip
    for c, w in zip(columns, widths):
        t.add_column(_folded(Text(c.header), w, WORDS), footer=_folded(_text(c.footer), w, c.kind),
                     justify=c.justify, width=w, no_wrap=True)  # type: ignore[arg-type]  # fmt: skip
    for row in zip(*(c.cells for c in columns)):
        cells = [_folded(_text(x), w, c.kind) for x, c, w in zip(row, columns, widths)]
        t.add_row(*(x.like(y) if isinstance(x, Ticking) and not isinstance(y, Ticking) else y
                    for x, y in zip(row, cells)))  # fmt: skip
    return t


def fit(title: str, columns: Sequence[Column], width: int | None) -> Any:
    """The table (or tables, or lines) for ``width`` cells; ``None``: the width the table needs.

    In order of preference: one table as it is; the secondary columns in a second table, both as they
    are; one table folded; two tables folded; one layer per line.
    """
    title = safe(title).plain
    columns = [_safe_column(c) for c in columns]
    footer = any(c.footer for c in columns)
    first, rest = columns[0], columns[1:]
    main = [first, *(c for c in rest if not c.secondary)]
    extra = [first, *(c for c in rest if c.secondary)]
    for fold in (False, True):
        widths = _widths(columns, width, fold)
        if widths is not None:
            return _table(title, columns, widths, footer)
        main_w, extra_w = _widths(main, width, fold), _widths(extra, width, fold)
        if len(extra) > 1 and main_w is not None and extra_w is not None:
            return Group(_table(title, main, main_w, footer), _table(None, extra, extra_w, footer))
    return one_per_line(title, columns, width)


def one_per_line(title: str, columns: Sequence[Column], width: int | None) -> Text:
    """``conv1 (Conv2d): output 64×112×112 · params 1,792 · ...``, one row per line, wrapped between fields."""
    lines = [Text(title, style="bold")]
    rows = [*zip(*(c.cells for c in columns))]
    if any(c.footer for c in columns):
        rows.append(tuple(c.footer for c in columns))
    for row in rows:
        if isinstance(row[0], Ticking):
            from ..budget import tick

            tick(row[0].loc, row[0].doing)
        name = _text(row[0]).plain.strip()
        fields = []
        for c, x in zip(columns[1:], row[1:]):
            value = " ".join(_text(x).plain.split())
            if not value:
                continue
            if c.label == "type":
                name += f" ({value})"
            else:
                fields.append(f"{c.label or c.header} {value}" if c.label or c.header != "✓" else value)
        line, out = f"{name}:", []
        for f in fields:
            longer = line + ("" if line.endswith(":") or not line.strip() else " ·") + (" " if line.strip() else "") + f
            if width is not None and cell_len(longer) > width and line.strip() and not line.endswith(":"):
                out.append(line)
                line = "    " + f
            else:
                line = longer
        lines.append(Text("\n".join([*out, line])))
    return Text("\n").join(lines)
