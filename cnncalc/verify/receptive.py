"""Checking receptive fields against torch by autograd, exactly.

The network is rebuilt for geometry only: every convolution and Linear gets one
output channel and constant positive weights (receptive fields do not depend on
channel counts), activations become identity, max pooling becomes average pooling
of the same geometry, and normalisations that use statistics over positions
become a positive global mix. Each checked (layer, unit) pair gets its own sample
of the batch, so one backward pass gives, per sample, the input-gradient support
of one unit, which must equal the derived region in every spatial dim.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..analysis.receptive import region
from ..analysis.shapes import Analysis, LayerResult
from ..graph.expand import INPUT
from ..report import Mismatch
from .torchload import import_torch

ACTIVATIONS = ("ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh", "Hardswish",
               "Hardsigmoid", "Identity", "PReLU", "LocalResponseNorm")  # fmt: skip


class _Unsupported(Exception):
    """A layer whose geometry the check cannot reproduce (max pooling with dilation and ceil_mode)."""


def check(analysis: Analysis, max_nodes: int = 16) -> tuple[tuple[Mismatch, ...], int]:
    """Compare derived regions with gradient supports; returns mismatches and the number of units checked."""
    torch = import_torch()
    spatial = len(analysis.graph.input_shape) - 1
    rank = len(analysis.graph.input_shape)
    candidates = [i for i, r in enumerate(analysis.layers) if len(r.shape) == rank]
    step = max(1, math.ceil(len(candidates) / max_nodes))
    chosen = candidates[::step]
    if candidates and candidates[-1] not in chosen:
        chosen.append(candidates[-1])
    last = len(analysis.layers) - 1
    if last not in chosen:
        chosen.append(last)  # a non-spatial output (after Flatten/Linear): everything its input covers
    probes: list[tuple[int, tuple[int, ...] | None]] = []  # (node, unit per spatial dim; None: element 0)
    for i in chosen:
        shape = analysis.layers[i].shape
        if len(shape) == rank:
            probes.append((i, tuple(d // 2 for d in shape[1:])))
            probes.append((i, (0,) * spatial))
        else:
            probes.append((i, None))
    x = torch.ones((len(probes), *analysis.graph.input_shape), dtype=torch.float32, requires_grad=True)
    try:
        outs = _forward(torch, analysis, x, max(chosen))
    except _Unsupported:
        return (), 0
    loss: Any = 0
    for b, (i, unit) in enumerate(probes):
        y = outs[i][b]
        loss = loss + (y[(slice(None), *unit)].sum() if unit is not None else y.reshape(-1)[0])
    loss.backward()
    grad = x.grad.abs().sum(dim=1)  # (batch, *spatial)
    mismatches = []
    for b, (i, unit) in enumerate(probes):
        support = grad[b] > 0
        node = analysis.layers[i].node
        spans = region(analysis, i, {j: (unit[j], unit[j]) if unit else (0, 0) for j in range(spatial)})
        # Regions are per dim; a unit whose window is all padding in one dim depends on nothing at all.
        empty = any(lo > hi for lo, hi in spans.values())
        for j in range(spatial):
            other = tuple(k + 1 for k in range(spatial) if k != j)
            line = support.any(dim=tuple(d - 1 for d in other)) if other else support
            idx = line.nonzero().flatten().tolist()
            got = (idx[0], idx[-1]) if idx else None
            want = None if empty else spans[j]
            if got != want:
                where = f"unit {list(unit)}" if unit is not None else "element 0"
                mismatches.append(Mismatch(node.name, node.loc, f"receptive field of {where} in spatial dim {j}",
                                           str(list(want) if want else "none"), str(list(got) if got else "none"),
                                           {}, "the input gradient"))  # fmt: skip
    return tuple(mismatches), len(probes)


def _forward(torch: Any, analysis: Analysis, x: Any, upto: int) -> dict[int, Any]:
    outs: dict[int, Any] = {INPUT: x}
    for i, r in enumerate(analysis.layers[: upto + 1]):
        ins = [outs[s] for s in r.node.inputs]
        outs[i] = _apply(torch, r, ins)
    return outs


def _apply(torch: Any, r: LayerResult, ins: list[Any]) -> Any:
    nn, F = torch.nn, torch.nn.functional
    name, a = r.node.layer.name, r.args
    x = ins[0]
    unwrap = getattr(r.node.layer, "unwrap", None)
    if unwrap is not None:  # a Keras layer: its zero padding, then the torch layer's geometry
        inner, inner_args, pads = unwrap(a, [tuple(x.shape[1:])])
        x = F.pad(x, [int(v) for lo, hi in reversed(pads) for v in (lo, hi)])
        node = dataclasses.replace(r.node, layer=inner)
        return _apply(torch, dataclasses.replace(r, node=node, args=inner_args), [x, *ins[1:]])
    spatial_dims = tuple(range(2, x.dim()))
    if name == "Add":
        return sum(t.mean(dim=1, keepdim=True) for t in ins)
    if name == "Concat":
        return torch.cat(ins, dim=a["dim"])
    if name in ACTIVATIONS or name.startswith(("Dropout", "AlphaDropout", "FeatureAlphaDropout", "BatchNorm")):
        return x
    if name.startswith("InstanceNorm"):
        return x + x.mean(dim=spatial_dims, keepdim=True) if not a["track_running_stats"] else x
    if name == "GroupNorm":
        return x + x.mean(dim=spatial_dims, keepdim=True)
    if name == "LayerNorm":
        return x + x.mean(dim=tuple(range(x.dim() - len(a["normalized_shape"]), x.dim())), keepdim=True)
    if name in ("Softmax", "LogSoftmax"):
        return x if a["dim"] is None else x + x.mean(dim=a["dim"], keepdim=True)
    if name.startswith("ConvTranspose"):
        m = getattr(nn, name)(x.shape[1], 1, a["kernel_size"], a["stride"], a["padding"], a["output_padding"],
                              bias=False, dilation=a["dilation"], dtype=torch.float32)  # fmt: skip
        return _positive(torch, m)(x)
    if name.startswith("Conv"):
        m = getattr(nn, name)(x.shape[1], 1, a["kernel_size"], a["stride"], a["padding"], a["dilation"], bias=False,
                              padding_mode=a["padding_mode"], dtype=torch.float32)  # fmt: skip
        return _positive(torch, m)(x)
    if name == "Linear":
        return _positive(torch, nn.Linear(x.shape[-1], 1, bias=False, dtype=torch.float32))(x)
    if name.startswith("MaxPool"):
        # Average pooling of the same geometry: a depthwise convolution with equal weights
        # (handles dilation, and any input size); average pooling proper where ceil_mode needs it.
        n = int(name[-2])
        k, p, d = a["kernel_size"], a["padding"], a["dilation"]
        s = a["stride"] if a["stride"] is not None else k
        if not a["ceil_mode"]:
            weight = torch.ones((x.shape[1], 1, *k), dtype=torch.float32) / math.prod(k)
            return getattr(F, f"conv{n}d")(F.pad(x, [q for v in reversed(p) for q in (v, v)]), weight, None, s, 0, d,
                                           x.shape[1])  # fmt: skip
        if any(v != 1 for v in d) or (n == 3 and any(i < kk for i, kk in zip(x.shape[2:], k))):
            raise _Unsupported(name)
        return getattr(F, f"avg_pool{n}d")(x, k, s, p, True, True)
    if name.startswith("AdaptiveMaxPool"):
        return getattr(F, f"adaptive_avg_pool{name[-2]}d")(x, a["output_size"])
    return r.node.layer.build(a, nn, [tuple(t.shape[1:]) for t in ins]).to(torch.float32)(x)


def _positive(torch: Any, m: Any) -> Any:
    """Constant positive weights (normalised so values stay near 1); only the input gradient is needed."""
    with torch.no_grad():
        m.weight.fill_(1.0 / m.weight[0].numel())
    m.weight.requires_grad_(False)
    return m
