"""torchinfo's ``ModelStatistics`` view of a module report: ``summary_list`` rows and byte totals, torch's numbers.

``cnncalc.summary`` returns an object that offers torchinfo's attributes beside cnncalc's own;
this module computes them from the hooked run (:class:`ModuleReport`) and the model: one
:class:`LayerInfo` per module call (or per registered module when nothing was run), parameter
counts from ``model.parameters()`` (tied tensors once), MACs from torch's FLOP counter, bytes
from each tensor's ``element_size``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .report import ModuleReport
from .trace import TensorInfo, is_lazy, type_name


def itemsize(dtype: str) -> int:
    """Bytes per element of a dtype named as in :class:`TensorInfo` (``float32``, ``int64``...)."""
    from ..verify.torchload import import_torch

    kind = getattr(import_torch(), dtype, None)
    return int(getattr(kind, "itemsize", 4))


def nbytes(i: TensorInfo) -> int:
    """The bytes of one tensor's elements."""
    n = 1
    for d in i.shape:
        n *= d
    return n * itemsize(i.dtype)


@dataclass
class LayerInfo:
    """One row of torchinfo's ``summary_list``: a module call (its first output's shape), torch's numbers."""

    layer_id: int
    var_name: str
    class_name: str
    depth: int
    depth_index: int
    name: str  # the qualified module name ("" for the model)
    input_size: list[int]
    output_size: list[int]
    num_params: int  # with its children; a repeated call counts none
    trainable_params: int
    macs: int  # this call, the whole batch (its children included)
    is_leaf_layer: bool
    is_recursive: bool  # a second call (or a second registration) of the same module
    executed: bool
    kernel_size: list[int] | None
    groups: int | None
    param_bytes: int
    output_bytes: int
    trainable: str  # "True", "False", "Partial" or "--" (no parameters)
    weights: int = 0  # the module's parameters, counted at every call (the forward/backward bytes)
    own_params: int = 0  # registered on the module itself (a container's nn.Parameter)
    own_macs: int = 0  # the operations of its own forward, outside its child calls (torch.mm, F.linear...)
    children: list[LayerInfo] = field(default_factory=list, repr=False)

    def num_params_to_str(self, reached_max_depth: bool = False) -> str:
        """torchinfo's Param # cell: ``(recursive)`` for a repeated module, ``--`` for none."""
        if self.is_recursive:
            return "(recursive)"
        if self.num_params and (reached_max_depth or self.is_leaf_layer):
            return f"{self.num_params:,}"
        return "--" if not self.num_params else f"{self.num_params:,}"

    def macs_to_str(self, reached_max_depth: bool = False) -> str:
        """torchinfo's Mult-Adds cell."""
        return f"{self.macs:,}" if self.macs and (reached_max_depth or self.is_leaf_layer) else "--"

    def __repr__(self) -> str:
        return f"{self.class_name}: {self.depth}"


def _kernel(module: Any) -> tuple[list[int] | None, int | None]:
    k = getattr(module, "kernel_size", None)
    if k is None or not hasattr(module, "weight"):
        return None, None
    dims: list[int] | None
    try:  # a tuple, an int or a 0-d tensor (HuggingFace's Encodec convolutions)
        dims = [int(d) for d in k] if isinstance(k, (tuple, list)) else [int(k)]
    except (TypeError, ValueError):
        dims = None
    g = getattr(module, "groups", None)
    return dims, int(g) if isinstance(g, int) else None


def _trainable(module: Any) -> str:
    flags = [p.requires_grad for p in module.parameters()]
    if not flags:
        return "--"
    return "True" if all(flags) else "False" if not any(flags) else "Partial"


def _param_bytes(module: Any) -> int:
    seen: set[int] = set()
    total = 0
    for p in module.parameters():
        if id(p) not in seen and not is_lazy(p):
            seen.add(id(p))
            total += p.numel() * p.element_size()
    return total


