"""Running an expanded graph eagerly in torch, to see whether torch itself refuses it.

Used where cnncalc's analysis refused a network (a candidate of ``cnncalc solve``):
each module is built from the tensor that actually arrives (inferred arguments
read from it), so torch's verdict does not depend on cnncalc's rules.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..graph.expand import INPUT, Graph
from ..layers import Args
from .torchload import import_torch


def torch_error(graph: Graph, batch: int = 2, meta: bool | None = None) -> str | None:
    """torch's first error line for this network, or None when the forward pass runs cleanly.

    A large input runs on the meta device (shapes only, no storage), and so does a run that ran out of
    memory: an out-of-memory is not torch refusing the network.
    """
    from math import prod

    from .. import budget

    torch = import_torch()
    if meta is None:
        meta = batch * prod(int(d) for d in graph.input_shape) * 4 * 8 > budget.max_memory()
    device = torch.device("meta" if meta else "cpu")
    try:
        outs: dict[int, Any] = {INPUT: torch.zeros((batch, *graph.input_shape), device=device)}
        with torch.inference_mode(), warnings.catch_warnings(), device:
            warnings.simplefilter("error", UserWarning)  # torch's warn-only misuses count as refusals
            warnings.filterwarnings("ignore", message=".*padding='same'.*")
            for i, node in enumerate(graph.nodes):
                xs = [outs[s] for s in node.inputs]
                values = dict(node.args.values)
                for name in node.layer.inferred:
                    values[name] = node.layer.infer(name, tuple(xs[0].shape[1:]))
                a = Args(values, (*node.args.given, *node.layer.inferred), node.args.written)
                y = node.layer.build(a, torch.nn, [tuple(x.shape[1:]) for x in xs])(*xs)
                if y.shape[0] != batch or 0 in y.shape:
                    return f"output shape {tuple(y.shape)} (empty or batch changed)"
                outs[i] = y
    except Exception as e:  # torch's refusal is the answer here
        if not meta and (isinstance(e, MemoryError) or "can't allocate memory" in str(e)):
            return torch_error(graph, batch, meta=True)
        return (str(e).strip().splitlines() or [type(e).__name__])[0]
    return None
