"""Worked derivations as plain text, Markdown or a LaTeX document (``cnncalc explain``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import symbolic as sym
from ..analysis.derivation import LayerDerivation
from ..formula import Step, exact
from .rows import count_text, shape_text


def _total(ds: Sequence[LayerDerivation]) -> tuple[list[str], Any]:
    parts = [d.params for d in ds if d.params != 0]
    return [count_text(p) for p in parts], sum(parts, 0)


def _verified(status: bool | None) -> str:
    return {True: "verified with torch", False: "torch DISAGREES (see the errors)", None: "not verified"}[status]


def _step_text(s: Step) -> str:
    if s.formula is None:
        result = "" if s.result is None else f" -> {_result(s.result)}"
        return f"{s.label}: {s.statement}{result}"
    return f"{s.label}: {s.lhs} = " + " = ".join(s.forms())


def _result(v: Any) -> str:
    if isinstance(v, tuple):
        return shape_text(v)
    return sym.to_text(exact(v))


def to_text(title: str, ds: Sequence[LayerDerivation], verified: Sequence[bool | None], footer: Sequence[str]) -> str:
    """Plain text, one indented block per layer."""
    out = [title, ""]
    for d, ok in zip(ds, verified):
        where = "" if str(d.loc.file).startswith("cnncalc ") else f" · line {d.loc.line}"  # calculators: no file
        out.append(f"{d.name} · {d.call}{where}")
        ins = ", ".join(shape_text(s) for s in d.in_shapes)
        out.append(f"  input {ins} -> output {shape_text(d.out_shape)}  ({_verified(ok)})")
        for s in d.steps:
            out.append("  " + _step_text(s))
            if s.note:
                out.append(f"    note: {s.note}")
        out.append("")
    parts, total = _total(ds)
    if len(ds) > 1:
        out.append(f"Total parameters = {' + '.join(parts) or '0'} = {count_text(total)}")
    out += list(footer)
    return "\n".join(out) + "\n"


def to_markdown(title: str, ds: Sequence[LayerDerivation], verified: Sequence[bool | None],
                footer: Sequence[str]) -> str:  # fmt: skip
    """Markdown: a heading per layer, each step a bullet with the working in code spans."""
    out = [f"## {title}", ""]
    for d, ok in zip(ds, verified):
        out.append(f"### `{d.name}`: `{d.call}`")
        out.append("")
        ins = ", ".join(shape_text(s) for s in d.in_shapes)
        out.append(f"Input `{ins}` → output `{shape_text(d.out_shape)}` ({_verified(ok)}).")
        out.append("")
        for s in d.steps:
            if s.formula is None:
                res = "" if s.result is None else f" → `{_result(s.result)}`"
                out.append(f"- **{s.label}**: {s.statement}{res}")
            else:
                out.append(f"- **{s.label}**: `{s.lhs} = " + " = ".join(s.forms()) + "`")
            if s.note:
                out.append(f"  - *note*: {s.note}")
        out.append("")
    parts, total = _total(ds)
    if len(ds) > 1:
        out.append(f"**Total parameters** = `{' + '.join(parts) or '0'} = {count_text(total)}`")
        out.append("")
    out += [f"{line}  " for line in footer]
    return "\n".join(out) + "\n"


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip


def tex_escape(text: str) -> str:
    """Escape text for LaTeX's text mode."""
    return "".join(_TEX_ESCAPES.get(c, c) for c in text).replace("×", r"$\times$").replace("->", r"$\to$")


def _tex_count(v: Any) -> str:
    if isinstance(v, int):
        return f"{v:,}".replace(",", "{,}")
    import sympy

    return str(sympy.latex(v))


def _tex_lhs(lhs: str) -> str:
    base, _, sub = lhs.partition("_")
    if len(base) > 1:
        base = rf"\mathrm{{{base}}}"
    return f"{base}_{{\\mathrm{{{sub}}}}}" if sub else base


def to_latex(title: str, ds: Sequence[LayerDerivation], verified: Sequence[bool | None], footer: Sequence[str]) -> str:
    """A complete LaTeX document (article, amsmath): a section per layer, an align* per formula."""
    out = [r"\documentclass{article}", r"\usepackage{amsmath}", r"\usepackage[T1]{fontenc}",
           r"\usepackage[utf8]{inputenc}", r"\begin{document}", rf"\section*{{{tex_escape(title)}}}"]  # fmt: skip
    for d, ok in zip(ds, verified):
        out.append(rf"\subsection*{{{tex_escape(d.name)}: \texttt{{{tex_escape(d.call)}}}}}")
        ins = ", ".join(shape_text(s) for s in d.in_shapes)
        out.append(tex_escape(f"Input {ins} -> output {shape_text(d.out_shape)} ({_verified(ok)})."))
        out.append(r"\begin{itemize}")
        for s in d.steps:
            if s.formula is None:
                res = "" if s.result is None else f" -> {_result(s.result)}"
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
    parts = [d.params for d in ds if d.params != 0]
    if len(ds) > 1:
        joined = " + ".join(_tex_count(p) for p in parts) or "0"
        out.append(rf"\paragraph{{Total parameters}} $ {joined} = {_tex_count(sum(parts, 0))} $")
    for line in footer:
        out.append(tex_escape(line) + r"\par")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"
