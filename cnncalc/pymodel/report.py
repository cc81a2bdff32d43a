"""The per-module report of a Python target: one hooked run, counts, catalogue derivations, symbolic extras.

Every number in it comes from torch (hooks and ``numel``); catalogue modules are
also derived by cnncalc's rules at the input shape the hooks saw, and a
disagreement is reported. When ``torch.fx`` can trace the model into catalogue
layers, receptive fields and the valid input sizes come from the symbolic engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import CnnCalcError, Loc
from ..report import Finding, ReportBase, Totals
from .catalogue import Derived, derive
from .crash import Crash, explain, no_tensor
from .fxspec import FxSpec, NotConvertible, accepted_report, auto_symbols, convert, trace
from .inputs import InputSpec, make_tensors
from .load import Target
from .trace import Call, Counts, TensorInfo, Trace, count, preserved, run


@dataclass(frozen=True)
class ModuleRow:
    """One module call (or a module never called) in the nested table."""

    name: str
    type: str
    depth: int
    call: Call | None  # None: the module was never called
    params: int  # the module with its children; 0 for a second call of the same module
    trainable: int
    buffers: int
    macs: int | None  # per sample; None when no rule is known
    derived: Derived | None = None
    mismatch: str | None = None  # cnncalc's rule and torch disagree
    reused_from: str | None = None
    rf: Any = None
    leaf: bool = True
    own: int = 0  # parameters registered on this module itself (a container's nn.Parameter)
    shared: tuple[tuple[str, str], ...] = ()  # its parameters tied to an earlier module's

    @property
    def outputs(self) -> tuple[tuple[str, TensorInfo], ...]:
        """What the call returned (tensors with their paths)."""
        return self.call.outputs if self.call is not None else ()


@dataclass(frozen=True)
class Step:
    """A shape-changing step of the forward that is no module (``x.view(-1, 512)``, ``torch.cat``, ``F.pad``):
    its row goes after row ``after`` of the module table; the shape and formula come from the traced spec."""

    after: int
    text: str
    type: str
    shape: tuple[int, ...]  # per sample
    formula: str
    loc: Loc | None
    depth: int


_STEP_TYPES = ("Flatten", "Unflatten", "Concat", "Upsample", "Mean", "Sum", "Amax", "Permute", "Narrow", "Select")


def _steps(model: Any, fx: FxSpec | None, rows: Sequence[ModuleRow]) -> tuple[Step, ...]:
    """Each functional step of the traced spec that changes the shape, placed after the module call before it."""
    if fx is None or fx.spec.symbols:
        return ()
    from ..analysis.shapes import analyze
    from ..graph import expand
    from ..layers import CATALOGUE

    try:
        layers = analyze(expand(fx.spec, {})).layers
    except CnnCalcError:
        return ()
    modules = {n for n, _ in model.named_modules()}
    seen: dict[str, int] = {}
    where = {}  # (module name, k-th call) -> row index
    for i, r in enumerate(rows):
        if r.call is not None:
            k = seen.get(r.call.name, 0)
            seen[r.call.name] = k + 1
            where[(r.call.name, k)] = i
    count: dict[str, int] = {}
    after, out = 0, []
    for layer in layers:
        ident = layer.node.id or layer.node.name
        name = fx.names.get(ident, ident)
        if name in modules:
            k = count.get(name, 0)
            count[name] = k + 1
            after = where.get((name, k), after)
            continue
        kind = layer.node.layer.name
        if kind not in _STEP_TYPES and "Pad" not in kind:
            continue
        rule = CATALOGUE[kind].formulas().get("output") or ""
        depth = rows[after].depth + (0 if rows[after].leaf and after else 1) if rows else 1
        text = name if len(name) <= 32 else name.split("(", 1)[0] + "(...)"  # fx's own names in the arguments
        out.append(Step(after, text, kind, tuple(int(d) for d in layer.shape), rule, layer.node.loc, depth))
    return tuple(out)


@dataclass(frozen=True)
class ModuleReport(ReportBase):
    """``cnncalc shapes model.py:Net``: the nested table and what it rests on."""

    target: Target
    inputs: tuple[InputSpec, ...]
    shapes: tuple[tuple[int, ...], ...]
    batch: int
    rows: tuple[ModuleRow, ...]
    counts: Counts
    outputs: tuple[tuple[str, TensorInfo], ...]
    crash: Crash | None
    device: str
    torch_version: str
    fx: FxSpec | None = None
    fx_reason: str | None = None
    conditions: tuple[str, ...] = ()
    accepted_sizes: Any = None  # the accepted sizes as data (fxsizes.AcceptedSizes); ``accepted`` is its text
    steps: tuple[Step, ...] = ()  # the shape-changing functional steps between module calls (traced)
    notes: tuple[str, ...] = field(default_factory=tuple)
    conditions_machine: tuple[str, ...] = ()  # the same conditions in sympy's form, for JSON
    result: Any = field(default=None, compare=False, repr=False)  # what the model returned (for the batch checks)

    @property
    def accepted(self) -> str | None:
        """Which input sizes the model accepts, in the one wording (``H in 28..31, W in 28..31 (independent)``)."""
        return self.accepted_sizes.text if self.accepted_sizes is not None else None

    @property
    def total_macs(self) -> int:
        """MACs per sample of every leaf call with a known rule."""
        return sum(r.macs or 0 for r in self.rows if r.leaf and r.call is not None)

    @property
    def macs_complete(self) -> bool:
        """Whether every leaf call with parameters has a MAC rule."""
        return all(r.macs is not None for r in self.rows if r.leaf and r.call is not None and r.params)

    @property
    def mismatches(self) -> list[str]:
        """Disagreements between cnncalc's rules and torch."""
        return [f"{r.type} {r.name!r}: {r.mismatch}" for r in self.rows if r.mismatch]

    @property
    def subject(self) -> str:
        return self.target.text

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The forward pass (a crash, located), then each catalogue module whose rule disagrees with torch."""
        where = f"input {self.input_text}"
        run = Finding("forward pass", self.crash is None, where,
                      self.crash.message if self.crash else "", self.crash.loc if self.crash else None)  # fmt: skip
        rules = [Finding("cnncalc rules vs torch", False, where, m) for m in self.mismatches]
        return (run, *rules, *self._folds(where))

    def _folds(self, where: str) -> list[Finding]:
        """Sizes outside those the traced model accepts although torch ran (a ``view(-1, N)`` that folds
        samples together at this batch size): a failure, with the conditions that are not met."""
        sizes = self.accepted_sizes
        if sizes is None or self.crash is not None or len(self.inputs) != 1:
            return []
        names = auto_symbols(self.inputs[0]).dims
        values = {n: int(v) for n, v in zip(names, self.shapes[0]) if isinstance(n, str)}
        if set(values) != {d.name for d in sizes.dims} or sizes.contains(values):
            return []
        why = f": {self.fx_reason}" if self.fx_reason else ""
        return [Finding("accepted sizes", False, where, f"torch ran the model at input {self.input_text}, but the "
                        f"traced model cannot work there{why}. The model is consistent only for inputs with "
                        f"{sizes.text} (valid when {', '.join(self.conditions)})")]  # fmt: skip

    @property
    def totals(self) -> Totals:
        """Every parameter and buffer of the model (``model.parameters()``), and the MACs of the called leaves."""
        c = self.counts
        return Totals(c.params, c.trainable, c.buffers, self.total_macs)

    @property
    def input_text(self) -> str:
        """``3x32x32`` (or ``3x224x224, 10`` for several inputs)."""
        return ", ".join("x".join(map(str, s)) for s in self.shapes)


def device_of(torch: Any, model: Any, device: str) -> Any:
    """The device to run on: the model's own unless one is asked for."""
    from ..verify.torchload import resolve_device

    if device != "auto":
        return resolve_device(torch, device)
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


