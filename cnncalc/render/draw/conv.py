"""The convolution figure: padded image, kernel and output, one window with its sum of products."""

from __future__ import annotations

from fractions import Fraction

from ...convolve import Convolution, Matrix, number
from ...errors import CnnCalcError
from .figure import Figure, heading
from .scene import Poly, Scene, Text, rect, text_width

PAD, CELL_FILL, WINDOW, KERNEL, RESULT = "#eeeeee", "#ffffff", "#ffe0b2", "#c8e6c9", "#ffcc80"
EDGE, HIGHLIGHT = "#9e9e9e", "#e65100"
WRAP = 78  # characters per line of the written sum


def _grid(scene: Scene, m: Matrix, x: float, y: float, cell: float, fill: dict[tuple[int, int], str], role: str,
          padding: int = 0) -> None:  # fmt: skip
    for i, row in enumerate(m):
        for j, v in enumerate(row):
            pad = i < padding or j < padding or i >= len(m) - padding or j >= len(row) - padding
            colour = fill.get((i, j), PAD if pad else CELL_FILL)
            cx, cy = x + j * cell, y + i * cell
            scene.add(Poly(rect(cx, cy, cx + cell, cy + cell), colour, EDGE, 0.8, role=role,
                           data={"row": str(i), "col": str(j)}))  # fmt: skip
            scene.add(Text(cx + cell / 2, cy + cell / 2 + 4, number(v), 11, "middle", False,
                           "#9e9e9e" if pad and (i, j) not in fill else "#222222", role=f"{role}-value"))  # fmt: skip


def _outline(scene: Scene, x: float, y: float, rows: int, cols: int, cell: float) -> None:
    scene.add(Poly(rect(x, y, x + cols * cell, y + rows * cell), "none", HIGHLIGHT, 2.2, role="window"))


UNITS = "rows and columns counted from 0, as torch indexes"
"""The convention every figure (this one and the receptive field's) counts units in, as it says on it."""


def sum_text(conv: Convolution, i: int, j: int) -> str:
    """``out[1,2] = 1·(−1) + 0·0 + ... = 4`` (rows and columns from 0, as in ``cnncalc convolve --steps``)."""
    terms = " + ".join(f"{number(x)}·{_paren(number(w))}" for x, w in conv.terms[i][j])
    return f"out[{i},{j}] = {terms} = {number(conv.output[i][j])}"


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _wrapped(text: str) -> list[str]:
    lines, line = [], ""
    for part in text.split(" + "):
        piece = part if not line else " + " + part
        if len(line) + len(piece) > WRAP and line:
            lines.append(line + " +")
            line = "    " + part
        else:
            line += piece
    return [*lines, line]


def draw_convolution(conv: Convolution, image: Matrix, at: tuple[int, int], title: str | None = None) -> Figure:
    """The figure for output element ``at`` (0-based row and column)."""
    i, j = at
    rows, cols = len(conv.output), len(conv.output[0])
    if not (0 <= i < rows and 0 <= j < cols):
        raise CnnCalcError(f"--at {i},{j} is not an output element; the output is {rows}x{cols}", None,
                           f"give a row 0..{rows - 1} and a column 0..{cols - 1} (counted from 0, as torch indexes)")  # fmt: skip
    p, s = conv.padding, conv.stride
    zero = Fraction(0)
    padded = [[zero] * (len(image[0]) + 2 * p) for _ in range(p)]
    padded += [[zero] * p + list(r) + [zero] * p for r in image]
    padded += [[zero] * (len(image[0]) + 2 * p) for _ in range(p)]
    kernel = conv.kernel_used
    kh, kw = len(kernel), len(kernel[0])
    values = [number(v) for m in (padded, kernel, conv.output) for r in m for v in r]
    cell = max(26.0, max(text_width(v, 11) for v in values) + 10)
    scene = Scene()
    window = {(i * s + a, j * s + b): WINDOW for a in range(kh) for b in range(kw)}
    _grid(scene, padded, 0, 0, cell, window, "image", p)
    _outline(scene, j * s * cell, i * s * cell, kh, kw, cell)
    x = len(padded[0]) * cell + 34
    top = (len(padded) - kh) * cell / 2
    scene.add(Text(x - 17, top + kh * cell / 2 + 6, "⋆" if not conv.flip else "∗", 18, "middle", True, role="operator"))
    _grid(scene, kernel, x, top, cell, {(a, b): KERNEL for a in range(kh) for b in range(kw)}, "kernel")
    x += kw * cell + 34
    scene.add(Text(x - 17, top + kh * cell / 2 + 6, "=", 18, "middle", True, role="operator"))
    otop = (len(padded) - rows) * cell / 2
    _grid(scene, conv.output, x, otop, cell, {(i, j): RESULT}, "output")
    _outline(scene, x + j * cell, otop + i * cell, 1, 1, cell)
    for c in range(cols):  # the output's indices, from 0: above its columns, right of its rows
        scene.add(Text(x + (c + 0.5) * cell, otop - 5, str(c), 9, "middle", False, "#888888", role="index"))
    for r in range(rows):
        scene.add(Text(x + cols * cell + 5, otop + (r + 0.5) * cell + 3, str(r), 9, "start", False, "#888888",
                       role="index"))  # fmt: skip
    y = len(padded) * cell + 16
    labels = [(0.0, len(padded[0]) * cell, f"image {len(image)}×{len(image[0])}" + (f", zero padding {p}" if p else "")),
              (len(padded[0]) * cell + 34, kw * cell, "kernel" + (" (flipped)" if conv.flip else "")),
              (x, cols * cell, f"output {rows}×{cols}")]  # fmt: skip
    for lx, width, text in labels:
        scene.add(Text(lx + width / 2, y, text, 10.5, "middle", False, "#444444", role="caption"))
    y += 26
    for line in _wrapped(sum_text(conv, i, j)):
        scene.add(Text(0, y, line, 12, "start", False, "#222222", role="sum"))
        y += 17
    kind = "convolution (kernel flipped)" if conv.flip else "cross-correlation (torch's conv2d)"
    line = f"{kind}, stride {s}: output element ({i}, {j})"
    heading(scene, title if title is not None else line, UNITS)
    scene.meta["window"] = (i, j)
    return Figure(scene.finish(), title or line)
