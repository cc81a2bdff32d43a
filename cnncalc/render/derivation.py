"""Worked derivations as plain text, Markdown or a LaTeX document (``cnncalc explain``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import symbolic as sym
from ..analysis.cost import human_count
from ..analysis.derivation import LayerDerivation
from ..budget import tick
from ..formula import exact
from ..report import Explanation
from .formats import point_text, verification_line
from .notation import count_text, shape_text


def _total(ds: Sequence[tuple[LayerDerivation, Any, int, str]], tex: bool = False) -> tuple[list[str], Any]:
    """The terms of the parameter sum (``3·2,432`` for a folded run) and the total."""
    text = _tex_count if tex else count_text
    parts = [(d.params, n) for d, _, n, _ in ds if d.params != 0]
    mul = r" \cdot " if tex else "·"
    return [text(p) if n == 1 else f"{n}{mul}{text(p)}" for p, n in parts], sum((p * n for p, n in parts), 0)


def _verified(status: bool | None) -> str:
    return {True: "verified with torch", False: "torch DISAGREES (see the errors)", None: "not verified"}[status]


def _result(v: Any, count: bool = False, expl: Explanation | None = None) -> str:
    if isinstance(v, tuple):
        return shape_text(expl.report.readable(v) if expl is not None else v)
    return sym.to_text(exact(v), grouping=count)


@dataclass(frozen=True)
class _Style:
    """How plain text and Markdown differ; the layout is the same."""

    heading: str  # the title line
    layer: str  # a layer's heading line
    io: str  # the input -> output line
    statement: str  # a step in words
    formula: str  # a step with its working
    note: str
    total: str
    footer: str  # each footer line
    blank_after_layer_head: bool


_TEXT = _Style("{title}\n", "{name} · {call}{where}", "  input {ins} -> output {out}  ({status})",
               "  {label}: {statement}{result}", "  {label}: {working}", "    note: {note}",
               "Total parameters = {sum} = {total}", "{line}", False)  # fmt: skip
_MARKDOWN = _Style("## {title}\n", "### `{name}`: `{call}`", "Input `{ins}` → output `{out}` ({status}).\n",
                   "- **{label}**: {statement}{result}", "- **{label}**: `{working}`", "  - *note*: {note}",
                   "**Total parameters** = `{sum} = {total}`\n", "{line}  ", True)  # fmt: skip


def folded(expl: Explanation) -> list[tuple[LayerDerivation, bool | None, int, str]]:
    """The derivations people read, each with its verdict, and a layer repeated in a chain with the same working
    (``repeat: 9000`` of a ReLU) as one: ``(derivation, verified, count, last name)``. Checks the time limit."""
    layers = expl.report.main.layers
    out: list[tuple[LayerDerivation, bool | None, int, str]] = []
    prev: LayerDerivation | None = None
    for d, ok in zip(expl.derivations, expl.verified):
        tick(d.loc, "writing the derivations")
        if out and prev is not None and out[-1][1] == ok and _repeats(prev, d, layers):
            first, verdict, n, _ = out[-1]
            out[-1] = (first, verdict, n + 1, d.name)
        else:
            out.append((d, ok, 1, d.name))
        prev = d
    return out


def _repeats(a: LayerDerivation, b: LayerDerivation, layers: Sequence[Any]) -> bool:
    """Whether ``b`` repeats ``a``: fed by it, the same line and scope, the same call, shapes and working."""
    return (layers[b.index].node.inputs == (a.index,) and a.loc == b.loc and a.call == b.call
            and a.name.rpartition(".")[0] == b.name.rpartition(".")[0]
            and (a.in_shapes, a.out_shape, a.params, a.steps) == (b.in_shapes, b.out_shape, b.params, b.steps))  # fmt: skip


def _folded_name(d: LayerDerivation, n: int, last: str) -> str:
    return d.name if n == 1 else f"{d.name} … {last.rpartition('.')[2]} (×{n}, each)"


def _render(style: _Style, expl: Explanation) -> str:
    arrow = " -> " if style is _TEXT else " → "
    out = [style.heading.format(title=expl.title)]
    runs = folded(expl)
    for d, ok, n, last in runs:
        # calculators and live models have no file line to name
        where = "" if str(d.loc.file).startswith("cnncalc ") or d.loc.line <= 0 else f" · line {d.loc.line}"
        out.append(style.layer.format(name=_folded_name(d, n, last), call=d.call, where=where))
        if style.blank_after_layer_head:
            out.append("")
        ins = ", ".join(shape_text(expl.report.readable(s)) for s in d.in_shapes)
        out.append(style.io.format(ins=ins, out=shape_text(expl.report.readable(d.out_shape)), status=_verified(ok)))
        for s in d.steps:
            if s.formula is None:
                shown = _result(s.result, s.is_count, expl)
                result = "" if s.result is None else (f"{arrow}{shown}" if style is _TEXT else f" → `{shown}`")
                out.append(style.statement.format(label=s.label, statement=s.statement, result=result))
            else:
                out.append(style.formula.format(label=s.label, working=f"{s.lhs} = " + " = ".join(s.forms())))
            if s.note:
                out.append(style.note.format(note=s.note))
        out.append("")
    parts, total = _total(runs)
    if expl.whole:
        shown = " + ".join(parts) or "0"
        out.append(style.total.format(sum=shown, total=count_text(total)).replace(f"{shown} = {shown}", shown))
    out += [style.footer.format(line=line) for line in footer(expl)]
    return "\n".join(out) + "\n"


def footer(expl: Explanation) -> list[str]:
    """The lines after the derivations: validity conditions, then what torch verified."""
    report = expl.report
    lines = []
    if report.symbols:
        d = report.defaults
        lines.append(f"At {point_text(report)}: output {shape_text(report.readable(d.output_shape))}, params "
                     f"{count_text(d.total_params)}"
                     + (f", MACs {human_count(report.cost_at_defaults.total_macs)}" if report.cost_at_defaults else ""))  # fmt: skip
        lines.append("Valid when: " + (", ".join(report.conditions) if report.conditions else "any positive size"))
    lines.append(verification_line(report))
    return lines


def to_text(expl: Explanation) -> str:
    """Plain text, one indented block per layer."""
    return _render(_TEXT, expl)


def to_markdown(expl: Explanation) -> str:
    """Markdown: a heading per layer, each step a bullet with the working in code spans."""
    return _render(_MARKDOWN, expl)


def render(expl: Explanation, fmt: str) -> str:
    """``text``, ``markdown`` or ``latex``."""
    return {"text": to_text, "markdown": to_markdown, "latex": to_latex}[fmt](expl)


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip


_TEX_MATH = {"×": r"$\times$", "·": r"$\cdot$", "−": "-", "⌊": r"$\lfloor$", "⌋": r"$\rfloor$", "⌈": r"$\lceil$",
             "⌉": r"$\rceil$", "≤": r"$\leq$", "≥": r"$\geq$", "≈": r"$\approx$", "⇒": r"$\Rightarrow$"}  # fmt: skip


def tex_escape(text: str) -> str:
    """Escape text for LaTeX's text mode (the readable math signs become their math-mode commands)."""
    escaped = "".join(_TEX_ESCAPES.get(c, _TEX_MATH.get(c, c)) for c in text)
    return escaped.replace("->", r"$\to$")


