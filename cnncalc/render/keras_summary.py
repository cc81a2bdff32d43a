"""``--format keras``: the network as Keras' ``model.summary()`` prints it.

The columns ``Layer (type)``, ``Output Shape`` as ``(None, 26, 26, 32)`` and ``Param #``
(plus ``Connected to`` when the network is not a chain, after an ``InputLayer`` row, as
Keras prints a functional model), then the Total / Trainable / Non-trainable params
lines with their size in float32, as Keras 3 prints them, and what torch verified. Names are
the table's: the ids written in the file, else Keras' names for Keras' types (``conv2d``,
``conv2d_1``, ``max_pooling2d``) and cnncalc's for torch's (``relu_1``).
Shapes are channels last and parameters are counted as Keras counts them (a
BatchNormalization layer has 4C, 2C of them non-trainable), whatever the file's
convention. Columns are as wide as their longest entry: nothing is ever cut.
"""

from __future__ import annotations

from typing import Any

from .. import symbolic as sym
from ..budget import tick
from ..graph.expand import INPUT
from ..layers import in_layout
from ..report import ShapesReport
from .formats import FOLD_NOTE, verification_line


def _keras_size(n_bytes: int) -> str:
    """Keras 3's ``readable_memory_size``: ``364.54 KB`` (powers of 1024)."""
    units = ["B", "KB", "MB", "GB", "TB"]
    value, unit = float(n_bytes), 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    return f"{value:.2f} {units[unit]}"


def _shape(shape: tuple[Any, ...]) -> str:
    dims = ["None", *(sym.to_text(d) if sym.is_concrete(d) else "None" for d in in_layout(shape, True))]
    return "(" + ", ".join(dims) + (",)" if len(dims) == 1 else ")")


def _repeats(a: Any, b: Any, index_a: int) -> bool:
    """Whether layer ``b`` repeats layer ``a`` (index ``index_a``): fed by it, the same line and scope, the same
    output shape and parameters."""
    return bool(b.node.inputs == (index_a,) and a.node.loc == b.node.loc and a.node.layer.name == b.node.layer.name
            and a.node.name.rpartition(".")[0] == b.node.name.rpartition(".")[0] and a.shape == b.shape
            and a.params == b.params)  # fmt: skip


def _count(n: Any) -> str:
    return sym.to_text(n, grouping=True)


def to_keras(report: ShapesReport, expand: bool = False) -> str:
    """The summary text (at the default sizes when the file has symbols); a layer repeated in a chain is one row,
    ``relu_1 … relu_9000 (ReLU ×9000)`` with the params of all of them, unless ``expand``."""
    from ..analysis.convention import keras_counts

    a = report.defaults if report.spec.convention == "keras" else keras_counts(report.defaults)
    names = [r.node.name for r in a.layers]  # the table's names: Keras' own for Keras' types (graph/expand.py)
    chain = all(r.node.inputs == ((i - 1) if i else INPUT,) for i, r in enumerate(a.layers))
    rows: list[tuple[str, ...]] = []
    if not chain:
        rows.append(("input_layer (InputLayer)", _shape(a.graph.input_shape), "0", "-"))
    runs: list[list[int]] = []
    for i, r in enumerate(a.layers):
        tick(r.node.loc, "writing the summary")
        if not expand and runs and _repeats(a.layers[runs[-1][-1]], r, runs[-1][-1]):
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        i, r, n = run[0], a.layers[run[0]], len(run)
        name = names[i] if n == 1 else f"{names[i]} … {names[run[-1]].rpartition('.')[2]}"
        kind = r.node.layer.name if n == 1 else f"{r.node.layer.name} ×{n}"
        row: tuple[str, ...] = (f"{name} ({kind})", _shape(r.shape), _count(r.params * n))
        if not chain:
            row += (", ".join("input_layer[0][0]" if j == INPUT else f"{names[j]}[0][0]" for j in r.node.inputs),)
        rows.append(row)
    header: tuple[str, ...] = ("Layer (type)", "Output Shape", "Param #") + (() if chain else ("Connected to",))
    widths = [max(w, *(len(row[k]) for row in rows), len(header[k])) + 2
              for k, w in enumerate((30, 24, 12, 24)[: len(header)])]  # fmt: skip

    def line(cells: tuple[str, ...]) -> str:
        out = ""
        for k, (cell, w) in enumerate(zip(cells, widths)):
            out += " " + (cell.rjust(w - 2) if k == 2 else cell.ljust(w - 2)) + " "
        return out.rstrip()

    total = sum(w for w in widths)
    trainable, params = a.trainable_params, a.total_params
    at = "" if not report.symbols else " (at " + ", ".join(f"{n}={a.graph.binding[n]}" for n in report.symbols) + ")"
    out = [f'Model: "{a.graph.name}"{at}', "_" * total, line(header), "=" * total]
    for k, row in enumerate(rows):
        out.append(line(row))
        out.append("=" * total if k == len(rows) - 1 else "_" * total)
    if len(runs) < len(a.layers):
        out.append(FOLD_NOTE)
    out += [f"Total params: {_count(params)} ({_keras_size(4 * params)})",
            f"Trainable params: {_count(trainable)} ({_keras_size(4 * trainable)})",
            f"Non-trainable params: {_count(params - trainable)} ({_keras_size(4 * (params - trainable))})",
            verification_line(report)]  # fmt: skip
    return "\n".join(out) + "\n"
