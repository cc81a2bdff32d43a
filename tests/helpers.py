"""Helpers for differential tests: derive with cnncalc, run the same layer in torch."""

from __future__ import annotations

import warnings
from typing import Any

import yaml
from hypothesis import strategies as st

from cnncalc.analysis.shapes import analyze
from cnncalc.errors import CnnCalcError
from cnncalc.graph import expand
from cnncalc.parse.spec import parse_text

warnings.filterwarnings("ignore")
import torch  # noqa: E402

Outcome = tuple[tuple[int, ...], int, int]


def arch_text(layers: list[Any], input_shape: list[Any], symbols: dict[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {"cnncalc": 1, "name": "t", "input": input_shape, "layers": layers}
    if symbols:
        doc["symbols"] = symbols
    return yaml.safe_dump(doc, sort_keys=False)


def derive(layer: dict[str, Any], input_shape: list[int]) -> Outcome | CnnCalcError:
    """cnncalc's derived (per-sample shape, params, buffers) for one layer, or its error."""
    try:
        a = analyze(expand(parse_text(arch_text([layer], input_shape)), {}))
    except CnnCalcError as e:
        return e
    r = a.layers[0]
    return tuple(r.shape), r.params, r.buffers


def torch_run(name: str, kwargs: dict[str, Any], input_shape: list[int]) -> Outcome | Exception:
    """What torch does with the same layer, at batch 2 and 3.

    A zero-size output, or one whose batch dim is not the input's (torch merging
    or misreading the batch), counts as a rejection.
    """
    try:
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
        m = getattr(torch.nn, name)(**kwargs).eval()
        shapes = []
        for batch in (2, 3):
            with warnings.catch_warnings():
                # Warn-only misuses (InstanceNorm channel mismatch, Dropout2d on 3-D input) count as rejections;
                # the 'same'-padding performance note does not.
                warnings.simplefilter("error", UserWarning)
                warnings.filterwarnings("ignore", message=".*padding='same'.*")
                with torch.no_grad():
                    out = m(torch.randn(batch, *input_shape))
            if isinstance(out, tuple) or out.shape[0] != batch or 0 in out.shape:
                return ValueError(f"degenerate output {getattr(out, 'shape', out)}")
            shapes.append(tuple(out.shape[1:]))
    except Exception as e:
        return e
    if shapes[0] != shapes[1]:
        return ValueError(f"per-sample shape depends on the batch: {shapes}")
    return (shapes[0], sum(p.numel() for p in m.parameters()), sum(b.numel() for b in m.buffers()))


def agree(layer: dict[str, Any], kwargs: dict[str, Any], input_shape: list[int]) -> None:
    """Assert cnncalc and torch agree exactly, or both reject the layer."""
    ours = derive(layer, input_shape)
    theirs = torch_run(layer["type"], kwargs, input_shape)
    if isinstance(ours, CnnCalcError) or isinstance(theirs, Exception):
        assert isinstance(ours, CnnCalcError) and isinstance(theirs, Exception), (
            f"{layer} on {input_shape}: cnncalc {ours!s} vs torch {theirs!s}"
        )
        assert ours.loc is not None and ours.loc.line >= 1
        return
    assert ours == theirs, f"{layer} on {input_shape}: cnncalc {ours} vs torch {theirs}"


def per_dim(n: int, values: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    """One value, or one per spatial dim, as torch's size arguments accept."""
    return st.one_of(values, st.lists(values, min_size=n, max_size=n))


def both_verdicts(layers: list[dict[str, Any]], shape: list[Any], symbols: dict[str, int] | None,
                  concrete: list[int]) -> tuple[Any, Any]:  # fmt: skip
    """torch's verdict on a generated network (tests/reference.py), then cnncalc's verified report: ``(report,
    torch's per-layer results)``, or ``(None, None)`` when both refuse it (cnncalc at a line of the file).
    Asserts that they agree on whether the network works."""
    from cnncalc.pipeline import load, shapes

    from . import reference

    text = arch_text(layers, shape, symbols)
    try:
        expected = reference.run(layers, concrete)
    except reference.Rejected as e:
        expected_error: str | None = str(e)
    else:
        expected_error = None
    try:
        report = shapes(load("net.yaml", text), device="cpu")
    except CnnCalcError as e:
        assert expected_error is not None, f"cnncalc rejects what torch accepts: {e}\n{text}"
        assert e.loc is not None and e.loc.file == "net.yaml"
        return None, None
    assert expected_error is None, f"cnncalc accepts what torch rejects ({expected_error}):\n{text}"
    return report, expected
