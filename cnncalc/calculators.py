"""One-line calculators (``cnncalc conv/pool/convt/params``) without a file.

Each calculator writes a one-layer architecture, in the same format users write,
and runs it through the same pipeline: the derivation, the solver for unknown
quantities and the torch verification are the ones every file gets. The file is
the calculator's, not the user's, so nothing it reports may point into it: every
error and failed check is relocated to the command and the flags that gave the
value (:meth:`Calc.relocate`), ``cnncalc conv: error: -k 11: ...``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import CnnCalcError, Loc

UNKNOWN = "?"
UNKNOWN_WORDS = ("?", "auto")  # ? is a shell glob: auto is the spelling that needs no quotes
_DIMS = {1: ("",), 2: ("_h", "_w"), 3: ("_d", "_h", "_w")}
FLAGS = {"kernel_size": "-k", "stride": "-s", "padding": "-p", "dilation": "-d",
         "output_padding": "--output-padding", "input": "SIZE", "expect": "--out-size",
         "out_channels": "-f"}  # fmt: skip
SOLVED_FIRST = ("kernel_size", "stride", "padding")  # which missing quantity --out-size solves for


def parse_sizes(text: str, what: str) -> tuple[int | str, ...]:
    """``512``, ``512x512``, ``32x64x64``, ``3,5``, ``auto`` or ``?`` -> one entry per dim (``?`` = unknown)."""
    parts = [p.strip() for p in re.split(r"[x×,]", text.strip().lower()) if p.strip()]
    if not parts or len(parts) > 3:
        raise CnnCalcError(f"{what} {text!r}: expected 1 to 3 sizes like 512, 512x512 or 32x64x64", None,
                           "write auto for the unknown")  # fmt: skip
    out: list[int | str] = []
    for p in parts:
        if p in UNKNOWN_WORDS:
            out.append(UNKNOWN)
        elif p.isascii() and p.isdigit() and int(p) <= 2**40:
            out.append(int(p))
        else:
            raise CnnCalcError(f"{what} {text!r}: {p!r} is not a non-negative integer or auto", None)
    return tuple(out)


@dataclass(frozen=True)
class Calc:
    """A calculator's one-layer architecture: YAML text, what is unknown, and which flag wrote each line."""

    text: str
    unknowns: tuple[str, ...]
    command: str = "cnncalc"  # "cnncalc conv"
    flags: Mapping[int, str] = field(default_factory=dict)  # YAML line -> "-k 11", "SIZE 3x227x227"
    hint: str = ""  # said with any failure: a likely misreading of the command line
    defaults_used: tuple[str, ...] = ()  # quantities left at their defaults although --out-size was given
    layer: Mapping[str, Any] = field(default_factory=dict)  # the generated layer (unknowns as symbol names)

    @property
    def loc(self) -> Loc:
        """The command itself: errors read ``cnncalc conv: error: ...``, never a line of the generated file."""
        return Loc(self.command, 0, 0)

    def relocate(self, e: CnnCalcError) -> CnnCalcError:
        """The same error, located at the command and the flag that gave the value, never in the YAML."""
        flag = self.flags.get(e.loc.line, "") if e.loc is not None and e.loc.file == self.command else ""
        message = _unlabelled(e.message)
        if flag and not message.startswith(flag):
            message = f"{flag}: {message}"
        hint = "; ".join(h for h in (e.hint, self.hint) if h) or None
        return CnnCalcError(message, self.loc, hint)

    def failed_expectation(self, derived: Sequence[Any]) -> CnnCalcError:
        """``--out-size 112 does not hold``: the output that the given quantities make instead."""
        out = self.flags.get(-1, "--out-size")
        flags = [v for k, v in sorted(self.flags.items()) if k > 0 and not v.startswith(("SIZE", "--out"))]
        given = " ".join(dict.fromkeys(flags))
        missing = [FLAGS[q] for q in self.defaults_used]
        hint = (f"write {' or '.join(f'{m} auto' for m in missing)} to solve for one of them" if missing
                else "write auto for the quantity to solve for, e.g. -p auto")  # fmt: skip
        spatial = "×".join(str(d) for d in derived[1:])
        verb = "give" if len(dict.fromkeys(flags)) > 1 else "gives"
        return CnnCalcError(f"{out} does not hold: {given or 'the defaults'} {verb} {spatial}", self.loc,
                            "; ".join(h for h in (hint, self.hint) if h))  # fmt: skip

    def order(self, values: Mapping[str, int]) -> tuple[int, ...]:
        """The sort key of a solution: the conventional answer first (see ``conventional``)."""
        n = len(self.layer.get("kernel_size", ())) or 1

        def per_dim(arg: str, default: int) -> list[int]:
            got = self.layer.get(arg)
            vals = [default] * n if got is None else list(got)
            return [values[v] if isinstance(v, str) else int(v) for v in vals]

        kind = str(self.layer.get("type", ""))
        kernel = per_dim("kernel_size", 1)
        stride = per_dim("stride", 1) if "stride" in self.layer or not kind.endswith(("Pool1d", "Pool2d", "Pool3d")) \
            else kernel  # fmt: skip
        return conventional(kind, kernel, stride, per_dim("padding", 0), per_dim("dilation", 1),
                            per_dim("output_padding", 0))  # fmt: skip

    def label(self, _condition: Any = None) -> str:
        """How a solved constraint is named: the flag that gave it."""
        return self.flags.get(-1, "--out-size")

    def reason(self, text: str) -> str:
        """A refusal without the generated layer's id (``MaxPool1d: padding 1 is more than half ...``)."""
        return re.sub(r"(\w+) '[a-z]+'(: )", r"\1\2", text)

    def unknown(self, u: Any) -> str:
        """``Unknown p (-p, searched 0..112)``: an unknown named by its flag, not by the generated layer."""
        base, _, dim = u.name.partition("_")
        flag = {"k": "-k", "s": "-s", "p": "-p", "d": "-d", "op": "--output-padding", "i": "SIZE"}.get(base, base)
        which = {"d": "depth", "h": "height", "w": "width"}.get(dim, "")
        return f"Unknown {u.name} ({flag}{', ' + which if which else ''}; searched {u.low}..{u.high})"


