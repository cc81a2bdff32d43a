"""One hooked forward pass of a Python model: every module call, its shapes and its counts.

Hooks are added to every module for the duration of :func:`run` and removed
after it, whatever happens; the train/eval mode of every module is restored, and
the model is moved back when the run moved it. Parameters are counted per
module once, even when tied (the same ``Parameter`` registered twice) or when a
module is called several times.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Loc
from .guard import running, stops
from .load import frame_loc, is_library

Shape = tuple[int, ...]


@dataclass(frozen=True)
class TensorInfo:
    """Shape, dtype and device of one tensor seen during the run."""

    shape: Shape
    dtype: str
    device: str


def output_text(outputs: Any, batch: int, input_dtype: str = "float32") -> str:
    """``(B, 16, 28, 28)``; ``logits (B, 10); features (B, 16, 8, 8)``; the dtype when it is not the input's."""
    parts = []
    for path, i in outputs:
        dims = ["B" if k == 0 and d == batch else str(d) for k, d in enumerate(i.shape)]
        text = "(" + ", ".join(dims) + ")"
        if i.dtype != input_dtype:
            text += f" {i.dtype}"
        parts.append(f"{path.lstrip('.')} {text}".strip())
    return "; ".join(parts)


@dataclass
class Call:
    """One call of one module."""

    index: int
    name: str  # qualified module name; "" is the model itself
    type: str
    depth: int
    parent: int | None
    inputs: tuple[TensorInfo, ...]
    caller: Loc | None  # the user's source line that called the module
    first: int | None = None  # an earlier call of the same module (reuse)
    outputs: tuple[tuple[str, TensorInfo], ...] = ()  # ("", info) or ("[0]", ...), ("['logits']", ...)
    done: bool = False  # False when the call raised
    flops: int = 0  # torch's FLOP counter for the operations run by this call itself, not by its child calls
    formula: bool = False  # flops by the recurrent formula (torch's counter counts 0 for this call)


@dataclass(frozen=True)
class ModuleCounts:
    """What one module owns directly (not through children); tied parameters count at their first owner."""

    params: int
    trainable: int
    buffers: int
    shared: tuple[tuple[str, str], ...] = ()  # (this name, the first owner's name) not counted here


@dataclass(frozen=True)
class Counts:
    """Parameter and buffer counts of a model, per module and in total."""

    modules: Mapping[str, ModuleCounts]
    types: Mapping[str, str]
    aliases: tuple[tuple[str, str], ...]  # (second name, first name) of a module registered twice

    @property
    def params(self) -> int:
        """All distinct parameter values (equal to ``sum(p.numel() for p in model.parameters())``)."""
        return sum(c.params for c in self.modules.values())

    @property
    def trainable(self) -> int:
        """Distinct parameter values with ``requires_grad``."""
        return sum(c.trainable for c in self.modules.values())

    @property
    def buffers(self) -> int:
        """All distinct buffer values."""
        return sum(c.buffers for c in self.modules.values())

    @property
    def shared(self) -> list[tuple[str, str]]:
        """Every tied parameter: (name, name of the first owner)."""
        return [s for c in self.modules.values() for s in c.shared]

    def subtree(self, name: str) -> ModuleCounts:
        """Counts of module ``name`` with all its descendants."""
        prefix = name + "." if name else ""
        parts = [c for n, c in self.modules.items() if n == name or n.startswith(prefix)]
        return ModuleCounts(sum(c.params for c in parts), sum(c.trainable for c in parts),
                            sum(c.buffers for c in parts))  # fmt: skip


def count(model: Any) -> Counts:
    """Count parameters and buffers per module, each tensor once."""
    owners: dict[int, str] = {}
    modules: dict[str, ModuleCounts] = {}
    types: dict[str, str] = {}
    for name, m in model.named_modules():
        params = trainable = buffers = 0
        shared = []
        for kind, tensors in (("p", m._parameters), ("b", m._buffers)):
            for key, t in tensors.items():
                if t is None or is_lazy(t):
                    continue
                full = f"{name}.{key}" if name else key
                if id(t) in owners:
                    shared.append((full, owners[id(t)]))
                    continue
                owners[id(t)] = full
                if kind == "p":
                    params += t.numel()
                    trainable += t.numel() if t.requires_grad else 0
                else:
                    buffers += t.numel()
        modules[name] = ModuleCounts(params, trainable, buffers, tuple(shared))
        types[name] = type_name(m)
    seen: dict[int, str] = {}
    aliases = []
    for name, m in model.named_modules(remove_duplicate=False):
        if id(m) in seen and seen[id(m)] != name:
            aliases.append((name, seen[id(m)]))
        seen.setdefault(id(m), name)
    return Counts(modules, types, tuple(aliases))


