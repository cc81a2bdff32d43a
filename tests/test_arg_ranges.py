"""Argument ranges: cnncalc refuses exactly the argument values torch refuses, for every catalogue type.

Generated from the catalogue's own argument schema (every argument of every torch-named type),
not from a list of known checks: each case takes a valid layer, gives one or two of its arguments
a value drawn from a hostile range (negative, zero, fractions above 1, huge, words torch does not
know), and requires cnncalc's derivation and torch (constructor and forward pass) to agree: both
refuse, or both give the same shape and counts. ``Dropout(p: 2.0)`` is refused while deriving
(exit 2), not first by torch (``--no-verify`` then said nothing).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.layers import CATALOGUE, REQUIRED

from .helpers import agree, per_dim, torch

KERAS = {"Keras", "KerasPadding", "GlobalPool"}  # Keras names: their own differential test (test_keras.py)
# torch.nn modules (tensor operations such as Mean are functions: tests/reference.py runs those)
TYPES = sorted(n for n, t in CATALOGUE.items() if type(t).__name__ not in KERAS and not t.merge
               and hasattr(torch.nn, n) and n != "MultiheadAttention")  # fmt: skip  # (q, k, v): its own tests

# a valid value of each required argument (C = 4 channels, spatial sizes 6)
REQUIRED_VALUES: dict[str, Any] = {
    "out_channels": 4, "kernel_size": 2, "out_features": 3, "num_groups": 2, "padding": 1, "value": 0.5,
    "norm_type": 2.0, "output_size": 2, "upscale_factor": 2, "downscale_factor": 2, "size": 2, "dim": 1,
    "unflattened_size": [2, 2],
}  # fmt: skip
INTS = st.sampled_from([-2, -1, 0, 1, 2, 3, 5])
FLOATS = st.sampled_from([-1e6, -1.0, -0.5, -1e-9, 0.0, 1e-9, 0.25, 0.5, 1.0, 1.0000001, 1.5, 2.0, 1e6])
FACTORS = st.sampled_from([-1.0, 0.0, 0.1, 0.5, 1.0, 1.5, 2.0])


def hostile(kind: str, arg: Any, n: int) -> st.SearchStrategy[Any]:
    """Values for an argument of this schema kind: in range and out of it."""
    if kind == "int":
        return INTS
    if kind == "float":
        return FLOATS
    if kind == "bool":
        return st.booleans()
    if kind == "str":
        return st.sampled_from([*arg.choices, "bogus"])
    if kind == "size":
        return per_dim(n, INTS)
    if kind == "sizeopt":
        return per_dim(n, st.one_of(st.none(), INTS))
    if kind == "pad":
        return st.one_of(INTS, st.lists(INTS, min_size=2 * n, max_size=2 * n))
    if kind == "ints":
        return st.lists(st.integers(-1, 4), min_size=1, max_size=3)
    if kind == "floats":
        return st.one_of(FACTORS, st.lists(FACTORS, min_size=n, max_size=n))
    raise AssertionError(kind)


def base(name: str) -> tuple[dict[str, Any], list[int]]:
    """A valid layer of this type (its required arguments) and an input shape for it."""
    t = CATALOGUE[name]
    n = int(name[-2]) if name.startswith("Dropout") and name[-1] == "d" else t.ndim or 2
    shape = [4, *([6] * n)]
    args = {k: REQUIRED_VALUES.get(k) for k, a in t.args.items() if a.default is REQUIRED}
    if name == "LayerNorm":
        args["normalized_shape"] = [6]
    if name in ("Softmax", "LogSoftmax"):
        args["dim"] = 1  # torch warns about an implicit dim
    return args, shape


@pytest.mark.slow
@settings(max_examples=600)
@given(st.sampled_from(TYPES), st.data())
def test_torch_refuses_exactly_what_cnncalc_refuses(name: str, data: st.DataObject) -> None:
    t = CATALOGUE[name]
    args, shape = base(name)
    names = list(t.args)
    if not names:
        return
    for arg in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)):
        args[arg] = data.draw(hostile(t.args[arg].kind, t.args[arg], t.ndim or 2))
    torch_kwargs = {**args, **{k: t.infer(k, tuple(shape)) for k in t.inferred}}
    agree({"type": name, **args}, torch_kwargs, shape)


def test_every_argument_is_drawn() -> None:
    kinds = {a.kind for n in TYPES for a in CATALOGUE[n].args.values()}
    for kind in kinds:  # every schema kind has a hostile range
        hostile(kind, next(a for n in TYPES for a in CATALOGUE[n].args.values() if a.kind == kind), 2)
    assert len(TYPES) > 60
