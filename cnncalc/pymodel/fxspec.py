"""A traceable Python model as an architecture spec: ``torch.fx`` graph -> cnncalc YAML -> symbolic engine.

``torch.fx.symbolic_trace`` records the forward pass as a graph without running
it. Each node is mapped onto the layer catalogue: catalogue modules keep their
constructor arguments, ``+``/``torch.cat``/``flatten``/``relu``... become the
matching layer types, ``x.view(x.size(0), -1)`` is a Flatten and
``x.view(-1, N)`` a Flatten that must give N features per sample (otherwise the
view silently changes the batch size). The result is ordinary YAML, so a Python
model gets the same symbolic shapes, validity conditions, receptive fields and
verification as an architecture file. Anything else (custom modules with their
own parameters, data-dependent control flow) is reported as not convertible,
with the reason.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import CnnCalcError
from ..layers.steps import letters
from ..parse.spec import ArchSpec, parse_text
from .catalogue import layer_args
from .inputs import InputSpec


class NotConvertible(Exception):
    """The model cannot be expressed in the catalogue; the message says which part and why."""


@dataclass(frozen=True)
class FxSpec:
    """The spec of a traced model, its YAML text, and each layer id's module or operation name."""

    spec: ArchSpec
    text: str
    names: Mapping[str, str]  # layer id -> qualified module name or "x.view(-1, 512)"-like text


def auto_symbols(spec: InputSpec) -> InputSpec:
    """``3x32x32`` -> ``3xHxW`` (the spatial dims as symbols), for deriving which sizes a model accepts."""
    if spec.symbols or not 2 <= len(spec.dims) <= 4:
        return spec
    return InputSpec((spec.dims[0], *letters(len(spec.dims) - 1)), spec.dtype)


def convert(model: Any, inputs: Sequence[InputSpec], defaults: Mapping[str, int], label: str) -> FxSpec:
    """Trace ``model`` and write it as an architecture spec with ``inputs``' symbols (defaults given)."""
    import yaml

    if len(inputs) != 1:
        raise NotConvertible("the model takes several inputs; the symbolic engine handles one")
    if inputs[0].dtype not in ("float32", "float64", "float16", "bfloat16"):
        raise NotConvertible(f"the input is {inputs[0].dtype}; the catalogue has no embedding layers")
    import torch.fx

    try:
        gm = torch.fx.symbolic_trace(model)
    except Exception as e:
        raise NotConvertible(f"torch.fx cannot trace it ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
    layers, names = _Writer(gm).layers()
    doc: dict[str, Any] = {"cnncalc": 1, "name": label, "input": list(inputs[0].dims)}
    if inputs[0].symbols:
        doc["symbols"] = {s: defaults.get(s) for s in inputs[0].symbols}
    doc["layers"] = layers
    text = str(yaml.safe_dump(doc, default_flow_style=None, sort_keys=False, width=120))
    try:
        spec = parse_text(text, f"{label} (traced)")
    except CnnCalcError as e:
        raise NotConvertible(f"the traced graph is not a valid architecture: {e.message}") from None
    return FxSpec(spec, text, names)


_UNARY = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "gelu": "GELU", "silu": "SiLU", "elu": "ELU",
          "relu6": "ReLU6", "hardswish": "Hardswish", "dropout": "Dropout", "leaky_relu": "LeakyReLU",
          "mish": "Mish", "softplus": "Softplus"}  # fmt: skip
_PASS = {"contiguous", "clone", "detach", "float"}
_POOL = {"max_pool1d": "MaxPool1d", "max_pool2d": "MaxPool2d", "max_pool3d": "MaxPool3d",
         "avg_pool1d": "AvgPool1d", "avg_pool2d": "AvgPool2d", "avg_pool3d": "AvgPool3d"}  # fmt: skip
_ADAPTIVE = {"adaptive_avg_pool1d": "AdaptiveAvgPool1d", "adaptive_avg_pool2d": "AdaptiveAvgPool2d",
             "adaptive_avg_pool3d": "AdaptiveAvgPool3d", "adaptive_max_pool2d": "AdaptiveMaxPool2d"}  # fmt: skip