def layers(model: Any, rep: ModuleReport | None) -> list[LayerInfo]:
    """torchinfo's ``summary_list``: one row per module call in call order; without a run, per registered module."""
    if rep is None or not any(r.call is not None for r in rep.rows):
        return _registered(model)
    out: list[LayerInfo] = []
    counters: dict[int, int] = {}
    by_index: dict[int, LayerInfo] = {}
    modules = dict(model.named_modules())  # get_submodule is not supported on TorchScript modules
    for r in rep.rows:
        c = r.call
        name = c.name if c is not None else r.name
        module = modules[name]
        counters[r.depth] = counters.get(r.depth, 0) + 1
        kernel, groups = _kernel(module)
        first_out = r.outputs[0][1] if r.outputs else None
        out_bytes = sum(nbytes(i) for _, i in r.outputs)
        info = LayerInfo(id(module), name.rsplit(".", 1)[-1] or type(model).__name__, r.type, r.depth,
                         counters[r.depth], name, list(c.inputs[0].shape) if c is not None and c.inputs else [],
                         list(first_out.shape) if first_out is not None else [], r.params, r.trainable, r.run_macs,
                         r.leaf, r.reused_from is not None, c is not None and c.done, kernel, groups,
                         _param_bytes(module) if r.reused_from is None else 0, out_bytes, _trainable(module),
                         sum(p.numel() for p in module.parameters() if not is_lazy(p)), r.own if r.reused_from is None else 0,
                         c.flops // 2 if c is not None else 0)  # fmt: skip
        out.append(info)
        if c is not None:
            by_index[c.index] = info
            if c.parent is not None and c.parent in by_index:
                by_index[c.parent].children.append(info)
    return out


def _registered(model: Any) -> list[LayerInfo]:
    """Every module as registered (a module registered twice is listed twice, its parameters once)."""
    from .trace import count

    counts = count(model)
    out: list[LayerInfo] = []
    seen: set[int] = set()
    counters: dict[int, int] = {}

    def walk(module: Any, name: str, var: str, depth: int, parent: LayerInfo | None) -> None:
        again = id(module) in seen
        seen.add(id(module))
        sub = counts.subtree(name) if not again else None
        kernel, groups = _kernel(module)
        counters[depth] = counters.get(depth, 0) + 1
        info = LayerInfo(id(module), var, type_name(module), depth, counters[depth], name, [], [],
                         sub.params if sub else 0, sub.trainable if sub else 0, 0, not list(module.children()),
                         again, False, kernel, groups, _param_bytes(module) if not again else 0, 0,
                         _trainable(module), 0, counts.modules[name].params if not again and name in counts.modules
                         else 0)  # fmt: skip
        out.append(info)
        if parent is not None:
            parent.children.append(info)
        for key, child in module._modules.items():
            if child is not None:
                walk(child, f"{name}.{key}" if name else key, key, depth + 1, info)

    walk(model, "", type(model).__name__, 0, None)
    return out


@dataclass(frozen=True)
class Totals:
    """torchinfo's byte totals, from torch's tensors."""

    total_input: int  # bytes of the input tensors
    total_output_bytes: int  # outputs of the leaf calls with parameters, x2 (forward and backward), as torchinfo
    total_param_bytes: int  # every distinct parameter


def totals(
    model: Any, rep: ModuleReport | None, summary_list: Sequence[LayerInfo], inputs: int | None = None
) -> Totals:
    """Input, forward/backward and parameter bytes; ``inputs``: how many of the tensors given are the input."""
    given = sum(nbytes(i) for i in rep.given[:inputs]) if rep is not None else 0
    outputs = 2 * sum(r.output_bytes for r in summary_list if r.is_leaf_layer and r.weights > 0)
    return Totals(given, outputs, _param_bytes(model))


__all__ = ["LayerInfo", "Totals", "layers", "totals"]
