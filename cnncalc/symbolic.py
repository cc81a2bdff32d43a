"""Arithmetic that works the same on Python ints and sympy expressions.

Layer rules are written once against these helpers. With concrete sizes they
stay on plain ints (fast, no sympy import); as soon as a value is a sympy
expression they dispatch to sympy, imported lazily on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    import sympy

Num = Union[int, "sympy.Expr"]
"""A size or count: a Python int, or a sympy expression over positive integer symbols."""


def is_concrete(x: object) -> bool:
    """True for a plain Python number (int, float, Fraction), not a sympy expression."""
    return isinstance(x, (int, float, Fraction))


def symbol(name: str) -> sympy.Symbol:
    """A positive-integer sympy symbol (sizes are positive integers)."""
    import sympy

    return sympy.Symbol(name, integer=True, positive=True)


def floordiv(a: Any, b: Any) -> Any:
    """``floor(a / b)`` for ints or sympy expressions, in a simple canonical form.

    Nested floors merge (``floor((floor(y) + r)/b) == floor((y + r)/b)`` for integer
    r and b > 0), so a chain of strided layers reads ``floor(H/8)``; and
    ``floor((x + b - 1)/b)`` is written ``ceiling(x/b)``, as a 'same'-padded stride gives.
    """
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    import sympy

    a, b = sympy.sympify(a), sympy.sympify(b)
    if not (b.is_Integer and b.is_positive):
        return sympy.floor(a / b)
    a = _ceilings_as_floors(a)
    for term in sympy.Add.make_args(a):
        if isinstance(term, sympy.floor):
            rest = a - term
            if rest.is_integer:
                return _canonical_floor((term.args[0] + rest) / b)
    return _canonical_floor(a / b)


def _ceilings_as_floors(a: Any) -> Any:
    """``ceiling(p/q)`` -> ``floor((p + q - 1)/q)`` so nested-floor merging applies to it too."""
    import sympy

    for term in sympy.Add.make_args(a):
        if isinstance(term, sympy.ceiling):
            p, q = sympy.fraction(sympy.together(term.args[0]))
            if q.is_Integer and q.is_positive and p.is_integer:
                return _ceilings_as_floors(a - term + sympy.floor((p + q - 1) / q))
    return a


def _canonical_floor(q: Any) -> Any:
    """``floor(q)``, with ``floor(x/b + (b-1)/b + n)`` written as ``ceiling(x/b) + n``."""
    import sympy

    const, rest = q.as_coeff_Add()
    num, den = sympy.fraction(sympy.together(rest))
    if den.is_Integer and den > 1 and num.is_integer:
        whole = sympy.floor(const)
        if const - whole == sympy.Rational(den - 1, den):
            return sympy.ceiling(rest) + whole
    return sympy.floor(q)


def truediv(a: Any, b: Any) -> Any:
    """Exact division: an int when it divides evenly, else a Fraction or sympy Rational."""
    if isinstance(a, int) and isinstance(b, int):
        q = Fraction(a, b)
        return q.numerator if q.denominator == 1 else q
    import sympy

    return sympy.sympify(a) / sympy.sympify(b)


def mod(a: Any, b: Any) -> Any:
    """``a mod b`` for ints or sympy expressions."""
    if isinstance(a, int) and isinstance(b, int):
        return a % b
    import sympy

    return sympy.Mod(a, b)


def maximum(a: Any, b: Any) -> Any:
    """``max(a, b)`` for ints or sympy expressions."""
    if is_concrete(a) and is_concrete(b):
        return max(a, b)
    import sympy

    return sympy.Max(a, b)


def readable_formula(text: str) -> str:
    """A rule written in code style, as people read it: ``floor((i + 2p - 1)/s) + 1`` -> ``⌊(i + 2p − 1)/s⌋ + 1``,
    ``ceil(x)`` -> ``⌈x⌉``, ``a * b`` -> ``a·b`` (the brackets are matched; other text is kept)."""
    out: list[str] = []
    closing: list[str] = []  # per open parenthesis: what closes it
    k = 0
    while k < len(text):
        for word, (left, right) in (("floor(", ("⌊", "⌋")), ("ceiling(", ("⌈", "⌉")), ("ceil(", ("⌈", "⌉"))):
            if text.startswith(word, k) and (k == 0 or not (text[k - 1].isalnum() or text[k - 1] == "_")):
                out.append(left)
                closing.append(right)
                k += len(word)
                break
        else:
            ch = text[k]
            if ch == "(":
                closing.append(")")
            elif ch == ")" and closing:
                ch = closing.pop()
            out.append({"*": "·"}.get(ch, ch))
            k += 1
    return "".join(out).replace(" - ", " − ").replace("··", "^")


def has_symbols(value: Any) -> bool:
    """Whether a value has symbols in it: an expression over symbols, or a list or tuple holding one."""
    if isinstance(value, (tuple, list)):
        return any(has_symbols(v) for v in value)
    return hasattr(value, "free_symbols") and bool(value.free_symbols)


def minimum(a: Any, b: Any) -> Any:
    """``min(a, b)`` for ints or sympy expressions."""
    if is_concrete(a) and is_concrete(b):
        return min(a, b)
    import sympy

    return sympy.Min(a, b)


def product(values: Any) -> Any:
    """The product of a sequence (1 when empty)."""
    out: Any = 1
    for v in values:
        out = out * v
    return out


def decide(cond: Any) -> bool | None:
    """True/False when a condition is decided, None when it depends on symbols."""
    if isinstance(cond, bool):
        return cond
    import sympy

    if cond is sympy.true or cond == sympy.true:
        return True
    if cond is sympy.false or cond == sympy.false:
        return False
    if isinstance(cond, sympy.Eq):
        values = set(_samples(cond.lhs - cond.rhs))
        if len(values) > 1:
            return None  # differs between sizes: depends on the symbols (and simplify would be slow to say so)
        if sympy.count_ops(cond.lhs - cond.rhs) > _SIMPLIFY_OPS:
            return None  # left as a condition: the solver finds it always holds (simplify can take minutes)
        diff = sympy.simplify(cond.lhs - cond.rhs)
        if diff == 0:
            return True
        if diff.is_number:
            return False
    return None


_PROBES = (1, 2, 3, 5, 8, 13, 24, 61, 224, 1000)
_SIMPLIFY_OPS = 40


def _samples(expr: Any) -> list[Any]:
    """``expr`` at a few sizes (every symbol the same size, then each symbol apart): exact values."""
    names = sorted(expr.free_symbols, key=str)
    points = [dict.fromkeys(names, v) for v in _PROBES]
    points += [{s: v + k for k, s in enumerate(names)} for v in _PROBES[:4]]
    return [expr.xreplace(p) for p in points] if names else [expr]


def agree(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are equal at every probe size (evidence, not proof)."""
    import sympy

    return set(_samples(sympy.sympify(a) - sympy.sympify(b))) == {0}