def float_dtype(torch: Any, model: Any) -> Any:
    """Float inputs follow the model's first floating parameter (a .double() model gets float64)."""
    first = next((p for p in model.parameters() if p.is_floating_point()), None)
    return first.dtype if first is not None else torch.float32


def vocabulary(model: Any) -> int:
    """Integer inputs stay below every embedding's size (2 when there is none)."""
    sizes = [m.num_embeddings for m in model.modules() if hasattr(m, "num_embeddings")]
    return min(sizes) if sizes else 2


def module_report(target: Target, specs: Sequence[InputSpec], values: Mapping[str, int], device: str = "auto",
                  batch: int = 2, symbolic: bool = True, verify_rf: bool = True, data: Sequence[Any] | None = None,
                  kwargs: Mapping[str, Any] | None = None) -> ModuleReport:  # fmt: skip
    """Run ``target`` once with hooks and build the nested table; explain a crash if there is one.

    ``data`` and ``kwargs``: the caller's own inputs (``cnncalc.summary(input_data=...)``) instead of random
    tensors made from ``specs``; ``specs`` then describe their tensors.
    """
    from ..verify.torchload import import_torch
    from .guard import failures
    from .memory import check_inputs

    torch = import_torch()
    model = target.model
    shapes = tuple(s.bind(values) for s in specs)
    with failures(target.text, None):
        dev = device_of(torch, model, device)
        moved = dev if device != "auto" else None
        counts = count(model)
        with preserved(model, torch, moved):
            if data is None and kwargs is None:
                check_inputs(target.text, shapes, specs, batch, counts, dev)
                xs = make_tensors(torch, shapes, specs, batch, dev, float_dtype(torch, model), vocabulary(model))
            else:
                xs, kwargs = _placed(torch, data or [], kwargs or {}, moved)
            trace = run(model, xs, kwargs=kwargs)
    input_text = ", ".join("x".join(map(str, s)) for s in shapes)
    crash = explain(trace, model, input_text) if trace.error is not None else no_tensor(trace, model)
    fx, reason, accepted = None, None, None
    conditions: Any = ()
    if (symbolic or crash is not None) and (trace.error is None or isinstance(trace.error, Exception)):
        with failures(target.text, None):  # a crash is explained with the sizes that would work; not after sys.exit
            fx, reason, conditions, accepted = _symbolic(target, specs, values, crash is not None)
    with failures(target.text, None):
        rows = _rows(model, trace, counts, fx, shapes, specs, verify_rf)
        steps = _steps(model, fx, rows)
    return ModuleReport(target, tuple(specs), shapes, batch, tuple(rows), counts, trace.outputs, crash, str(dev),
                        str(torch.__version__), fx, reason, tuple(t for t, _ in conditions), accepted,
                        conditions_machine=tuple(m for _, m in conditions), result=trace.result,
                        steps=steps)  # fmt: skip