class _Writer:
    def __init__(self, gm: Any) -> None:
        self.gm = gm
        self.ids: dict[Any, str] = {}  # fx node -> layer id ("input" for the placeholder)
        self.batch: set[Any] = set()  # nodes whose value is the batch size (x.size(0), x.shape[0])
        self.out: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}

    def layers(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        final = None
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                if self.ids:
                    raise NotConvertible(f"forward takes a second argument {node.target!r}")
                self.ids[node] = "input"
            elif node.op == "call_module":
                self._module(node)
            elif node.op in ("call_function", "call_method"):
                self._function(node)
            elif node.op == "output":
                final = node.args[0]
            else:
                raise NotConvertible(f"{node.op} {node.target!r} (a tensor attribute used directly in forward)")
        if final not in self.ids or self.ids.get(final) == "input":
            raise NotConvertible("the output is not a single tensor computed by layers (tuple, dict or input)")
        last = self.ids[final]
        if self.out and self.out[-1]["id"] != last:
            self.out.append({"type": "Identity", "id": "output", "from": last})
        return self.out, self.names

    def _src(self, value: Any, node: Any) -> str:
        if value not in self.ids:
            raise NotConvertible(f"{_show(node)} takes {value!r}, which is not a tensor from the layers")
        return self.ids[value]

    def _add(self, node: Any, layer: dict[str, Any], sources: Sequence[Any], name: str) -> None:
        ident = node.name
        froms = [self._src(s, node) for s in sources]
        layer = {**layer, "id": ident, "from": froms if len(froms) > 1 else froms[0]}
        self.out.append(layer)
        self.ids[node] = ident
        self.names[ident] = name

    def _module(self, node: Any) -> None:
        module = self.gm.get_submodule(node.target)
        layer = layer_args(module)
        if layer is None:
            raise NotConvertible(f"module {node.target!r} ({type(module).__name__}) is not in the layer catalogue")
        if node.kwargs or len(node.args) != 1:
            raise NotConvertible(f"module {node.target!r} is called with several arguments")
        self._add(node, layer, node.args, node.target)

    def _function(self, node: Any) -> None:
        name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
        args, kwargs = list(node.args), dict(node.kwargs)
        if (node.op == "call_method" and name == "size") or (node.target is getattr and args[1:] == ["shape"]):
            if len(args) > 1 and args[1] == 0:
                self.batch.add(node)
            else:
                self.ids.setdefault(node, "")  # a shape object: only its [0] is understood
            return
        if node.target is operator.getitem and self.ids.get(args[0]) == "" and args[1] == 0:
            self.batch.add(node)
            return
        if name in _PASS:
            self.ids[node] = self._src(args[0], node)
            return
        if name in _UNARY:
            self._add(node, {"type": _UNARY[name]}, args[:1], _show(node))
        elif node.target in (operator.add, operator.iadd) or name == "add":
            if len(args) != 2 or not all(a in self.ids for a in args):
                raise NotConvertible(f"{_show(node)} adds a non-tensor")
            self._add(node, {"type": "Add"}, args, _show(node))
        elif name == "cat":
            dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
            self._add(node, {"type": "Concat", "dim": dim}, list(args[0]), _show(node))
        elif name == "flatten":
            start = kwargs.get("start_dim", args[1] if len(args) > 1 else 0)
            end = kwargs.get("end_dim", args[2] if len(args) > 2 else -1)
            if start == 0:
                raise NotConvertible(f"{_show(node)} flattens the batch dimension")
            self._add(node, {"type": "Flatten", "start_dim": start, "end_dim": end}, args[:1], _show(node))
        elif name in ("view", "reshape"):
            self._reshape(node, args)
        elif name in _POOL:
            k = kwargs.get("kernel_size", args[1] if len(args) > 1 else None)
            s = kwargs.get("stride", args[2] if len(args) > 2 else None)
            p = kwargs.get("padding", args[3] if len(args) > 3 else 0)
            layer = {"type": _POOL[name], "kernel_size": _plain(k), "padding": _plain(p)}
            if s is not None:
                layer["stride"] = _plain(s)
            self._add(node, layer, args[:1], _show(node))
        elif name in _ADAPTIVE:
            size = kwargs.get("output_size", args[1] if len(args) > 1 else None)
            self._add(node, {"type": _ADAPTIVE[name], "output_size": _plain(size)}, args[:1], _show(node))
        else:
            raise NotConvertible(f"{_show(node)} is not in the layer catalogue")

    def _reshape(self, node: Any, args: list[Any]) -> None:
        shape = list(args[1]) if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
        if len(shape) == 2 and shape[0] in self.batch and shape[1] == -1:
            self._add(node, {"type": "Flatten"}, args[:1], _show(node))
        elif len(shape) == 2 and shape[0] == -1 and isinstance(shape[1], int) and shape[1] > 0:
            # x.view(-1, N) keeps the batch only when each sample has exactly N values
            self._add(node, {"type": "Flatten", "expect": [shape[1]]}, args[:1], _show(node))
        else:
            raise NotConvertible(f"{_show(node)}: only x.view(x.size(0), -1) and x.view(-1, N) are understood")


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _show(node: Any) -> str:
    """``x.view(-1, 512)`` or ``relu(x)`` for messages."""

    def arg(a: Any) -> str:
        return a.name if hasattr(a, "op") else repr(a)

    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
    parts = [arg(a) for a in node.args] + [f"{k}={arg(v)}" for k, v in node.kwargs.items()]
    if node.op == "call_method":
        return f"{parts[0]}.{name}({', '.join(parts[1:])})"
    return f"{name}({', '.join(parts)})"


def accepted_sizes(fx: FxSpec, limit: int = 512) -> tuple[list[tuple[str, str]], str]:
    """The validity conditions of a symbolic spec (each as people read it and in sympy's machine form),
    and which equal sizes satisfy them (``28..31``)."""
    from .. import symbolic as sym
    from ..analysis.conditions import holds, solve
    from ..analysis.shapes import analyze
    from ..graph import expand

    names = [n for n, _, _ in fx.spec.symbols]
    analysis = analyze(expand(fx.spec, {n: sym.symbol(n) for n in names}))
    conditions = list(analysis.conditions)
    try:
        solution = solve(conditions, names)
        described = list(zip(solution.describe(), solution.describe(machine=True)))
    except CnnCalcError as e:
        described = [(e.message, e.message)]
    good = [v for v in range(1, limit + 1) if all(holds(c, {n: v for n in names}) for c in conditions)]
    return described, _ranges(good, " = ".join(names), limit)


def _ranges(values: list[int], name: str, limit: int) -> str:
    if not values:
        return f"no size {name} up to {limit} works"
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][-1] + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    parts = [f"{r[0]}" if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in runs[:6]]
    more = ", ..." if len(runs) > 6 or runs[-1][-1] == limit else ""
    return f"{name} in {', '.join(parts)}{more}"
