"""Worked derivations per layer (``cnncalc explain``): each formula, with numbers, and its result.

The steps come from each layer type's ``explain`` (the same rules it computes
with) plus the receptive-field recurrence of Araujo et al. per spatial dim. Every
step's result is checked against the analysis here, so a derivation can never
show a number the table does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import symbolic as sym
from ..errors import CnnCalcError, Loc, did_you_mean
from ..formula import Quantity, Step, exact, var
from ..graph.expand import INPUT
from ..layers.steps import letters
from ..layers.window import IDENTITY, Affine
from .receptive import DimRF, ReceptiveFields
from .shapes import Analysis


@dataclass(frozen=True)
class LayerDerivation:
    """The worked steps for one layer."""

    index: int
    name: str
    type_name: str
    call: str  # Conv2d(out_channels=8, kernel_size=5)
    loc: Loc
    in_shapes: tuple[tuple[Any, ...], ...]
    out_shape: tuple[Any, ...]
    steps: tuple[Step, ...]
    params: Any


def derive(main: Analysis, rf: ReceptiveFields | None, layer: str | None = None) -> list[LayerDerivation]:
    """Derivations for every layer of ``main`` (or the one named ``layer``)."""
    names = [r.node.name for r in main.layers]
    if layer is not None and layer not in names:
        listed = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise CnnCalcError(f"no layer named {layer!r}", None, did_you_mean(layer, names) or f"the layers are {listed}")
    out = []
    for idx, r in enumerate(main.layers):
        if layer is not None and r.node.name != layer:
            continue
        ins = tuple(main.graph.input_shape if i == INPUT else main.layers[i].shape for i in r.node.inputs)
        steps = list(r.node.layer.explain(r.args, ins, r.shape))
        _check(steps, r)
        if r.frozen != 0:
            env = {"params_torch": r.params - r.frozen, "moving_stats": r.frozen}
            steps.append(Step("parameters as Keras counts them", "params_keras",
                              var("params_torch") + var("moving_stats"), env, r.params,
                              "Keras shows the moving mean and variance as non-trainable parameters",
                              quantity=Quantity("count")))  # fmt: skip
        if (
            rf is not None
            and rf.layers[idx].dims
            and len(r.shape) == len(main.graph.input_shape)
            and len(ins[0]) == len(r.shape)
        ):
            steps += _rf_steps(main, rf, idx, ins)
        shown = {k: r.args.values[k] for k in r.args.given}
        call = f"{r.node.layer.name}(" + ", ".join(f"{k}={_arg(v)}" for k, v in shown.items()) + ")"
        out.append(LayerDerivation(idx, r.node.name, r.node.layer.name, call, r.node.loc, ins, r.shape, tuple(steps),
                                   r.params))  # fmt: skip
    return out


def _arg(v: Any) -> str:
    if isinstance(v, tuple) and v and all(x == v[0] for x in v):
        v = v[0]
    if isinstance(v, tuple):
        return "(" + ", ".join(sym.to_text(x) for x in v) + ")"
    return repr(v) if isinstance(v, str) else sym.to_text(v)


def _check(steps: list[Step], r: Any) -> None:
    """Each step's result must be what the analysis derived (a bug otherwise)."""
    for s in steps:
        q, want = s.quantity, None
        if q is None:
            continue
        if q.kind == "output":
            want = r.shape[q.dim]
        elif q.kind == "params":
            want = r.params - r.frozen
        elif q.kind == "buffers":
            want = r.buffers + (r.frozen + 1 if r.frozen != 0 else 0)
        # undecided is not a bug: C_in/g and the rule's floor(C_in/g) agree under the file's condition g | C_in
        if want is not None and sym.decide(sym.equal(exact(s.result), want)) is False:
            raise AssertionError(f"derivation of {r.node.name} {s.label}: {s.result} != {want}")


def _rf_steps(main: Analysis, rf: ReceptiveFields, idx: int, ins: tuple[tuple[Any, ...], ...]) -> list[Step]:
    r = main.layers[idx]
    node_rf = rf.layers[idx]
    nd = len(r.shape) - 1
    steps = []
    seen: dict[tuple[Any, ...], str] = {}
    for j, x in enumerate(letters(nd) if 1 <= nd <= 3 else [f"dim{j}" for j in range(nd)]):
        here = node_rf.dims[j]
        label = f"receptive field {x}"
        sources = [DimRF(1, 1, 0, 1) if i == INPUT else rf.layers[i].dims[j] if rf.layers[i].dims else None
                   for i in r.node.inputs]  # fmt: skip
        if here.is_global:
            steps.append(Step(label, "r", statement=f"every unit sees the same {here.size} input positions (global)",
                              result=here.size))  # fmt: skip
            continue
        if len(sources) != 1 or sources[0] is None or not (here.closed_form and sources[0].closed_form):
            how = (
                "the largest of the merged paths" if len(sources) > 1 else "exact per-unit map (sizes vary by position)"
            )
            steps.append(Step(label, "r", statement=how, result=here.size))
            continue
        window = r.node.layer.window(r.args, ins, j, r.shape)
        prev = sources[0]
        if window is IDENTITY:
            steps.append(Step(label, "r", statement="unchanged (the layer acts per position)", result=here.size))
            continue
        if not isinstance(window, Affine):
            steps.append(Step(label, "r", statement="from the layer's window", result=here.size))
            continue
        key = (prev.size, prev.stride, window.k, window.s)
        if key in seen:
            steps.append(Step(label, "r", statement=f"same numbers as {seen[key]}", result=here.size))
            continue
        seen[key] = x
        k_name = "k" if window.d == 1 else "k_eff"
        env = {"r_in": prev.size, k_name: window.k, "S_in": prev.stride, "s": window.s}
        note = f"k_eff = d(k-1) + 1 = {sym.to_text(window.k)} (dilation {window.d})" if window.d != 1 else ""
        steps.append(Step(label, "r", var("r_in") + (var(k_name) - 1) * var("S_in"), env, here.size, note))
        steps.append(Step(f"jump {x} (input units between neighbouring outputs)", "S", var("S_in") * var("s"), env,
                          here.stride))  # fmt: skip
    return steps
