"""Counting conventions: torch's (the default) and Keras'.

Keras reports a BatchNormalization layer as 4C parameters, 2C of them
non-trainable (the moving mean and variance), where torch has 2C parameters and
2C + 1 buffer values (``num_batches_tracked`` has no Keras counterpart). The
numbers are verified with torch first, then regrouped here; nothing else differs.
"""

from __future__ import annotations

import dataclasses

from ..graph.expand import INPUT
from .shapes import Analysis, GroupResult


def keras_counts(a: Analysis) -> Analysis:
    """The same analysis counted as Keras counts."""
    layers = []
    for r in a.layers:
        ins = [a.graph.input_shape if i == INPUT else a.layers[i].shape for i in r.node.inputs]
        stats = r.node.layer.running_stats(r.args, ins)
        if stats != 0:
            r = dataclasses.replace(r, params=r.params + stats, buffers=r.buffers - stats - 1, frozen=stats)
        layers.append(r)
    groups = []
    for g in a.groups:
        members = layers[g.group.first : g.group.last + 1]
        groups.append(GroupResult(g.group, g.shape, sum((m.params for m in members), 0),
                                  sum((m.buffers for m in members), 0)))  # fmt: skip
    return dataclasses.replace(a, layers=tuple(layers), groups=tuple(groups))
