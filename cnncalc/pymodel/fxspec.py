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

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import CnnCalcError
from ..layers import Condition
from ..layers.steps import letters
from ..parse.spec import ArchSpec, parse_text
from .fxwriter import NotConvertible, Writer
from .guard import ModelTimeout, stops
from .inputs import InputSpec


@dataclass(frozen=True)
class FxSpec:
    """The spec of a traced model, its YAML text, each layer id's module or operation name, and its conditions."""

    spec: ArchSpec
    text: str
    names: Mapping[str, str]  # layer id -> qualified module name or "x.view(-1, 512)"-like text
    conditions: tuple[Condition, ...] = ()  # what the sizes must satisfy (symbolic inputs)


def auto_symbols(spec: InputSpec) -> InputSpec:
    """``3x32x32`` -> ``3xHxW`` (the spatial dims as symbols), for deriving which sizes a model accepts."""
    if spec.symbols or not 2 <= len(spec.dims) <= 4:
        return spec
    return InputSpec((spec.dims[0], *letters(len(spec.dims) - 1)), spec.dtype)


def convert(model: Any, inputs: Sequence[InputSpec], defaults: Mapping[str, int], label: str, gm: Any = None) -> FxSpec:
    """Trace ``model`` (in eval mode; or take its trace ``gm``) and write it as a spec with ``inputs``' symbols."""
    import yaml

    from .. import symbolic as sym

    if len(inputs) != 1:
        raise NotConvertible("the model takes several inputs; the symbolic engine handles one")
    if inputs[0].dtype not in ("float32", "float64", "float16", "bfloat16"):
        raise NotConvertible(f"the input is {inputs[0].dtype}; the catalogue has no embedding layers")
    gm = trace(model) if gm is None else gm
    env = {s: sym.symbol(s) for s in inputs[0].symbols}
    shape = [env[d] if isinstance(d, str) else d for d in inputs[0].dims]
    writer = Writer(gm, shape, env, f"{label} (traced)")
    layers, names = writer.layers()
    doc: dict[str, Any] = {"cnncalc": 1, "name": label, "input": list(inputs[0].dims)}
    if inputs[0].symbols:
        doc["symbols"] = {s: defaults.get(s) for s in inputs[0].symbols}
        if None in doc["symbols"].values():  # sizes that tie the symbols (a wrong view(-1, N)): one that works
            doc["symbols"] = {**_example(writer.shaper.conditions, list(inputs[0].symbols)), **{
                k: v for k, v in doc["symbols"].items() if v is not None}}  # fmt: skip
    doc["layers"] = layers
    text = str(yaml.safe_dump(doc, default_flow_style=None, sort_keys=False, width=120))
    try:
        spec = parse_text(text, f"{label} (traced)")
    except CnnCalcError as e:
        raise NotConvertible(f"the traced graph is not a valid architecture: {e.message}") from None
    spec = _located(spec, writer.locs)
    return FxSpec(spec, text, names, tuple(writer.shaper.conditions))


def _example(conditions: Sequence[Condition], names: list[str]) -> dict[str, int | None]:
    """The smallest sizes that satisfy conditions tying several symbols; None each where none do or they are free
    (the engine then finds its own)."""
    from .fxsizes import accepted

    sizes = accepted(conditions, names)
    point = sizes.example() if sizes is not None and sizes.tie in ("equal", "blocks") else None
    return point or dict.fromkeys(names)


def _located(spec: ArchSpec, locs: Mapping[str, Any]) -> ArchSpec:
    """Every layer located where the user's forward computes it (never a line of the generated YAML)."""
    layers = []
    for layer in spec.layers:
        loc = locs.get(layer.id or "")
        if loc is not None:
            layer = dataclasses.replace(layer, loc=loc, key_locs=tuple((k, loc) for k, _ in layer.key_locs))
        layers.append(layer)
    return dataclasses.replace(spec, layers=tuple(layers))


def trace(model: Any) -> Any:
    """``torch.fx.symbolic_trace`` in eval mode; forward arguments after the first keep their defaults."""
    import inspect

    import torch.fx

    from ..verify.torchload import import_torch
    from .trace import preserved

    concrete: dict[str, Any] = {}
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    for p in params[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is p.empty:
            raise NotConvertible(f"forward takes a second argument {p.name!r}")
        concrete[p.name] = p.default
    try:
        with preserved(model, import_torch()):
            tracer = torch.fx.Tracer()
            tracer.record_stack_traces = True  # each node's line in the user's forward: the layers' locations
            graph = tracer.trace(model, concrete_args=concrete or None)
            return torch.fx.GraphModule(tracer.root, graph, type(model).__name__)
    except BaseException as e:  # the model's own BaseException subclasses too; not a time limit or sys.exit
        if not isinstance(e, Exception) and (stops(e) or isinstance(e, (SystemExit, KeyboardInterrupt, ModelTimeout))):
            raise
        raise NotConvertible(
            f"torch.fx cannot trace it ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})"
        ) from None


def accepted_sizes(fx: FxSpec) -> tuple[list[tuple[str, str]], str]:
    """The validity conditions of a symbolic spec (each as people read it and in sympy's machine form), and
    the sizes that satisfy them, in the one wording of :class:`~cnncalc.pymodel.fxsizes.AcceptedSizes`
    (``H in 28..31, W in 28..31 (independent)``, ``H = W required``); "" without symbols."""
    described, sizes = accepted_report(fx)
    return described, sizes.text if sizes is not None else ""


def accepted_report(fx: FxSpec) -> tuple[list[tuple[str, str]], Any]:
    """The conditions (readable, machine) and the accepted sizes as data (an AcceptedSizes, None without symbols).

    Solved, not searched: the conditions are summarised per symbol (thresholds and residues, as for
    architecture files); conditions that tie several symbols are evaluated exactly size by size.
    """
    from ..analysis.conditions import solve
    from .fxsizes import accepted

    names = [n for n, _, _ in fx.spec.symbols]
    conditions = list(fx.conditions)
    try:
        solution = solve(conditions, names)
        described = list(zip(solution.describe(), solution.describe(machine=True)))
    except CnnCalcError as e:
        described = [(e.message, e.message)]
    return described, accepted(conditions, names)


def accepted_values(fx: FxSpec, limit: int = 512) -> list[int]:
    """Every size S <= ``limit`` with which an input of S in every symbol satisfies the conditions."""
    import sympy

    from ..analysis.conditions import solve

    one = sympy.Symbol("S", integer=True, positive=True)
    same = {sympy.Symbol(n, integer=True, positive=True): one for n, _, _ in fx.spec.symbols}
    equal = [dataclasses.replace(c, expr=c.expr.xreplace(same)) for c in fx.conditions]
    equal = [c for c in equal if c.expr is not sympy.true]
    if any(c.expr is sympy.false for c in equal):
        return []
    try:
        rng = solve(equal, ["S"]).ranges["S"]
    except CnnCalcError:
        return []
    return [v for v in range(1, limit + 1) if rng.contains(v)]


__all__ = [
    "FxSpec",
    "NotConvertible",
    "accepted_report",
    "accepted_sizes",
    "accepted_values",
    "auto_symbols",
    "convert",
    "trace",
]
