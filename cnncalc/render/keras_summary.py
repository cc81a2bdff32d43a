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
from ..graph.expand import INPUT
from ..keras.config import snake_case
from ..layers import in_layout
from ..report import ShapesReport


def _keras_size(n_bytes: int) -> str:
    """Keras 3's ``readable_memory_size``: ``364.54 KB`` (powers of 1024)."""
    units = ["B", "KB", "MB", "GB", "TB"]
    value, unit = float(n_bytes), 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    return f"{value:.2f} {units[unit]}"


def _shape(shape: tuple[Any, ...]) -> str:
    dims = ["None", *(str(d) if sym.is_concrete(d) else "None" for d in in_layout(shape, True))]
    return "(" + ", ".join(dims) + (",)" if len(dims) == 1 else ")")


def to_keras(report: ShapesReport, columns: int | None = None) -> str:
    """The summary text (at the default sizes when the file has symbols), laid out for a terminal ``columns`` wide
    (default: this terminal's, as Keras measures it)."""
    import shutil

    import rich.console
    import rich.markup
    import rich.table

    from ..analysis.convention import keras_counts

    a = report.defaults if report.spec.convention == "keras" else keras_counts(report.defaults)
    origin = report.spec.origin
    classes = dict(origin.classes) if origin is not None else {}
    counts: dict[str, int] = {}
    names = []
    for r in a.layers:
        if r.node.id is not None:
            names.append(r.node.name)
            continue
        base = snake_case(r.node.layer.name)
        n = counts.get(base, 0)
        counts[base] = n + 1
        names.append(base if n == 0 else f"{base}_{n}")
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
    for i, r in enumerate(a.layers):
        if subclassed and origin is not None and r.node.name in origin.operations:
            continue  # Keras lists a subclassed model's layers, not the operations of its call()
        cls = classes.get(r.node.name, r.node.layer.name)
        rows.append((f"{rich.markup.escape(names[i])} ({rich.markup.escape(cls)})", _shape(r.shape), f"{r.params:,}",
                     ", ".join(f"{input_name}[0][0]" if j == INPUT else f"{names[j]}[0][0]" for j in r.node.inputs)))  # fmt: skip
    if chain:
        header, positions, default = ["Layer (type)", "Output Shape", "Param #"], [0.45, 0.80, 1.0], 88
        rows = [row[:3] for row in rows]
    else:
        header, positions, default = ["Layer (type)", "Output Shape", "Param #", "Connected to"], [0.3, 0.56, 0.74, 1.0], 108
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
    console.print(f" Total params: {params:,} ({_keras_size(4 * params)})")
    console.print(f" Trainable params: {trainable:,} ({_keras_size(4 * trainable)})")
    console.print(f" Non-trainable params: {params - trainable:,} ({_keras_size(4 * (params - trainable))})")
    return console.end_capture()
