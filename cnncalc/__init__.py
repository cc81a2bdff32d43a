"""cnncalc: output sizes, receptive fields and parameter counts of CNNs, derived and proven with torch.

Library use::

    import cnncalc
    report = cnncalc.shapes("examples/cifar_cnn.yaml")      # derive + verify with torch
    report.main.total_params, report.conditions, report.verified

    cnncalc.summary(model, (1, 3, 224, 224))                # a live nn.Module (torchinfo's call forms)
    cnncalc.summary(model, (3, "H", "W"))                   # symbolic: formulas, receptive fields, valid sizes
    cnncalc.check(model, (3, 28, 28), batch_dim=0, expect_output=(10,), raise_on_failure=True)

Heavy dependencies load lazily: sympy when a symbol appears, torch when verifying.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["CheckFailed", "CnnCalcError", "Report", "Summary", "__version__", "check", "load", "shapes", "summary",
           "symbols"]  # fmt: skip

_API = (
    "summary",
    "check",
    "symbols",
    "Summary",
    "Checked",
    "CheckFailed",
    "Layer",
    "Symbol",
    "clear_cached_forward_pass",
)


def __getattr__(name: str) -> Any:
    if name in _API:  # the live-model front end; importing cnncalc stays free of torch, sympy and rich
        from . import api

        return getattr(api, name)
    if name in ("shapes", "load", "Report"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "CnnCalcError":
        from .errors import CnnCalcError

        return CnnCalcError
    raise AttributeError(name)
