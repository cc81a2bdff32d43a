"""``--input`` specs: per-sample shapes such as ``3x28x28``, ``3xHxW`` or ``10``, and their dtypes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import CnnCalcError

DTYPES = ("float32", "float64", "float16", "bfloat16", "long", "int", "bool")
INTEGERS = {"long": "int64", "int": "int32", "int16": "int16", "int8": "int8", "uint8": "uint8"}  # torch names
_DIM = re.compile(r"^(?:[1-9][0-9]{0,6}|[A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class InputSpec:
    """One model input: its per-sample dims (ints or symbol names) and element type."""

    dims: tuple[int | str, ...]
    dtype: str = "float32"

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbol names, in order."""
        return tuple(d for d in self.dims if isinstance(d, str))

    def bind(self, values: Mapping[str, int]) -> tuple[int, ...]:
        """The concrete per-sample shape for these symbol values."""
        return tuple(values[d] if isinstance(d, str) else d for d in self.dims)

    def __str__(self) -> str:
        return "x".join(str(d) for d in self.dims)


def parse_inputs(texts: Sequence[str], dtypes: Sequence[str] = ()) -> tuple[InputSpec, ...]:
    """Parse each ``--input``; ``dtypes`` is empty, one for all inputs, or one per input."""
    if not texts:
        raise CnnCalcError("a Python target needs its input shape", None,
                           "add --input 3x28x28 (per sample, no batch dimension; repeat for several inputs)")  # fmt: skip
    for d in dtypes:
        if d not in DTYPES:
            raise CnnCalcError(f"--input-dtype {d!r} is not one of {', '.join(DTYPES)}", None)
    if len(dtypes) not in (0, 1, len(texts)):
        raise CnnCalcError(f"{len(dtypes)} --input-dtype values for {len(texts)} inputs", None,
                           "give one (for every input) or one per --input")  # fmt: skip
    out = []
    for j, text in enumerate(texts):
        parts = [p.strip() for p in re.split(r"[x,]", text.strip())] if text.strip() else []
        bad = [p for p in parts if not _DIM.match(p)]
        if not parts or bad:
            raise CnnCalcError(f"--input {text!r}: expected sizes like 3x28x28 or 3xHxW", None,
                               "per-sample dims separated by x; the batch dimension is added by cnncalc")  # fmt: skip
        dims = tuple(int(p) if p.isdigit() else p for p in parts)
        dtype = dtypes[0] if len(dtypes) == 1 else dtypes[j] if dtypes else "float32"
        out.append(InputSpec(dims, dtype))
    return tuple(out)


def size_points(
    inputs: Sequence[InputSpec], sizes: Sequence[int], set_values: Mapping[str, int]
) -> list[dict[str, int]]:
    """The symbol assignments to run: each of ``--sizes`` for every unset symbol, or the one given by --set."""
    names = list(dict.fromkeys(s for i in inputs for s in i.symbols))
    unknown = [n for n in set_values if n not in names]
    if unknown:
        raise CnnCalcError(f"--set {unknown[0]}: no --input uses the symbol {unknown[0]!r}", None,
                           "symbols are written in --input, e.g. --input 3xHxW")  # fmt: skip
    free = [n for n in names if n not in set_values]
    if free and not sizes:
        raise CnnCalcError(f"--input uses the symbol{'s' if len(free) > 1 else ''} {', '.join(free)}, "
                           "but no size is given", None, "add --sizes 28,32,64 (each size for every symbol) or --set H=28")  # fmt: skip
    if sizes and not free:
        raise CnnCalcError("--sizes needs a symbol in --input to vary", None, "write --input 3xHxW --sizes 28,32")
    if not free:
        return [dict(set_values)]
    return [{**{n: s for n in free}, **set_values} for s in sizes]


def make_tensors(torch: Any, shapes: Sequence[tuple[int, ...]], specs: Sequence[InputSpec], batch: int,
                 device: Any, dtype: Any, high: int, seed: int = 0,
                 full_shapes: Sequence[tuple[int, ...]] | None = None) -> list[Any]:  # fmt: skip
    """Random inputs with a batch dimension: normal floats, or integers in [0, high) for ``long``/``int``.

    ``full_shapes``: the exact shape of each tensor instead (torchinfo's ``input_size``, the batch
    wherever ``batch_dim`` put it, or none: a 0-d input is ``()``).
    """
    gen = torch.Generator().manual_seed(seed)
    out = []
    for j, (shape, spec) in enumerate(zip(shapes, specs)):
        full = tuple(full_shapes[j]) if full_shapes is not None else (batch, *shape)
        if str(device) == "meta":  # no values: made on the meta device, never in memory (a 2**40-wide input)
            kind = {**{k: getattr(torch, v) for k, v in INTEGERS.items()}, "bool": torch.bool}.get(spec.dtype)
            if kind is None:
                kind = dtype if spec.dtype == "float32" and dtype is not None else getattr(torch, spec.dtype)
            out.append(torch.empty(full, dtype=kind, device="meta"))
            continue
        if spec.dtype in INTEGERS:
            t = torch.randint(0, max(high, 1), full, generator=gen, dtype=getattr(torch, INTEGERS[spec.dtype]))
        elif spec.dtype == "bool":
            t = torch.randint(0, 2, full, generator=gen).bool()
        else:
            want = dtype if spec.dtype == "float32" and dtype is not None else getattr(torch, spec.dtype)
            t = torch.randn(full, generator=gen).to(want)
        out.append(t.to(device))
    return out
