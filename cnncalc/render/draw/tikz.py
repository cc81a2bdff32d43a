"""Writing a :class:`Scene` as TikZ: a standalone LaTeX document with standard packages only.

Coordinates stay in the scene's pixels (``x=0.75pt, y=-0.75pt``: a CSS pixel is
0.75 pt, and y points down as in SVG), text is set in the document's sans serif
font at the same sizes, and colours are defined by ``\\definecolor`` (xcolor,
which TikZ loads). Compile it on its own (``pdflatex net.tex``) or ``\\input`` it in
a report whose preamble loads ``standalone`` and ``tikz``.
"""

from __future__ import annotations

from .scene import Line, Poly, Scene, Text

_MATH = {"×": r"$\times$", "⌊": r"$\lfloor$", "⌋": r"$\rfloor$", "⌈": r"$\lceil$", "⌉": r"$\rceil$", "·": r"$\cdot$",
         "≤": r"$\le$", "→": r"$\to$", "−": r"$-$", "✓": r"$\surd$", "✗": r"$\times$", "Σ": r"$\Sigma$",
         "…": r"\ldots{}", "–": "--", "⋆": r"$\star$", "∗": r"$\ast$", "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "%": r"\%", "&": r"\&",
         "#": r"\#", "$": r"\$", "^": r"\^{}", "~": r"\~{}"}  # fmt: skip
_ANCHOR = {"start": "base west", "middle": "base", "end": "base east"}


def tex_text(text: str) -> str:
    """Text for a TikZ node: TeX's special characters escaped, the math symbols as math."""
    return "".join(_MATH.get(c, c) for c in text)


def to_tikz(scene: Scene, title: str = "cnncalc figure") -> str:
    """The scene as a standalone LaTeX document holding one ``tikzpicture``."""
    colours: dict[str, str] = {}

    def colour(value: str) -> str:
        hex_value = {"white": "#ffffff", "black": "#000000"}.get(value, value).lstrip("#").upper()
        return colours.setdefault(hex_value, f"c{hex_value}")

    scale = float(scene.meta.get("scale", 1.0))  # type: ignore[arg-type]
    unit = 0.75 * scale  # a CSS pixel is 0.75 pt; a fitted figure is scaled, text included
    body = []
    for item in scene.items:
        if isinstance(item, Poly):
            opts = [f"line width={unit * item.width:.2f}pt", "line join=round"]
            if item.dash:
                opts.append("dashed")
            if item.opacity != 1:
                opts.append(f"fill opacity={item.opacity:g}")
            path = " -- ".join(_pt(p) for p in item.points) + " -- cycle"
            if item.fill == "none":
                body.append(rf"\draw[draw={colour(item.stroke)}, {', '.join(opts)}] {path};")
            else:
                body.append(rf"\filldraw[fill={colour(item.fill)}, draw={colour(item.stroke)}, {', '.join(opts)}] "
                            f"{path};")  # fmt: skip
        elif isinstance(item, Line):
            opts = [f"draw={colour(item.stroke)}", f"line width={unit * item.width:.2f}pt", "line join=round"]
            if item.arrow:
                opts.insert(0, "-stealth")
            if item.dash:
                opts.append("dashed")
            body.append(rf"\draw[{', '.join(opts)}] {' -- '.join(_pt(p) for p in item.points)};")
        elif isinstance(item, Text):
            size = unit * item.size
            weight = r"\bfseries" if item.bold else ""
            font = rf"\sffamily{weight}\fontsize{{{size:.2f}}}{{{1.2 * size:.2f}}}\selectfont"
            body.append(rf"\node[anchor={_ANCHOR[item.anchor]}, inner sep=0pt, text={colour(item.fill)}, "
                        rf"font={font}] at {_pt((item.x, item.y))} {{{tex_text(item.text)}}};")  # fmt: skip
    head = [f"% {tex_text(title)}",
            "% Made by cnncalc. Compile on its own (pdflatex FILE.tex), or \\input it in a report whose preamble",
            "% has \\usepackage{standalone} and \\usepackage{tikz}.",
            r"\documentclass[tikz,border=2pt]{standalone}", r"\begin{document}",
            rf"\begin{{tikzpicture}}[x={unit:.4g}pt, y=-{unit:.4g}pt]"]  # fmt: skip
    defs = [rf"\definecolor{{{name}}}{{HTML}}{{{value}}}" for value, name in colours.items()]
    return "\n".join([*head, *defs, *body, r"\end{tikzpicture}", r"\end{document}"]) + "\n"


def _pt(p: tuple[float, float]) -> str:
    return f"({p[0]:.2f},{p[1]:.2f})"
