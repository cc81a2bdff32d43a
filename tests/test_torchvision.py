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


@pytest.mark.parametrize("name", ["squeezenet1_1", "shufflenet_v2_x0_5", "mobilenet_v3_small", "mnasnet0_5"])
def test_symbolic_pass_accepts_exactly_the_sizes_torch_accepts(name: str) -> None:
    """The zoo's measurement on a few small classifiers: traced, and every accepted size confirmed by torch."""
    import torch

    from cnncalc.pymodel.fxspec import accepted_values, convert
    from cnncalc.pymodel.inputs import parse_inputs

    model = torchvision.models.get_model(name, weights=None).eval()
    good = set(accepted_values(convert(model, parse_inputs(["3xHxW"]), {"H": 224, "W": 224}, name), 64))
    meta = model.to("meta")
    for size in range(1, 65):
        try:
            with torch.no_grad():
                meta(torch.empty(1, 3, size, size, device="meta"))
            ok = True
        except Exception:
            ok = False
        assert ok == (size in good), (name, size)


def test_detector_passes_check() -> None:
    """Per-image outputs with data-dependent box counts: no false batch-size failure (issue 17)."""
    from cnncalc.checks import CheckOptions, check_model

    model = torchvision.models.get_model("fasterrcnn_mobilenet_v3_large_320_fpn", weights=None,
                                         weights_backbone=None)  # fmt: skip
    report = check_model(model, CheckOptions(), ["3x64x64"])
    assert report.ok, [f.message for f in report.findings if not f.ok]