def _placed(
    torch: Any, data: Sequence[Any], kwargs: Mapping[str, Any], device: Any
) -> tuple[list[Any], dict[str, Any]]:
    """The caller's inputs, top-level tensors moved to ``device`` when one is asked for."""

    def put(v: Any) -> Any:
        return v.to(device) if device is not None and isinstance(v, torch.Tensor) else v

    return [put(v) for v in data], {k: put(v) for k, v in kwargs.items()}


def _symbolic(target: Target, specs: Sequence[InputSpec], values: Mapping[str, int], crashed: bool) -> tuple[Any, ...]:
    """The fx spec at the given sizes, and the conditions / accepted sizes from the spatial dims as symbols;
    tracing runs the model's code, under the time limit (a trace that does not end is a reason, not a hang)."""
    from .guard import ModelError, running

    try:
        with running(f"tracing {target.text} with torch.fx"):
            return _traced(target, specs, values, crashed)
    except ModelError as e:
        return None, e.message, (), None


def _traced(target: Target, specs: Sequence[InputSpec], values: Mapping[str, int], crashed: bool) -> tuple[Any, ...]:
    """The fx spec at the given sizes, and the conditions / accepted sizes from the spatial dims as symbols.

    The model is traced once; a spec that cannot work at the given sizes still gives the sizes that would.
    """
    fx, reason = None, None
    try:
        gm = trace(target.model) if len(specs) == 1 else None
        fx = convert(target.model, specs, values, target.text, gm)
    except NotConvertible as e:
        return None, str(e), (), None
    except CnnCalcError as e:  # the symbolic engine refused the traced graph
        reason = f"the traced graph cannot work: {e.message}"
    sym_specs = [auto_symbols(s) for s in specs]
    if sym_specs == list(specs) and fx is None:
        return None, reason, (), None
    if sym_specs != list(specs) and not crashed and fx is not None:
        return fx, reason, (), None  # concrete sizes that work: the valid sizes only when asked (symbols in --input)
    defaults = {**values, **{n: d for s, a in zip(specs, sym_specs) for n, d in zip(a.dims, s.bind(values))
                             if isinstance(n, str)}}  # fmt: skip
    try:
        symbolic = fx if fx is not None and sym_specs == list(specs) else \
            convert(target.model, sym_specs, defaults, target.text, gm)  # fmt: skip
        conditions, accepted = accepted_report(symbolic)
    except (NotConvertible, CnnCalcError):
        return fx, reason, (), None
    return fx, reason, conditions, accepted  # None: no symbols, nothing to say about sizes


