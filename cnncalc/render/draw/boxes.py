"""What a network diagram shows: one box per feature map, from a report.

Layers that act per position and keep the shape (activations, normalisation,
dropout) are folded into the box of the layer before them (``Conv 3×3 + BN +
ReLU``), as course figures do; with ``collapse`` each outermost block, repeat or
top-level module is one box. Every label comes from the report: shapes and
counts that torch confirmed, or the derived ones in red with torch's value when
it did not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import CnnCalcError
from ...graph.expand import INPUT
from ...report import ShapesReport
from ..notation import count_text, shape_text

_NOT_FOLDED = ("kernel_size", "out_features", "out_channels", "units", "filters", "output_size", "dim", "size")
_SHORT = {"BatchNorm1d": "BN", "BatchNorm2d": "BN", "BatchNorm3d": "BN", "BatchNormalization": "BN"}


@dataclass
class Box:
    """One box of the diagram: a feature map and the layer(s) that made it."""

    key: int
    name: str
    op: str
    shape: tuple[int, ...]  # concrete sizes, for the box's proportions
    shape_label: str
    params: Any
    ok: bool | None
    problem: str = ""
    inputs: list[int] = field(default_factory=list)
    group: str | None = None
    group_label: str = ""
    members: list[str] = field(default_factory=list)
    node: str = "input"  # the node (or module) whose output the box shows
    family: str = "other"  # the layer type's family (LayerType.family): the box's colour
    folded: list[str] = field(default_factory=list)  # families of the layers folded into it (BN, ReLU): stripes
    params_note: str = ""  # said instead of the count (a second call of a module)

    @property
    def params_label(self) -> str:
        if self.params_note:
            return self.params_note
        value = count_text(self.params) if not isinstance(self.params, str) else self.params
        return f"{value} params" if value != "1" else "1 param"


@dataclass
class Net:
    """The boxes in topological order (the input first), and what the title says."""

    boxes: list[Box]
    title: str
    note: str = ""


MAX_BOXES = 1500
"""The most boxes one picture holds (a larger one is unreadable, and slow to lay out)."""


def from_report(report: Any, collapse: bool) -> Net:
    """The boxes of a ShapesReport or a ModuleReport."""
    net = _from_shapes(report, collapse) if isinstance(report, ShapesReport) else _from_modules(report, collapse)
    if len(net.boxes) > MAX_BOXES:
        raise CnnCalcError(f"the picture would have {len(net.boxes):,} boxes, more than the {MAX_BOXES:,} one picture "
                           "holds", None, "--collapse draws each outermost block as one box" if not collapse else
                           "draw a part of the network")  # fmt: skip
    return net


def math_label(shape: tuple[Any, ...]) -> str:
    """``64×⌊H/2⌋×⌊W/2⌋``; a number before a floor is written as a product (``2⌊H/4⌋``)."""
    import re

    return re.sub(r"(\d)\*([⌊⌈(A-Za-z])", r"\1\2", shape_text(shape, True))


def op_text(r: Any) -> str:
    """``Conv2d 3×3 /2``, ``MaxPool2d 2×2``, ``Linear``: the type and its window."""
    return op_label(r.node.layer.name, r.args.values)


def op_label(type_name: str, a: Any) -> str:
    """The type and its window from resolved arguments (a derivation's, or a hooked module's)."""
    parts = [type_name]
    k = a.get("kernel_size")
    if isinstance(k, tuple):
        parts.append("×".join(map(str, k)))
    s = a.get("stride")
    if isinstance(s, tuple) and any(v != 1 for v in s):
        parts.append("/" + ("×".join(map(str, s)) if len(set(s)) > 1 else str(s[0])))
    d = a.get("dilation")
    if isinstance(d, tuple) and any(v != 1 for v in d):
        parts.append("dil " + ("×".join(map(str, d)) if len(set(d)) > 1 else str(d[0])))
    return " ".join(parts)


def _foldable(r: Any, ins: Sequence[tuple[Any, ...]]) -> bool:
    """A layer that keeps the shape and acts per position (activation, BatchNorm, dropout)."""
    layer = r.node.layer
    if layer.merge or len(ins) != 1 or tuple(ins[0]) != tuple(r.shape) or any(a in layer.args for a in _NOT_FOLDED):
        return False
    from ...layers.window import IDENTITY

    return all(layer.window(r.args, ins, j, r.shape) == IDENTITY for j in range(len(r.shape) - 1))


def _outermost(report: ShapesReport) -> dict[int, int]:
    """For each node index, the index of the outermost group containing it."""
    out: dict[int, int] = {}
    for k, g in enumerate(report.main.groups):
        for i in range(g.group.first, g.group.last + 1):
            if i not in out or report.main.groups[out[i]].group.depth > g.group.depth:
                out[i] = k
    return out


def _from_shapes(report: ShapesReport, collapse: bool) -> Net:
    main, concrete = report.main, report.defaults
    top = _outermost(report)
    consumers: dict[int, int] = {}
    for r in main.layers:
        for s in set(r.node.inputs):
            consumers[s] = consumers.get(s, 0) + 1
    inp = main.graph.input_shape
    boxes: dict[int, Box] = {INPUT: Box(INPUT, "input", "", tuple(concrete.graph.input_shape),
                                        math_label(report.readable(inp, False)), 0, None, members=[], family="input")}  # fmt: skip
    key_of: dict[int, int] = {INPUT: INPUT}
    last: dict[int, int] = {}  # box key -> index of the node whose output the box shows
    folded: dict[int, list[str]] = {}
    grouped: dict[int, int] = {}  # group index -> box key
    for i, r in enumerate(main.layers):
        g = top.get(i)
        if collapse and g is not None:
            key = grouped.setdefault(g, i)
            if key not in boxes:
                gr = main.groups[g]
                boxes[key] = Box(key, gr.group.name, _group_op(report, g), (), "", 0, None, group=None,
                                 family=_group_family(report, g))  # fmt: skip
                last[key] = gr.group.output
            _link(boxes[key], [key_of[s] for s in r.node.inputs])
            key_of[i] = key
            boxes[key].members.append(r.node.name)
            continue
        ins = [inp if s == INPUT else main.layers[s].shape for s in r.node.inputs]
        source = r.node.inputs[0]
        if (len(ins) == 1 and source != INPUT and consumers.get(source) == 1 and top.get(source) == g
                and last.get(key_of[source]) == source and _foldable(r, ins)):  # fmt: skip
            key = key_of[source]
            key_of[i] = key
            last[key] = i
            folded.setdefault(key, []).append(_SHORT.get(r.node.layer.name, r.node.layer.name))
            boxes[key].folded.append(r.node.layer.family)
            boxes[key].members.append(r.node.name)
            continue
        group_name = main.groups[g].group.name if g is not None else None
        name = (
            r.node.name[len(group_name) + 1 :]
            if group_name and r.node.name.startswith(group_name + ".")
            else r.node.name
        )
        boxes[i] = Box(i, name, op_text(r), (), "", 0, None, group=group_name, members=[r.node.name],
                       family=r.node.layer.family)  # fmt: skip
        _link(boxes[i], [key_of[s] for s in r.node.inputs])
        key_of[i] = i
        last[i] = i
    names = {r.node.name: i for i, r in enumerate(main.layers)}
    problems: dict[str, str] = {}
    for m in report.mismatches:
        problems.setdefault(m.name, f"✗ {m.what}: {m.source} gives {m.actual}")
    for key, b in boxes.items():
        if key == INPUT:
            continue
        idx = [names[n] for n in b.members]
        end = last[key]
        b.node = main.layers[end].node.name
        b.shape = tuple(concrete.layers[end].shape)
        b.shape_label = math_label(report.readable(main.layers[end].shape, False))
        b.params = sum((main.layers[j].params for j in idx), 0)
        b.ok = None if report.verified is None else all(report.node_verified(j) for j in idx)
        b.problem = next((problems[n] for n in b.members if n in problems), "")
        if key in folded:
            b.op += " + " + " + ".join(folded[key])
    for g, key in grouped.items():
        b = boxes[key]
        b.node = main.layers[main.groups[g].group.output].node.name
        b.shape = tuple(concrete.groups[g].shape)
        b.shape_label = math_label(report.readable(main.groups[g].shape, False))
    for b in boxes.values():
        if b.group is not None:
            g = next(k for k, gr in enumerate(main.groups) if gr.group.name == b.group and gr.group.depth == 0)
            gr = main.groups[g]
            b.group_label = f"{gr.group.name} · {gr.group.type} · {count_text(gr.params)} params"
    return Net(list(boxes.values()), _title(report), _note(report))


def _link(box: Box, sources: list[int]) -> None:
    for s in sources:
        if s != box.key and s not in box.inputs:
            box.inputs.append(s)


def _group_op(report: ShapesReport, g: int) -> str:
    group = report.main.groups[g].group
    prefix = group.name + "."
    firsts = {r.node.name[len(prefix) :].split(".")[0] for r in report.main.layers[group.first : group.last + 1]
              if r.node.name.startswith(prefix)}  # fmt: skip
    repeat = len(firsts) if firsts and all(f.isdigit() for f in firsts) else 1
    return f"{group.type} ×{repeat}" if repeat > 1 else group.type


def _group_family(report: ShapesReport, g: int) -> str:
    """A collapsed block's colour: the family of its first layer that is not folded away (a DoubleConv's conv)."""
    group = report.main.groups[g].group
    families = [r.node.layer.family for r in report.main.layers[group.first : group.last + 1]]
    return next((f for f in families if f not in ("activation", "normalisation", "other")), families[0])


def model_name(text: str) -> str:
    """The title of a Python model: ``model.py:Net`` for ``/home/me/project/model.py:Net``, as it is known."""
    import re

    found = re.fullmatch(r"(?:.*[/\\])?([^/\\]+\.(?:py|ipynb)):([A-Za-z_][\w.]*)", text)
    return f"{found[1]}:{found[2]}" if found else text


def _title(report: ShapesReport) -> str:
    main = report.main
    total = report.defaults.total_params if report.symbols else main.total_params
    name = model_name(main.graph.name)
    return f"{name} · input {shape_text(report.readable(main.graph.input_shape, False), True)} · {count_text(total)} parameters"


def _note(report: ShapesReport) -> str:
    at = ""
    if report.symbols:
        binding = report.defaults.graph.binding
        at = "boxes drawn at " + ", ".join(f"{n} = {binding[n]}" for n in report.symbols) + "; "
    if report.verified is None:
        return at + "NOT verified (--no-verify): numbers derived, not checked by torch"
    if report.verified:
        points = len(report.checks)
        sizes = f" at {points} input sizes" if points > 1 else ""
        return at + f"every shape and count verified by a torch {report.torch_version} forward pass{sizes}"
    return at + "MISMATCH: torch disagrees where marked in red"


def _from_modules(report: Any, collapse: bool) -> Net:
    """A Python model run with hooks: its leaf calls (or top-level modules) in call order, as a chain.

    Kernel sizes and strides come from the module's arguments (the catalogue derivation of the call); an
    activation called as a function (``torch.relu(self.conv(x))``) is read from the torch.fx trace when the
    model has one, and folded into the box of the module it follows.
    """
    from ...layers import CATALOGUE

    boxes = [Box(INPUT, "input", "", tuple(report.shapes[0]), "×".join(map(str, report.shapes[0])), 0, None,
                 family="input")]  # fmt: skip
    rows = [
        r
        for r in report.rows
        if r.call is not None and (r.leaf if not collapse else r.depth == 1 or (r.depth == 0 and r.leaf))
    ]
    functional = _functional_after(report) if not collapse else {}
    first_params = {r.name: r.params for r in report.rows if r.reused_from is None}
    calls: dict[str, int] = {}
    prev = INPUT
    for k, r in enumerate(rows):
        out = r.outputs[0][1].shape[1:] if r.outputs else ()
        layer = CATALOGUE.get(r.type)
        ins = r.call.inputs[0].shape[1:] if r.call.inputs else None
        nth = calls[r.name] = calls.get(r.name, -1) + 1
        after = functional.get((r.name, nth), [])
        fold = (layer is not None and not layer.merge and not any(a in layer.args for a in _NOT_FOLDED)
                and ins == out and r.call.done and len(boxes) > 1 and not collapse)  # fmt: skip
        if fold and boxes[-1].ok is not False:
            b = boxes[-1]
            b.op += " + " + " + ".join(_SHORT.get(t, t) for t in (r.type, *after))
            b.folded += [layer.family if layer else "other", *(CATALOGUE[t].family for t in after)]
            b.params += r.params
            b.members.append(r.name)
            b.node = r.name
            continue
        group = r.name.split(".")[0] if "." in r.name and not collapse else None
        note = ""
        if r.reused_from:  # a second call: its parameters (if any) are counted at the first one
            note = (f"weights shared with {r.reused_from}" if first_params.get(r.reused_from) else
                    f"called again ({r.reused_from})")  # fmt: skip
        problem = r.mismatch or ("" if r.call.done else "✗ this call raised: " + (report.crash.message if report.crash
                                                                                   else "an error"))  # fmt: skip
        name = r.name[len(group) + 1 :] if group else r.name
        args = getattr(r.derived, "args", None)
        op = op_label(r.type, args) if args else r.type
        if after:
            op += " + " + " + ".join(_SHORT.get(t, t) for t in after)
        box = Box(k, name, op, tuple(out), "×".join(map(str, out)) if r.outputs else "(no tensor)", r.params,
                  not problem, "" if not problem else problem, [prev], group, members=[r.name], node=r.name,
                  family=layer.family if layer is not None else "other", params_note=note,
                  folded=[CATALOGUE[t].family for t in after])  # fmt: skip
        if group is not None:
            box.group_label = (
                f"{group} · {report.counts.types.get(group, '')} · {report.counts.subtree(group).params:,} params"
            )
        boxes.append(box)
        prev = k
    shown = ", ".join("×".join(map(str, s)) for s in report.shapes)
    title = f"{model_name(report.target.text)} · input {shown} · {report.counts.params:,} parameters"
    note = (f"run with forward hooks in torch {report.torch_version}: boxes in call order, shapes as torch gave them"
            + ("; MISMATCH where marked in red" if not report.ok else ""))  # fmt: skip
    return Net(boxes, title, note)


def _functional_after(report: Any) -> dict[tuple[str, int], list[str]]:
    """Activations the model calls as functions, from its torch.fx trace: (module, n-th call) -> their types,
    for those applied directly to a module call's output (``torch.relu(self.conv(x))``)."""
    from ...layers import CATALOGUE

    fx = getattr(report, "fx", None)
    if fx is None:
        return {}
    modules = {r.name for r in report.rows}
    out: dict[tuple[str, int], list[str]] = {}
    calls: dict[str, int] = {}
    owner: dict[str, tuple[str, int]] = {}  # layer id -> the module call whose output it is (or continues)
    for layer in fx.spec.layers:
        lid = layer.id or ""
        module = fx.names.get(lid, "")
        if module in modules:
            calls[module] = calls.get(module, -1) + 1
            owner[lid] = (module, calls[module])
            continue
        t = CATALOGUE.get(layer.type)
        source = layer.sources[0].name if len(layer.sources) == 1 else None
        if t is not None and t.family == "activation" and source in owner:
            out.setdefault(owner[source], []).append(layer.type)
            owner[lid] = owner[source]
    return out
