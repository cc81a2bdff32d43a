"""torch modules for the tensor-operation layer types (layers/tensorops.py), built to verify them."""

from __future__ import annotations

from typing import Any

from .torchload import import_torch

nn = import_torch().nn
_Module: Any = nn.Module


class MulModule(_Module):  # type: ignore[misc]
    """Elementwise product of its inputs, broadcasting as torch does."""

    def forward(self, *xs: Any) -> Any:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class ScaleModule(_Module):  # type: ignore[misc]
    """``gamma * x`` with a learned ``gamma`` of the given shape."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.gamma = nn.Parameter(import_torch().ones(shape))

    def forward(self, x: Any) -> Any:
        return self.gamma * x


class ReduceModule(_Module):  # type: ignore[misc]
    """``x.mean(dim, keepdim)``, ``x.sum(...)`` or ``x.amax(...)``."""

    def __init__(self, how: str, dim: tuple[int, ...], keepdim: bool) -> None:
        super().__init__()
        self.how, self.dim, self.keepdim = how, dim, keepdim

    def forward(self, x: Any) -> Any:
        return getattr(x, self.how)(dim=self.dim, keepdim=self.keepdim)


class PermuteModule(_Module):  # type: ignore[misc]
    """``x.permute(dims)``."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Any) -> Any:
        return x.permute(self.dims)


class NarrowModule(_Module):  # type: ignore[misc]
    """``x.narrow(dim, start, length)``."""

    def __init__(self, dim: int, start: int, length: int) -> None:
        super().__init__()
        self.dim, self.start, self.length = dim, start, length

    def forward(self, x: Any) -> Any:
        return x.narrow(self.dim, self.start, self.length)
