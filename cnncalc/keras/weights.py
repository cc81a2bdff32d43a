"""A saved Keras model's weight shapes against the derived parameter counts: a disagreement is a finding.

The weights file (a ``.keras`` archive's ``model.weights.h5``, a legacy ``.h5`` file) holds every
variable of every layer, trainable or not (BatchNormalization's moving mean and variance too), so
a layer's saved values add up to its parameter count as Keras counts it. A file saved from another
model, or a config edited by hand, disagrees here before any training run finds out.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..report import Mismatch, ShapesReport


def _shapes_text(shapes: tuple[tuple[int, ...], ...]) -> str:
    if not shapes:
        return "no weights"
    parts = ["(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")" for s in shapes]
    return " + ".join(parts)


def mismatches(report: ShapesReport) -> list[Mismatch]:
    """Each layer whose saved weights do not add up to its derived parameter count (at the default sizes)."""
    from ..report import Mismatch

    origin = report.spec.origin
    if origin is None or origin.weights is None:
        return []
    saved = dict(origin.weights)
    found = []
    for r in report.defaults.layers:
        shapes = saved.get(r.node.name)
        if shapes is None:
            continue
        values = sum(math.prod(s) for s in shapes)
        if values != r.params:
            found.append(Mismatch(r.node.name, r.node.loc, "parameters", f"{r.params:,}",
                                  f"{values:,}: {_shapes_text(shapes)}", {}, f"the saved weights ({origin.weights_file})"))  # fmt: skip
    return found


def compared(report: ShapesReport) -> ShapesReport:
    """The report with the saved weights' disagreements among its mismatches (exit 1, one located line each)."""
    found = mismatches(report)
    return dataclasses.replace(report, consistency=report.consistency + tuple(found)) if found else report


__all__ = ["compared", "mismatches"]
