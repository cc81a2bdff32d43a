"""The torchvision-equivalent examples against torchvision itself, where it is installed.

CI has no torchvision build (the test skips); on a machine with torchvision it compares
parameters, buffers and the output shape of each example with the real model.
"""

from __future__ import annotations

import pytest

from cnncalc.pipeline import shapes

torchvision = pytest.importorskip("torchvision")


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "resnet18", "resnet50"])
def test_example_matches_torchvision(name: str) -> None:
    import torch

    with torch.device("meta"):
        model = getattr(torchvision.models, name)()
        out = model.eval()(torch.zeros(2, 3, 224, 224))
    derived = shapes(f"examples/{name}.yaml", verify=False).defaults
    assert derived.total_params == sum(p.numel() for p in model.parameters())
    assert derived.total_buffers == sum(b.numel() for b in model.buffers())
    assert derived.output_shape == tuple(out.shape[1:])
