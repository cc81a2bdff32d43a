"""``cnncalc convolve`` output: the operation, the matrix, and each element's sum of products."""

from __future__ import annotations

from ..convolve import Convolution, Matrix, number
from .derivation import tex_escape


def _kind(c: Convolution) -> str:
    if c.flip:
        return "True convolution (--flip): the kernel is rotated by 180 degrees, then slid over the image."
    return ("Cross-correlation, which torch's conv2d and most courses call convolution: the kernel slides over the "
            "image unflipped (--flip gives the true convolution).")  # fmt: skip


def _grid(m: Matrix) -> list[str]:
    cells = [[number(v) for v in row] for row in m]
    width = max(len(c) for row in cells for c in row)
    return ["  ".join(c.rjust(width) for c in row) for row in cells]


def _product(x: str, y: str) -> str:
    return f"{x}*({y})" if y.startswith("-") else f"{x}*{y}"


def _steps(c: Convolution) -> list[str]:
    out = []
    for i, row in enumerate(c.terms):
        for j, pairs in enumerate(row):
            sums = " + ".join(_product(number(x), number(w)) for x, w in pairs)
            out.append(f"out[{i},{j}] = {sums} = {number(c.output[i][j])}")
    return out


def _header(image: Matrix, kernel: Matrix, c: Convolution) -> str:
    return (f"Image {len(image)}x{len(image[0])}, kernel {len(kernel)}x{len(kernel[0])}, zero padding {c.padding}, "
            f"stride {c.stride} -> output {len(c.output)}x{len(c.output[0])}")  # fmt: skip


def to_text(image: Matrix, kernel: Matrix, c: Convolution, steps: bool, check: str) -> str:
    """Plain text."""
    lines = [_kind(c), _header(image, kernel, c)]
    if c.flip:
        lines += ["Flipped kernel:", *("  " + r for r in _grid(c.kernel_used))]
    lines += ["Output:", *("  " + r for r in _grid(c.output))]
    if steps:
        lines += ["Working (rows and columns from 0, as torch indexes):", *("  " + s for s in _steps(c))]
    lines.append(check)
    return "\n".join(lines) + "\n"


def to_markdown(image: Matrix, kernel: Matrix, c: Convolution, steps: bool, check: str) -> str:
    """Markdown: the output as a table, the working as a list."""
    lines = [_kind(c), "", _header(image, kernel, c), ""]
    n = len(c.output[0])
    lines.append("| " + " | ".join(f"col {j}" for j in range(n)) + " |")
    lines.append("|" + "---:|" * n)
    lines += ["| " + " | ".join(number(v) for v in row) + " |" for row in c.output]
    if steps:
        lines += ["", *(f"- `{s}`" for s in _steps(c))]
    lines += ["", check]
    return "\n".join(lines) + "\n"


def _bmatrix(m: Matrix) -> str:
    return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(number(v) for v in row) for row in m) + r"\end{bmatrix}"


def to_latex(image: Matrix, kernel: Matrix, c: Convolution, steps: bool, check: str) -> str:
    """A complete LaTeX document with the matrices (amsmath)."""
    op = r"\circledast" if c.flip else r"\star"
    lines = [r"\documentclass{article}", r"\usepackage{amsmath}", r"\usepackage{amssymb}", r"\begin{document}",
             tex_escape(_kind(c)) + r"\par", tex_escape(_header(image, kernel, c)) + r"\par",
             r"\[", f"{_bmatrix(image)} {op} {_bmatrix(kernel)} = {_bmatrix(c.output)}", r"\]"]  # fmt: skip
    if steps:
        lines.append(r"\begin{itemize}")
        lines += [r"\item " + tex_escape(s) for s in _steps(c)]
        lines.append(r"\end{itemize}")
    lines += [tex_escape(check) + r"\par", r"\end{document}"]
    return "\n".join(lines) + "\n"