def equal(a: Any, b: Any) -> Any:
    """A condition ``a == b``: a bool when decided, else a sympy Eq."""
    if is_concrete(a) and is_concrete(b):
        return bool(a == b)
    import sympy

    return sympy.Eq(a, b)


def substitute(x: Any, values: Mapping[str, int]) -> Any:
    """Replace symbols by integers (by name); ints pass through unchanged."""
    if is_concrete(x) or isinstance(x, (bool, str)) or x is None:
        return x
    if isinstance(x, tuple):
        return tuple(substitute(v, values) for v in x)
    mapping = {s: values[s.name] for s in x.free_symbols if s.name in values}
    out = x.xreplace(mapping)
    if getattr(out, "is_Integer", False):
        return int(out)
    if getattr(out, "is_Rational", False):
        return Fraction(int(out.p), int(out.q))
    if getattr(out, "is_Boolean", False) and out in (True, False):
        return bool(out)
    return out


def machine_text(x: Any) -> str:
    """The machine form (JSON, CSV): ``64``, ``floor(H/2)``, ``H - 4``, ``Eq(512, ...)``; sympy parses it back."""
    if isinstance(x, Fraction):
        return f"{x.numerator}/{x.denominator}"
    return str(x)


HUGE = 10**16
"""Integers from here on are shown to people in scientific form (``8.00e+300``); JSON keeps every digit."""


