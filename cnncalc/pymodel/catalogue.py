"""torch modules that are in cnncalc's layer catalogue: their arguments, and per-call derivations.

A module whose class is a ``torch.nn`` catalogue type (``Conv2d``, ``Linear``,
``BatchNorm2d``...) is read back into the constructor arguments the catalogue
knows (``kernel_size``, ``stride``...). One call of it, at the input shape the
hooks saw, is then derived by the same rules as a YAML layer: output shape,
parameters, buffers, MACs and the formula, which the run cross-checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import CnnCalcError, Loc
from ..layers import CATALOGUE, LayerType

NOUNS = {"in_features": "input features", "in_channels": "input channels", "num_features": "channels (num_features)",
         "num_channels": "channels (num_channels)"}  # fmt: skip


def layer_type(module: Any) -> LayerType | None:
    """The catalogue type of a torch.nn module, or None (custom modules, subclasses, types cnncalc lacks)."""
    cls = type(module)
    if not cls.__module__.startswith("torch.nn.modules."):
        return None
    return CATALOGUE.get(cls.__name__)


def layer_args(module: Any, with_inferred: bool = True) -> dict[str, Any] | None:
    """The module's constructor arguments as an architecture-file layer (``{"type": "Conv2d", ...}``)."""
    t = layer_type(module)
    if t is None:
        return None
    out: dict[str, Any] = {"type": t.name}
    names = [*t.args, *(t.inferred if with_inferred else ())]
    read = getattr(t, "read_module", None)
    extra: dict[str, Any] = read(module) if read is not None else {}
    for name in names:
        if not hasattr(module, name) and name not in extra:
            continue
        arg = t.args.get(name)
        value = extra[name] if name in extra else getattr(module, name)
        if (
            arg is not None
            and arg.kind == "bool"
            and not isinstance(value, bool)
            and not (value is None and arg.nullable)
        ):
            value = value is not None  # bias: a Parameter or None (align_corners=None stays None)
        value = _plain(value)
        if value is None and (arg is None or not arg.nullable):
            continue
        if arg is not None and value == _plain(arg.default):
            continue
        out[name] = value
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (int, float)):
        return value.item()
    return value


@dataclass(frozen=True)
class Derived:
    """What the catalogue rules give for one module call."""

    shape: tuple[Any, ...]
    params: int
    buffers: int
    macs: int
    rule: str  # the output-size formula
    args: Mapping[str, Any] = field(default_factory=dict)  # resolved arguments (kernel_size, stride): for pictures


def derive(module: Any, name: str, in_shape: Sequence[int]) -> Derived | None:
    """The catalogue derivation of one call on ``in_shape`` (per sample); raises CnnCalcError when impossible."""
    layer = layer_args(module)
    if layer is None:
        return None
    key = (repr(layer), tuple(in_shape))
    if key not in _DERIVED:
        try:
            _DERIVED[key] = _derive(layer, tuple(in_shape))
        except CnnCalcError as e:
            _DERIVED[key] = e
    got = _DERIVED[key]
    if isinstance(got, CnnCalcError):
        raise CnnCalcError(got.message.replace("'m'", repr(name)), None, got.hint) from None
    return got


_DERIVED: dict[tuple[str, tuple[int, ...]], Derived | CnnCalcError] = {}
"""Each distinct (arguments, input shape) is derived once per process: a ResNet-50 repeats most of its calls."""


def _derive(layer: dict[str, Any], in_shape: tuple[int, ...]) -> Derived:
    from .fxshapes import Shaper

    t = CATALOGUE[layer["type"]]
    r = Shaper(f"{t.name} 'm'", in_shape, {}).add("m", layer, ["input"])
    macs = r.node.layer.macs(r.args, [in_shape], r.shape)
    return Derived(tuple(r.shape), int(r.params), int(r.buffers), int(macs), t.formulas().get("output", ""),
                   dict(r.args.values))  # fmt: skip


def inferred_mismatch(module: Any, in_shape: Sequence[int]) -> tuple[str, int, int] | None:
    """(argument, the module's value, what the input gives) when an inferred argument disagrees."""
    t = layer_type(module)
    if t is None or not in_shape:
        return None
    for name in t.inferred:
        if hasattr(module, name):
            try:
                given, got = int(getattr(module, name)), int(t.infer(name, tuple(in_shape)))
            except (TypeError, ValueError, IndexError):
                continue
            if given != got:
                return name, given, got
    return None


def built_at(model: Any, name: str) -> Loc | None:
    """Where the user's ``__init__`` builds module ``name`` (``self.fc3 = nn.Linear(...)``): the line assigning it,
    or the container holding it (``self.features = nn.Sequential(...)`` for ``features.0``); None if not found."""
    import linecache
    import re

    from .cells import split
    from .frames import frame_loc, is_library

    parts = name.split(".") if name else []
    for k in range(len(parts), 0, -1):
        owner = model.get_submodule(".".join(parts[: k - 1]))
        pattern = re.compile(rf"\s*self\.{re.escape(parts[k - 1])}\s*(:[^=]+)?=(?!=)")
        for cls in type(owner).__mro__:
            code = getattr(vars(cls).get("__init__"), "__code__", None)
            if code is None or (is_library(code.co_filename) and split(code.co_filename) is None):
                continue
            last = max((line for _, _, line in code.co_lines() if line), default=code.co_firstlineno)
            for n in range(code.co_firstlineno, last + 1):
                if pattern.match(linecache.getline(code.co_filename, n)):
                    return frame_loc(code.co_filename, n)
    return None
