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


class MatMulModule(_Module):  # type: ignore[misc]
    """``a @ b``."""

    def forward(self, a: Any, b: Any) -> Any:
        return a @ b


class LearnedModule(_Module):  # type: ignore[misc]
    """``gamma * x`` (or ``x + beta``) with a learned tensor of the given shape."""

    def __init__(self, shape: tuple[int, ...], multiply: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(import_torch().ones(shape))
        self.multiply = multiply

    def forward(self, x: Any) -> Any:
        return self.weight * x if self.multiply else x + self.weight


class PrependModule(_Module):  # type: ignore[misc]
    """``torch.cat([token.expand(batch, ...), x], dim)`` with a learned token."""

    def __init__(self, shape: tuple[int, ...], dim: int) -> None:
        super().__init__()
        self.token = nn.Parameter(import_torch().zeros(1, *shape))
        self.dim = dim

    def forward(self, x: Any) -> Any:
        return import_torch().cat([self.token.expand(x.shape[0], *self.token.shape[1:]), x], dim=self.dim)


class SelectModule(_Module):  # type: ignore[misc]
    """``x.select(dim, index)``."""

    def __init__(self, dim: int, index: int) -> None:
        super().__init__()
        self.dim, self.index = dim, index

    def forward(self, x: Any) -> Any:
        return x.select(self.dim, self.index)


class SelfAttention(_Module):  # type: ignore[misc]
    """``nn.MultiheadAttention`` called as self-attention, ``mha(x, x, x, need_weights=False)[0]``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(**kwargs)

    def forward(self, x: Any) -> Any:
        return self.attention(x, x, x, need_weights=False)[0]


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


class KerasReshapeModule(_Module):  # type: ignore[misc]
    """Keras' ``Reshape(target_shape)`` on cnncalc's channels-first tensors: reshaped in Keras' (..., C) order."""

    def __init__(self, target: tuple[int, ...]) -> None:
        super().__init__()
        self.target = target

    def forward(self, x: Any) -> Any:
        last = x.permute(0, *range(2, x.dim()), 1) if x.dim() > 2 else x
        y = last.reshape(x.shape[0], *self.target)
        return y.permute(0, y.dim() - 1, *range(1, y.dim() - 1)) if y.dim() > 2 else y


class NarrowModule(_Module):  # type: ignore[misc]
    """``x.narrow(dim, start, length)``."""

    def __init__(self, dim: int, start: int, length: int) -> None:
        super().__init__()
        self.dim, self.start, self.length = dim, start, length

    def forward(self, x: Any) -> Any:
        return x.narrow(self.dim, self.start, self.length)
