"""An independent, eager torch reference for random architecture files.

It walks the layer list itself, instantiating each torch layer from the tensor
that actually arrives (in_channels and in_features read from the tensor, never
from cnncalc), runs it, and records shapes and counts. cnncalc must accept a
file exactly when this succeeds, with the same numbers.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

INFER = {
    "in_channels": lambda x: x.shape[1],
    "num_features": lambda x: x.shape[1],
    "num_channels": lambda x: x.shape[1],
    "in_features": lambda x: x.shape[-1],
}
INFERRED_BY_TYPE = {
    "Conv": ["in_channels"],
    "ConvTranspose": ["in_channels"],
    "BatchNorm": ["num_features"],
    "InstanceNorm": ["num_features"],
    "GroupNorm": ["num_channels"],
    "Linear": ["in_features"],
}


def batched_ranks(type_name: str) -> tuple[int, ...] | None:
    """torch's documented batched input ranks for 1d/2d/3d layers; other ranks are read as unbatched."""
    if type_name == "BatchNorm1d":
        return (2, 3)
    for n in (1, 2, 3):
        if type_name.endswith(f"{n}d"):
            return (n + 2,)
    return None


class Rejected(Exception):
    """torch refused the network (an error, an empty tensor, or a changed batch size)."""


def _inferred(type_name: str) -> list[str]:
    for prefix, names in INFERRED_BY_TYPE.items():
        if type_name.startswith(prefix) and not (prefix == "Conv" and type_name.startswith("ConvTranspose")):
            return names
    return INFERRED_BY_TYPE["ConvTranspose"] if type_name.startswith("ConvTranspose") else []


def run(layers: list[dict[str, Any]], input_shape: list[int], batch: int = 2) -> list[tuple[tuple[int, ...], int, int]]:
    """Per layer: (per-sample output shape, params, buffers); raises Rejected."""
    x = torch.randn(batch, *input_shape)
    outs: dict[str, Any] = {"input": x}
    prev = x
    results = []
    for i, spec in enumerate(layers):
        spec = dict(spec)
        type_name = spec.pop("type")
        sources = spec.pop("from", None)
        lid = spec.pop("id", f"#{i}")
        inputs = [prev] if sources is None else [outs[s] for s in ([sources] if isinstance(sources, str) else sources)]
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", UserWarning)
                warnings.filterwarnings("ignore", message=".*padding='same'.*")
                if type_name == "Add":
                    module: Any = None
                    out = inputs[0]
                    for other in inputs[1:]:
                        if other.shape != inputs[0].shape:
                            raise Rejected("Add of different shapes")  # cnncalc does not broadcast
                        out = out + other
                elif type_name == "Concat":
                    module = None
                    out = torch.cat(inputs, dim=kwargs.get("dim", 1))
                else:
                    ranks = batched_ranks(type_name)
                    if ranks and inputs[0].dim() not in ranks:
                        raise Rejected(f"{type_name}: torch would read a rank-{inputs[0].dim()} input as unbatched")
                    for name in _inferred(type_name):
                        kwargs[name] = INFER[name](inputs[0])
                    module = getattr(torch.nn, type_name)(**kwargs).eval()
                    with torch.no_grad():
                        out = module(inputs[0])
        except Rejected:
            raise
        except Exception as e:
            raise Rejected(f"{type_name}: {e}") from None
        if out.shape[0] != batch or 0 in out.shape:
            raise Rejected(f"{type_name}: degenerate output {tuple(out.shape)}")
        params = sum(p.numel() for p in module.parameters()) if module is not None else 0
        buffers = sum(b.numel() for b in module.buffers()) if module is not None else 0
        results.append((tuple(out.shape[1:]), params, buffers))
        outs[lid] = out
        prev = out
    return results
