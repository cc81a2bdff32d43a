"""The tensor-operation layer types (Mul, Scale, Mean/Sum/Amax, Permute, Narrow) against torch's own operations.

Each case derives the layer with cnncalc (from YAML) and runs the same operation in torch directly
(``a * b``, ``x.mean(dim, keepdim)``, ``x.permute(dims)``...), at batch sizes 2 and 3: the per-sample
shape and the parameter count must be equal, or both must refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cnncalc.analysis.shapes import analyze
from cnncalc.errors import CnnCalcError
from cnncalc.graph import expand
from cnncalc.parse.spec import parse_text

from .helpers import arch_text, torch

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4)


def ours(layers: list[dict[str, Any]], shape: list[int]) -> Any:
    try:
        a = analyze(expand(parse_text(arch_text(layers, shape)), {}))
    except CnnCalcError as e:
        assert e.loc is not None and e.loc.line >= 1
        return None
    r = a.layers[-1]
    return tuple(r.shape), sum(x.params for x in a.layers)


def theirs(op: Callable[[Any], Any], shape: list[int], params: int = 0) -> Any:
    got = []
    for batch in (2, 3):
        try:
            out = op(torch.randn(batch, *shape))
        except (RuntimeError, IndexError, ValueError):
            return None
        if out.dim() == 0 or out.shape[0] != batch or 0 in out.shape:  # cnncalc refuses empty tensors (documented)
            return None
        got.append(tuple(out.shape[1:]))
    return (got[0], params) if got[0] == got[1] else None


def agree(layers: list[dict[str, Any]], op: Callable[[Any], Any], shape: list[int], params: int = 0) -> None:
    a, b = ours(layers, shape), theirs(op, shape, params)
    assert a == b, f"{layers} on {shape}: cnncalc {a}, torch {b}"


@given(shapes, st.data())
def test_mul_broadcasts_as_torch(shape: list[int], data: st.DataObject) -> None:
    """A gate averaged over some dims (size 1 there) times the input: torch's broadcast."""
    rank = len(shape) + 1
    dims = data.draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=rank - 1, unique=True))
    layers = [{"type": "Identity", "id": "a"},
              {"type": "Mean", "dim": dims, "keepdim": True, "from": "input", "id": "g"},
              {"type": "Mul", "from": ["g", "a"]}]  # fmt: skip
    agree(layers, lambda x: x.mean(dims, keepdim=True) * x, shape)


@given(shapes, st.data())
def test_mul_of_sizes_that_differ(shape: list[int], data: st.DataObject) -> None:
    """One input one shorter along a dim: torch broadcasts only when that leaves 1, else both refuse."""
    rank = len(shape) + 1
    dim = data.draw(st.integers(1, rank - 1))
    length = max(shape[dim - 1] - 1, 0)
    layers = [{"type": "Identity", "id": "a"},
              {"type": "Narrow", "dim": dim, "start": 0, "length": length, "from": "input", "id": "n"},
              {"type": "Mul", "from": ["a", "n"]}]  # fmt: skip
    agree(layers, lambda x: x * x.narrow(dim, 0, length), shape)


@given(shapes, st.data())
def test_scale_by_a_learned_tensor(shape: list[int], data: st.DataObject) -> None:
    rank = len(shape) + 1
    n = data.draw(st.integers(1, rank))
    full = [1, *shape][rank - n :]
    gamma = [data.draw(st.sampled_from([d, 1, d + 1])) if k or n < rank else data.draw(st.sampled_from([1, 2]))
             for k, d in enumerate(full)]  # fmt: skip
    numel = 1
    for g in gamma:
        numel *= g

    agree([{"type": "Scale", "shape": gamma}], lambda x: torch.ones(gamma) * x, shape, numel)


@given(st.sampled_from(["Mean", "Sum", "Amax"]), shapes, st.data())
def test_reductions(kind: str, shape: list[int], data: st.DataObject) -> None:
    rank = len(shape) + 1
    dims = data.draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=rank))
    keep = data.draw(st.booleans())
    how = {"Mean": "mean", "Sum": "sum", "Amax": "amax"}[kind]

    def op(x: Any) -> Any:
        if len({d % rank for d in dims}) != len(dims):
            raise RuntimeError("dim appears twice")  # torch's sum/amax say so too; mean as well
        return getattr(x, how)(dim=dims, keepdim=keep)

    agree([{"type": kind, "dim": dims, "keepdim": keep}], op, shape)


