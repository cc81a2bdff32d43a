"""The calculators' answers as text: what ``cnncalc conv|pool|convt|params`` print, for every front end.

The command line echoes an :class:`Answer`; the web page shows the same one. The work is the
core's (:mod:`cnncalc.calculators` writes the one-layer file, :mod:`cnncalc.pipeline` derives,
solves and verifies it); this module only puts the pieces of text in the CLI's order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import CnnCalcError, Loc

EXIT_OK, EXIT_CHECK = 0, 1


@dataclass(frozen=True)
class Calculator:
    """What a size calculator was asked: the layer kind, its quantities, and how to answer."""

    kind: str
    command: str
    size: str
    quantities: Mapping[str, str | None]
    out: str | None
    extra: Mapping[str, bool] | None = None
    c_in: int | None = None
    c_out: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class Answer:
    """A calculator's answer: its standard output, its error lines (stderr) and its exit code."""

    out: str
    err: tuple[str, ...]
    code: int


def in_command(command: str, run: Callable[[], Answer]) -> Answer:
    """Errors without a location (a bad SIZE) read ``cnncalc conv: error: ...`` too."""
    try:
        return run()
    except CnnCalcError as e:
        raise e.at(Loc(f"cnncalc {command}", 0, 0)) from None


def window_answer(c: Calculator, fmt: str = "text", verify: bool = True) -> Answer:
    """``cnncalc conv|pool|convt SIZE ...``: the working, solved for ``auto`` unknowns, checked with torch."""

    def run() -> Answer:
        from ..calculators import window_layer

        calc = window_layer(c.kind, c.size, c.quantities, c.out, c.extra, c.c_in, c.c_out, f"cnncalc {c.command}")
        try:
            return _window(c, calc, fmt, verify)
        except CnnCalcError as e:
            raise calc.relocate(e) from None

    return in_command(c.command, run)


def _window(c: Calculator, calc: Any, fmt: str, verify: bool) -> Answer:
    from ..calculators import macs_step, parse_sizes
    from ..parse.spec import parse_text
    from ..pipeline import explain as derive_steps
    from ..pipeline import solve_file
    from . import solution
    from .derivation import render

    out: list[str] = []
    err: list[str] = []
    spec = parse_text(calc.text, calc.command)
    values: dict[str, int] = {}
    if calc.unknowns:
        report = solve_file(spec, {}, c.high, verify=verify)
        out.append(solution.to_text(report, "", calc, next_step=False) + "\n")
        first = next((cand for cand in report.solved.candidates if cand.accepted), None)
        if first is None:
            unknowns = ", ".join(f"{u.name} in {u.low}..{u.high}" for u in report.solved.unknowns)
            err.append(f"{calc.command}: error: no {unknowns} gives {calc.label()}; hint: --max N searches further")
            return Answer("".join(out), tuple(err), EXIT_CHECK)
        err.extend(f"{calc.command}: error: {calc.reason(line)}" for line in report.disagreements)
        values = dict(first.values)
        out.append(f"Working for {', '.join(f'{k} = {v}' for k, v in values.items())}:\n")
    channels = c.c_in is not None or c.c_out is not None
    n = len(parse_sizes(c.size, "SIZE"))
    shown = f"{c.c_in or 1}×{c.size.replace('x', '×')}" if channels else c.size
    only = ("output", "parameters") if channels else ("output L", "output D", "output H", "output W")
    expl = derive_steps(spec, values, None, verify=verify, only=only, title=f"{c.kind}{n}d on input {shown}")
    if channels:
        r, cost = expl.report.main.layers[0], expl.report.cost_at_defaults
        ins = expl.report.main.graph.input_shape
        if cost is not None and c.kind.startswith("Conv"):
            macs = macs_step(c.kind, r.args["kernel_size"], ins[0], r.shape[0], r.args["groups"], ins[1:], r.shape[1:],
                             cost.macs[0])  # fmt: skip
            d = expl.derivations[0]
            expl = dataclasses.replace(expl, derivations=(dataclasses.replace(d, steps=(*d.steps, macs)),))
    expl = dataclasses.replace(expl, whole=channels)
    out.append(render(expl, fmt))
    for f in expl.report.failures:
        found = expl.report.main.output_shape
        e = calc.failed_expectation(found) if f.name == "expect" else calc.relocate(CnnCalcError(f.message, f.loc))
        err.append(e.format())
    return Answer("".join(out), tuple(err), EXIT_OK if expl.report.ok else EXIT_CHECK)


def params_answer(kind: str, kernel: str | None, c_in: int, c_out: int | None, groups: int = 1, bias: bool = True,
                  dims: int = 2, fmt: str = "text", verify: bool = True, convention: str | None = None) -> Answer:  # fmt: skip
    """``cnncalc params KIND ...``: the parameter count of one layer, with the working, checked with torch."""

    def run() -> Answer:
        from ..calculators import params_layer
        from ..parse.spec import parse_text
        from ..pipeline import explain as derive_steps
        from .derivation import render

        calc = params_layer(kind, kernel, c_in, c_out, groups, bias, dims, convention == "keras")
        try:
            spec = parse_text(calc.text, calc.command)
            expl = derive_steps(spec, {}, None, verify=verify, only=("parameters", "buffers"),
                                title=f"parameters of {kind}", convention=convention)  # fmt: skip
        except CnnCalcError as e:
            raise calc.relocate(e) from None
        err = tuple(calc.relocate(CnnCalcError(f.message, f.loc)).format() for f in expl.report.failures)
        return Answer(render(expl, fmt), err, EXIT_OK if expl.report.ok else EXIT_CHECK)

    return in_command(f"params {kind}", run)
