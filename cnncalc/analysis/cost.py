"""Compute and memory cost per layer: multiply-accumulates and bytes.

MACs count the multiply-accumulates of layers with weights: convolution
``C_out * (C_in/g) * prod(k) * prod(out spatial)``, transposed convolution
``C_in * (C_out/g) * prod(k) * prod(in spatial)``, Linear ``in * out * prod(leading
dims)``, all per sample. Normalisation, pooling, activations and merges are
counted as 0 MACs (they are elementwise or comparisons, and BatchNorm folds into
the preceding convolution at inference). "FLOPs" in papers and in
``torch.utils.flop_counter`` are usually 2 x MACs; torchvision's "GFLOPS" column
is MACs. Memory is in bytes: parameters and buffers at the given dtype, and each
layer's forward activation (its output) for the given batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import symbolic as sym
from ..graph.expand import INPUT
from .shapes import Analysis

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


@dataclass(frozen=True)
class Cost:
    """Per-layer MACs (per sample) and memory (bytes) for a dtype and batch size."""

    dtype: str
    batch: int
    macs: tuple[Any, ...]
    activation_bytes: tuple[Any, ...]
    param_bytes: tuple[Any, ...]

    @property
    def total_macs(self) -> Any:
        """MACs of the whole network, per sample."""
        return sum(self.macs, 0)

    @property
    def total_activation_bytes(self) -> Any:
        """All layer outputs of one forward pass (what training keeps for backward), for the batch."""
        return sum(self.activation_bytes, 0)

    @property
    def total_param_bytes(self) -> Any:
        """Parameters and buffers."""
        return sum(self.param_bytes, 0)


def cost(analysis: Analysis, dtype: str = "float32", batch: int = 1) -> Cost:
    """MACs and memory for every layer of ``analysis``."""
    size = DTYPE_BYTES[dtype]
    macs, acts, params = [], [], []
    for r in analysis.layers:
        ins = _inputs(analysis, r)
        macs.append(r.node.layer.macs(r.args, ins, r.shape))
        acts.append(sym.product(r.shape) * batch * size)
        # num_batches_tracked is int64 whatever the dtype: 8 bytes
        tracked = 1 if r.node.layer.name.startswith(("BatchNorm", "InstanceNorm")) and r.buffers != 0 else 0
        params.append((r.params + r.buffers - tracked) * size + tracked * 8)
    return Cost(dtype, batch, tuple(macs), tuple(acts), tuple(params))


def _inputs(analysis: Analysis, r: Any) -> list[Any]:
    return [analysis.graph.input_shape if i == INPUT else analysis.layers[i].shape for i in r.node.inputs]


def forward_bytes(analysis: Analysis, batch: int, element: int = 4) -> tuple[int, int]:
    """What one forward pass of a concrete analysis stores: (bytes, the most elements of one tensor).

    Parameters and buffers, plus the largest set of activations alive at once (an output is freed
    after its last use, as ``verify/network.py`` runs the graph), twice over for the work space of
    a layer (an unfold, an interpolation). Python ints: no overflow, whatever the sizes.
    """
    layers = analysis.layers
    weights = sum(int(r.params) + int(r.buffers) for r in layers) * element
    sizes = [batch * sym.product(r.shape) for r in layers]
    work = [batch * int(r.node.layer.workspace(r.args, _inputs(analysis, r), r.shape)) for r in layers]
    largest = max([batch * sym.product(analysis.graph.input_shape), *sizes, *work])
    last: dict[int, int] = {}
    for i, r in enumerate(layers):
        for s in r.node.inputs:
            last[s] = i
    live = peak = batch * sym.product(analysis.graph.input_shape)
    for i, r in enumerate(layers):
        live += sizes[i]
        peak = max(peak, live + work[i])
        for s in set(r.node.inputs):
            if s != INPUT and last.get(s) == i:
                live -= sizes[s]
    return weights + 2 * int(peak) * element, max(int(largest), *(int(r.params) for r in layers), 0)


scientific = sym.scientific  # a whole number of any size as ``5.12e+618``


def human_bytes(n: int) -> str:
    """Binary units: ``97.5 MiB`` (1 MiB = 2**20 bytes); beyond a thousand TiB, ``5.12e+618 B``."""
    if n >= 2**50:
        return f"{scientific(n)} B"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_count(n: int) -> str:
    """``4.09 G`` style (decimal: 1 G = 10**9); beyond a thousand T, ``5.12e+618``."""
    if abs(n) >= 10**15:
        return scientific(n)
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)
