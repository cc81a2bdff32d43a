"""Which layout a file's input is written in: torch's (C, H, W), or Keras' (H, W, C).

cnncalc reads (C, H, W) unless the file (or ``--convention keras``) says Keras. An
input such as ``[28, 28, 1]`` under torch's reading is 28 channels of 28x1: almost
always a Keras student's (H, W, C). :func:`channels_last_hint` says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import symbolic as sym
from ..errors import CnnCalcError
from ..parse.spec import ArchSpec
from .expand import param_value
from .values import integer

_NAMES = {2: ("C", "L"), 3: ("C", "H", "W"), 4: ("C", "D", "H", "W")}


def channels_last_hint(spec: ArchSpec, binding: Mapping[str, Any]) -> str | None:
    """The hint for an input that looks written channels last while read channels first, else None.

    It looks so when its last entry is 1 or 3 (grey or colour channels) and every other
    entry is large (a symbol, or at least 8).
    """
    if spec.convention == "keras" or len(spec.input) not in _NAMES:
        return None
    env: dict[str, Any] = dict(binding)
    try:
        for name, node in spec.params:
            env[name] = param_value(node, env, f"param {name!r}")
        shape = [integer(n, env, f"input[{j}]", minimum=1) for j, n in enumerate(spec.input)]
    except CnnCalcError:
        return None
    *rest, last = shape
    if last not in (1, 3) or not all(not sym.is_concrete(d) or d >= 8 for d in rest):
        return None
    names = _NAMES[len(shape)]
    first, keras = ", ".join(names), ", ".join((*names[1:], names[0]))
    meant = "[" + ", ".join(sym.to_text(d) for d in (last, *rest)) + "]"
    return f"cnncalc reads ({first}) as torch does; did you mean {meant}, or `convention: keras` for ({keras})?"
