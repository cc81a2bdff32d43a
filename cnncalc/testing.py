"""A pytest helper: ``assert_shapes(model, (3, 28, 28), (53,))`` with a message in shapes when it fails.

Example::

    from cnncalc.testing import assert_shapes

    def test_net_shapes():
        assert_shapes(Net(), input=(3, 28, 28), output=(53,))

It runs the same checks as ``cnncalc check``: the forward pass (a crash is
located and explained), the batch size at two batch sizes, sample
independence, and the expected per-sample output shape(s).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def assert_shapes(model: Any, input: Sequence[int] | Sequence[Sequence[int]],
                  output: Sequence[int] | Sequence[Sequence[int]] | None = None, *, input_dtype: str = "float32",
                  max_params: int | None = None) -> None:  # fmt: skip
    """Fail with cnncalc's explanation unless ``model`` works on per-sample ``input`` and gives ``output``.

    ``cnncalc.check(model, input, batch_dim=0, expect_output=output, raise_on_failure=True)`` with
    the shapes per sample; the AssertionError lists each failed check with its location.
    """
    __tracebackhide__ = True
    from .api import check

    inputs = _shapes(input)
    outputs = _shapes(output) if output is not None else None
    check(model, ["x".join(map(str, s)) for s in inputs], expect_output=outputs, dtypes=[input_dtype],
          max_params=max_params, raise_on_failure=True)  # fmt: skip


def _shapes(value: Any) -> list[tuple[int, ...]]:
    if not value:
        return [()]
    if all(isinstance(v, int) for v in value):
        return [tuple(value)]
    return [tuple(v) for v in value]
