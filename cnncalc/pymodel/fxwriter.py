"""Writing a ``torch.fx`` graph as catalogue layers, with the value of every node tracked as it goes.

Tensors are layer outputs with their (symbolic) per-sample shapes; ``x.size()``,
``x.shape[2]``, ``h // 2`` and ``x.dim()`` are numbers (ints or sympy
expressions of the input's symbols) or the batch size; tuples, lists and
constants stay Python values. So the idioms of real models translate by what
they compute, not by how they are spelled: a ``view`` becomes the Flatten and
Unflatten steps that give the same shape, ``transpose`` a Permute, ``chunk`` and
``x[:, a:b]`` Narrow layers, ``scale * x`` a broadcasting Mul, ``gamma * x`` with
a parameter a Scale. What cannot be expressed raises :class:`NotConvertible`
with the operation and the reason.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import symbolic as sym
from ..errors import CnnCalcError, Loc
from ..layers import Condition
from .catalogue import layer_args
from .cells import split
from .fxshapes import Shaper


class NotConvertible(Exception):
    """The model cannot be expressed in the catalogue; the message says which part and why."""


class _Batch:
    def __repr__(self) -> str:
        return "B"


BATCH: Any = _Batch()
"""The batch size (``x.size(0)``): kept as itself, never a number."""


@dataclass(frozen=True)
class Tensor:
    """A layer output (or the input) and its per-sample shape."""

    id: str
    shape: tuple[Any, ...]
    strided: bool = False  # a permute's output (not contiguous): torch's view refuses to merge its dims


@dataclass(frozen=True)
class Expanded:
    """``param.expand(batch, -1, ...)``: a learned tensor repeated for every sample."""

    param: Any


@dataclass(frozen=True)
class Param:
    """A parameter or buffer of the model read in ``forward`` (``self.gamma``)."""

    name: str
    shape: tuple[int, ...]


_UNARY = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "gelu": "GELU", "silu": "SiLU", "elu": "ELU",
          "relu6": "ReLU6", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid", "leaky_relu": "LeakyReLU",
          "mish": "Mish", "softplus": "Softplus", "selu": "SELU"}  # fmt: skip
_SAME = {"contiguous", "clone", "detach", "float", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
         "feature_alpha_dropout", "relu_", "sigmoid_", "hardtanh", "clamp", "clamp_min", "clamp_max", "abs", "neg",
         "exp", "sqrt", "rsqrt", "pow", "square", "type_as", "to", "erf"}  # fmt: skip
_POOL = {"max_pool1d": "MaxPool1d", "max_pool2d": "MaxPool2d", "max_pool3d": "MaxPool3d",
         "avg_pool1d": "AvgPool1d", "avg_pool2d": "AvgPool2d", "avg_pool3d": "AvgPool3d"}  # fmt: skip
_POOL_ARGS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
_AVG_ARGS = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
_ADAPTIVE = {"adaptive_avg_pool1d": "AdaptiveAvgPool1d", "adaptive_avg_pool2d": "AdaptiveAvgPool2d",
             "adaptive_avg_pool3d": "AdaptiveAvgPool3d", "adaptive_max_pool1d": "AdaptiveMaxPool1d",
             "adaptive_max_pool2d": "AdaptiveMaxPool2d", "adaptive_max_pool3d": "AdaptiveMaxPool3d"}  # fmt: skip
_REDUCE = {"mean": "Mean", "sum": "Sum", "amax": "Amax"}
_ARITH: dict[Any, Callable[[Any, Any], Any]] = {
    operator.add: operator.add, operator.sub: operator.sub, operator.mul: operator.mul,
    operator.floordiv: sym.floordiv, operator.truediv: sym.truediv, operator.mod: sym.mod,
}  # fmt: skip
_BY_NAME = {"add": operator.add, "iadd": operator.add, "sub": operator.sub, "isub": operator.sub,
            "mul": operator.mul, "imul": operator.mul, "div": operator.truediv, "truediv": operator.truediv,
            "floordiv": operator.floordiv, "mod": operator.mod}  # fmt: skip
_COMPARE = {operator.eq: sym.equal}


def name_of(node: Any) -> str:
    """The function or method name an fx node calls."""
    t = node.target
    return t if isinstance(t, str) else getattr(t, "__name__", str(t))


def show(node: Any) -> str:
    """``x.view(-1, 512)`` or ``relu(x)`` for messages."""

    def arg(a: Any) -> str:
        return a.name if hasattr(a, "op") else repr(a)

    parts = [arg(a) for a in node.args] + [f"{k}={arg(v)}" for k, v in node.kwargs.items()]
    if node.op == "call_method":
        return f"{parts[0]}.{name_of(node)}({', '.join(parts[1:])})"
    return f"{name_of(node)}({', '.join(parts)})"


def _same(a: Any, b: Any) -> bool:
    """Equal sizes: proven, or equal at every probe size (the finished spec's conditions then say exactly when)."""
    if a is BATCH or b is BATCH:
        return a is b
    if sym.is_concrete(a) and sym.is_concrete(b):
        return bool(a == b)
    return sym.decide(sym.equal(a, b)) is True or sym.agree(a, b)


_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>[0-9]+)')


