"""Fitting a figure to a page or column width (``cnncalc draw --fit 16cm``) with its text still readable.

A width is a number and a unit: ``cm``, ``mm``, ``in``, ``pt`` or ``px`` (CSS pixels, 96 per inch, as SVG
counts them). The figure is scaled to exactly that width; when the scaling would set its smallest text
below :data:`MIN_TEXT_PT`, the network is first laid out again in rows (as a long network wraps), so that
the text keeps its size instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import CnnCalcError
from .scene import Scene

PX_PER = {"px": 1.0, "pt": 96 / 72, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4}
MIN_TEXT_PT = 7.0
"""The smallest text a fitted figure prints (7 pt: LaTeX's \\scriptsize in a 10 pt document)."""
SMALLEST_TEXT_PX = 10.0
"""The smallest text the network figures draw (op and parameter lines), in scene pixels."""


@dataclass(frozen=True)
class Width:
    """A printed width: its number and unit, as written, and in CSS pixels."""

    value: float
    unit: str

    @property
    def px(self) -> float:
        return self.value * PX_PER[self.unit]

    def of(self, px: float) -> str:
        """``px`` scene pixels at this figure's scale (``scene_px`` is the whole width), in this unit."""
        return f"{px / PX_PER[self.unit]:.4g}{self.unit}"

    @property
    def widest_scene(self) -> float:
        """The widest scene (in its own pixels) whose smallest text still prints at MIN_TEXT_PT or more."""
        return self.px * SMALLEST_TEXT_PX / (MIN_TEXT_PT * PX_PER["pt"])


def parse_width(text: str | float | Width) -> Width:
    """``16cm``, ``160 mm``, ``6.3in``, ``450pt``, ``600px`` (a bare number is pixels)."""
    if isinstance(text, Width):
        return text
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), "px"
    else:
        found = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(cm|mm|in|pt|px)?\s*", str(text), re.IGNORECASE)
        if found is None:
            raise CnnCalcError(f"--fit {text!r} is not a width", None,
                               "give a number and a unit: 16cm, 160mm, 6.3in, 450pt or 600px")  # fmt: skip
        value, unit = float(found[1]), (found[2] or "px").lower()
    if not 0 < value * PX_PER[unit] <= 100_000:
        raise CnnCalcError(f"--fit {text!r}: a width must be more than 0 and at most 100000 px (26 m)", None,
                           "give the width of the page or column, e.g. 16cm")  # fmt: skip
    return Width(value, unit)


def fitted(scene: Scene, width: Width) -> Scene:
    """``scene`` printed ``width`` wide: SVG and PDF get that size (the drawing scaled into it), PNG as many
    pixels (times its scale), TikZ the same scale; ``meta["fit"]`` says the scale and the smallest text."""
    scale = width.px / scene.width
    scene.meta["render_size"] = (f"{width.value:g}{width.unit}", width.of(scene.height * scale))
    scene.meta["scale"] = scale
    scene.meta["fit"] = {"width": f"{width.value:g}{width.unit}", "scale": round(scale, 4),
                         "smallest_text_pt": round(SMALLEST_TEXT_PX * scale * 72 / 96, 2)}  # fmt: skip
    return scene
