"""Confirming a unit's receptive field at every layer on the way, by input gradients.

The network is rebuilt for geometry only, from the layers' twins as the
receptive-field check does (``verify/receptive.py``: constant positive weights,
no nonlinearity, max pooling as average pooling), so a gradient is non-zero
exactly where a dependence exists. One backward pass from the unit gives, at the input
and at every intermediate map, the set of units whose gradient is non-zero: the
set the figure shades must equal it unit for unit.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..analysis.unitfield import UnitField
from ..graph.expand import INPUT
from .torchload import import_torch


def confirm(field: UnitField) -> UnitField:
    """``field`` with ``confirmed`` set to the gradient supports (or ``unchecked`` saying why there are none)."""
    from ..layers.base import NoTwin
    from .receptive import Kit, Twin, twin_forward

    torch = import_torch()
    analysis = field.analysis
    x = torch.ones((1, *analysis.graph.input_shape), dtype=torch.float32, requires_grad=True)
    try:
        twins = twin_forward(Kit(torch), analysis, Twin(x), field.layer)
    except NoTwin as e:
        return dataclasses.replace(field, unchecked=f"the gradient check cannot rebuild it: {e}")
    outs: dict[int, Any] = {i: t.t for i, t in twins.items()}
    for i in field.path:
        if i != INPUT and outs[i].requires_grad and not outs[i].is_leaf:
            outs[i].retain_grad()
    outs[field.layer][0][(slice(None), *field.unit)].sum().backward()
    confirmed: dict[int, frozenset[tuple[int, ...]]] = {}
    for i in field.path:
        grad = outs[i].grad
        if grad is None:
            confirmed[i] = frozenset()
            continue
        support = grad[0].abs().sum(dim=0) > 0  # any channel
        confirmed[i] = frozenset(tuple(int(v) for v in u) for u in support.nonzero().tolist())
    return dataclasses.replace(field, confirmed=confirmed)
