"""Writing a :class:`Scene` as SVG (drawsvg), and as PNG or PDF (cairosvg renders the SVG)."""

from __future__ import annotations

from typing import Any

from .scene import FONT, Line, Poly, Scene, Text


def to_svg(scene: Scene) -> str:
    """The scene as a standalone SVG document (text stays text: searchable, and editable in Inkscape)."""
    import drawsvg as dw

    d = dw.Drawing(round(scene.width, 1), round(scene.height, 1), font_family=FONT)
    if "render_size" in scene.meta:  # fitted to a printed width (--fit 16cm): the drawing scales into it
        d.set_render_size(*scene.meta["render_size"])  # type: ignore[misc]
    d.append(dw.Rectangle(0, 0, round(scene.width, 1), round(scene.height, 1), fill="white"))
    heads: dict[str, Any] = {}
    for item in scene.items:
        if isinstance(item, Poly):
            extra: dict[str, object] = {"stroke_dasharray": "4 3"} if item.dash else {}
            if item.opacity != 1:
                extra["fill_opacity"] = item.opacity
            d.append(dw.Lines(*_flat(item.points), close=True, fill=item.fill, stroke=item.stroke,
                              stroke_width=item.width, stroke_linejoin="round", class_=item.role or None,
                              **extra, **_data(item.data)))  # fmt: skip
        elif isinstance(item, Line):
            extra = {"stroke_dasharray": "5 3"} if item.dash else {}
            if item.arrow:
                extra["marker_end"] = heads.setdefault(item.stroke, _head(dw, item.stroke))
            d.append(dw.Lines(*_flat(item.points), close=False, fill="none", stroke=item.stroke,
                              stroke_width=item.width, stroke_linejoin="round", class_=item.role or None,
                              **extra))  # fmt: skip
        elif isinstance(item, Text):
            d.append(dw.Text(item.text, item.size, round(item.x, 2), round(item.y, 2), text_anchor=item.anchor,
                             font_weight="bold" if item.bold else None, fill=item.fill, class_=item.role or None,
                             **_data(item.data)))  # fmt: skip
    return str(d.as_svg())


def _flat(points: tuple[tuple[float, float], ...]) -> list[float]:
    return [round(v, 2) for p in points for v in p]


def _data(data: Any) -> dict[str, str]:
    return {"data_" + k.replace("-", "_"): v for k, v in data.items()}


def _head(dw: Any, colour: str) -> Any:
    marker = dw.Marker(-1, -0.5, 0, 0.5, scale=6, orient="auto")  # the tip ends where the line ends
    marker.append(dw.Lines(-1, 0.5, -1, -0.5, 0, 0, fill=colour, close=True))
    return marker


def to_png(scene: Scene, scale: float = 2.0) -> bytes:
    """The scene rendered to PNG by cairosvg, ``scale`` device pixels per SVG pixel."""
    import cairosvg

    return bytes(cairosvg.svg2png(bytestring=to_svg(scene).encode("utf-8"), scale=scale))


def to_pdf(scene: Scene) -> bytes:
    """The scene as a vector PDF (cairosvg)."""
    import cairosvg

    return bytes(cairosvg.svg2pdf(bytestring=to_svg(scene).encode("utf-8")))
