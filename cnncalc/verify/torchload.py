"""Importing torch lazily (only when a forward pass is needed), and choosing a device."""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import CnnCalcError

DEVICES = ("auto", "cpu", "cuda", "mps", "meta")


def import_torch() -> Any:
    """Import torch, quietly (a CPU build without numpy warns at import)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torch
    except ImportError:
        raise CnnCalcError(
            "verification needs torch, which is not installed", None, "pip install torch, or pass --no-verify"
        ) from None
    return torch


def resolve_device(torch: Any, device: str) -> Any:
    """``auto`` is CUDA when available, else CPU; an unavailable device is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise CnnCalcError("--device cuda was asked for, but CUDA is not available", None, "use --device auto or cpu")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise CnnCalcError("--device mps was asked for, but MPS is not available", None, "use --device auto or cpu")
    if device not in DEVICES:
        raise CnnCalcError(f"unknown device {device!r}", None, "use one of " + ", ".join(DEVICES))
    return torch.device(device)