def conventional(kind: str, kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int],
                 dilation: Sequence[int], output_padding: Sequence[int]) -> tuple[int, ...]:  # fmt: skip
    """The calculators' ordering of solutions, the conventional answer first (smaller keys first), summed over dims:

    1. windows that cover every input unit: an effective kernel ``d·(k − 1) + 1`` at least the stride (a
       transposed convolution: every output unit receives an input);
    2. a pool whose stride is its kernel (windows that tile: k = 2, s = 2 halves); a convolution with an odd
       kernel and 'same'-style padding ``p = d·(k − 1)/2`` (k = 3, s = 2, p = 1 halves); a transposed
       convolution whose kernel is a multiple of its stride (no checkerboard: k = 4, s = 2, p = 1 doubles);
    3. no padding beyond half the effective kernel (``p ≤ (d·(k − 1))//2``), or the least beyond it;
    4. then the smaller kernel, padding, dilation, stride and output padding, in that order.
    """
    dims = list(zip(kernel, stride, padding, dilation, output_padding))
    eff = [d * (k - 1) + 1 for k, _, _, d, _ in dims]
    gaps = sum(e < s for e, (_, s, *_) in zip(eff, dims))
    if "Pool" in kind:
        odd = sum(s != k for k, s, *_ in dims)
    elif kind.startswith("ConvTranspose"):
        odd = sum(k % s != 0 for k, s, *_ in dims)
    else:
        odd = sum(k % 2 == 0 or p != (e - 1) // 2 for e, (k, _, p, _, _) in zip(eff, dims))
    excess = sum(max(0, p - (e - 1) // 2) for e, (_, _, p, _, _) in zip(eff, dims))
    return (gaps, odd, excess, sum(kernel), sum(padding), sum(dilation), sum(stride), sum(output_padding))


def _unlabelled(message: str) -> str:
    """``Conv2d 'conv': kernel ...`` -> ``Conv2d: kernel ...`` (the calculator's layer id means nothing here)."""
    return re.sub(r"^(\w+) '[a-z]+'(: )", r"\1\2", message)


def _line_flags(text: str, given: Mapping[str, str]) -> dict[int, str]:
    """Which flag wrote each line of the generated YAML (``kernel_size:`` and its items -> ``-k 11``)."""
    out: dict[int, str] = {}
    key = ""
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*(?:-\s+)?(\w+):", line)
        if m is not None:
            key = m.group(1)
        if key in given:
            out[n] = given[key]
    return out


def window_layer(kind: str, size: str, quantities: Mapping[str, str | None], out: str | None,
                 extra: Mapping[str, Any] | None = None, in_channels: int | None = None,
                 out_channels: int | None = None, command: str = "cnncalc") -> Calc:  # fmt: skip
    """The architecture for ``cnncalc conv|pool|convt SIZE -k .. [-c C] [-f F] [--out-size ..]``.

    ``quantities`` maps an argument (kernel_size, stride, padding, dilation, output_padding)
    to its text, or None when not given. With ``out``, every ``auto`` (or ``?``) is unknown;
    without one, a missing kernel size is the unknown; with the kernel given, a missing
    stride or padding is, when it is the only one missing; with both missing they keep
    their defaults (stride 1, or the kernel for pooling; padding 0) and the output is checked.
    """
    dims = parse_sizes(size, "SIZE")
    n = len(dims)
    outs = parse_sizes(out, "--out-size") if out is not None else None
    if outs is not None and len(outs) not in (1, n):
        raise CnnCalcError(f"--out-size {out!r} has {len(outs)} sizes but SIZE {size!r} has {n}", None)
    per_dim = len(set(dims)) > 1 or (outs is not None and len(set(outs)) > 1)
    symbols: dict[str, None] = {}

    def entries(name: str, short: str, values: Sequence[int | str]) -> list[Any]:
        if len(values) not in (1, n):
            raise CnnCalcError(f"{name} has {len(values)} values but SIZE {size!r} has {n} dims", None)
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

    texts = dict(quantities)
    defaults_used: tuple[str, ...] = ()
    explicit = any(t is not None and UNKNOWN in parse_sizes(t, FLAGS[a]) for a, t in texts.items()) or UNKNOWN in dims
    if outs is not None and not explicit:
        missing = [a for a in SOLVED_FIRST if a in texts and texts[a] is None]
        if "kernel_size" in missing:
            texts["kernel_size"] = UNKNOWN
        elif len(missing) == 1:
            texts[missing[0]] = UNKNOWN
        else:
            defaults_used = tuple(missing)
    layer: dict[str, Any] = {"type": f"{kind}{n}d", "id": kind.lower()}
    if kind.startswith("Conv"):
        layer["out_channels"] = out_channels or 1
    shorts = {"kernel_size": "k", "stride": "s", "padding": "p", "dilation": "d", "output_padding": "op"}
    given = {"input": f"SIZE {size}"}
    if out_channels is not None:
        given["out_channels"] = f"-f {out_channels}"
    for arg, text in texts.items():
        if text is None and arg == "kernel_size":
            raise CnnCalcError("give the kernel size (-k 3), or the output size to solve for it (--out-size 30)", None)
        if text is None:
            continue
        layer[arg] = entries(arg, shorts[arg], parse_sizes(text, FLAGS[arg]))
        written = quantities.get(arg)
        given[arg] = f"{FLAGS[arg]} {written}" if written is not None else f"{FLAGS[arg]} auto (--out-size)"
    input_sizes = entries("SIZE", "i", dims)
    if symbols and outs is None:
        raise CnnCalcError(f"{', '.join(symbols)} unknown: give the output size with --out-size to solve for it",
                           None)  # fmt: skip
    if outs is not None:
        if UNKNOWN in outs:
            raise CnnCalcError("--out-size must be known sizes", None, "write auto on the quantity to solve for")
        layer["expect"] = [out_channels or 1, *(list(outs) * (n if len(outs) == 1 else 1))]
        given["expect"] = f"--out-size {out}"
    layer.update(extra or {})
    doc = {"cnncalc": 1, "name": f"{kind.lower()} calculator", "input": [in_channels or 1, *input_sizes],
           "layers": [layer]}  # fmt: skip
    if symbols:
        doc["symbols"] = symbols
    text = yaml.safe_dump(doc, sort_keys=False)
    flags = _line_flags(text, given)
    if outs is not None:
        flags[-1] = given["expect"]
    hint = ""
    if n == 3 and in_channels is None and isinstance(dims[0], int) and 1 <= dims[0] <= 4:
        rest = "x".join(map(str, dims[1:]))
        hint = f"did you mean {dims[0]} channels of {rest}? use -c {dims[0]} {rest}"
    return Calc(text, tuple(symbols), command, flags, hint, defaults_used, layer)


def macs_step(kind: str, kernel: Sequence[Any], c_in: Any, c_out: Any, groups: Any, in_spatial: Sequence[Any],
              out_spatial: Sequence[Any], macs: Any) -> Any:  # fmt: skip
    """``MACs = C_out·H_out·W_out·(k_h·k_w·C_in)``: each output value is one dot product (transposed:
    each input value is spread over ``k_h·k_w·C_out`` outputs). Checked against the layer's own rule."""
    from .formula import Quantity, Step, frac, product, var
    from .layers.steps import kernel_env, kernel_vars, letters

    nd = len(kernel)
    xs = letters(nd)
    ks = kernel_vars(nd)
    g = var("g")
    transposed = kind == "ConvTranspose"
    sizes = [var(f"{x}_in" if transposed else f"{x}_out") for x in xs]
    spread = frac(var("C_out" if transposed else "C_in"), g) if groups != 1 else var("C_out" if transposed else "C_in")
    formula = product([var("C_in" if transposed else "C_out"), *sizes, *ks, spread])
    env = {**kernel_env(nd, kernel), "C_in": c_in, "C_out": c_out, "g": groups,
           **{f"{x}_in": i for x, i in zip(xs, in_spatial)}, **{f"{x}_out": o for x, o in zip(xs, out_spatial)}}  # fmt: skip
    value = formula.value(env)
    if value != macs:  # a bug: the shown formula must be the layer's rule
        raise AssertionError(f"MACs formula gives {value}, the layer's rule {macs}")
    from .analysis.cost import human_count

    why = ("each output value is one multiply-add per weight it uses" if not transposed else
           "each input value is multiplied into every output its kernel reaches")  # fmt: skip
    return Step("multiply-adds", "MACs", formula, env, macs, f"{human_count(macs)}; {why}", quantity=Quantity("macs"))


PARAM_KINDS = ("conv", "convt", "linear", "batchnorm")


def params_layer(kind: str, kernel: str | None, c_in: int, c_out: int | None, groups: int, bias: bool,
                 dims: int, channels_last: bool = False) -> Calc:  # fmt: skip
    """The architecture for ``cnncalc params KIND``: an input just large enough for one output
    (written (H, W, C) when ``channels_last``, as ``--convention keras`` reads it)."""
    if kind in ("conv", "convt"):
        if kernel is None:
            raise CnnCalcError(f"params {kind} needs the kernel size, e.g. -k 5", None)
        if c_out is None:
            raise CnnCalcError(f"params {kind} needs the output channels, e.g. -f 32", None)
        ks = parse_sizes(kernel, "-k")
        if UNKNOWN in ks or 0 in ks:
            raise CnnCalcError(f"-k {kernel!r}: give positive sizes", None)
        n = len(ks) if len(ks) > 1 else dims
        ks = ks * (n if len(ks) == 1 else 1)
        layer: dict[str, Any] = {"type": f"{'ConvTranspose' if kind == 'convt' else 'Conv'}{n}d",
                                 "out_channels": c_out, "kernel_size": list(ks), "groups": groups, "bias": bias}  # fmt: skip
        shape = [c_in, *(ks if kind == "conv" else [1] * n)]
    elif kind == "linear":
        if c_out is None:
            raise CnnCalcError("params linear needs the output features, e.g. --out-features 10", None)
        layer, shape = {"type": "Linear", "out_features": c_out, "bias": bias}, [c_in]
    else:
        layer, shape = {"type": "BatchNorm2d"}, [c_in, 2, 2]
    layer["id"] = kind
    if channels_last and len(shape) > 1:
        shape = [*shape[1:], shape[0]]
    doc = {"cnncalc": 1, "name": f"{kind} parameters", "input": shape, "layers": [layer]}
    return Calc(yaml.safe_dump(doc, sort_keys=False), (), f"cnncalc params {kind}")