def is_lazy(t: Any) -> bool:
    """An uninitialized parameter or buffer of a lazy module (its size is known after the first forward)."""
    from torch.nn.parameter import UninitializedTensorMixin  # type: ignore[attr-defined]

    return isinstance(t, UninitializedTensorMixin)


def is_script(model: Any) -> bool:
    """A TorchScript module: it takes no hooks; its submodules are listed, the model itself is run."""
    from torch.jit import ScriptModule

    return isinstance(model, ScriptModule)


def type_name(m: Any) -> str:
    """The module's class name; a TorchScript module's original one (``Linear``, not ``RecursiveScriptModule``)."""
    name = type(m).__name__
    return str(getattr(m, "original_name", name) or name) if name == "RecursiveScriptModule" else name


@dataclass
class Trace:
    """The calls of one forward pass, and its result or the exception it raised."""

    calls: list[Call]
    batch: int
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[tuple[str, TensorInfo], ...] = ()
    error: BaseException | None = None
    failing: tuple[int, ...] = ()  # calls entered and never left, outermost first
    result: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def innermost(self) -> Call | None:
        """The innermost module call that raised."""
        return self.calls[self.failing[-1]] if self.failing else None


def info(torch: Any, t: Any) -> TensorInfo:
    """The shape, dtype and device of a tensor."""
    return TensorInfo(tuple(int(d) for d in t.shape), str(t.dtype).replace("torch.", ""), str(t.device))


