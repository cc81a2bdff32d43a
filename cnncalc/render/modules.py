"""Rendering the per-module report of a Python target: a nested rich table, text lines and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..analysis.cost import human_count
from ..errors import plural
from ..pymodel.report import ModuleReport, ModuleRow
from ..pymodel.trace import TensorInfo, is_script, output_text
from .notation import rf_text


def _shape_json(i: TensorInfo, batch: int) -> dict[str, Any]:
    return {"shape": list(i.shape), "batch_first": bool(i.shape) and i.shape[0] == batch, "dtype": i.dtype,
            "device": i.device}  # fmt: skip


def _row_note(r: ModuleRow, script: bool = False) -> str:
    if r.call is None:
        return "inside TorchScript" if script else "never called"
    if r.reused_from is not None:
        return f"called again (counted at its first call, {r.reused_from!r})"
    if r.call is not None and not r.call.done:
        return "raised"
    notes = [f"{n.rsplit('.', 1)[-1]} tied to {first}" for n, first in r.shared]
    if not r.leaf and r.own:
        notes.append(f"+{r.own:,} own parameter{'s' if r.own > 1 else ''}")
    if notes:
        return "; ".join(notes)
    if r.params and r.trainable < r.params:
        return "frozen" if r.trainable == 0 else f"{r.params - r.trainable:,} frozen"
    return ""


def _symbolic_input(shape: Sequence[int]) -> str:
    """``3x28x28`` -> ``3xHxW``: the channels kept, the spatial sizes as symbols."""
    letters = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}.get(len(shape) - 1)
    return "x".join([str(shape[0]), *letters]) if shape and letters else "x".join(map(str, shape))


def summary_lines(rep: ModuleReport) -> list[str]:
    """The lines under the table: totals, sharing, reuse, outputs, symbolic results, verification."""
    c = rep.counts
    per = rep.total_macs
    macs = human_count(per if isinstance(per, int) else round(per))
    lines = [f"Total params: {c.params:,} (trainable {c.trainable:,}, frozen {c.params - c.trainable:,}) · "
             f"buffers {c.buffers:,} · MACs per sample {macs}"]  # fmt: skip
    for name, first in c.shared:
        lines.append(f"Shared parameter: {name} is {first} (tied; counted once)")
    for name, first in c.aliases:
        lines.append(f"Module registered twice: {name} is {first} (counted once)")
    reused: dict[str, int] = {}
    for r in rep.rows:
        if r.reused_from is not None:
            reused[r.reused_from] = reused.get(r.reused_from, 1) + 1
    for name, n in reused.items():
        lines.append(f"Reused module: {name!r} is called {n} times (its parameters count once)")
    if rep.crash is None and rep.ran:
        lines.append(f"Output for input {rep.input_text}: {output_text(rep.outputs, rep.batch) or 'no tensor'}")
    if rep.fx is not None and not rep.conditions and rep.accepted is None:
        lines.append("Symbolic (torch.fx): available; for the sizes the model accepts, name them in --input "
                     f"(--input {_symbolic_input(rep.shapes[0]) if rep.shapes else '3xHxW'})")  # fmt: skip
    elif rep.fx is not None or rep.conditions:
        valid = ", ".join(rep.conditions) if rep.conditions else "any size"
        lines.append(f"Symbolic (torch.fx): valid when {valid}" + (f"; {rep.accepted}" if rep.accepted else ""))
    elif rep.fx_reason:
        lines.append(f"Symbolic analysis not available: {rep.fx_reason}")
    if any(r.formula for r in rep.rows):
        lines.append("MACs: torch's FLOP counter / 2; recurrent layers it counts 0 for by their formula")
    lines += [f"Note: {n}" for n in rep.notes]
    checked = sum(1 for r in rep.rows if r.derived is not None and r.call is not None and r.call.done)
    if rep.mismatches:
        lines += [f"MISMATCH {m}" for m in rep.mismatches]
    elif rep.ran:
        lines.append(f"Every shape and count is torch's own (forward hooks, batch {rep.batch}, {rep.device}, torch "
                     f"{rep.torch_version}); cnncalc's rules agree on {'all ' if checked > 1 else ''}"
                     f"{plural(checked, 'catalogue module')}.")  # fmt: skip
    return lines


def _with_steps(rep: ModuleReport) -> list[ModuleRow]:
    """The module rows with a row for each functional step (``x.view(-1, 512)``) after the call before it."""
    from ..pymodel.trace import Call, TensorInfo

    dtype = rep.outputs[0][1].dtype if rep.outputs else "float32"
    extra: dict[int, list[ModuleRow]] = {}
    for s in rep.steps:
        call = Call(-1, s.text, s.type, s.depth, None, (), s.loc, None,
                    (("", TensorInfo((rep.batch, *s.shape), dtype, rep.device)),), True)  # fmt: skip
        extra.setdefault(s.after, []).append(ModuleRow(s.text, s.type, s.depth, call, 0, 0, 0, 0))
    out: list[ModuleRow] = []
    for i, r in enumerate(rep.rows):
        out += [r, *extra.get(i, [])]
    return out


def table(rep: ModuleReport, depth: int | None = None, width: int | None = None) -> Any:
    """The nested module table (rows deeper than ``depth`` folded into their ancestors), fitted to ``width``."""
    from rich.text import Text

    from .fit import SHAPE, WORDS, Column, fit

    rows = [r for r in _with_steps(rep) if depth is None or r.depth <= depth]
    has_buffers = any(r.buffers for r in rep.rows)
    has_rf = any(r.rf is not None for r in rep.rows)
    title = f"{rep.target.text} · input {rep.input_text} · batch B = {rep.batch}" if rep.ran else \
        f"{rep.target.text} · no input: parameters only"  # fmt: skip

    def dim(r: ModuleRow) -> str:
        return "dim" if not r.leaf or r.reused_from is not None else ""

    cols = [
        Column("Module", [Text("  " * r.depth + r.name.rsplit(".", 1)[-1] if r.depth else r.name,
                               style="bold" if not r.leaf else "") for r in rows], "Total"),
        Column("Type", [Text(r.type, style=dim(r)) for r in rows], label="type"),
        Column("Output", [output_text(r.outputs, rep.batch) if r.call is None or r.call.done else "—" for r in rows],
               output_text(rep.outputs, rep.batch) if rep.crash is None else "", kind=SHAPE, label="output"),
        Column("Params", [Text(f"{r.params:,}", style=dim(r)) for r in rows], f"{rep.counts.params:,}", "right",
               label="params"),
    ]  # fmt: skip
    if has_buffers:
        cols.append(Column("Buffers", [f"{r.buffers:,}" if r.buffers else "" for r in rows],
                           f"{rep.counts.buffers:,}", "right", secondary=True, label="buffers"))  # fmt: skip
    macs = [human_count(r.macs) if r.macs else "" if r.macs == 0 or r.call is None else "?" for r in rows]
    cols.append(Column("MACs", macs, human_count(round(rep.total_macs)), "right", secondary=True, label="MACs"))
    if has_rf:
        cols.append(Column("RF", [rf_text(r.rf) for r in rows], justify="right", kind=WORDS, secondary=True,
                           label="RF"))  # fmt: skip
    cols.append(Column("Note", [Text(_row_note(r, is_script(rep.target.model)) if rep.ran else "", style="dim") for r in rows], kind=WORDS,
                       secondary=True,
                       label="note"))  # fmt: skip
    marks = ["" if r.derived is None else "✗" if r.mismatch else "✓" for r in rows]
    cols.append(Column("✓", [Text(m, style="red" if r.mismatch else "green") for m, r in zip(marks, rows)],
                       justify="center"))  # fmt: skip
    return fit(title, cols, width)


def _built_at(rep: ModuleReport, r: ModuleRow) -> str | None:
    """Where the user's ``__init__`` builds the module (``model.py:14:9``), or None (the model itself, unknown)."""
    from ..pymodel.catalogue import built_at

    name = r.call.name if r.call is not None else r.name
    loc = built_at(rep.target.model, name) if name and r.depth else None
    return str(loc) if loc else None


