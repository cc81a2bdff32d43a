"""A format-neutral picture: polygons, polylines and text, in pixels, y pointing down.

Every figure is built once as a :class:`Scene` and written by ``svg.py`` (SVG,
then PNG and PDF through cairosvg) and ``tikz.py`` (TikZ). Text is measured with
the advance widths of DejaVu Sans (the font named first), which are at least as
wide as Helvetica's and TeX's sans serif, so text placed with these widths does
not overlap in any of the formats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Point = tuple[float, float]
BBox = tuple[float, float, float, float]  # x0, y0, x1, y1

FONT = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif"

# Advance widths of DejaVu Sans per 100 units of font size (regular, then bold), grouped by width.
_REGULAR = {27: "'", 28: "ijl", 30: "IJ", 32: " ,.·", 34: "/:;\\|", 35: "f", 36: "-", 39: "()[]t⌊⌋⌈⌉", 40: "!",
            41: "r", 46: '"', 50: "*_`", 52: "sz", 53: "?", 55: "c", 56: "L", 58: "Fk", 59: "vxy", 60: "P",
            61: "TYao", 62: "e", 63: "ESbdghnpquΣ", 64: "$0123456789{}", 66: "K", 68: "AV", 69: "BRXZ", 70: "C",
            73: "U", 75: "HN", 77: "DG", 78: "&", 79: "OQ", 82: "w", 84: "#+<=>^~×✓✗≤→−", 86: "M", 95: "%",
            97: "m", 99: "W", 100: "@…"}  # fmt: skip
_BOLD = {31: "'", 34: "ijl", 35: " ", 37: "/IJ\\|", 38: ",.·", 40: ":;", 42: "-", 44: "f", 46: "!()[]⌊⌋⌈⌉",
         48: "t", 49: "r", 50: "_`", 52: '"*', 58: "?z", 59: "c", 60: "s", 64: "L", 65: "vxy", 67: "ak",
         68: "EFTeΣ", 69: "o", 70: "$0123456789", 71: "hnu{}", 72: "SYbdgpq", 73: "CPZ", 76: "B", 77: "AKRVX",
         81: "U", 82: "G", 83: "D", 84: "#+<=>HN^~×✓✗≤→−", 85: "OQ", 87: "&", 92: "w", 100: "%@M…", 104: "m",
         110: "W"}  # fmt: skip
_WIDTHS = [{c: w / 100 for w, chars in table.items() for c in chars} for table in (_REGULAR, _BOLD)]
ASCENT, DESCENT = 0.93, 0.24  # of the font size, above and below the baseline


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The advance width of ``text`` in pixels (unknown characters count as wide ones)."""
    table = _WIDTHS[bold]
    return size * sum(table.get(c, 1.0) for c in text)


@dataclass(frozen=True)
class Poly:
    """A closed polygon (a box face, a grid cell, a frame)."""

    points: tuple[Point, ...]
    fill: str
    stroke: str = "#333333"
    width: float = 1.0
    dash: bool = False
    opacity: float = 1.0
    role: str = ""  # "box", "cell", "frame", ...: what a test or a reader looks for
    data: Mapping[str, str] = field(default_factory=dict)

    def bbox(self) -> BBox:
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class Line:
    """An open polyline, with an arrow head at its end when ``arrow``."""

    points: tuple[Point, ...]
    stroke: str = "#555555"
    width: float = 1.2
    arrow: bool = False
    dash: bool = False
    role: str = "edge"

    def bbox(self) -> BBox:
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class Text:
    """One line of text; ``y`` is the baseline; ``anchor`` is start, middle or end."""

    x: float
    y: float
    text: str
    size: float = 11.0
    anchor: str = "start"
    bold: bool = False
    fill: str = "#222222"
    role: str = "label"
    data: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:  # a user's name with control characters: escaped (XML refuses them)
        from ...textsafe import one_line

        object.__setattr__(self, "text", one_line(self.text))

    @property
    def width(self) -> float:
        return text_width(self.text, self.size, self.bold)

    def bbox(self) -> BBox:
        w = self.width
        x0 = self.x - {"start": 0.0, "middle": w / 2, "end": w}[self.anchor]
        return x0, self.y - ASCENT * self.size, x0 + w, self.y + DESCENT * self.size


Item = Poly | Line | Text


@dataclass
class Scene:
    """Items in drawing order, and data for tests and for the figure's users (``meta``)."""

    items: list[Item] = field(default_factory=list)
    meta: dict[str, object] = field(default_factory=dict)
    margin: float = 12.0
    width: float = 0.0
    height: float = 0.0

    def add(self, *items: Item) -> None:
        self.items.extend(items)

    def finish(self) -> Scene:
        """Move everything so that the top-left item sits at the margin; set the size."""
        if not self.items:
            self.width = self.height = 2 * self.margin
            return self
        boxes = [i.bbox() for i in self.items]
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        dx, dy = self.margin - x0, self.margin - y0
        self.items = [_moved(i, dx, dy) for i in self.items]
        self.width = max(b[2] for b in boxes) + dx + self.margin
        self.height = max(b[3] for b in boxes) + dy + self.margin
        self.meta["offset"] = (dx, dy)
        return self


def _moved(item: Item, dx: float, dy: float) -> Item:
    from dataclasses import replace

    if isinstance(item, Text):
        return replace(item, x=item.x + dx, y=item.y + dy)
    return replace(item, points=tuple((x + dx, y + dy) for x, y in item.points))


def overlaps(a: BBox, b: BBox, tolerance: float = 0.0) -> bool:
    """Whether two boxes overlap by more than ``tolerance`` pixels in both directions."""
    return min(a[2], b[2]) - max(a[0], b[0]) > tolerance and min(a[3], b[3]) - max(a[1], b[1]) > tolerance


def rect(x0: float, y0: float, x1: float, y1: float) -> tuple[Point, ...]:
    """The corners of an axis-aligned rectangle."""
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def union(boxes: Sequence[BBox]) -> BBox:
    """The smallest box around ``boxes``."""
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)