def _rows(model: Any, trace: Trace, counts: Counts, fx: FxSpec | None, shapes: Sequence[tuple[int, ...]],
          specs: Sequence[InputSpec], verify_rf: bool) -> list[ModuleRow]:  # fmt: skip
    rfs = _receptive_fields(fx, verify_rf) if fx is not None and not fx.spec.symbols else {}
    leaves = {n for n, m in model.named_modules() if not list(m.children())}
    rows: list[ModuleRow] = []
    seen: set[str] = set()
    rf_seen: dict[str, int] = {}
    for c in trace.calls:
        module = model.get_submodule(c.name)
        leaf = c.name in leaves
        sub = counts.subtree(c.name) if c.first is None else None
        derived = mismatch = None
        macs: int | None = None
        if leaf and c.inputs:
            try:
                derived = derive(module, c.name, c.inputs[0].shape[1:]) if len(c.inputs) == 1 else None
            except CnnCalcError as e:
                mismatch = None if not c.done else f"cnncalc refuses the input torch accepted: {e.message}"
            if derived is not None and c.done:
                mismatch = _compare(derived, c, module)
            macs = derived.macs if derived is not None else _other_macs(module, c)
        k = rf_seen.get(c.name, 0)
        rf_seen[c.name] = k + 1
        rf = rfs.get((c.name, k))
        seen.add(c.name)
        rows.append(ModuleRow(c.name or type(model).__name__, c.type, c.depth, c,
                              sub.params if sub else 0, sub.trainable if sub else 0, sub.buffers if sub else 0,
                              macs, derived, mismatch, trace.calls[c.first].name if c.first is not None else None,
                              rf, leaf, counts.modules[c.name].params, counts.modules[c.name].shared))  # fmt: skip
    rows = _container_macs(rows, trace)
    for name, m in model.named_modules():
        parent = name.rsplit(".", 1)[0] if "." in name else ""
        if name not in seen and parent in seen:  # the outermost module never called (its children count in it)
            sub = counts.subtree(name)
            rows.append(ModuleRow(name, type(m).__name__, name.count(".") + 1, None, sub.params, sub.trainable,
                                  sub.buffers, None, leaf=name in leaves))  # fmt: skip
    return rows


def _container_macs(rows: list[ModuleRow], trace: Trace) -> list[ModuleRow]:
    """A container's MACs are its descendant leaf calls' (None when one of them has no rule)."""
    import dataclasses

    total: dict[int, int | None] = {}
    for r in reversed(rows):
        c = r.call
        assert c is not None
        own = r.macs if r.leaf else total.get(c.index, 0)
        if c.parent is not None:
            prev = total.get(c.parent, 0)
            total[c.parent] = None if prev is None or own is None else prev + own
    return [r if r.leaf else dataclasses.replace(r, macs=total.get(r.call.index, 0)) for r in rows if r.call]


def _compare(d: Derived, c: Call, module: Any) -> str | None:
    """The derivation against torch: per-sample output shape (the batch is the batch check's), counts."""
    got = c.outputs[0][1].shape if c.outputs else None
    if got is None or got[1:] != tuple(d.shape):
        return f"derived output (B, {', '.join(map(str, d.shape))}), torch gives {got}"
    params = sum(p.numel() for p in module.parameters())  # its own, tied ones included
    buffers = sum(b.numel() for b in module.buffers())
    if d.params != params or d.buffers != buffers:
        return f"derived {d.params} parameters / {d.buffers} buffer values, torch has {params} / {buffers}"
    return None


def _other_macs(module: Any, c: Call) -> int | None:
    """MACs of common layers outside the catalogue: recurrent layers and embeddings (lookups: 0)."""
    name = type(module).__name__
    if name.startswith("Embedding") or not any(True for _ in module.parameters()):
        return 0  # lookups and layers without weights: no multiply-accumulates (the catalogue's convention)
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}.get(name)
    if gates is None or not c.inputs:
        return None
    shape = c.inputs[0].shape
    steps = shape[1] if module.batch_first and len(shape) == 3 else shape[0]
    dirs = 2 if module.bidirectional else 1
    h, total, size = module.hidden_size, 0, module.input_size
    for _ in range(module.num_layers):
        total += dirs * gates * h * (size + h) * steps
        size = h * dirs
    return total


def _receptive_fields(fx: FxSpec, verify: bool) -> dict[tuple[str, int], Any]:
    """Receptive fields per (module name, call number) from the symbolic engine on the traced spec.

    Derived, not run again: the hooked run is torch's word on every module's shape (``verify`` is kept
    for callers; a second verified pass of the traced spec would only repeat it).
    """
    from ..pipeline import shapes as derive_spec  # the engine the YAML path uses, on the traced spec

    try:
        report = derive_spec(fx.spec, verify=False)  # the hooked run is torch's word on every module
    except CnnCalcError:
        return {}
    out: dict[tuple[str, int], Any] = {}
    seen: dict[str, int] = {}
    if report.rf is None:
        return out
    for r, rf in zip(report.main.layers, report.rf.layers):
        name = fx.names.get(r.node.name, "")
        k = seen.get(name, 0)
        seen[name] = k + 1
        out[(name, k)] = rf
    return out


__all__ = ["Loc", "ModuleReport", "ModuleRow", "module_report"]
