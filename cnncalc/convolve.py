"""A small numeric 2-d convolution with its working (``cnncalc convolve``).

torch and most courses call cross-correlation "convolution": the kernel slides
over the zero-padded image unflipped, ``out[i][j] = sum_ab x[i*s + a][j*s + b] * w[a][b]``.
``flip`` rotates the kernel by 180 degrees first, which gives the convolution of
signal processing. Arithmetic is exact (Fractions); :func:`torch_check` compares
with ``torch.nn.functional.conv2d`` in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .errors import CnnCalcError

Matrix = list[list[Fraction]]


def parse_matrix(text: str, what: str) -> Matrix:
    """``"1 0 2; 3 2 0"`` (rows split by ``;`` or new lines, values by spaces or commas)."""
    rows = [r for r in (row.replace(",", " ").split() for row in text.replace("\n", ";").split(";")) if r]
    if not rows:
        raise CnnCalcError(f"{what} is empty", None, 'write rows separated by ";", e.g. "1 0 2; 3 2 0"')
    if len(rows) > 64 or any(len(r) > 64 for r in rows):
        raise CnnCalcError(f"{what} is larger than 64x64", None, "this is a calculator for small examples")
    out = []
    for n, row in enumerate(rows, 1):
        if len(row) != len(rows[0]):
            raise CnnCalcError(f"{what} row {n} has {len(row)} values, row 1 has {len(rows[0])}", None,
                               "every row needs the same number of values")  # fmt: skip
        try:
            values = [Fraction(v) if len(v) <= 32 else Fraction("nan") for v in row]
        except (ValueError, ZeroDivisionError):
            bad = next(v for v in row if len(v) > 32 or not _is_number(v))
            if len(bad) > 32:
                raise CnnCalcError(f"{what} row {n}: a value of {len(bad)} characters", None, _RANGE_HINT) from None
            raise CnnCalcError(f"{what} row {n}: {bad!r} is not a number", None) from None
        for v, text in zip(values, row):
            if abs(v) > MAX_VALUE or v.denominator > MAX_VALUE:
                raise CnnCalcError(f"{what} row {n}: {text!r} is out of range", None, _RANGE_HINT)
        out.append(values)
    return out


MAX_VALUE = 10**12
"""Largest magnitude (and finest step, 1/MAX_VALUE) of a value: exact arithmetic on small examples stays fast."""
_RANGE_HINT = "values are numbers from -1e12 to 1e12 with at most 12 decimals, e.g. 1, -0.5, 3/4"


def _is_number(v: str) -> bool:
    try:
        Fraction(v)
    except (ValueError, ZeroDivisionError):
        return False
    return True


@dataclass(frozen=True)
class Convolution:
    """The result, and per output element the products that were summed."""

    output: Matrix
    terms: list[list[list[tuple[Fraction, Fraction]]]]  # [i][j] -> (input value, kernel value) pairs
    kernel_used: Matrix  # flipped when ``flip``
    padding: int
    stride: int
    flip: bool


def convolve(image: Matrix, kernel: Matrix, padding: int | str = 0, stride: int = 1, flip: bool = False) -> Convolution:
    """Cross-correlate (or, with ``flip``, convolve) ``image`` with ``kernel``; ``padding='same'`` keeps the size."""
    kh, kw = len(kernel), len(kernel[0])
    if padding == "same":
        if kh != kw or kh % 2 == 0 or stride != 1:
            raise CnnCalcError(f"padding 'same' needs an odd square kernel and stride 1, found {kh}x{kw}, stride {stride}",
                               None, "give the padding as a number")  # fmt: skip
        padding = (kh - 1) // 2
    assert isinstance(padding, int)
    h, w = len(image) + 2 * padding, len(image[0]) + 2 * padding
    if kh > h or kw > w:
        raise CnnCalcError(f"the {kh}x{kw} kernel is larger than the padded {h}x{w} image", None,
                           "add padding or use a smaller kernel")  # fmt: skip
    k = [row[::-1] for row in kernel[::-1]] if flip else kernel
    padded = [[Fraction(0)] * w for _ in range(padding)]
    padded += [[Fraction(0)] * padding + row + [Fraction(0)] * padding for row in image]
    padded += [[Fraction(0)] * w for _ in range(padding)]
    out, terms = [], []
    for i in range(0, h - kh + 1, stride):
        out_row, term_row = [], []
        for j in range(0, w - kw + 1, stride):
            pairs = [(padded[i + a][j + b], k[a][b]) for a in range(kh) for b in range(kw)]
            out_row.append(sum((x * y for x, y in pairs), Fraction(0)))
            term_row.append(pairs)
        out.append(out_row)
        terms.append(term_row)
    return Convolution(out, terms, k, padding, stride, flip)


def torch_check(image: Matrix, kernel: Matrix, result: Convolution) -> str | None:
    """None when ``torch.nn.functional.conv2d`` gives the same matrix, else a description of the difference."""
    from .verify.torchload import import_torch

    torch = import_torch()
    x = torch.tensor([[[[float(v) for v in row] for row in image]]], dtype=torch.float64)
    w = torch.tensor([[[[float(v) for v in row] for row in result.kernel_used]]], dtype=torch.float64)
    got = torch.nn.functional.conv2d(x, w, stride=result.stride, padding=result.padding)[0, 0].tolist()
    want = [[float(v) for v in row] for row in result.output]
    if len(got) != len(want) or any(len(a) != len(b) for a, b in zip(got, want)):
        return f"torch gives a {len(got)}x{len(got[0]) if got else 0} result"
    worst = max(abs(a - b) for ra, rb in zip(got, want) for a, b in zip(ra, rb))
    scale = max([1.0] + [abs(v) for row in want for v in row])
    return None if worst <= 1e-9 * scale else f"torch differs by up to {worst:g}"


def number(v: Fraction) -> str:
    """``3``, ``-1.5`` or ``1/3``."""
    if v.denominator == 1:
        return str(v.numerator)
    f = float(v)
    return f"{f:g}" if Fraction(f"{f:g}") == v else f"{v.numerator}/{v.denominator}"
