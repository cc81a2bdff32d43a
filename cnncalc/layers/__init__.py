"""The layer catalogue: every supported torch layer type, each defined once.

``CATALOGUE`` maps a torch class name (``Conv2d``) to its :class:`LayerType`.
Adding a layer type means adding one class (or one family entry) to the
module for its kind, and one differential test.
"""

from __future__ import annotations

from . import attention, conv, elementwise, keras, merge, norm, pad, pool, reshape, tensorops
from .base import REQUIRED, Arg, Args, Condition, Ctx, LayerType, Shape, channels_first, fmt_shape, in_layout


def _build() -> dict[str, LayerType]:
    types: list[LayerType] = []
    for n in (1, 2, 3):
        types += [conv.Conv(n), conv.ConvTranspose(n)]
    types += pool.catalogue() + norm.catalogue() + elementwise.catalogue()
    types += reshape.catalogue() + pad.catalogue() + merge.catalogue() + tensorops.catalogue()
    types += attention.catalogue()
    torch_types = {t.name: t for t in types}
    return {**torch_types, **{t.name: t for t in keras.catalogue(torch_types)}}


CATALOGUE: dict[str, LayerType] = _build()
"""Every layer type by class name: torch's, and Keras' names (layers/keras.py)."""

KERAS_SAME: dict[str, LayerType] = keras.same_variants(CATALOGUE)
"""Under ``convention: keras``: torch-named convolutions with Keras' 'same' padding."""

__all__ = ["CATALOGUE", "KERAS_SAME", "REQUIRED", "Arg", "Args", "Condition", "Ctx", "LayerType", "Shape", "channels_first",
           "fmt_shape", "in_layout"]  # fmt: skip
