"""torchinfo's table layout with the columns asked for (``col_names``, ``col_width``, ``row_settings``).

The numbers are the report's (torch's own); the layout is torchinfo's: a tree of ``Type: depth-idx``
rows, one column per name, the totals under it. A cell wider than its column widens the column:
a number is never cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..pymodel.report import ModuleReport
from ..pymodel.stats import LayerInfo, Totals

HEADERS = {"kernel_size": "Kernel Shape", "groups": "Groups", "input_size": "Input Shape",
           "output_size": "Output Shape", "num_params": "Param #", "params_percent": "Param %",
           "mult_adds": "Mult-Adds", "trainable": "Trainable"}  # fmt: skip
_FACTORS = {"T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "": 1.0}


def _units(value: Any) -> str:
    return str(getattr(value, "value", value))


def number(num: int | float, units: Any = "auto") -> str:
    """torchinfo's totals: `` (M): 7.69``, or the exact count with ``Units.NONE``."""
    unit = _units(units)
    if unit == "auto":
        unit = "T" if num >= 1e12 else "G" if num >= 1e9 else "M"
    value = num / _FACTORS.get(unit, 1.0)
    shown = f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"
    return (f" ({unit})" if unit else "") + f": {shown}"


def _cell(layer: LayerInfo, column: str, total: int, at_cut: bool) -> str:
    inclusive = layer.is_leaf_layer or at_cut
    if column == "input_size":
        return str(layer.input_size) if layer.executed or layer.input_size else "--"
    if column == "output_size":
        return str(layer.output_size) if layer.output_size else "--"
    if column == "num_params":
        if layer.is_recursive:
            return "(recursive)"
        shown = layer.num_params if inclusive else layer.own_params
        return f"{shown:,}" if shown else "--"
    if column == "params_percent":
        shown = layer.num_params if inclusive else layer.own_params
        return f"{100 * shown / total:.2f}%" if shown and total and not layer.is_recursive else "--"
    if column == "kernel_size":
        return str(layer.kernel_size) if layer.kernel_size else "--"
    if column == "groups":
        return str(layer.groups) if layer.groups is not None else "--"
    if column == "mult_adds":
        shown = layer.macs if inclusive else layer.own_macs
        return f"{shown:,}" if shown else "--"
    if column == "trainable":
        return layer.trainable
    return "--"


def _name(layer: LayerInfo, rows: frozenset[str], top: bool) -> str:
    ascii_only = "ascii_only" in rows
    label = f"{layer.var_name} ({layer.class_name})" if "var_names" in rows and not top else layer.class_name
    if "depth" in rows and not top:
        label += f": {layer.depth}-{layer.depth_index}"
    if top:
        return label
    indent = ("|    " if ascii_only else "│    ") * (layer.depth - 1)
    return indent + ("+ " if ascii_only else "├─") + label


def render(rep: ModuleReport, layers: Sequence[LayerInfo], totals: Totals, options: Any, depth: int | None) -> str:
    """The table as text."""
    rows: frozenset[str] = options.rows
    columns = list(options.columns)
    total = rep.counts.params
    shown = [r for r in layers if (depth is None or r.depth <= depth)
             and not ("hide_recursive_layers" in rows and r.is_recursive)]  # fmt: skip
    header = (
        "Layer (type" + (" (var_name)" if "var_names" in rows else "") + (":depth-idx)" if "depth" in rows else ")")
    )
    body = [[_name(r, rows, r.depth == 0), *(_cell(r, c, total, depth is not None and r.depth == depth)
                                            for c in columns)] for r in shown]  # fmt: skip
    heads = [header, *(HEADERS[c] for c in columns)]
    widths = [max(40, len(header) + 1, *(len(b[0]) + 1 for b in body))]
    for j, _ in enumerate(columns, 1):
        widths.append(max(options.col_width, len(heads[j]) + 1, *(len(b[j]) + 1 for b in body)))

    def line(cells: Sequence[str]) -> str:
        return "".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    rule = "=" * sum(widths)
    out = [rule, line(heads), rule, *(line(b) for b in body), rule]
    trainable = rep.counts.trainable
    out += [
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    if rep.ran:
        out.append(f"Total mult-adds{number(rep.run_macs, options.macs_units)}")
        out.append(rule)
        mb = [totals.total_input / 1e6, totals.total_output_bytes / 1e6, totals.total_param_bytes / 1e6]
        out += [
            f"Input size (MB): {mb[0]:0.2f}",
            f"Forward/backward pass size (MB): {mb[1]:0.2f}",
            f"Params size (MB): {mb[2]:0.2f}",
            f"Estimated Total Size (MB): {sum(mb):0.2f}",
        ]
    out.append(rule)
    if rep.crash is not None:
        out.append(rep.crash.line())
    out += [f"Note: {n}" for n in rep.notes]
    return "\n".join(out)


__all__ = ["render"]