def to_dict(rep: ModuleReport) -> dict[str, Any]:
    """The stable JSON document (schema ``cnncalc.modules/1``)."""
    modules = []
    for r in rep.rows:
        modules.append({
            "name": r.call.name if r.call is not None else r.name, "type": r.type, "depth": r.depth,
            "called": r.call is not None, "completed": bool(r.call and r.call.done),
            "reused_from": r.reused_from, "leaf": r.leaf,
            "inputs": [_shape_json(i, rep.batch) for i in r.call.inputs] if r.call else [],
            "outputs": [{"path": p, **_shape_json(i, rep.batch)} for p, i in r.outputs],
            "params": r.params, "own_params": r.own if r.reused_from is None else 0, "trainable": r.trainable, "buffers": r.buffers, "macs": r.macs,
            "derived": None if r.derived is None else {"output": list(r.derived.shape), "params": r.derived.params,
                                                       "buffers": r.derived.buffers, "rule": r.derived.rule},
            "mismatch": r.mismatch, "receptive_field": rf_text(r.rf) or None,
            "called_from": str(r.call.caller) if r.call is not None and r.call.caller else None,
            "built_at": _built_at(rep, r),
        })  # fmt: skip
    c = rep.counts
    return {
        "schema": "cnncalc.modules/1", "target": rep.target.text,
        "steps": [{"after": s.after, "operation": s.text, "type": s.type, "output": list(s.shape), "rule": s.formula,
                   "location": str(s.loc) if s.loc else None} for s in rep.steps],
        "inputs": [{"shape": list(s), "dtype": i.dtype} for s, i in zip(rep.shapes, rep.inputs)],
        "batch": rep.batch, "device": rep.device, "torch": rep.torch_version,
        "modules": modules,
        "totals": {"params": c.params, "trainable": c.trainable, "frozen": c.params - c.trainable,
                   "buffers": c.buffers, "macs": rep.total_macs, "batch_macs": rep.run_macs, "macs_complete": rep.macs_complete},
        "shared_parameters": [{"name": n, "same_as": f} for n, f in c.shared],
        "outputs": [{"path": p, **_shape_json(i, rep.batch)} for p, i in rep.outputs],
        "symbolic": {"available": rep.fx is not None, "reason": rep.fx_reason, "conditions": list(rep.conditions_machine),
                     "accepted": rep.accepted,
                     "accepted_sizes": rep.accepted_sizes.to_json() if rep.accepted_sizes is not None else None},
        "crash": None if rep.crash is None else {"module": rep.crash.module, "type": rep.crash.type,
                                                 "location": str(rep.crash.loc) if rep.crash.loc else None,
                                                 "source": rep.crash.source, "message": rep.crash.message,
                                                 "torch": rep.crash.torch_message},
        "mismatches": rep.mismatches,
    }  # fmt: skip


def to_json(rep: ModuleReport) -> str:
    """``to_dict`` as indented JSON."""
    return json.dumps(to_dict(rep), indent=2) + "\n"