def scientific(n: int) -> str:
    """A whole number of any size as ``5.12e+618``, rounded to three digits (no float: it would overflow)."""
    digits = str(abs(int(n)))
    if len(digits) > 3:
        scale = 10 ** (len(digits) - 3)
        kept = str((int(digits) + scale // 2) // scale)  # half up
        exponent = len(digits) - 1 + (len(kept) - 3)
        digits = kept[:3]
    else:
        exponent = len(digits) - 1
    return f"{'-' if n < 0 else ''}{digits[0]}.{digits[1:3].ljust(2, '0')}e+{exponent}"


def scientific_latex(n: int) -> str:
    """:func:`scientific` as LaTeX math: ``8.00 \\times 10^{300}``."""
    mantissa, exponent = scientific(n).split("e+")
    return f"{mantissa} \\times 10^{{{exponent}}}"


def to_text(x: Any, grouping: bool = False) -> str:
    """The form people read: ``⌊H/2⌋``, ``H − 4``, ``32·(⌊H/4⌋ − 3)``, ``512 == ...``, ``min(a, b)``.

    Each term of a sum is shown with its common factors taken out, so a flattened
    ``(32*floor(H/4) - 96)*(floor(W/4) - 3)`` reads ``32·(⌊H/4⌋ − 3)·(⌊W/4⌋ − 3)``.
    ``grouping`` writes integers with thousands separators (counts, not sizes).
    Never ``Eq(``, ``Min(``, ``floor(`` or ``ceiling(``: JSON uses :func:`machine_text`.
    """
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        if abs(x) >= HUGE:
            return scientific(x)
        return f"{x:,}" if grouping else str(x)
    if isinstance(x, Fraction):
        return f"{x.numerator}/{x.denominator}"
    if not hasattr(x, "free_symbols"):
        return str(x)
    return _sympy_text(x, grouping)


@functools.lru_cache(maxsize=8192)
def _sympy_text(x: Any, grouping: bool) -> str:
    """:func:`to_text` of a sympy expression, remembered: a deep network repeats the same sizes (``H``, ``H − 2``)
    in every layer's messages, and printing them is sympy's slowest step (the run stays linear and fast)."""
    text: str = _printer(grouping).doprint(_flip_negative_roundings(x))
    return text.replace("**", "^").replace("*", "·").replace("-", "−")


def _flip_negative_roundings(x: Any) -> Any:
    """``ceiling(-F/2)`` -> ``-floor(F/2)`` (and floor likewise): equal, and read without a sign inside."""
    import sympy

    def negative(e: Any) -> bool:
        return isinstance(e, (sympy.floor, sympy.ceiling)) and bool(sympy.expand(e.args[0]).could_extract_minus_sign())

    def flipped(e: Any) -> Any:
        other = sympy.floor if isinstance(e, sympy.ceiling) else sympy.ceiling
        return -other(-sympy.expand(e.args[0]))

    return x.replace(negative, flipped) if hasattr(x, "replace") and not isinstance(x, str) else x


_PRINTERS: dict[bool, Any] = {}


def _printer(grouping: bool) -> Any:
    """A sympy StrPrinter that writes floors, minima and equations as people do (built once, lazily)."""
    if grouping in _PRINTERS:
        return _PRINTERS[grouping]
    import sympy
    from sympy.printing.precedence import precedence
    from sympy.printing.str import StrPrinter

    class Readable(StrPrinter):  # type: ignore[misc]
        def _rounded(self, arg: Any, up: bool) -> str:
            inner = self._print(sympy.together(sympy.expand(arg)))
            return f"⌈{inner}⌉" if up else f"⌊{inner}⌋"

        def _print_floor(self, e: Any) -> str:
            return self._rounded(e.args[0], False)

        def _print_ceiling(self, e: Any) -> str:
            return self._rounded(e.args[0], True)

        def _print_Min(self, e: Any) -> str:
            return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

        def _print_Max(self, e: Any) -> str:
            return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

        def _print_Mod(self, e: Any) -> str:
            a, b = e.args
            return f"{self.parenthesize(a, precedence(e))} % {self.parenthesize(b, precedence(e))}"

        def _print_Integer(self, e: Any) -> str:
            if abs(int(e)) >= HUGE:
                return scientific(int(e))
            return f"{int(e):,}" if grouping else str(int(e))

        def _print_Relational(self, e: Any) -> str:
            op = {"==": "==", "!=": "!="}.get(e.rel_op, e.rel_op)
            return f"{self._print(e.lhs)} {op} {self._print(e.rhs)}"

        def _print_Mul(self, e: Any) -> str:
            tidy = sympy.factor_terms(e)
            return str(super()._print_Mul(tidy if tidy.is_Mul else e))

        def _absorbed(self, e: Any) -> str | None:
            """``⌊(H − 21)/16⌋ + 1`` reads ``⌊(H − 5)/16⌋``: an integer joins a rounding that has a constant."""
            rounded = [a for a in e.args if isinstance(a, (sympy.floor, sympy.ceiling))]
            if not (len(e.args) == 2 and len(rounded) == 1 and (e - rounded[0]).is_Integer):
                return None
            inner = sympy.expand(rounded[0].args[0])
            if inner.as_coeff_Add()[0] == 0:
                return None
            text = self._print(sympy.together(inner + (e - rounded[0])))
            return f"⌊{text}⌋" if isinstance(rounded[0], sympy.floor) else f"⌈{text}⌉"

        def _print_Add(self, e: Any, order: Any = None) -> str:
            shown = self._absorbed(e)
            if shown is not None:
                return shown
            coeff, rest = sympy.factor_terms(e).as_coeff_Mul()
            if coeff.is_Integer and coeff > 1 and rest.is_Add and self._absorbed(rest) is not None:
                return f"{self._print(coeff)}*{self._absorbed(rest)}"  # 2·⌊(H − 5)/16⌋
            out = ""
            for n, term in enumerate(self._as_ordered_terms(e, order=order)):
                t = self._print(term)
                sign = "+"
                if t.startswith("-") and not term.is_Add:
                    sign, t = "-", t[1:]
                if precedence(term) < precedence(e) or term.is_Add:
                    t = f"({t})"
                out += f" {sign} {t}" if n else (t if sign == "+" else f"-{t}")
            return out

    _PRINTERS[grouping] = Readable()
    return _PRINTERS[grouping]


def is_integer_valued(x: Any) -> bool | None:
    """True if ``x`` is certainly an integer, False if certainly not, None if unknown."""
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    if isinstance(x, (float, Fraction)):
        return False
    result: bool | None = x.is_integer
    return result
