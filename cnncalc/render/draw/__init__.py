"""Pictures for reports: the network with its verified sizes, receptive fields, convolutions.

Every figure is a :class:`Figure`: it shows itself in Jupyter (``_repr_svg_``) and
writes SVG, PNG, PDF or TikZ (``save(path)`` picks the format from the extension).

- :func:`network` (``cnncalc draw``): a :class:`~cnncalc.report.ShapesReport` (an
  architecture file, or a Python model traced by torch.fx) or a
  ``ModuleReport`` (a Python model run with hooks) as a diagram.
- :func:`receptive_field` (``cnncalc rf --draw``): a
  :class:`~cnncalc.analysis.unitfield.UnitField` as stacked grids.
- :func:`convolution` (``cnncalc convolve --draw``): one window of a
  :class:`~cnncalc.convolve.Convolution` with its sum of products.

SVG needs drawsvg, PNG and PDF also cairosvg (``pip install 'cnncalc[draw]'``);
TikZ needs nothing. The core never imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import CnnCalcError
from .figure import EXTENSIONS, FORMATS, INSTALL, Figure, format_of, heading, require
from .page import Width, fitted, parse_width
from .scene import Scene

if TYPE_CHECKING:
    from ...analysis.unitfield import UnitField
    from ...convolve import Convolution, Matrix


def network(
    report: Any, collapse: bool = False, direction: str = "lr", title: str | None = None, fit: str | float | None = None
) -> Figure:
    """The network diagram of a ShapesReport (YAML, or a Python model traced by torch.fx) or a ModuleReport.

    One box per feature map (height and depth follow H and C on a log scale), each labelled with its
    verified shape and its layer's parameters; activations and normalisations are folded into the box
    before them. ``collapse`` draws each outermost block (or a Python model's top-level module) as one
    box; ``direction`` is ``lr`` (left to right) or ``tb`` (top to bottom). A layer that torch
    contradicts is drawn in red with the mismatch.
    """
    if direction not in ("lr", "tb"):
        raise CnnCalcError(f"unknown direction {direction!r}", None, "use lr (left to right) or tb (top to bottom)")
    from .boxes import from_report
    from .layout import GAP, draw

    net = from_report(report, collapse)
    text = title if title is not None else net.title
    if fit is None:
        scene = draw(net, direction)
        heading(scene, text, net.note)
        return Figure(scene.finish(), title or net.title)
    width = parse_width(fit)
    limit = width.widest_scene

    def laid_out(wrap: float | None) -> Scene:
        inner = limit - 2 * Scene.margin
        scene = draw(net, direction, wrap, inner)
        heading(scene, text, net.note, inner)
        return scene.finish()

    scene = laid_out(None)
    if direction == "tb":  # the flow runs down the page: rows would stand side by side, so one column instead
        if scene.width > limit:
            scene = laid_out(float("inf"))
        return Figure(fitted(scene, width), title or net.title)
    wrap = limit - 2 * Scene.margin - GAP
    for _ in range(6):  # rows, until the widest one (with its lanes and labels) fits
        if scene.width <= limit or wrap < 100:
            break
        scene = laid_out(wrap)
        wrap -= max(scene.width - limit, 20.0)
    return Figure(fitted(scene, width), title or net.title)


def receptive_field(field: UnitField, title: str | None = None) -> Figure:
    """The exact set of units one unit sees, at the input and at every layer on the way (stacked grids)."""
    from .receptive import draw_receptive_field

    return draw_receptive_field(field, title)


def convolution(conv: Convolution, image: Matrix, at: tuple[int, int] = (0, 0), title: str | None = None) -> Figure:
    """Padded image, kernel and output, with the window of output ``at`` (0-based) and its sum of products."""
    from .conv import draw_convolution

    return draw_convolution(conv, image, at, title)


__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "INSTALL",
    "Figure",
    "Width",
    "convolution",
    "fitted",
    "format_of",
    "heading",
    "network",
    "parse_width",
    "receptive_field",
    "require",
]
