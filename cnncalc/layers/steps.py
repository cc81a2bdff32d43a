"""Worked-derivation steps shared by layer families (see ``LayerType.explain``).

The formulas here are the same rules the layers compute with; tests check that
every step's result equals the layer's derived value, and the value torch gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import symbolic as sym
from ..formula import BUFFERS, PARAMS, Expr, Step, ceil, exact, floor, frac, num, output_dim, product, var

LETTERS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
_UNITS = {"H": "row", "W": "column", "D": "slice", "L": "position"}


def letters(ndim: int) -> tuple[str, ...]:
    """``("H", "W")`` for 2-d layers."""
    return LETTERS[ndim]


def kernel_vars(ndim: int) -> list[Expr]:
    """``k_h, k_w`` (2-d), ``k`` (1-d)."""
    return [var("k")] if ndim == 1 else [var(f"k_{x.lower()}") for x in letters(ndim)]


def kernel_env(ndim: int, k: Sequence[Any]) -> dict[str, Any]:
    """Values for :func:`kernel_vars`."""
    return {"k": k[0]} if ndim == 1 else {f"k_{x.lower()}": v for x, v in zip(letters(ndim), k)}


def window_sizes(
    ndim: int, spatial: Sequence[Any], k: Sequence[Any], s: Sequence[Any], p: Sequence[Any],
    d: Sequence[Any], out: Sequence[Any], ceil_mode: bool = False,
) -> list[Step]:  # fmt: skip
    """``X_out = floor((X_in + 2p - d(k-1) - 1)/s) + 1`` per spatial dim, with notes where it floors."""
    steps: list[Step] = []
    seen: dict[tuple[Any, ...], str] = {}
    dilated = any(v != 1 for v in d)
    for j, x in enumerate(letters(ndim)):
        key = (spatial[j], k[j], s[j], p[j], d[j])
        if key in seen:
            steps.append(
                Step(
                    f"output {x}",
                    f"{x}_out",
                    statement=f"same numbers as {seen[key]}",
                    result=out[j],
                    quantity=output_dim(1 + j),
                )
            )
            continue
        seen[key] = x
        i = var(f"{x}_in")
        kv, sv, pv, dv = var("k"), var("s"), var("p"), var("d")
        reach = dv * (kv - 1) + 1 if dilated else kv
        numerator = i + 2 * pv - reach if not dilated else i + 2 * pv - dv * (kv - 1) - 1
        formula = (ceil if ceil_mode else floor)(frac(numerator, sv)) + 1
        env = {f"{x}_in": spatial[j], "k": k[j], "s": s[j], "p": p[j], "d": d[j]}
        note = _floor_note(numerator, env, x, p[j], ceil_mode, formula.value(env), out[j])
        steps.append(Step(f"output {x}", f"{x}_out", formula, env, out[j], note, quantity=output_dim(1 + j)))
    return steps


def _floor_note(numerator: Expr, env: dict[str, Any], x: str, pad: Any, ceil_mode: bool, raw: Any, out: Any) -> str:
    n, s = numerator.value(env), env["s"]
    if not (isinstance(n, int) and isinstance(s, int)) or n % s == 0:
        return ""
    q = n / s
    shown = f"{q:.6g}"
    if ceil_mode:
        note = f"({numerator.text(env)})/{s} = {shown}, ceil -> {-(-n // s)}"
        if out != raw:
            note += f"; the last window would start in the right padding, so torch drops it: {raw} -> {out}"
        return note
    r = n % s
    unit = _UNITS[x]
    uncovered = r - pad
    if uncovered <= 0:
        tail = f"only padding is left over; every input {unit} is covered"
    elif uncovered == 1:
        tail = f"the last {unit} of the input is never covered"
    else:
        tail = f"the last {uncovered} {unit}s of the input are never covered"
    return f"({numerator.text(env)})/{s} = {shown}, floor -> {n // s}: {tail}"


def channels(c_out: Any, name: str = "out_channels") -> Step:
    """``C_out = out_channels``."""
    return Step("output channels", "C_out", var(name), {name: c_out}, c_out, quantity=output_dim(0))


def conv_params(ndim: int, k: Sequence[Any], c_in: Any, c_out: Any, groups: Any, bias: bool,
                transposed: bool = False) -> Step:  # fmt: skip
    """``(k_h*k_w*C_in/g + 1)*C_out`` (``C_in*k_h*k_w*C_out/g + C_out`` transposed)."""
    g = var("g")
    env = {**kernel_env(ndim, k), "C_in": c_in, "C_out": c_out, "g": groups}
    ks = kernel_vars(ndim)
    if transposed:
        per = product([var("C_in"), *ks, frac(var("C_out"), g) if groups != 1 else var("C_out")])
        formula = per + var("C_out") if bias else per
    else:
        per = product([*ks, frac(var("C_in"), g) if groups != 1 else var("C_in")])
        formula = (per + 1) * var("C_out") if bias else per * var("C_out")
    return Step("parameters", "params", formula, env, exact(formula.value(env)),
                "" if bias else "bias: false, so no +1 per output channel", quantity=PARAMS)  # fmt: skip


def generic(layer: Any, a: Any, ins: Sequence[Any], out: Sequence[Any]) -> list[Step]:
    """Steps for layers without a formula of their own: the rule in words, and the results."""
    rules = layer.formulas()
    if tuple(out) == tuple(ins[0]) and not layer.merge:
        steps = [Step("output shape", statement="same as the input (the layer acts on each value or position)",
                      result=tuple(out))]  # fmt: skip
    else:
        rule = sym.readable_formula(rules.get("output", f"the {layer.name} rule"))
        steps = [Step("output shape", statement=rule, result=tuple(out))]
    params = layer.params(a, ins)
    if params != 0:
        steps.append(Step("parameters", "params", statement=rules.get("params", ""), result=params, quantity=PARAMS))
    buffers = layer.buffers(a, ins)
    if buffers != 0:
        steps.append(Step("buffers", "buffers", statement=rules.get("buffers", ""), result=buffers, quantity=BUFFERS))
    return steps


__all__ = ["Step", "channels", "conv_params", "generic", "kernel_env", "kernel_vars", "letters", "num", "window_sizes"]
