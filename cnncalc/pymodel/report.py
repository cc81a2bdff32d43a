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
from .trace import Call, Counts, TensorInfo, Trace, count, is_script, preserved, run, type_name


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
    macs: int | None  # per sample (run_macs / batch); None when the batch does not divide them
    derived: Derived | None = None
    mismatch: str | None = None  # cnncalc's rule and torch disagree
    reused_from: str | None = None
    rf: Any = None
    leaf: bool = True
    own: int = 0  # parameters registered on this module itself (a container's nn.Parameter)
    shared: tuple[tuple[str, str], ...] = ()  # its parameters tied to an earlier module's
    run_macs: int = 0  # torch's FLOP counter / 2 over this call (its children included), the whole batch
    formula: bool = False  # recurrent MACs by formula, where torch's counter counts 0

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

    run_macs: int = 0  # torch's FLOP counter / 2 over the whole forward pass (recurrent formulas included)
    given: tuple[TensorInfo, ...] = ()  # every tensor the model was given (positional and keyword, nested)
    trace: Trace | None = field(default=None, compare=False, repr=False)  # the hooked run (see with_symbolic)

    @property
    def ran(self) -> bool:
        """Whether the model was run (no input: its modules are listed, none called)."""
        return any(r.call is not None for r in self.rows) or self.crash is not None

    @property
    def total_macs(self) -> int | float:
        """MACs per sample: :attr:`run_macs` over the batch (a float when the batch does not divide them)."""
        return _per_sample(self.run_macs, self.batch) or self.run_macs / max(self.batch, 1)

    @property
    def accepted(self) -> str | None:
        """Which input sizes the model accepts, in the one wording (``H in 28..31, W in 28..31 (independent)``)."""
        return self.accepted_sizes.text if self.accepted_sizes is not None else None

    @property
    def macs_complete(self) -> bool:
        """Whether every operation was counted (torch's counter has a rule for every multiply it runs)."""
        return True

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
                  kwargs: Mapping[str, Any] | None = None, any_output: bool = False,
                  full_shapes: Sequence[tuple[int, ...]] | None = None, mode: str = "eval",
                  extra: Mapping[str, Any] | None = None) -> ModuleReport:  # fmt: skip
    """Run ``target`` once with hooks and build the nested table; explain a crash if there is one.

    ``data`` and ``kwargs``: the caller's own inputs (``cnncalc.summary(input_data=...)``) instead of random
    tensors made from ``specs``; ``specs`` then describe their tensors. ``any_output``: a forward pass that
    returns no tensor (None, a ``Distribution``...) is summarised with a note, not reported as a failure.
    Lazy modules are counted after the forward pass that sizes them (with a note). ``full_shapes``: the
    exact shape of each made-up tensor (torchinfo's ``input_size``); ``mode``: ``"eval"``, ``"train"`` or
    ``"same"`` (see :func:`preserved`); ``extra``: more keyword arguments for ``forward``, as given.
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
        lazy = _lazy(model)
        with preserved(model, torch, moved, mode):
            if data is None and kwargs is None:
                if full_shapes is None:
                    check_inputs(target.text, shapes, specs, batch, counts, dev)
                else:
                    check_inputs(target.text, [tuple(f) for f in full_shapes], specs, 1, counts, dev)
                xs = make_tensors(torch, shapes, specs, batch, dev, float_dtype(torch, model), vocabulary(model),
                                  full_shapes=full_shapes)  # fmt: skip
            else:
                xs, kwargs = _placed(torch, data or [], kwargs or {}, moved)
            if extra:
                kwargs = {**(kwargs or {}), **_placed(torch, [], extra, moved)[1]}
            trace = run(model, xs, kwargs=kwargs, flops=True)
        if lazy:  # the forward pass gave the lazy modules their sizes: counted now
            counts = count(model)
    input_text = ", ".join("x".join(map(str, s)) for s in shapes)
    crash = explain(trace, model, input_text) if trace.error is not None else None if any_output else \
        no_tensor(trace, model)  # fmt: skip
    notes = tuple(f"{n}: lazy, sized by this forward pass" for n in lazy if n not in _lazy_now(model))
    if trace.error is None and not trace.outputs and any_output:
        notes += (f"the forward pass returned {type(trace.result).__name__}, no tensor",)
    fx, reason, accepted = None, None, None
    conditions: Any = ()
    if (symbolic or crash is not None) and (trace.error is None or isinstance(trace.error, Exception)):
        with failures(target.text, None):  # a crash is explained with the sizes that would work; not after sys.exit
            fx, reason, conditions, accepted = _symbolic(target, specs, values, crash is not None)
    with failures(target.text, None):
        rows = _rows(model, trace, counts, fx, shapes, specs, verify_rf, batch)
        steps = _steps(model, fx, rows)
    run_macs = (sum(c.flops for c in trace.calls) + trace.extra.get("flops_outside", 0)) // 2
    return ModuleReport(target, tuple(specs), shapes, batch, tuple(rows), counts, trace.outputs, crash, str(dev),
                        str(torch.__version__), fx, reason, tuple(t for t, _ in conditions), accepted, steps, notes,
                        conditions_machine=tuple(m for _, m in conditions), result=trace.result,
                        run_macs=run_macs, given=trace.inputs, trace=trace)  # fmt: skip


def with_symbolic(rep: ModuleReport, values: Mapping[str, int] | None = None, verify_rf: bool = True) -> ModuleReport:
    """``rep`` with what ``torch.fx`` adds (receptive fields, the symbolic line), from the trace it kept.

    The model is not run again: ``cnncalc.summary`` makes one hooked forward pass for its numbers, and
    this is done only when cnncalc's own table is shown.
    """
    import dataclasses

    if rep.fx is not None or rep.fx_reason is not None or rep.trace is None or rep.crash is not None:
        return rep
    if is_script(rep.target.model):
        return dataclasses.replace(rep, fx_reason="a TorchScript module is run whole: no hooks or tracing inside it")
    values = dict(values or {})
    target, trace = rep.target, rep.trace
    with _failures(target.text):
        fx, reason, conditions, accepted = _symbolic(target, rep.inputs, values, False)
    if fx is None:
        return dataclasses.replace(rep, fx_reason=reason or "")
    with _failures(target.text):
        rows = _rows(target.model, trace, rep.counts, fx, rep.shapes, rep.inputs, verify_rf, rep.batch)
    return dataclasses.replace(rep, rows=tuple(rows), fx=fx, fx_reason=reason, steps=_steps(target.model, fx, rows),
                               conditions=tuple(t for t, _ in conditions), accepted_sizes=accepted,
                               conditions_machine=tuple(m for _, m in conditions))  # fmt: skip


def _failures(text: str) -> Any:
    from .guard import failures

    return failures(text, None)


def static_report(target: Target) -> ModuleReport:
    """Every module as registered, with its parameters, and no forward pass (torchinfo's summary without input)."""
    from ..verify.torchload import import_torch

    torch = import_torch()
    model = target.model
    counts = count(model)
    rows: list[ModuleRow] = []
    first: dict[int, str] = {}

    def walk(module: Any, name: str, depth: int) -> None:
        again = first.get(id(module))
        first.setdefault(id(module), name)
        sub = counts.subtree(name) if again is None else None
        leaf = not list(module.children())
        rows.append(ModuleRow(name or type_name(model), type_name(module), depth, None,
                              sub.params if sub else 0, sub.trainable if sub else 0, sub.buffers if sub else 0,
                              None, reused_from=again, leaf=leaf,
                              own=counts.modules[name].params if again is None and name in counts.modules else 0))  # fmt: skip
        for key, child in module._modules.items():
            if child is not None:
                walk(child, f"{name}.{key}" if name else key, depth + 1)

    walk(model, "", 0)
    dev = device_of(torch, model, "auto")
    return ModuleReport(target, (), (), 0, tuple(rows), counts, (), None, str(dev), str(torch.__version__),
                        notes=("no input given: the modules and their parameters only (pass input_size or "
                               "input_data for shapes and MACs)",))  # fmt: skip


def _lazy(model: Any) -> list[str]:
    from .trace import is_lazy

    return [n for n, t in (*model.named_parameters(), *model.named_buffers()) if is_lazy(t)]


def _lazy_now(model: Any) -> set[str]:
    return set(_lazy(model))


def _per_sample(macs: int, batch: int) -> int | None:
    """MACs per sample, when the batch divides them."""
    return macs // batch if batch > 0 and macs % batch == 0 else None


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
          specs: Sequence[InputSpec], verify_rf: bool, batch: int = 1) -> list[ModuleRow]:  # fmt: skip
    rfs = _receptive_fields(fx, verify_rf) if fx is not None and not fx.spec.symbols else {}
    modules = dict(model.named_modules())  # get_submodule is not supported on TorchScript modules
    leaves = {n for n, m in modules.items() if next(iter(m.children()), None) is None}
    rows: list[ModuleRow] = []
    seen: set[str] = set()
    rf_seen: dict[str, int] = {}
    for c in trace.calls:
        module = modules[c.name]
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
        k = rf_seen.get(c.name, 0)
        rf_seen[c.name] = k + 1
        rf = rfs.get((c.name, k))
        seen.add(c.name)
        rows.append(ModuleRow(c.name or type_name(model), c.type, c.depth, c,
                              sub.params if sub else 0, sub.trainable if sub else 0, sub.buffers if sub else 0,
                              macs, derived, mismatch, trace.calls[c.first].name if c.first is not None else None,
                              rf, leaf, counts.modules[c.name].params, counts.modules[c.name].shared,
                              formula=c.formula))  # fmt: skip
    rows = _call_macs(rows, trace, batch)
    script = is_script(model)  # no hooks: every module is listed under the model's one call
    for name, m in modules.items():
        parent = name.rsplit(".", 1)[0] if "." in name else ""
        if name not in seen and (parent in seen or script):  # the outermost never called (its children count in it)
            sub = counts.subtree(name)
            rows.append(ModuleRow(name, type_name(m), name.count(".") + 1, None, sub.params, sub.trainable,
                                  sub.buffers, None, leaf=name in leaves))  # fmt: skip
    return rows


def _call_macs(rows: list[ModuleRow], trace: Trace, batch: int) -> list[ModuleRow]:
    """Each call's MACs: torch's counter over its own operations and its descendant calls', per batch and per sample."""
    import dataclasses

    total = {c.index: c.flops for c in trace.calls}
    for c in reversed(trace.calls):
        if c.parent is not None:
            total[c.parent] += total[c.index]
    out = []
    for r in rows:
        assert r.call is not None
        macs = total[r.call.index] // 2
        out.append(dataclasses.replace(r, run_macs=macs, macs=_per_sample(macs, batch)))
    return out


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
