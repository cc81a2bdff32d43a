"""The torch modules cnncalc builds: merge nodes, and the whole network as a DAG."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .torchload import import_torch

nn = import_torch().nn
_Module: Any = nn.Module


class AddModule(_Module):  # type: ignore[misc]
    """Elementwise sum of its inputs (a residual connection)."""

    def forward(self, *xs: Any) -> Any:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class ConcatModule(_Module):  # type: ignore[misc]
    """``torch.cat`` along a batch-inclusive dim."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: Any) -> Any:
        return import_torch().cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Network(_Module):  # type: ignore[misc]
    """A DAG of modules run in topological order; records each node's output shape.

    ``inputs[i]`` lists the nodes feeding node ``i`` (-1 is the network input).
    Outputs are released after their last use, so memory stays near a plain forward.
    """

    def __init__(self, modules: Sequence[Any], inputs: Sequence[tuple[int, ...]]) -> None:
        super().__init__()
        self.nodes = nn.ModuleList(modules)
        self.inputs = [tuple(i) for i in inputs]
        last: dict[int, int] = {}
        for i, srcs in enumerate(self.inputs):
            for s in srcs:
                last[s] = i
        self.last_use = last
        self.shapes: list[tuple[int, ...]] = []
        self.current = -1
        self.on_node: Callable[[int], None] | None = None  # progress callback, called after each node

    def forward(self, x: Any) -> Any:
        outs: dict[int, Any] = {-1: x}
        self.shapes = []
        out = x
        for i, module in enumerate(self.nodes):
            self.current = i
            out = module(*(outs[s] for s in self.inputs[i]))
            self.shapes.append(tuple(out.shape))
            outs[i] = out
            if self.on_node is not None:
                self.on_node(i)
            for s in set(self.inputs[i]):  # a layer may take the same input twice (Add from [a, a])
                if self.last_use.get(s) == i and s != -1:
                    del outs[s]
        return out
