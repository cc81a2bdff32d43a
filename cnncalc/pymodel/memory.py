"""A Python model's inputs, sized before they are made: never an allocation that cannot succeed.

The model's own parameters already exist (the user built them); what cnncalc allocates is the
random inputs of each forward pass. Their size is known from ``--input`` and the batch before any
tensor is made; above :func:`cnncalc.budget.max_memory` (or beyond what torch can describe) the
run is refused with the figure (exit 2). What the forward pass allocates inside the model is the
model's: an out-of-memory there is reported as the model's failure at the module that ran out.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any

from .. import budget
from ..errors import CnnCalcError
from .inputs import InputSpec

_BYTES = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "long": 8, "int": 4, "bool": 1}


def input_bytes(shapes: Sequence[tuple[int, ...]], specs: Sequence[InputSpec], batch: int) -> int:
    """Bytes of the inputs of one forward pass at this batch size."""
    return sum(batch * prod(s) * _BYTES.get(p.dtype, 8) for s, p in zip(shapes, specs))


def check_inputs(label: str, shapes: Sequence[tuple[int, ...]], specs: Sequence[InputSpec], batch: int,
                 counts: Any = None, device: Any = None) -> None:  # fmt: skip
    """Refuse inputs larger than the memory limit (none on the meta device, where nothing is stored)."""
    if device is not None and str(device) == "meta":
        return
    need = input_bytes(shapes, specs, batch)
    limit = budget.max_memory()
    values = sum(batch * prod(s) for s in shapes)
    if need <= limit and values < budget.TORCH_MAX_NUMEL:
        return
    given = ", ".join("x".join(map(str, s)) for s in shapes)
    raise CnnCalcError(
        f"{label}: --input {given} at batch {batch} makes {values:,} input values ({budget.size_text(need)}), "
        f"over the --max-memory limit of {budget.limit_text(limit)}",
        None,
        "use smaller --input sizes, or raise the limit with --max-memory",
    )
