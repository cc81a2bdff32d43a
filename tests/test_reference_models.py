"""The YAML examples against independently hand-written torch models (benchmarks/models.py).

Parameters, buffers and the output shape must be identical: two separate
descriptions of each network, one through cnncalc and one in plain torch.
"""

from __future__ import annotations

import pytest
import torch

from benchmarks.models import MODELS
from cnncalc.pipeline import shapes


@pytest.mark.parametrize("name", sorted(MODELS))
def test_yaml_example_matches_hand_written_torch_model(name: str) -> None:
    factory, input_shape = MODELS[name]
    with torch.device("meta"):
        model = factory()
        out = model(torch.zeros(2, *input_shape))
    report = shapes(f"examples/{name}.yaml", verify=False)
    derived = report.defaults
    assert derived.total_params == sum(p.numel() for p in model.parameters())
    assert derived.total_buffers == sum(b.numel() for b in model.buffers())
    assert derived.graph.input_shape == input_shape
    assert derived.output_shape == tuple(out.shape[1:])
