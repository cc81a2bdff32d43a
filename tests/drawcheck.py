"""Reading a drawn SVG back as a viewer sees it: text measured with the real font, shapes, collisions, pixels.

Text extents come from cairo (the renderer cairosvg uses), not from cnncalc's own
width table, so a label that the layout measured too narrow shows up as a
collision. Polygons are convex (rectangles and parallelograms) and are compared
by the separating-axis test, so the empty corners of a slanted box do not count.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from typing import Any

NS = "{http://www.w3.org/2000/svg}"
Point = tuple[float, float]


@dataclass(frozen=True)
class Item:
    kind: str  # "text", "poly", "line"
    role: str
    points: tuple[Point, ...]
    text: str = ""
    node: str = ""
    attrs: Any = None


@cache
def _context(bold: bool) -> Any:
    import cairocffi as cairo

    ctx = cairo.Context(cairo.ImageSurface(cairo.FORMAT_ARGB32, 4, 4))
    ctx.select_font_face("DejaVu Sans", cairo.FONT_SLANT_NORMAL,
                         cairo.FONT_WEIGHT_BOLD if bold else cairo.FONT_WEIGHT_NORMAL)  # fmt: skip
    return ctx


def text_box(x: float, y: float, text: str, size: float, anchor: str, bold: bool) -> tuple[Point, ...]:
    """The text's box as cairo lays it out: advance width, font ascent and descent."""
    ctx = _context(bold)
    ctx.set_font_size(size)
    width = ctx.text_extents(text)[4]
    ascent, descent = ctx.font_extents()[:2]
    x0 = x - {"start": 0.0, "middle": width / 2, "end": width}[anchor]
    return ((x0, y - ascent), (x0 + width, y - ascent), (x0 + width, y + descent), (x0, y + descent))


def _points(d: str) -> tuple[Point, ...]:
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    return tuple(zip(nums[0::2], nums[1::2]))


def items(svg: str) -> list[Item]:
    """Every text, polygon and polyline of a cnncalc SVG."""
    out = []
    for el in ET.fromstring(svg).iter():
        role = el.get("class", "")
        if el.tag == NS + "text":
            box = text_box(float(el.get("x", 0)), float(el.get("y", 0)), el.text or "", float(el.get("font-size", 0)),
                           el.get("text-anchor", "start"), el.get("font-weight") == "bold")  # fmt: skip
            out.append(Item("text", role, box, el.text or "", el.get("data-node", ""), el.attrib))
        elif el.tag == NS + "path" and "d" in el.attrib and role:
            closed = el.get("d", "").rstrip().endswith("Z")
            out.append(Item("poly" if closed else "line", role, _points(el.get("d", "")), "", el.get("data-node", ""),
                            el.attrib))  # fmt: skip
    return out


def _axes(poly: tuple[Point, ...]) -> list[Point]:
    out = []
    for k in range(len(poly)):
        (x0, y0), (x1, y1) = poly[k], poly[(k + 1) % len(poly)]
        if (x1, y1) != (x0, y0):
            out.append((y0 - y1, x1 - x0))
    return out


def overlap(a: tuple[Point, ...], b: tuple[Point, ...], tolerance: float = 0.5) -> bool:
    """Whether two convex shapes (a segment counts as one) overlap by more than ``tolerance`` pixels."""
    for ax, ay in _axes(a) + _axes(b):
        norm = (ax * ax + ay * ay) ** 0.5
        if norm == 0:
            continue
        pa = [(x * ax + y * ay) / norm for x, y in a]
        pb = [(x * ax + y * ay) / norm for x, y in b]
        if min(max(pa), max(pb)) - max(min(pa), min(pb)) <= tolerance:
            return False
    return True


def segments(line: Item) -> list[tuple[Point, ...]]:
    return [(line.points[k], line.points[k + 1]) for k in range(len(line.points) - 1)]


def collisions(svg: str, solids: tuple[str, ...] = ("box", "box-top", "box-side"),
               lines: tuple[str, ...] = ("edge",), solid_lines: tuple[str, ...] = ("edge",)) -> list[str]:  # fmt: skip
    """Texts that overlap texts, solids or ``lines``; solids of different nodes that overlap; ``solid_lines``
    through solids."""
    found = items(svg)
    texts = [i for i in found if i.kind == "text"]
    shapes = [i for i in found if i.kind == "poly" and i.role in solids]
    runs = [s for i in found if i.kind == "line" and i.role in lines for s in segments(i)]
    through = [s for i in found if i.kind == "line" and i.role in solid_lines for s in segments(i)]
    out = []
    for k, t in enumerate(texts):
        out += [f"text {t.text!r} overlaps text {u.text!r}" for u in texts[k + 1 :] if overlap(t.points, u.points)]
        out += [f"text {t.text!r} overlaps {s.role} of {s.node!r}" for s in shapes if overlap(t.points, s.points)]
        out += [f"text {t.text!r} is crossed by a line {seg}" for seg in runs if overlap(t.points, seg, 0.01)]
    for k, s in enumerate(shapes):
        out += [f"{s.role} of {s.node!r} overlaps {u.role} of {u.node!r}" for u in shapes[k + 1 :]
                if u.node != s.node and overlap(s.points, u.points)]  # fmt: skip
        out += [f"a line {seg} crosses {s.role} of {s.node!r}" for seg in through if overlap(s.points, seg, 0.01)]
    return out


def png_pixels(png: bytes) -> Any:
    """The decoded image (RGB) of PNG bytes."""
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB")


def not_blank(png: bytes) -> bool:
    """At least 1% of the pixels are far from white, and the image has some size."""
    img = png_pixels(png)
    w, h = img.size
    gray = img.convert("L").point(lambda v: 255 if v < 200 else 0)
    dark = gray.histogram()[255]
    return w > 50 and h > 50 and dark > 0.01 * w * h