def _tex_count(v: Any) -> str:
    if isinstance(v, int):
        return sym.scientific_latex(v) if abs(v) >= sym.HUGE else f"{v:,}".replace(",", "{,}")
    import sympy

    return str(sympy.latex(v))


def _tex_lhs(lhs: str) -> str:
    base, _, sub = lhs.partition("_")
    if len(base) > 1:
        base = rf"\mathrm{{{base}}}"
    return f"{base}_{{\\mathrm{{{sub}}}}}" if sub else base


def to_latex(expl: Explanation) -> str:
    """A complete LaTeX document (article, amsmath): a section per layer, an align* per formula."""
    title, shown = expl.title, folded(expl)
    out = [r"\documentclass{article}", r"\usepackage{amsmath}", r"\usepackage[T1]{fontenc}",
           r"\usepackage[utf8]{inputenc}", r"\begin{document}", rf"\section*{{{tex_escape(title)}}}"]  # fmt: skip
    for d, ok, n, last in shown:
        out.append(rf"\subsection*{{{tex_escape(_folded_name(d, n, last))}: \texttt{{{tex_escape(d.call)}}}}}")
        ins = ", ".join(shape_text(expl.report.readable(s)) for s in d.in_shapes)
        out.append(
            tex_escape(f"Input {ins} -> output {shape_text(expl.report.readable(d.out_shape))} ({_verified(ok)}).")
        )
        out.append(r"\begin{itemize}")
        for s in d.steps:
            if s.formula is None:
                res = "" if s.result is None else f" -> {_result(s.result, s.is_count, expl)}"
                out.append(rf"\item \textbf{{{tex_escape(s.label)}}}: {tex_escape(s.statement + res)}")
            else:
                forms = s.forms(tex=True)
                out.append(rf"\item \textbf{{{tex_escape(s.label)}}}:")
                out.append(r"\begin{align*}")
                out.append(f"  {_tex_lhs(s.lhs)} &= {forms[0]}" + "".join(rf" \\ &= {f}" for f in forms[1:]))
                out.append(r"\end{align*}")
            if s.note:
                out.append(rf"\emph{{Note:}} {tex_escape(s.note)}")
        out.append(r"\end{itemize}")
    parts, whole = _total(shown, tex=True)
    if expl.whole:
        joined = " + ".join(parts) or "0"
        total = _tex_count(whole)
        out.append(rf"\paragraph{{Total parameters}} $ {joined if joined == total else joined + ' = ' + total} $")
    report = expl.report
    if report.symbols:
        dflt = report.defaults
        at = ", ".join(f"${n} = {dflt.graph.binding[n]}$" for n in report.symbols)
        out.append("At " + at + tex_escape(f": output {shape_text(report.readable(dflt.output_shape))}, params "
                                           f"{count_text(dflt.total_params)}.") + r"\par")  # fmt: skip
        conds = ", ".join(f"${c}$" for c in tex_conditions(report)) or "any positive size"
        out.append(f"Valid when: {conds}." + r"\par")
    out.append(tex_escape(verification_line(report)) + r"\par")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def tex_conditions(report: Any) -> list[str]:
    """The validity conditions as LaTeX math: ``H \\geq 8``, ``H \\bmod 4 = 0``, ``\\lfloor ... \\rfloor``."""
    sol = report.solution
    if sol is None:
        return []
    out = []
    for r in sol.ranges.values():
        if r.only is not None:
            out.append(f"{r.name} \\in \\{{{', '.join(map(str, r.only))}\\}}")
            continue
        if r.minimum > 1:
            out.append(f"{r.name} \\geq {r.minimum}")
        if r.modulus > 1 and len(r.residues) < r.modulus:
            one = len(r.residues) == 1
            rest = str(r.residues[0]) if one else "\\{" + ", ".join(map(str, r.residues)) + "\\}"
            relation = "=" if one else "\\in"
            out.append(f"{r.name} \\bmod {r.modulus} {relation} {rest}")
    if sol.coupled:
        import sympy

        out += [str(sympy.latex(c.expr)) for c in sol.coupled]
    return out