def flatten(torch: Any, value: Any, path: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """Every tensor inside an output: tuples, lists, dicts, dataclasses and named tuples, with paths."""
    if isinstance(value, torch.Tensor):
        return [(path, value)]
    if depth > 8:
        return []
    out: list[tuple[str, Any]] = []
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        for k in value._fields:
            out += flatten(torch, getattr(value, k), f"{path}.{k}", depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            out += flatten(torch, v, f"{path}[{i}]", depth + 1)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            out += flatten(torch, v, f"{path}[{k!r}]", depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            out += flatten(torch, getattr(value, f.name), f"{path}.{f.name}", depth + 1)
    elif hasattr(value, "__dict__") and not isinstance(value, type) and not callable(value):
        for k, v in vars(value).items():  # an object holding tensors (a Distribution's logits, ...)
            if not k.startswith("_"):
                out += flatten(torch, v, f"{path}.{k}", depth + 1)
    return out


_OWN = str(Path(__file__).resolve().parents[1]) + "/"


@functools.lru_cache(maxsize=4096)
def _is_own(filename: str) -> bool:
    return not filename.startswith("<") and str(Path(filename).resolve()).startswith(_OWN)


@functools.lru_cache(maxsize=4096)
def _frame_loc(filename: str, line: int) -> Loc:
    return frame_loc(filename, line)  # one lookup per source line, not per module call


def caller(skip: int = 1) -> Loc | None:
    """The innermost frame of the call stack outside torch, cnncalc and the standard library.

    The walk stops at cnncalc's own frames (the code that called the model): a frame outside the
    model, such as the launcher, is never the answer.
    """
    frame = sys._getframe(skip)
    while frame is not None:
        name = frame.f_code.co_filename
        if _is_own(name):
            return None
        if not is_library(name):
            return _frame_loc(name, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return None


@contextmanager
def preserved(model: Any, torch: Any, device: Any = None, mode: str = "eval") -> Iterator[None]:
    """Eval mode (and ``device`` when given) for the duration; the model's modes and tensors are restored.

    ``mode``: ``"eval"`` (cnncalc's), ``"train"`` (torchinfo's ``mode="train"``: every buffer is saved and
    put back, so BatchNorm's running statistics and ``num_batches_tracked`` are as they were) or ``"same"``
    (each module as it is; buffers put back too when one is in train mode).
    """
    modes = [(m, m.training) for m in model.modules()]
    saved = []
    if device is not None:
        for m in model.modules():
            for store in (m._parameters, m._buffers):
                saved += [(store, k, t, t.data) for k, t in store.items() if t is not None]
    grads = [(t, t.grad, t.grad.data) for store, _, t, _ in saved if t.grad is not None]  # Module.to moves them too
    buffers = [(m._buffers, k, t, t.detach().clone()) for m in model.modules() for k, t in m._buffers.items()
               if t is not None and not is_lazy(t)] if mode == "train" or (mode == "same" and any(
                   m.training for m, _ in modes)) else []  # a module in train mode updates its buffers  # fmt: skip
    try:
        if device is not None:
            model.to(device)
        if mode == "train":
            model.train()
        elif mode != "same":
            model.eval()
        yield
    finally:
        for m, was in modes:
            m.training = was
        for store, key, tensor, data in saved:
            tensor.data = data  # Module.to changed .data in place (parameters) or replaced the tensor
            store[key] = tensor
        for tensor, grad, data in grads:
            grad.data = data
            tensor.grad = grad
        with torch.no_grad():
            for store, key, tensor, value in buffers:  # the values the train-mode pass updated in place
                tensor.copy_(value.to(tensor.device)) if tensor.shape == value.shape else None
                store[key] = tensor


def run(model: Any, inputs: Sequence[Any], on_op: Callable[[Any, Any, Any, Call | None], None] | None = None,
        kwargs: Mapping[str, Any] | None = None, flops: bool = False) -> Trace:  # fmt: skip
    """Run ``model(*inputs, **kwargs)`` under ``torch.no_grad`` with hooks; record every module call.

    ``on_op(func, args, result, call)`` is called for every torch operation, with the innermost
    module call running it. ``inputs`` may hold non-tensor arguments (``cnncalc.summary(input_data=...)``).
    ``flops``: count every operation with torch's own FLOP counter (``torch.utils.flop_counter``), each
    one on the innermost module call running it (``Call.flops``); recurrent layers that it counts 0 for
    (``nn.LSTM`` on the CPU, cuDNN's RNNs) get their formula (:func:`recurrent_flops`). A TorchScript
    model takes no hooks: it is run whole, as one call.
    """
    from ..verify.torchload import import_torch

    torch = import_torch()
    named = list(model.named_modules())
    names = {id(m): n for n, m in named}
    calls: list[Call] = []
    stack: list[int] = []
    first: dict[int, int] = {}

    def pre(m: Any, args: Any, kwargs: Any) -> None:
        tensors = [t for _, t in flatten(torch, (args, kwargs))]
        c = Call(len(calls), names.get(id(m), "?"), type_name(m), len(stack), stack[-1] if stack else None,
                 tuple(info(torch, t) for t in tensors), caller(2), first.get(id(m)))  # fmt: skip
        first.setdefault(id(m), c.index)
        calls.append(c)
        stack.append(c.index)

    def post(m: Any, args: Any, kwargs: Any, out: Any) -> None:
        while stack:  # a child that raised inside a try in its parent is left behind: drop it
            c = calls[stack.pop()]
            if c.name == names.get(id(m), "?"):
                break
        c.outputs = tuple((p, info(torch, t)) for p, t in flatten(torch, out))
        c.done = True
        if flops and c.flops == 0 and isinstance(m, torch.nn.RNNBase) and c.inputs:
            c.flops, c.formula = recurrent_flops(m, c.inputs[0].shape), True

    handles = []
    script = is_script(model)
    try:
        for m in () if script else (m for _, m in named):
            handles.append(m.register_forward_pre_hook(pre, with_kwargs=True))
            handles.append(m.register_forward_hook(post, with_kwargs=True))
        given = [t for _, t in flatten(torch, (list(inputs), dict(kwargs or {})))]
        trace = Trace(calls, int(given[0].shape[0]) if given and given[0].dim() else 0,
                      tuple(info(torch, t) for t in given))  # fmt: skip
        op = None if on_op is None else (lambda f, a, r: on_op(f, a, r, calls[stack[-1]] if stack else None))
        if script:  # one call for the whole model: its operations are counted on it
            pre(model, tuple(inputs), dict(kwargs or {}))
        root: list[int] = []  # operations outside every module call (a TorchScript model's)

        def counted(n: int) -> None:
            if stack:
                calls[stack[-1]].flops += n
            else:
                root.append(n)

        with torch.no_grad(), _ops(torch, op), _flops(torch, counted if flops else None), running("the forward pass"):
            try:
                result = model(*inputs, **(kwargs or {}))
                if script:
                    post(model, tuple(inputs), dict(kwargs or {}), result)
            except BaseException as e:  # sys.exit, a KeyboardInterrupt it raised, the time limit: the model's failure
                if stops(e):
                    raise
                trace.error, trace.failing = e, tuple(stack)
                return trace
        trace.result = result
        trace.outputs = tuple((p, info(torch, t)) for p, t in flatten(torch, result))
        trace.extra["flops_outside"] = sum(root)
        return trace
    finally:
        for h in handles:
            h.remove()


def recurrent_flops(m: Any, shape: Shape) -> int:
    """FLOPs (2 per multiply-accumulate) of an ``nn.RNN``/``GRU``/``LSTM`` call on an input of ``shape``.

    Per token (every step of every sequence), layer and direction: ``gates·H·(I + H_out)`` for the
    input and hidden products, plus ``H·P`` for an LSTM's projection; biases and the gates' element-wise
    products are not counted, as torch's counter counts none for ``addmm``'s bias or for ``mul``.
    The input is (L, N, I), (N, L, I), unbatched (L, I) or a packed sequence's data (tokens, I).
    """
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}.get(m.mode.split("_")[0], 1)
    tokens = 1
    for d in shape[:-1]:
        tokens *= d
    h, proj = m.hidden_size, getattr(m, "proj_size", 0) or 0
    out = proj or h
    dirs = 2 if m.bidirectional else 1
    size, macs = m.input_size, 0
    for _ in range(m.num_layers):
        macs += dirs * (gates * h * (size + out) + h * proj)
        size = out * dirs
    return 2 * macs * tokens


def _shapes(value: Any) -> Any:
    """Every tensor inside lists, tuples and dicts replaced by its shape (what torch's FLOP formulas take)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_shapes(v) for v in value) if type(value) in (list, tuple) else value
    if isinstance(value, dict):
        return {k: _shapes(v) for k, v in value.items()}
    shape = getattr(value, "shape", None)
    return shape if shape is not None and hasattr(value, "dtype") else value


_DECOMPOSES: dict[Any, bool] = {}  # aten op -> whether it has a CompositeImplicitAutograd decomposition


@contextmanager
def _flops(torch: Any, counted: Callable[[int], None] | None) -> Iterator[None]:
    """Count every aten operation by torch's FLOP counter's rules: ``flop_registry`` and its decompositions.

    As ``FlopCounterMode`` does: an operation with a rule is run and counted; one without is decomposed
    when it has a ``CompositeImplicitAutograd`` kernel (attention's math path becomes counted ``bmm``s)
    and run otherwise. Each count lands on the module call running it (``FlopCounterMode`` would track
    modules with a second set of hooks). Whether an operation decomposes is looked up once per operation.
    """
    if counted is None:
        yield
        return
    global _COUNTING
    if _COUNTING is None:
        _COUNTING = _counting_mode(torch)
    mode = _COUNTING()
    mode.counted = counted
    with mode:
        yield


_COUNTING: Any = None  # the mode's class, made once (making a mode class costs more than a small model's run)


def _counting_mode(torch: Any) -> Any:
    """The dispatch mode class of :func:`_flops`; each instance's ``counted`` takes the counts."""
    from torch.utils import flop_counter
    from torch.utils._python_dispatch import TorchDispatchMode

    registry = flop_counter.flop_registry
    wrapper = flop_counter.shape_wrapper(_shapes).__code__  # the registry's wrapper: tensors -> shapes, then f
    implicit = torch._C.DispatchKey.CompositeImplicitAutograd
    has_kernel = torch._C._dispatch_has_kernel_for_dispatch_key
    higher = torch._ops.HigherOrderOperator

    class Counting(TorchDispatchMode):  # type: ignore[misc]
        counted: Callable[[int], None]

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            if isinstance(func, higher):  # torch.cond and the like: not ours to run
                return NotImplemented
            rule = registry.get(func._overloadpacket)
            if rule is None:
                decomposes = _DECOMPOSES.get(func)
                if decomposes is None:
                    decomposes = _DECOMPOSES[func] = bool(has_kernel(func.name(), implicit))
                if decomposes:
                    with self:
                        out = func.decompose(*args, **kwargs)
                    if out is not NotImplemented:
                        return out
                return func(*args, **kwargs)
            out = func(*args, **kwargs)
            raw = getattr(rule, "__wrapped__", None) if getattr(rule, "__code__", None) is wrapper else None
            if raw is None:  # a formula registered raw, or one whose wrapper is not torch's shape_wrapper
                self.counted(int(rule(*args, **kwargs, out_val=out)))
            else:
                self.counted(int(raw(*_shapes(args), **_shapes(kwargs), out_shape=_shapes(out))))
            return out

    return Counting


@contextmanager
def _ops(torch: Any, on_op: Callable[[Any, Any, Any], None] | None) -> Iterator[None]:
    """Call ``on_op(func, args, result)`` for every torch function the forward pass runs."""
    if on_op is None:
        yield
        return
    from torch.overrides import TorchFunctionMode

    callback = on_op

    class Ops(TorchFunctionMode):  # type: ignore[misc]
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            callback(func, (args, kwargs), out)
            return out

    with Ops():
        yield
