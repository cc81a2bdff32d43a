"""``--format keras``: the network as Keras' ``model.summary()`` prints it.

The columns ``Layer (type)``, ``Output Shape`` as ``(None, 26, 26, 32)`` and ``Param #``
(plus ``Connected to`` when the network is not a chain, after an ``InputLayer`` row, as
Keras prints a functional model), then the Total / Trainable / Non-trainable params
lines with their size in float32, as Keras 3 prints them: the same rich table, with
Keras' column positions and line length (88 or 108, at most the terminal's width - 4),
so the text is the same, character for character, wrapping and all. Names are the ids written in
the file, or the names Keras gives (``conv2d``, ``conv2d_1``, ``max_pooling2d``).
Shapes are channels last and parameters are counted as Keras counts them (a
BatchNormalization layer has 4C, 2C of them non-trainable), whatever the file's
convention.
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


def with_verification(report: ShapesReport, columns: int | None = None, expand: bool = False) -> str:
    """``--format keras``: the summary, then what torch verified (as the table's last line says it)."""
    return to_keras(report, columns, expand) + verification_line(report) + "\n"


def to_keras(report: ShapesReport, columns: int | None = None, expand: bool = False) -> str:
    """The summary text (at the default sizes when the file has symbols), laid out for a terminal ``columns`` wide
    (default: this terminal's, as Keras measures it); a layer repeated in a chain is one row,
    ``relu_1 … relu_9000 (ReLU ×9000)`` with the params of all of them, unless ``expand``."""
    import shutil

    import rich.console
    import rich.markup
    import rich.table

    from ..analysis.convention import keras_counts

    a = report.defaults if report.spec.convention == "keras" else keras_counts(report.defaults)
    origin = report.spec.origin
    classes = dict(origin.classes) if origin is not None else {}
    names = [r.node.name for r in a.layers]  # the table's names: Keras' own for Keras' types (graph/expand.py)
    chain = all(r.node.inputs == ((i - 1) if i else INPUT,) for i, r in enumerate(a.layers))
    # Keras prints a Sequential model's layers; a functional model's operations, its InputLayer first; a
    # subclassed model's layers, as a Sequential's
    subclassed = origin is not None and origin.model_class == "Subclassed"
    chain = chain or subclassed
    functional = origin.model_class not in ("Sequential", "Subclassed") if origin is not None else not chain
    input_name = origin.input_name if origin is not None else "input_layer"
    rows: list[tuple[str, ...]] = []
    if functional:
        rows.append((f"{rich.markup.escape(input_name)} (InputLayer)", _shape(a.graph.input_shape), "0", "-"))
    runs: list[list[int]] = []
    for i, r in enumerate(a.layers):
        tick(r.node.loc, "writing the summary")
        if subclassed and origin is not None and r.node.name in origin.operations:
            continue  # Keras lists a subclassed model's layers, not the operations of its call()
        if not expand and runs and _repeats(a.layers[runs[-1][-1]], r, runs[-1][-1]):
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        i, r, n = run[0], a.layers[run[0]], len(run)
        cls = classes.get(r.node.name, r.node.layer.name)
        name = names[i] if n == 1 else f"{names[i]} … {names[run[-1]].rpartition('.')[2]}"
        kind = cls if n == 1 else f"{cls} ×{n}"
        rows.append((f"{rich.markup.escape(name)} ({rich.markup.escape(kind)})", _shape(r.shape), _count(r.params * n),
                     ", ".join(f"{input_name}[0][0]" if j == INPUT else f"{names[j]}[0][0]" for j in r.node.inputs)))  # fmt: skip
    if chain:
        header, positions, default = ["Layer (type)", "Output Shape", "Param #"], [0.45, 0.80, 1.0], 88
        rows = [row[:3] for row in rows]
    else:
        header, positions, default = (
            ["Layer (type)", "Output Shape", "Param #", "Connected to"],
            [0.3, 0.56, 0.74, 1.0],
            108,
        )
    width = columns if columns is not None else shutil.get_terminal_size().columns
    line_length = max(min(default, width - 4), 16)
    widths, current = [], 0
    for pos in positions:
        widths.append(int(pos * line_length) - current)
        current += widths[-1]
    align = ["left", "left", "right", "left"]
    table = rich.table.Table(*(rich.table.Column(h, justify=align[k], width=widths[k])  # type: ignore[arg-type]
                               for k, h in enumerate(header)), width=line_length, show_lines=True)  # fmt: skip
    for row in rows:
        table.add_row(*row)
    trainable, params = a.trainable_params, a.total_params
    at = "" if not report.symbols else " (at " + ", ".join(f"{n}={a.graph.binding[n]}" for n in report.symbols) + ")"
    console = rich.console.Console(highlight=False, force_terminal=False, color_system=None, width=width)
    console.begin_capture()
    console.print(f'Model: "{rich.markup.escape(a.graph.name)}"{at}')
    console.print(table)
    if sum(map(len, runs)) > len(runs):
        console.print(FOLD_NOTE)
    console.print(f" Total params: {_count(params)} ({_keras_size(4 * params)})")
    console.print(f" Trainable params: {_count(trainable)} ({_keras_size(4 * trainable)})")
    console.print(f" Non-trainable params: {_count(params - trainable)} ({_keras_size(4 * (params - trainable))})")
    return console.end_capture()
