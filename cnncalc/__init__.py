"""cnncalc: output sizes, receptive fields and parameter counts of CNNs, derived and proven with torch.

Library use::

    import cnncalc
    report = cnncalc.shapes("examples/cifar_cnn.yaml")      # derive + verify with torch
    report.main.total_params, report.conditions, report.verified

Heavy dependencies load lazily: sympy when a symbol appears, torch when verifying.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["CnnCalcError", "Report", "__version__", "load", "shapes"]


def __getattr__(name: str) -> Any:
    if name in ("shapes", "load", "Report"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "CnnCalcError":
        from .errors import CnnCalcError

        return CnnCalcError
    raise AttributeError(name)