@given(shapes, st.data())
def test_permute(shape: list[int], data: st.DataObject) -> None:
    rank = len(shape) + 1
    dims = data.draw(st.permutations(list(range(rank))))
    if data.draw(st.booleans()):
        dims = [d - rank if data.draw(st.booleans()) else d for d in dims]
    agree([{"type": "Permute", "dims": list(dims)}], lambda x: x.permute(*dims), shape)


@given(shapes, st.data())
def test_narrow(shape: list[int], data: st.DataObject) -> None:
    rank = len(shape) + 1
    dim = data.draw(st.integers(-rank, rank - 1))
    size = ([2, *shape])[dim % rank]
    start = data.draw(st.integers(-size - 1, size + 1))  # negative: from the end, as torch reads it
    length = data.draw(st.integers(0, size + 1))
    agree([{"type": "Narrow", "dim": dim, "start": start, "length": length}],
          lambda x: x.narrow(dim, start, length), shape)  # fmt: skip


@given(shapes, st.data())
def test_shift_by_a_learned_tensor(shape: list[int], data: st.DataObject) -> None:
    n = data.draw(st.integers(1, len(shape)))
    beta = [data.draw(st.sampled_from([d, 1, d + 1])) for d in shape[len(shape) - n :]]
    numel = 1
    for b in beta:
        numel *= b
    agree([{"type": "Shift", "shape": beta}], lambda x: x + torch.zeros(beta), shape, numel)


@given(st.lists(st.integers(1, 5), min_size=2, max_size=4), st.data())
def test_prepend_a_learned_token(shape: list[int], data: st.DataObject) -> None:
    rank = len(shape) + 1
    dim = data.draw(st.integers(1, rank - 1))
    token = [data.draw(st.sampled_from([d, 1, d + 1])) if k != dim - 1 else data.draw(st.integers(1, 3))
             for k, d in enumerate(shape)]  # fmt: skip
    numel = 1
    for t in token:
        numel *= t
    agree([{"type": "Prepend", "shape": token, "dim": dim}],
          lambda x: torch.cat([torch.zeros(1, *token).expand(x.shape[0], *token), x], dim=dim), shape, numel)  # fmt: skip


@given(shapes, st.data())
def test_select(shape: list[int], data: st.DataObject) -> None:
    rank = len(shape) + 1
    dim = data.draw(st.integers(1, rank - 1))
    index = data.draw(st.integers(-shape[dim - 1] - 1, shape[dim - 1]))
    agree([{"type": "Select", "dim": dim, "index": index}], lambda x: x.select(dim, index), shape)


@given(st.integers(1, 6), st.integers(1, 4), st.data())
def test_self_attention(length: int, heads: int, data: st.DataObject) -> None:
    e = data.draw(st.sampled_from([heads, 2 * heads, heads + 1, 6]))
    kwargs = {"num_heads": heads, "bias": data.draw(st.booleans()), "add_bias_kv": data.draw(st.booleans())}
    try:
        m = torch.nn.MultiheadAttention(e, batch_first=True, **kwargs).eval()
        params = sum(p.numel() for p in m.parameters())
    except (AssertionError, RuntimeError):
        m, params = None, 0

    def op(x: Any) -> Any:
        if m is None:
            raise RuntimeError("torch refuses the arguments")
        with torch.no_grad():
            return m(x, x, x, need_weights=False)[0]

    agree([{"type": "MultiheadAttention", "batch_first": True, **kwargs}], op, [length, e], params)


@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), st.data())
def test_matmul_of_two_branches(shape: list[int], data: st.DataObject) -> None:
    """x @ x.transpose(-2, -1) (attention scores) or x @ x (square, or both refuse)."""
    rank = len(shape) + 1
    swap = data.draw(st.booleans())
    dims = list(range(rank))
    dims[-1], dims[-2] = dims[-2], dims[-1]
    layers = [{"type": "Identity", "id": "a"}, {"type": "Permute", "dims": dims, "from": "input", "id": "t"},
              {"type": "MatMul", "from": ["a", "t" if swap else "a"]}]  # fmt: skip
    agree(layers, lambda x: x @ (x.transpose(-2, -1) if swap else x), shape)
