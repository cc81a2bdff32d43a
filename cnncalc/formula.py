"""Small formula trees for worked derivations: one tree gives the general formula,
the formula with numbers substituted, an intermediate line, and the exact value,
as plain text or LaTeX.

A tree is built from :func:`var`, :func:`num` and Python operators plus
:func:`floor`, :func:`ceil` and :func:`frac` (written ``⌊x⌋``, ``⌈x⌉`` and ``a/b``, with ``·`` and ``−``); variables get values from an
environment (ints, or sympy expressions for symbolic sizes). Values are exact:
``/`` inside ``floor`` is evaluated with :func:`cnncalc.symbolic.floordiv`, never
with floats.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from . import symbolic as sym

Env = Mapping[str, Any]

_ADD, _MUL, _ATOM = 1, 2, 3  # precedence
_SUBSCRIPTS = ("in", "out", "h", "w", "d", "eff")


class Expr:
    """A formula node."""

    prec = _ATOM

    def text(self, env: Env | None = None) -> str:
        """Plain text; with ``env``, variables are replaced by their values."""
        raise NotImplementedError

    def latex(self, env: Env | None = None) -> str:
        """LaTeX math (no surrounding ``$``)."""
        raise NotImplementedError

    def value(self, env: Env) -> Any:
        """The exact value (int, Fraction or sympy expression)."""
        raise NotImplementedError

    def reduced(self, env: Env) -> Expr:
        """The intermediate form: the argument of every floor/ceil evaluated to one fraction."""
        return self

    def __add__(self, other: Expr | int) -> Expr:
        return Sum(((1, self), (1, _wrap(other))))

    def __sub__(self, other: Expr | int) -> Expr:
        return Sum(((1, self), (-1, _wrap(other))))

    def __mul__(self, other: Expr | int) -> Expr:
        return Product((self, _wrap(other)))

    def __rmul__(self, other: int) -> Expr:
        return Product((_wrap(other), self))


def _wrap(x: Expr | int) -> Expr:
    return x if isinstance(x, Expr) else Num(x)


def _paren(child: Expr, prec: int, env: Env | None, tex: bool) -> str:
    s = child.latex(env) if tex else child.text(env)
    own = child.prec
    if env is not None and isinstance(child, Var) and child.name in env:
        own = _value_prec(env[child.name])
    if own < prec:
        return f"\\left({s}\\right)" if tex else f"({s})"
    return s


def _value_prec(v: Any) -> int:
    """How tightly a substituted value binds: ``H - 4`` is a sum, ``-3`` and ``H/2`` need care too."""
    if isinstance(v, Fraction):
        return _ATOM if v.denominator == 1 and v >= 0 else _ADD
    if sym.is_concrete(v):
        return _ATOM if v >= 0 else _ADD
    if v.is_Add or (v.could_extract_minus_sign()):
        return _ADD
    return _MUL if v.is_Mul or v.is_Rational else _ATOM


def _value_text(v: Any, tex: bool, grouping: bool = False) -> str:
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return _value_text(v.numerator, tex, grouping)
        return f"\\frac{{{v.numerator}}}{{{v.denominator}}}" if tex else f"{v.numerator}/{v.denominator}"
    if isinstance(v, int) and tex:
        if abs(v) >= sym.HUGE:
            return sym.scientific_latex(v)
        return f"{v:,}".replace(",", "{,}") if grouping else str(v)
    if sym.is_concrete(v) or not tex:
        return sym.to_text(v, grouping)
    import sympy

    return str(sympy.latex(v))


@dataclass(frozen=True)
class Var(Expr):
    """A named quantity, e.g. ``k`` or ``H_in``; ``tex`` overrides its LaTeX."""

    name: str
    tex: str = ""

    def text(self, env: Env | None = None) -> str:
        return _value_text(env[self.name], False) if env is not None and self.name in env else self.name

    def latex(self, env: Env | None = None) -> str:
        if env is not None and self.name in env:
            return _value_text(env[self.name], True)
        if self.tex:
            return self.tex
        base, _, sub = self.name.partition("_")
        if sub in _SUBSCRIPTS:
            base = base if len(base) == 1 else f"\\mathrm{{{base}}}"
            return f"{base}_{{\\mathrm{{{sub}}}}}"
        return self.name if len(self.name) == 1 else "\\mathrm{" + self.name.replace("_", "\\_") + "}"

    def value(self, env: Env) -> Any:
        return env[self.name]


@dataclass(frozen=True)
class Num(Expr):
    """A literal (or an evaluated sub-result)."""

    v: Any

    @property
    def prec(self) -> int:  # type: ignore[override]
        return _ATOM if sym.is_concrete(self.v) and self.v >= 0 else _ADD

    def text(self, env: Env | None = None) -> str:
        return _value_text(self.v, False)

    def latex(self, env: Env | None = None) -> str:
        return _value_text(self.v, True)

    def value(self, env: Env) -> Any:
        return self.v


@dataclass(frozen=True)
class Sum(Expr):
    """``a + b - c``: terms with signs."""

    terms: tuple[tuple[int, Expr], ...]
    prec = _ADD

    def _render(self, env: Env | None, tex: bool) -> str:
        out = ""
        for n, (sign, t) in enumerate(self.terms):
            s = _paren(t, _ADD if sign > 0 else _MUL, env, tex)
            minus = r"-" if tex else "−"
            out += s if n == 0 and sign > 0 else f" {'+' if sign > 0 else minus} {s}" if n else f"{minus}{s}"
        return out

    def text(self, env: Env | None = None) -> str:
        return self._render(env, False)

    def latex(self, env: Env | None = None) -> str:
        return self._render(env, True)

    def value(self, env: Env) -> Any:
        total: Any = 0
        for sign, t in self.terms:
            total = total + sign * t.value(env)
        return total

    def reduced(self, env: Env) -> Expr:
        return Sum(tuple((s, t.reduced(env)) for s, t in self.terms))

    def __add__(self, other: Expr | int) -> Expr:
        return Sum((*self.terms, (1, _wrap(other))))

    def __sub__(self, other: Expr | int) -> Expr:
        return Sum((*self.terms, (-1, _wrap(other))))


@dataclass(frozen=True)
class Product(Expr):
    """``a * b``."""

    factors: tuple[Expr, ...]
    prec = _MUL

    def text(self, env: Env | None = None) -> str:
        return "·".join(_paren(f, _MUL, env, False) for f in self.factors)

    def latex(self, env: Env | None = None) -> str:
        return r" \cdot ".join(_paren(f, _MUL, env, True) for f in self.factors)

    def value(self, env: Env) -> Any:
        out: Any = 1
        for f in self.factors:
            out = out * f.value(env)
        return out

    def reduced(self, env: Env) -> Expr:
        return Product(tuple(f.reduced(env) for f in self.factors))

    def __mul__(self, other: Expr | int) -> Expr:
        return Product((*self.factors, _wrap(other)))


@dataclass(frozen=True)
class Frac(Expr):
    """``a / b`` (exact)."""

    num: Expr
    den: Expr
    prec = _MUL

    def text(self, env: Env | None = None) -> str:
        return f"{_paren(self.num, _ATOM, env, False)}/{_paren(self.den, _ATOM, env, False)}"

    def latex(self, env: Env | None = None) -> str:
        return f"\\frac{{{self.num.latex(env)}}}{{{self.den.latex(env)}}}"

    def value(self, env: Env) -> Any:
        n, d = self.num.value(env), self.den.value(env)
        if sym.is_concrete(n) and sym.is_concrete(d):
            return Fraction(n, d)
        return sym.truediv(n, d)

    def reduced(self, env: Env) -> Expr:
        return Frac(Num(self.num.value(env)), Num(self.den.value(env)))


@dataclass(frozen=True)
class Round(Expr):
    """``floor(x)`` or ``ceil(x)``; ``x`` is usually a :class:`Frac`."""

    arg: Expr
    up: bool = False

    def text(self, env: Env | None = None) -> str:
        return f"⌈{self.arg.text(env)}⌉" if self.up else f"⌊{self.arg.text(env)}⌋"

    def latex(self, env: Env | None = None) -> str:
        left, right = (r"\lceil", r"\rceil") if self.up else (r"\lfloor", r"\rfloor")
        return f"\\left{left} {self.arg.latex(env)} \\right{right}"

    def value(self, env: Env) -> Any:
        if isinstance(self.arg, Frac):
            n, d = self.arg.num.value(env), self.arg.den.value(env)
            return -sym.floordiv(-n, d) if self.up else sym.floordiv(n, d)
        v = self.arg.value(env)
        if isinstance(v, Fraction):
            return -((-v.numerator) // v.denominator) if self.up else v.numerator // v.denominator
        return v

    def reduced(self, env: Env) -> Expr:
        return Round(self.arg.reduced(env), self.up)


def renamed(expr: Expr, names: Mapping[str, str]) -> Expr:
    """The same formula with variables renamed (``out_channels`` -> ``filters`` for a Keras layer)."""
    import dataclasses

    if isinstance(expr, Var):
        return Var(names.get(expr.name, expr.name), expr.tex)
    if isinstance(expr, Sum):
        return Sum(tuple((sign, renamed(t, names)) for sign, t in expr.terms))
    if isinstance(expr, Product):
        return Product(tuple(renamed(f, names) for f in expr.factors))
    if isinstance(expr, Frac):
        return Frac(renamed(expr.num, names), renamed(expr.den, names))
    if isinstance(expr, Round):
        return dataclasses.replace(expr, arg=renamed(expr.arg, names))
    return expr


def var(name: str, tex: str = "") -> Var:
    """A variable."""
    return Var(name, tex)


def num(v: Any) -> Num:
    """A literal."""
    return Num(v)


def frac(a: Expr | int, b: Expr | int) -> Frac:
    """Exact division."""
    return Frac(_wrap(a), _wrap(b))


def floor(x: Expr) -> Round:
    """``floor(x)``."""
    return Round(x)


def ceil(x: Expr) -> Round:
    """``ceil(x)``."""
    return Round(x, True)


def product(items: list[Expr]) -> Expr:
    """``a*b*c`` (one item stays itself)."""
    return items[0] if len(items) == 1 else Product(tuple(items))


@dataclass(frozen=True)
class Quantity:
    """What a step's result is, so that it can be checked against the analysis.

    ``kind`` is ``output`` (per-sample output dim ``dim``: 0 channels, 1.. spatial), ``params`` or ``buffers``
    (checked against the analysis), or ``macs`` and ``count`` (other counts: written with separators).
    """

    kind: str
    dim: int = 0


PARAMS = Quantity("params")
BUFFERS = Quantity("buffers")


def output_dim(dim: int) -> Quantity:
    """The quantity of per-sample output dim ``dim`` (0 = channels)."""
    return Quantity("output", dim)


@dataclass(frozen=True)
class Step:
    """One line of a worked derivation: ``lhs = formula = substituted = reduced = result``.

    Without a ``formula`` the step is a ``statement`` in words (still with a result).
    ``note`` warns where a hand calculation goes wrong (an inexact division that torch floors).
    """

    label: str
    lhs: str = ""
    formula: Expr | None = None
    env: Env = field(default_factory=dict)
    result: Any = None
    note: str = ""
    statement: str = ""
    quantity: Quantity | None = None  # what the result is, checked against the analysis

    @property
    def is_count(self) -> bool:
        """Whether the result is a count (parameters, buffers, MACs), written with thousands separators."""
        return self.quantity is not None and self.quantity.kind in ("params", "buffers", "macs", "count")

    def forms(self, tex: bool = False) -> list[str]:
        """The formula, with numbers, reduced, and the result, without repeats (empty for a statement)."""
        if self.formula is None:
            return []
        f = self.formula
        out = [f.latex() if tex else f.text()]
        for form in (f.latex(self.env) if tex else f.text(self.env),
                     f.reduced(self.env).latex(self.env) if tex else f.reduced(self.env).text(self.env),
                     _value_text(exact(self.result), tex, self.is_count)):  # fmt: skip
            if self.is_count and not tex:  # a count's terms read as counts too: 1,024 + 1,024 = 2,048
                form = re.sub(r"(?<![\w.,/])\d{4,}(?![\w.,/])", lambda m: f"{int(m.group()):,}", form)
            if form != out[-1]:
                out.append(form)
        return out


def exact(v: Any) -> Any:
    """A Fraction that is a whole number becomes an int."""
    return v.numerator if isinstance(v, Fraction) and v.denominator == 1 else v
