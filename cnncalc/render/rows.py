"""The row model every output format renders: one row per layer, plus group rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import symbolic as sym
from ..graph.expand import INPUT
from ..pipeline import Report


@dataclass(frozen=True)
class Row:
    """One line of the layer table."""

    name: str
    id: str | None
    type: str
    line: int
    column: int
    depth: int
    group: bool
    inputs: tuple[str, ...]
    shape: tuple[Any, ...]
    shape_at_defaults: tuple[int, ...] | None  # only when the report is symbolic
    params: Any
    params_at_defaults: int | None
    buffers: Any
    trainable: bool
    verified: bool | None
    rf: Any = None  # NodeRF, layer rows only
    macs: Any = 0
    macs_at_defaults: Any = 0
    activation_bytes: Any = 0


def rows(report: Report) -> list[Row]:
    """Layer rows in order; a group row follows its last member."""
    main, concrete = report.main, report.defaults
    symbolic = bool(report.symbols)
    groups_after: dict[int, list[int]] = {}
    for k, g in enumerate(main.groups):
        groups_after.setdefault(g.group.last, []).append(k)
    out: list[Row] = []
    for i, r in enumerate(main.layers):
        n = r.node
        out.append(
            Row(
                n.name,
                n.id,
                n.layer.name,
                n.loc.line,
                n.loc.col,
                n.depth,
                False,
                tuple("input" if j == INPUT else main.layers[j].node.name for j in n.inputs),
                r.shape,
                concrete.layers[i].shape if symbolic else None,
                r.params,
                concrete.layers[i].params if symbolic else None,
                r.buffers,
                n.trainable,
                report.node_verified(i),
                report.rf.layers[i] if report.rf else None,
                report.cost.macs[i] if report.cost else 0,
                report.cost_at_defaults.macs[i] if report.cost_at_defaults else 0,
                report.cost_at_defaults.activation_bytes[i] if report.cost_at_defaults else 0,
            )
        )
        for k in sorted(groups_after.get(i, []), key=lambda k: -main.groups[k].group.depth):
            g, cg = main.groups[k], concrete.groups[k]
            members = range(g.group.first, g.group.last + 1)
            verified = None if report.verified is None else all(report.node_verified(j) for j in members)
            out.append(
                Row(
                    g.group.name,
                    g.group.name,
                    g.group.type,
                    g.group.loc.line,
                    g.group.loc.col,
                    g.group.depth,
                    True,
                    (),
                    g.shape,
                    cg.shape if symbolic else None,
                    g.params,
                    cg.params if symbolic else None,
                    g.buffers,
                    all(main.layers[j].node.trainable for j in members),
                    verified,
                )
            )
    return out


def rf_text(rf: Any) -> str:
    """``7×7``, ``212×212``, ``≤40×40`` (varies with position), ``28×28 global`` (every unit sees it)."""
    if rf is None:
        return ""
    parts = [("" if d.closed_form or d.is_global else "≤") + sym.to_text(d.size) for d in rf.dims]
    return "×".join(parts) + (" global" if rf.is_global else "")


def number(value: Any) -> int | str:
    """An int stays an int (JSON number); a symbolic count becomes its text."""
    return value if isinstance(value, int) else sym.to_text(value)


def shape_list(shape: tuple[Any, ...]) -> list[int | str]:
    """A shape for JSON: integers, or strings of expressions."""
    return [number(d) for d in shape]


def count_text(value: Any) -> str:
    """``2,432`` for ints; the expression text otherwise."""
    return f"{value:,}" if isinstance(value, int) else sym.to_text(value)


def shape_text(shape: tuple[Any, ...], pretty: bool = False) -> str:
    """``32×16×16`` style shape text; ``pretty`` writes floor(x) as ⌊x⌋."""
    parts = [sym.to_text(d) for d in shape]
    parts = [f"({p})" if " " in p and len(shape) > 1 else p for p in parts]
    return "×".join(pretty_math(p) if pretty else p for p in parts)


def pretty_math(text: str) -> str:
    """``floor(H/2) - 1`` -> ``⌊H/2⌋ - 1`` (and ceiling -> ⌈ ⌉), for people; JSON keeps sympy text."""
    for word, left, right in (("floor(", "⌊", "⌋"), ("ceiling(", "⌈", "⌉")):
        while word in text:
            start = text.index(word)
            depth, j = 1, start + len(word)
            while depth and j < len(text):
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            text = text[:start] + left + text[start + len(word) : j - 1] + right + text[j:]
    return text
