"""Python model targets (``model.py:Net``, ``package.module:factory``): import, run with hooks, check.

The flow mirrors the YAML side: :mod:`.load` and :mod:`.inputs` turn the command
line into a model and input specs (the parse step), :mod:`.trace` runs one
hooked forward pass, :mod:`.fxspec` turns a traceable model into an
architecture spec for the symbolic engine, :mod:`.crash` and :mod:`.batch`
explain what went wrong. Importing a target executes its code, as pytest does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import CnnCalcError
from .load import has_attr, is_python_target

if TYPE_CHECKING:
    from ..parse.spec import ArchSpec
    from .inputs import InputSpec
    from .load import Target
    from .report import ModuleReport


def load(target: str, kwargs: Mapping[str, Any] | None = None) -> Target:
    """Import and instantiate a Python target (``model.py:Net``); see :mod:`cnncalc.pymodel.load`."""
    from .load import load_target

    return load_target(target, kwargs)


def spec(target: Target, inputs: Sequence[InputSpec], values: Mapping[str, int]) -> ArchSpec:
    """A traced Python model as an architecture spec (symbolic engine, rf, explain); a CnnCalcError if not traceable."""
    from .fxspec import NotConvertible, convert
    from .guard import failures, running

    try:
        with failures(target.text, None), running(f"tracing {target.text} with torch.fx"):
            return convert(target.model, inputs, values, target.text).spec
    except NotConvertible as e:
        raise CnnCalcError(f"{target.text} cannot be analysed symbolically: {e}", None,
                           "cnncalc shapes TARGET --input ... works on any model (forward hooks)") from None  # fmt: skip


def modules(
    target: Target, inputs: Sequence[InputSpec], values: Mapping[str, int], device: str = "auto", batch: int = 2
) -> ModuleReport:
    """The nested per-module report of a Python target (one hooked forward pass); see :mod:`cnncalc.pymodel.report`."""
    from .report import module_report

    return module_report(target, inputs, values, device, batch)


__all__ = ["has_attr", "is_python_target", "load", "modules", "spec"]