def user_loc(node: Any) -> Loc | None:
    """Where the user's code computes an fx node: the innermost frame of its stack trace outside torch and
    cnncalc (a notebook cell's own name included), or None when torch recorded none."""
    from .frames import frame_loc, is_library
    from .trace import _is_own

    trace = getattr(node, "stack_trace", None) or ""
    frames = [(m["file"], int(m["line"])) for m in _FRAME.finditer(trace)]
    for file, line in reversed(frames):
        if _is_own(file) or (is_library(file) and split(file) is None):
            continue
        return frame_loc(file, line)
    return None


def _one(d: Any) -> bool:
    return sym.is_concrete(d) and d == 1


def _broadcast(a: Any, b: Any) -> bool:
    """One size is 1 where the other is not (proven, or at every probe size): torch broadcasts it."""
    if a is BATCH or b is BATCH:
        return False
    return (_same(a, 1) and not _same(b, 1)) or (_same(b, 1) and not _same(a, 1))


class Writer:
    """Walks an fx graph in order; ``layers()`` gives the architecture-file layers and the id -> name map."""

    def __init__(self, gm: Any, shape: Sequence[Any], env: dict[str, Any], label: str) -> None:
        self.gm = gm
        self.shaper = Shaper(label, shape, env)
        self.vals: dict[Any, Any] = {}
        self.out: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}
        self.used: set[str] = set()  # parameters read through get_attr and accounted for by a layer
        self.node: Any = None
        self.locs: dict[str, Loc] = {}  # layer id -> the line of the user's forward that computes it

    # --- the walk --------------------------------------------------------------------------------

    def layers(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """Every node in order; the output must be one tensor computed by layers. An operation that cannot
        be written says where the user's code runs it (``... is not in the layer catalogue (at model.py:31:9)``)."""
        try:
            return self._layers()
        except NotConvertible as e:
            loc = user_loc(self.node) if self.node is not None else None
            if loc is None or str(loc) in str(e):
                raise
            raise NotConvertible(f"{e} (at {loc})") from None

    def _layers(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        final: Any = None
        first = True
        for node in self.gm.graph.nodes:
            self.node = node
            if node.op == "placeholder":
                if first:
                    self.vals[node] = Tensor("input", self.shaper.input)
                    first = False
                else:
                    self.vals[node] = node.args[0] if node.args else _Unset(node.target)
            elif node.op == "get_attr":
                self.vals[node] = self._attr(node)
            elif node.op == "call_module":
                self.vals[node] = self._module(node)
            elif node.op in ("call_function", "call_method"):
                self.vals[node] = self._call(node)
            elif node.op == "output":
                final = self._value(node.args[0])
        if not isinstance(final, Tensor) or final.id == "input":
            raise NotConvertible("the output is not a single tensor computed by layers (tuple, dict or input)")
        if self.out and self.out[-1]["id"] != final.id:
            self._emit("output", {"type": "Identity"}, [final], "output")
        return self.out, self.names

    def _value(self, a: Any) -> Any:
        """The tracked value of an fx argument (nodes replaced, containers mapped)."""
        if hasattr(a, "op"):
            v = self.vals[a]
            if isinstance(v, _Unset):
                raise NotConvertible(f"{show(self.node)} uses forward's argument {v.name!r}; one input is supported")
            return v
        if isinstance(a, (list, tuple)):
            return type(a)(self._value(x) for x in a)
        if isinstance(a, dict):
            return {k: self._value(v) for k, v in a.items()}
        if isinstance(a, slice):
            return slice(self._value(a.start), self._value(a.stop), self._value(a.step))
        return a

    def _tensor(self, a: Any) -> Tensor:
        v = self._value(a)
        if not isinstance(v, Tensor):
            raise NotConvertible(f"{show(self.node)} takes {a!r}, which is not a tensor from the layers")
        return v

    def _emit(self, ident: str, layer: dict[str, Any], sources: Sequence[Tensor], name: str) -> Tensor:
        layer = {k: _written(v, self.node) for k, v in layer.items()}  # sizes from x.size(2): expressions
        loc = user_loc(self.node)
        if loc is not None:
            self.locs[ident] = loc
        result = self.shaper.add(ident, layer, [s.id for s in sources], loc)
        froms = [s.id for s in sources]
        self.out.append({**layer, "id": ident, "from": froms if len(froms) > 1 else froms[0]})
        self.names[ident] = name
        return Tensor(ident, result.shape)

    @staticmethod
    def _keep(out: Tensor, *sources: Tensor) -> Tensor:
        """An elementwise result keeps its input's memory layout (torch follows the first dense input's strides)."""
        return dataclasses.replace(out, strided=sources[0].strided) if sources[0].strided else out

    def _layer(self, layer: dict[str, Any], *sources: Tensor) -> Tensor:
        """One layer for the current node (a second, third... for the same node get suffixes)."""
        ident = self.node.name
        k = 1
        while ident in self.names:
            k += 1
            ident = f"{self.node.name}_{k}"
        return self._emit(ident, layer, sources, show(self.node))

    # --- modules and attributes ------------------------------------------------------------------

    def _attr(self, node: Any) -> Any:
        value = self.gm
        for part in str(node.target).split("."):
            value = getattr(value, part)
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            return Param(str(node.target), tuple(int(d) for d in value.shape))
        return value

    def _module(self, node: Any) -> Any:
        module = self.gm.get_submodule(node.target)
        layer = layer_args(module)
        if layer is None:
            raise NotConvertible(f"module {node.target!r} ({type(module).__name__}) is not in the layer catalogue")
        if layer["type"] == "MultiheadAttention":
            return self._attention(node, module, layer)
        if node.kwargs or len(node.args) != 1:
            raise NotConvertible(f"module {node.target!r} is called with several arguments")
        x = self._tensor(node.args[0])
        ident = node.name
        return self._emit(ident, layer, [x], str(node.target))

    def _attention(self, node: Any, module: Any, layer: dict[str, Any]) -> Any:
        """``mha(x, x, x, need_weights=False)``: self-attention gives (output, None)."""
        args = [node.args[k] if len(node.args) > k else node.kwargs.get(n) for k, n in enumerate(("query", "key",
                                                                                                 "value"))]  # fmt: skip
        extra = {k: self._value(v) for k, v in node.kwargs.items() if k not in ("query", "key", "value")}
        if len(node.args) > 3 or args[0] is None or any(a is not args[0] for a in args):
            raise NotConvertible(f"module {node.target!r} attends to another sequence (cross-attention)")
        if extra.get("need_weights", True) or any(extra.get(k) is not None for k in ("key_padding_mask", "attn_mask")):
            raise NotConvertible(f"module {node.target!r} is asked for its attention weights or given a mask")
        return (self._emit(node.name, layer, [self._tensor(args[0])], str(node.target)), None)

    # --- functions and methods -------------------------------------------------------------------

    def _arg(self, k: int, name: str, default: Any = None) -> Any:
        """Argument ``k`` (positional after the tensor) or keyword ``name``, as a tracked value."""
        node = self.node
        if name in node.kwargs:
            return self._value(node.kwargs[name])
        return self._value(node.args[k]) if len(node.args) > k else default

    def _call(self, node: Any) -> Any:
        name = name_of(node)
        target = node.target
        args = [self._value(a) for a in node.args]
        if target is getattr:
            return self._getattr(args[0], args[1])
        if target is operator.getitem:
            return self._getitem(args[0], args[1])
        if name == "_assert":
            return self._assert(args[0], args[1] if len(args) > 1 else "torch._assert")
        if name in ("_assert_is_none", "_log_api_usage_once", "is_scripting") or target is isinstance:
            return None
        if target in _COMPARE and not any(isinstance(a, Tensor) for a in args):
            return _COMPARE[target](*args)
        if target in _ARITH or name in _BY_NAME:
            return self._arith(name, target, args)
        if target is operator.neg and not isinstance(args[0], Tensor):
            return -args[0]
        first = args[0] if args else None
        if name in ("size", "dim") or name == "numel":
            return self._size(name, first, args[1:], node)
        if name == "stochastic_depth":
            if self._arg(3, "training", False):
                raise NotConvertible(f"{show(node)} runs in training mode")
            return self._tensor(node.args[0])
        if name == "expand" and isinstance(first, Param):
            return self._expand(first, args[1:])
        if name in _SAME:
            x = self._tensor(node.args[0])
            return dataclasses.replace(x, strided=False) if name in ("contiguous", "clone") else x
        if name in _UNARY:
            x = self._tensor(node.args[0])
            return self._keep(self._layer({"type": _UNARY[name]}, x), x)
        if name in ("softmax", "log_softmax"):
            return self._layer({"type": "Softmax" if name == "softmax" else "LogSoftmax", "dim": self._arg(1, "dim")},
                               self._tensor(node.args[0]))  # fmt: skip
        if name in ("cat", "concat", "concatenate"):
            return self._cat(list(args[0]), self._arg(1, "dim", 0))
        if name == "flatten":
            return self._flatten(self._tensor(node.args[0]), self._arg(1, "start_dim", 0), self._arg(2, "end_dim", -1))
        if name in ("view", "reshape") and isinstance(first, Param):
            return self._reshape_param(first, args[1:])
        if name in ("view", "reshape"):
            shape = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
            if "shape" in node.kwargs or "size" in node.kwargs:
                shape = self._value(node.kwargs.get("shape", node.kwargs.get("size")))
            x = self._tensor(node.args[0])
            out = self._reshape(x, list(shape))
            if name == "view" and x.strided and [d for d in x.shape if not _one(d)] != \
                    [d for d in out.shape if not _one(d)]:  # fmt: skip
                raise CnnCalcError(f"{show(node)}: view of a transposed or permuted tensor, which is not contiguous: "
                                   "torch refuses to merge or split its dims", user_loc(node),
                                   "use .reshape(...), or .contiguous().view(...)")  # fmt: skip
            return out
        if name in ("permute", "transpose", "swapaxes", "movedim"):
            return self._permute(name, self._tensor(node.args[0]), args[1:])
        if name in _REDUCE:
            return self._reduce(name, self._tensor(node.args[0]))
        if name in ("chunk", "split", "tensor_split"):
            return self._split(name, self._tensor(node.args[0]))
        if name == "narrow":
            x = self._tensor(node.args[0])
            return self._narrow(x, self._arg(1, "dim"), self._arg(2, "start"), self._arg(3, "length"))
        if name in _POOL:
            names = _AVG_ARGS if name.startswith("avg") else _POOL_ARGS
            layer = {"type": _POOL[name]}
            for k, arg in enumerate(names, 1):
                v = self._arg(k, arg)
                if v is not None and not (arg == "stride" and v == []):
                    layer[arg] = _plain(v)
            if name.startswith("max") and self._arg(6, "return_indices", False):
                raise NotConvertible(f"{show(node)} returns indices")
            return self._layer(layer, self._tensor(node.args[0]))
        if name in _ADAPTIVE:
            size = self._arg(1, "output_size")
            return self._layer({"type": _ADAPTIVE[name], "output_size": _plain(size)}, self._tensor(node.args[0]))
        if name in ("matmul", "bmm") or target is operator.matmul:
            return self._layer({"type": "MatMul"}, self._tensor(node.args[0]), self._tensor(node.args[1]))
        if name == "layer_norm":
            return self._layer_norm(node)
        if name == "batch_norm":
            return self._batch_norm(node)

        if name == "linear":
            return self._linear(node)
        if name == "pad":
            return self._pad(self._tensor(node.args[0]), self._arg(1, "pad"), self._arg(2, "mode", "constant"),
                             self._arg(3, "value"))  # fmt: skip
        if name in ("interpolate", "upsample"):
            return self._interpolate(node)
        raise NotConvertible(f"{show(node)} is not in the layer catalogue")

    def _consume(self, param: Param) -> None:
        """A parameter becomes part of a layer once; a second use would count it twice."""
        if param.name in self.used:
            raise NotConvertible(f"parameter {param.name!r} is used by two operations (the spec would count it twice)")
        self.used.add(param.name)

    def _assert(self, cond: Any, message: Any) -> None:
        """``torch._assert(h == 224, ...)``: a condition on the sizes, as a layer's would be."""
        decided = sym.decide(cond)
        if decided is False:
            raise CnnCalcError(f"the model asserts {message}", None)
        if decided is None:
            self.shaper.conditions.append(Condition(cond, f"{show(self.node)}: {message}", self.shaper.loc))

    def _getattr(self, value: Any, attr: str) -> Any:
        if isinstance(value, Tensor):
            if attr == "shape":
                return (BATCH, *value.shape)
            if attr == "ndim":
                return len(value.shape) + 1
            if attr in ("dtype", "device", "is_cuda", "requires_grad"):
                return None
        if isinstance(value, Param):
            if attr == "shape":
                return value.shape
            raise NotConvertible(f"{show(self.node)} reads .{attr} of parameter {value.name!r}")
        raise NotConvertible(f"{show(self.node)} reads attribute {attr!r}, which the catalogue cannot follow")

    def _size(self, name: str, x: Any, rest: list[Any], node: Any) -> Any:
        if not isinstance(x, Tensor):
            raise NotConvertible(f"{show(node)} on a value that is not a tensor from the layers")
        if name == "dim":
            return len(x.shape) + 1
        if name == "numel":
            raise NotConvertible(f"{show(node)} counts the batch with the sample")
        full = (BATCH, *x.shape)
        dim = rest[0] if rest else node.kwargs.get("dim")
        return full if dim is None else full[dim]

    def _getitem(self, value: Any, index: Any) -> Any:
        if isinstance(value, Tensor):
            return self._index(value, index)
        try:
            return value[index]
        except (TypeError, IndexError, KeyError) as e:
            raise NotConvertible(f"{show(self.node)} cannot be followed ({e})") from None

    def _arith(self, name: str, target: Any, args: list[Any]) -> Any:
        op = target if target in _ARITH else _BY_NAME[name]
        tensors = [a for a in args if isinstance(a, Tensor)]
        params = [a for a in args if isinstance(a, Param)]
        if not tensors and not params:
            if any(a is BATCH for a in args):
                raise NotConvertible(f"{show(self.node)} computes with the batch size")
            return op(*args[:2])
        if len(args) > 2 and not (name in ("add", "sub") and len(args) == 3):
            raise NotConvertible(f"{show(self.node)} takes unexpected arguments")
        if len(tensors) == 2:
            a, b = tensors
            same = len(a.shape) == len(b.shape) and not any(_broadcast(x, y) for x, y in zip(a.shape, b.shape))
            if op in (operator.add, operator.sub) and same:
                # a difference has the geometry of a sum; sizes that agree only at some inputs are its conditions
                return self._keep(self._layer({"type": "Add"}, a, b), a, b)
            if op in (operator.add, operator.sub):  # broadcasting size-1 dims: the geometry of a product
                return self._keep(self._layer({"type": "Mul"}, a, b), a, b)
            if op in (operator.mul, operator.truediv):
                return self._keep(self._layer({"type": "Mul"}, a, b), a, b)  # and a quotient that of a product
            raise NotConvertible(f"{show(self.node)}: {name} of tensors of shapes {_dims(a.shape)} and "
                                 f"{_dims(b.shape)} is not in the catalogue")  # fmt: skip
        if params:
            if op not in (operator.mul, operator.add) or len(params) != 1 or len(tensors) != 1:
                raise NotConvertible(f"{show(self.node)}: {name} with a parameter is not in the catalogue "
                                     "(Scale and Shift are)")  # fmt: skip
            self._consume(params[0])
            kind = "Scale" if op is operator.mul else "Shift"
            return self._layer({"type": kind, "shape": list(params[0].shape)}, tensors[0])
        return tensors[0]  # a tensor and a number: the shape stays

    def _expand(self, param: Param, sizes: list[Any]) -> Expanded:
        sizes = list(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)) else sizes
        if len(sizes) != len(param.shape) or sizes[0] is not BATCH or param.shape[0] != 1:
            raise NotConvertible(f"{show(self.node)}: only param.expand(batch, -1, ...) is understood")
        if any(s not in (-1, d) for s, d in zip(sizes[1:], param.shape[1:])):
            raise NotConvertible(f"{show(self.node)} expands a parameter past its own sizes")
        return Expanded(param)

    def _cat(self, items: list[Any], dim: int) -> Tensor:
        if len(items) == 2 and isinstance(items[0], Expanded) and isinstance(items[1], Tensor):
            self._consume(items[0].param)
            return self._layer({"type": "Prepend", "shape": list(items[0].param.shape[1:]), "dim": dim}, items[1])
        tensors = []
        for v in items:
            if not isinstance(v, Tensor):
                raise NotConvertible(f"{show(self.node)} joins {v!r}, which is not a tensor from the layers")
            tensors.append(v)
        if len(tensors) == 1:
            return tensors[0]  # torch.cat([x]) is x
        return self._layer({"type": "Concat", "dim": dim}, *tensors)

    def _flatten(self, x: Tensor, start: int, end: int) -> Tensor:
        rank = len(x.shape) + 1
        if start % rank == 0:
            raise NotConvertible(f"{show(self.node)} flattens the batch dimension")
        if start % rank == end % rank:
            return x
        return self._layer({"type": "Flatten", "start_dim": start, "end_dim": end}, x)

    def _reshape(self, x: Tensor, shape: list[Any]) -> Tensor:
        if len(shape) == 2 and shape[0] == -1 and isinstance(shape[1], int) and shape[1] > 0:
            # x.view(-1, N) keeps the batch only when each sample has exactly N values
            return self._layer({"type": "Flatten", "expect": [shape[1]]}, x)
        if not shape or shape[0] is not BATCH:
            raise NotConvertible(f"{show(self.node)}: the batch must come first, as x.size(0) (or x.view(-1, N))")
        want = list(shape[1:])
        if any(d is BATCH for d in want):
            raise NotConvertible(f"{show(self.node)} moves the batch size into another dim")
        holes = [k for k, d in enumerate(want) if sym.is_concrete(d) and d == -1]
        if len(holes) > 1:
            raise NotConvertible(f"{show(self.node)} has more than one -1")
        if holes:
            rest = sym.product(d for k, d in enumerate(want) if k != holes[0])
            want[holes[0]] = sym.truediv(sym.product(x.shape), rest)
            if getattr(want[holes[0]], "is_Integer", False):
                want[holes[0]] = int(want[holes[0]])
            if sym.is_integer_valued(want[holes[0]]) is False:
                raise NotConvertible(f"{show(self.node)}: the -1 is not a whole number of entries")
        return self._regroup(x, want)

    def _regroup(self, x: Tensor, want: list[Any]) -> Tensor:
        """Reach shape ``want`` from ``x`` by merging runs of dims (Flatten) and splitting one (Unflatten)."""
        have = list(x.shape)
        i = j = 0
        pos = 0  # per-sample index in the tensor being built
        while i < len(have) or j < len(want):
            if i < len(have) and j < len(want) and _same(have[i], want[j]):
                i, j, pos = i + 1, j + 1, pos + 1
                continue
            if i < len(have) and _one(have[i]) and (j >= len(want) or not _one(want[j])):
                ones = next((k for k in range(i, len(have)) if not _one(have[k])), len(have)) - i
                if pos == 0 and i + ones >= len(have):
                    raise NotConvertible(f"{show(self.node)} reshapes {_dims(x.shape)} to {_dims(want)}")
                start = pos if pos > 0 else 1  # a size-1 dim merges into its neighbour (the one before it if any)
                x = self._layer({"type": "Flatten", "start_dim": start, "end_dim": start + ones}, x)
                i += ones
                continue
            if j < len(want) and _one(want[j]) and (i >= len(have) or not _one(have[i])):
                if pos == 0 and not have:
                    raise NotConvertible(f"{show(self.node)} reshapes {_dims(x.shape)} to {_dims(want)}")
                x = self._layer({"type": "Unflatten", "dim": pos if pos > 0 else 1,
                                 "unflattened_size": [-1, 1] if pos > 0 else [1, -1]}, x)  # fmt: skip
                j, pos = j + 1, pos + 1
                continue
            merged = self._run(have, i, want[j] if j < len(want) else None)
            if merged is not None:
                x = self._layer({"type": "Flatten", "start_dim": pos + 1, "end_dim": pos + 1 + merged - i}, x)
                i, j, pos = merged + 1, j + 1, pos + 1
                continue
            split = self._run(want, j, have[i] if i < len(have) else None)
            if split is not None and all(sym.is_concrete(d) for d in want[j : split + 1]):
                x = self._layer({"type": "Unflatten", "dim": pos + 1, "unflattened_size": want[j : split + 1]}, x)
                i, j, pos = i + 1, split + 1, pos + split + 1 - j
                continue
            raise NotConvertible(f"{show(self.node)}: cannot reshape {_dims(x.shape)} to {_dims(want)} by merging "
                                 "and splitting neighbouring dims")  # fmt: skip
        return x

    @staticmethod
    def _run(dims: list[Any], start: int, target: Any) -> int | None:
        """The end of the run ``dims[start..end]`` (at least two) whose product is ``target``."""
        if target is None or start >= len(dims):
            return None
        p = dims[start]
        for end in range(start + 1, len(dims)):
            p = p * dims[end]
            if _same(p, target):
                return end
        return None

    def _permute(self, name: str, x: Tensor, rest: list[Any]) -> Tensor:
        rank = len(x.shape) + 1
        if name == "permute":
            dims = list(rest[0]) if len(rest) == 1 and isinstance(rest[0], (list, tuple)) else list(rest)
            if not dims:
                dims = list(self._value(self.node.kwargs.get("dims", [])))
        else:
            a = rest[0] if rest else self.node.kwargs.get("dim0", self.node.kwargs.get("source"))
            b = rest[1] if len(rest) > 1 else self.node.kwargs.get("dim1", self.node.kwargs.get("destination"))
            if not isinstance(a, int) or not isinstance(b, int):
                raise NotConvertible(f"{show(self.node)} moves several dims")
            dims = list(range(rank))
            if name == "movedim":
                dims.remove(a % rank)
                dims.insert(b % rank, a % rank)
            else:
                dims[a % rank], dims[b % rank] = dims[b % rank], dims[a % rank]
        dims = [d % rank for d in dims]
        if dims == list(range(rank)):
            return x
        out = self._layer({"type": "Permute", "dims": dims}, x)
        moved = [d for k, d in enumerate(dims) if d != k and not _one(((BATCH, *x.shape))[d])]
        return dataclasses.replace(out, strided=x.strided or bool(moved))

    def _reduce(self, name: str, x: Tensor) -> Tensor:
        dim = self._arg(1, "dim")
        keep = bool(self._arg(2, "keepdim", False))
        if dim is None:
            raise NotConvertible(f"{show(self.node)} reduces the batch with the sample (no dim)")
        dims = list(dim) if isinstance(dim, (list, tuple)) else [dim]
        return self._layer({"type": _REDUCE[name], "dim": dims, "keepdim": keep}, x)

    def _split(self, name: str, x: Tensor) -> list[Tensor]:
        rank = len(x.shape) + 1
        dim = self._arg(2, "dim", 0)
        if not isinstance(dim, int) or dim % rank == 0:
            raise NotConvertible(f"{show(self.node)} splits the batch")
        size = x.shape[dim % rank - 1]
        if not sym.is_concrete(size):
            raise NotConvertible(f"{show(self.node)} splits a dim whose size depends on the input")
        how = self._arg(1, "chunks" if name == "chunk" else "split_size_or_sections")
        if name == "chunk":
            step = -(-size // how)
            lengths = [min(step, size - s) for s in range(0, size, step)]
        elif isinstance(how, int):
            lengths = [min(how, size - s) for s in range(0, size, how)]
        else:
            lengths = list(how)
        out, start = [], 0
        for n in lengths:
            out.append(self._narrow(x, dim, start, n))
            start += n
        return out

    def _narrow(self, x: Tensor, dim: int, start: int, length: int) -> Tensor:
        if start == 0 and _same(length, x.shape[dim % (len(x.shape) + 1) - 1]):
            return x
        return self._layer({"type": "Narrow", "dim": dim, "start": start, "length": length}, x)

    def _index(self, x: Tensor, index: Any) -> Tensor:
        items = list(index) if isinstance(index, tuple) else [index]
        if Ellipsis in items:
            k = items.index(Ellipsis)
            items[k : k + 1] = [slice(None)] * (len(x.shape) + 1 - (len(items) - 1))
        out = x
        for d, item in enumerate(items):
            if isinstance(item, slice) and item == slice(None):
                continue
            if isinstance(item, int) and 0 < d <= len(x.shape) and len(items) == d + 1:
                return self._layer({"type": "Select", "dim": d, "index": item}, out)
            if d == 0 or not isinstance(item, slice) or item.step not in (None, 1) or d > len(x.shape):
                raise NotConvertible(f"{show(self.node)}: only slices x[:, a:b] of the per-sample dims are understood")
            size = x.shape[d - 1]
            start, stop = item.start or 0, size if item.stop is None else item.stop
            negative = any(sym.is_concrete(v) and v < 0 for v in (start, stop))
            if sym.is_concrete(size) and (negative or not all(sym.is_concrete(v) for v in (start, stop))):
                if not all(sym.is_concrete(v) for v in (start, stop)):
                    raise NotConvertible(f"{show(self.node)} slices a fixed-size dim at sizes that depend on the input")
                start, stop, _ = slice(start, stop).indices(int(size))
            elif negative:
                raise NotConvertible(f"{show(self.node)} slices from the end of a dim whose size depends on the input")
            if sym.is_concrete(size) and sym.is_concrete(stop):
                stop = min(stop, int(size))
            # a symbolic crop (``skip[:, :, dy:dy + h]``): Narrow's conditions say where it stays inside the dim
            out = self._narrow(out, d, start, stop - start)
        return out

    def _pad(self, x: Tensor, pad: Any, mode: Any, value: Any) -> Tensor:
        """``F.pad(x, [left, right, top, bottom, ...])``: the padding layer of the rank, amounts as computed
        (``dx // 2``, ``dx - dx // 2``); dims it leaves alone get 0."""
        pad = list(pad)
        kinds = {"constant": "Constant" if value not in (None, 0, 0.0) else "Zero", "reflect": "Reflection",
                 "replicate": "Replication", "circular": "Circular"}  # fmt: skip
        if mode not in kinds or len(pad) % 2:
            raise NotConvertible(f"{show(self.node)}: mode {mode!r} is not a padding layer")
        ndim = len(x.shape) - 1  # every dim after the channels
        if not 1 <= len(pad) // 2 <= ndim <= 3:
            raise NotConvertible(f"{show(self.node)} pads {len(pad) // 2} dims of a per-sample shape "
                                 f"{_dims(x.shape)}")  # fmt: skip
        if all(sym.is_concrete(v) and v == 0 for v in pad):
            return x
        layer: dict[str, Any] = {"type": f"{kinds[mode]}Pad{ndim}d", "padding": pad + [0] * (2 * ndim - len(pad))}
        if kinds[mode] == "Constant":
            layer["value"] = float(value)
        return self._layer(layer, x)

    def _interpolate(self, node: Any) -> Tensor:
        """``F.interpolate(x, size=skip.shape[2:] | scale_factor=2, mode=...)``: an Upsample layer."""
        x = self._tensor(node.args[0])
        names = ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias")
        given = {n: self._arg(k, n) for k, n in enumerate(names, 1)}
        if given["antialias"]:
            raise NotConvertible(f"{show(node)} antialiases (no catalogue rule)")
        layer: dict[str, Any] = {"type": "Upsample", "mode": given["mode"] or "nearest"}
        size = given["size"]
        if size is not None:
            size = list(size) if isinstance(size, (list, tuple)) else [size] * (len(x.shape) - 1)
            if any(d is BATCH for d in size):
                raise NotConvertible(f"{show(node)} takes the batch size as a size")
            layer["size"] = size
        if given["scale_factor"] is not None:
            scale = given["scale_factor"]
            layer["scale_factor"] = [float(f) for f in scale] if isinstance(scale, (list, tuple)) else float(scale)
        for k in ("align_corners", "recompute_scale_factor"):
            if given[k] is not None:
                layer[k] = bool(given[k])
        return self._layer(layer, x)

    def _layer_norm(self, node: Any) -> Tensor:
        x = self._tensor(node.args[0])
        shape = self._arg(1, "normalized_shape")
        weight, bias = self._arg(2, "weight"), self._arg(3, "bias")
        for p in (weight, bias):
            if p is not None and not isinstance(p, Param):
                raise NotConvertible(f"{show(node)} takes a weight that is not a parameter")
            if p is not None:
                self._consume(p)
        layer = {"type": "LayerNorm", "normalized_shape": _plain(shape), "eps": self._arg(4, "eps", 1e-5)}
        if weight is None:
            layer["elementwise_affine"] = False
        elif bias is None:
            layer["bias"] = False
        return self._layer(layer, x)

    def _batch_norm(self, node: Any) -> Tensor:
        """``F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)`` with the module's
        own tensors (timm's BatchNormAct2d): the BatchNorm layer of the input's rank."""
        x = self._tensor(node.args[0])
        names = ("running_mean", "running_var", "weight", "bias")
        tensors = [self._arg(k, n) for k, n in enumerate(names, 1)]
        if any(t is not None and not isinstance(t, Param) for t in tensors):
            raise NotConvertible(f"{show(node)} takes statistics that are not the module's own")
        if self._arg(5, "training", False) and tensors[0] is None:
            raise NotConvertible(f"{show(node)} normalises with batch statistics")
        for t in tensors:
            if t is not None:
                self._consume(t)
        if not 2 <= len(x.shape) <= 4:
            raise NotConvertible(f"{show(node)} on a per-sample input of rank {len(x.shape)}")
        layer = {"type": f"BatchNorm{max(len(x.shape) - 1, 1)}d", "eps": self._arg(7, "eps", 1e-5),
                 "momentum": self._arg(6, "momentum", 0.1)}  # fmt: skip
        if tensors[2] is None:
            layer["affine"] = False
        if tensors[0] is None:
            layer["track_running_stats"] = False
        return self._layer(layer, x)

    def _reshape_param(self, param: Param, sizes: list[Any]) -> Param:
        """``gamma.view(1, -1, 1, 1)``: the same values in another shape."""
        sizes = list(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)) else list(sizes)
        numel = 1
        for d in param.shape:
            numel *= d
        if not all(isinstance(d, int) for d in sizes) or sizes.count(-1) > 1:
            raise NotConvertible(f"{show(self.node)} reshapes a parameter by sizes that depend on the input")
        known = 1
        for d in sizes:
            known *= d if d != -1 else 1
        shape = tuple(numel // known if d == -1 else d for d in sizes)
        return Param(param.name, shape)

    def _linear(self, node: Any) -> Tensor:
        x = self._tensor(node.args[0])
        weight, bias = self._arg(1, "weight"), self._arg(2, "bias")
        if not isinstance(weight, Param) or (bias is not None and not isinstance(bias, Param)):
            raise NotConvertible(f"{show(node)} takes a weight that is not a parameter")
        for p in (weight, bias):
            if p is not None:
                self._consume(p)
        return self._layer({"type": "Linear", "out_features": weight.shape[0], "bias": bias is not None}, x)


@dataclass(frozen=True)
class _Unset:
    """A second forward argument with no default: using it as a tensor is not supported."""

    name: str


def _written(v: Any, node: Any) -> Any:
    """A layer argument as an architecture file writes it: numbers stay, sympy expressions of the input's
    symbols become expressions of the file's grammar (``(H - 4) // 2``), lists element by element."""
    if isinstance(v, (list, tuple)):
        return [_written(x, node) for x in v]
    if v is BATCH:
        raise NotConvertible(f"{show(node)} uses the batch size as a layer argument")
    if isinstance(v, (bool, int, float, str)) or v is None or not hasattr(v, "free_symbols"):
        return v
    if v.is_Integer:
        return int(v)
    return _expr(v, node)


def _expr(x: Any, node: Any) -> str:
    """A sympy expression in the grammar of architecture files (names, integers, + - * // / %, parentheses)."""
    import sympy

    if x.is_Integer:
        return str(int(x))
    if x.is_Rational:
        return f"({x.p} / {x.q})"
    if x.is_Symbol:
        return str(x.name)
    if x.is_Add:
        return "(" + " + ".join(_expr(t, node) for t in x.args) + ")"
    if x.is_Mul:
        return "(" + " * ".join(_expr(t, node) for t in x.args) + ")"
    if x.is_Pow and x.exp.is_Integer and x.exp > 0:
        return "(" + " * ".join([_expr(x.base, node)] * int(x.exp)) + ")"
    if isinstance(x, (sympy.floor, sympy.ceiling)):
        num, den = sympy.fraction(sympy.together(x.args[0]))
        if isinstance(x, sympy.floor):
            return f"({_expr(num, node)} // {_expr(den, node)})"
        return f"(-((-{_expr(num, node)}) // {_expr(den, node)}))"
    if isinstance(x, sympy.Mod):
        return f"({_expr(x.args[0], node)} % {_expr(x.args[1], node)})"
    raise NotConvertible(f"{show(node)} takes {sym.to_text(x)}, which an architecture file cannot write")


def _plain(v: Any) -> Any:
    return [_plain(x) for x in v] if isinstance(v, (tuple, list)) else v


def _dims(shape: Sequence[Any]) -> str:
    return "(" + ", ".join(sym.to_text(d) for d in shape) + ")"


__all__ = ["BATCH", "CnnCalcError", "NotConvertible", "Writer"]
