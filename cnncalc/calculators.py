"""One-line calculators (``cnncalc conv/pool/convt/params``) without a file.

Each calculator writes a one-layer architecture, in the same format users write,
and runs it through the same pipeline: the derivation, the solver for ``?``
quantities and the torch verification are the ones every file gets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import CnnCalcError

UNKNOWN = "?"
_DIMS = {1: ("",), 2: ("_h", "_w"), 3: ("_d", "_h", "_w")}


def parse_sizes(text: str, what: str) -> tuple[int | str, ...]:
    """``512``, ``512x512``, ``32x64x64``, ``3,5`` or ``?`` -> one entry per dim (``?`` = unknown)."""
    parts = [p.strip() for p in re.split(r"[x×,]", text.strip().lower()) if p.strip()]
    if not parts or len(parts) > 3:
        raise CnnCalcError(f"{what} {text!r}: expected 1 to 3 sizes like 512, 512x512 or 32x64x64", None,
                           "use ? for the unknown")  # fmt: skip
    out: list[int | str] = []
    for p in parts:
        if p == UNKNOWN:
            out.append(UNKNOWN)
        elif p.isdigit() and int(p) <= 2**40:
            out.append(int(p))
        else:
            raise CnnCalcError(f"{what} {text!r}: {p!r} is not a non-negative integer or ?", None)
    return tuple(out)


@dataclass(frozen=True)
class Calc:
    """A calculator's one-layer architecture: YAML text, the quantity names, what is unknown."""

    text: str
    unknowns: tuple[str, ...]


def window_layer(kind: str, size: str, quantities: Mapping[str, str | None], out: str | None,
                 extra: Mapping[str, Any] | None = None) -> Calc:  # fmt: skip
    """The architecture for ``cnncalc conv|pool|convt SIZE -k .. [--out ..]``.

    ``quantities`` maps an argument (kernel_size, stride, padding, dilation, output_padding)
    to its text, or None when not given. With ``out``, a missing kernel_size and every ``?``
    become unknowns solved from ``expect``.
    """
    dims = parse_sizes(size, "input size")
    n = len(dims)
    outs = parse_sizes(out, "--out") if out is not None else None
    if outs is not None and len(outs) not in (1, n):
        raise CnnCalcError(f"--out {out!r} has {len(outs)} sizes but the input has {n}", None)
    per_dim = len(set(dims)) > 1 or (outs is not None and len(set(outs)) > 1)
    symbols: dict[str, None] = {}

    def entries(name: str, short: str, values: Sequence[int | str]) -> list[Any]:
        if len(values) not in (1, n):
            raise CnnCalcError(f"{name} has {len(values)} values but the input has {n} dims", None)
        vals = list(values) * (n if len(values) == 1 else 1)
        res: list[Any] = []
        for j, v in enumerate(vals):
            if v == UNKNOWN:
                sym_name = short + (_DIMS[n][j] if per_dim and n > 1 else "")
                symbols[sym_name] = None
                res.append(sym_name)
            else:
                res.append(v)
        return res

    layer: dict[str, Any] = {"type": f"{kind}{n}d", "id": kind.lower()}
    if kind.startswith("Conv"):
        layer["out_channels"] = 1
    shorts = {"kernel_size": "k", "stride": "s", "padding": "p", "dilation": "d", "output_padding": "op"}
    for arg, text in quantities.items():
        if text is None and arg == "kernel_size":
            if outs is None:
                raise CnnCalcError("give the kernel size (-k 3) or the output size to solve for it (--out 30)", None)
            text = UNKNOWN
        if text is None:
            continue
        layer[arg] = entries(arg, shorts[arg], parse_sizes(text, arg))
    input_sizes = entries("input size", "i", dims)
    if symbols and outs is None:
        raise CnnCalcError(f"{', '.join(symbols)} unknown: give the output size with --out to solve for it", None)
    if outs is not None:
        if UNKNOWN in outs:
            raise CnnCalcError("--out must be known sizes", None, "put ? on the quantity to solve for")
        layer["expect"] = [1, *(list(outs) * (n if len(outs) == 1 else 1))]
    layer.update(extra or {})
    doc = {"cnncalc": 1, "name": f"{kind.lower()} calculator", "input": [1, *input_sizes], "layers": [layer]}
    if symbols:
        doc["symbols"] = symbols
    return Calc(yaml.safe_dump(doc, sort_keys=False), tuple(symbols))


PARAM_KINDS = ("conv", "convt", "linear", "batchnorm")


def params_layer(kind: str, kernel: str | None, c_in: int, c_out: int | None, groups: int, bias: bool,
                 dims: int) -> Calc:  # fmt: skip
    """The architecture for ``cnncalc params KIND``: an input just large enough for one output."""
    if kind in ("conv", "convt"):
        if kernel is None:
            raise CnnCalcError(f"params {kind} needs the kernel size, e.g. -k 5", None)
        if c_out is None:
            raise CnnCalcError(f"params {kind} needs --out (output channels)", None)
        ks = parse_sizes(kernel, "kernel size")
        if UNKNOWN in ks or 0 in ks:
            raise CnnCalcError(f"kernel size {kernel!r}: give positive sizes", None)
        n = len(ks) if len(ks) > 1 else dims
        ks = ks * (n if len(ks) == 1 else 1)
        layer: dict[str, Any] = {"type": f"{'ConvTranspose' if kind == 'convt' else 'Conv'}{n}d",
                                 "out_channels": c_out, "kernel_size": list(ks), "groups": groups, "bias": bias}  # fmt: skip
        shape = [c_in, *(ks if kind == "conv" else [1] * n)]
    elif kind == "linear":
        if c_out is None:
            raise CnnCalcError("params linear needs --out (output features)", None)
        layer, shape = {"type": "Linear", "out_features": c_out, "bias": bias}, [c_in]
    else:
        layer, shape = {"type": "BatchNorm2d"}, [c_in, 2, 2]
    layer["id"] = kind
    doc = {"cnncalc": 1, "name": f"{kind} parameters", "input": shape, "layers": [layer]}
    return Calc(yaml.safe_dump(doc, sort_keys=False), ())
