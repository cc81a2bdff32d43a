"""Shared pieces of spatial (1d/2d/3d) layer families."""

from __future__ import annotations

DIM_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def dim_name(ndim: int, index: int) -> str:
    """'height' for index 0 of a 2-d layer, and so on."""
    return DIM_NAMES[ndim][index]
