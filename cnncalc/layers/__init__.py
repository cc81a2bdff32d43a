"""The layer catalogue: every supported torch layer type, each defined once.

``CATALOGUE`` maps a torch class name (``Conv2d``) to its :class:`LayerType`.
Adding a layer type means adding one class (or one family entry) to the
module for its kind, and one differential test.
"""

from __future__ import annotations

from . import conv, elementwise, merge, norm, pad, pool, reshape
from .base import REQUIRED, Arg, Args, Condition, Ctx, LayerType, Shape, fmt_shape


def _build() -> dict[str, LayerType]:
    types: list[LayerType] = []
    for n in (1, 2, 3):
        types += [conv.Conv(n), conv.ConvTranspose(n)]
    types += pool.catalogue() + norm.catalogue() + elementwise.catalogue()
    types += reshape.catalogue() + pad.catalogue() + merge.catalogue()
    return {t.name: t for t in types}


CATALOGUE: dict[str, LayerType] = _build()
"""Every layer type by torch class name."""

__all__ = ["CATALOGUE", "REQUIRED", "Arg", "Args", "Condition", "Ctx", "LayerType", "Shape", "fmt_shape"]
