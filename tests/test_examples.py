"""Every bundled example is derived and verified with torch; the torchvision ones match published counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncalc.pipeline import load, shapes, solve_file

EXAMPLES = sorted(Path("examples").rglob("*.yaml"))

# Parameter counts published by torchvision (weights documentation) and by Keras for course net (d).
PUBLISHED = {
    "alexnet": 61_100_840,
    "vgg16": 138_357_544,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "d_keras_cifar": 81_834,
    "lenet5": 61_706,
}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_is_verified(path: Path) -> None:
    if any(default is None for _, default, _ in load(path).symbols):  # a question with unknowns: solve it
        solved = solve_file(path, device="cpu")
        assert solved.ok and all(c is None or not c.mismatches for c in solved.checks)
        return
    report = shapes(path, device="cpu")
    assert report.verified is True, [m.message() for m in report.mismatches]
    assert report.ok, report.expect_failures
    if report.symbols:
        assert len(report.checks) >= 3, "symbolic files are verified at the defaults and two other sizes"
    if path.stem in PUBLISHED:
        assert report.defaults.total_params == PUBLISHED[path.stem]


def test_examples_cover_the_required_networks() -> None:
    stems = {p.stem for p in EXAMPLES}
    assert {"lenet5", "alexnet", "vgg16", "resnet18", "resnet50", "unet"} <= stems
    assert {
        "a_cifar_conv3",
        "b_cifar_conv3_wide_fc",
        "c_28px_elu",
        "c_28px_elu_batchnorm",
        "d_keras_cifar",
        "e_fully_connected",
        "f_two_convs_symbolic",
    } <= stems


def test_course_f_is_symbolic() -> None:
    report = shapes("examples/course/f_two_convs_symbolic.yaml", verify=False)
    assert [str(d) for d in report.main.layers[0].shape] == ["8", "A - 4", "A - 4"]
    assert [str(d) for d in report.main.layers[1].shape] == ["8", "A - 6", "A - 6"]
    assert report.conditions == ["A >= 7"]


def test_unet_skips_need_multiples_of_four() -> None:
    report = shapes("examples/unet.yaml", verify=False)
    assert report.conditions == ["H >= 4", "H % 4 == 0", "W >= 4", "W % 4 == 0"]


def test_course_c_batchnorm_without_affine_has_buffers_only() -> None:
    plain = shapes("examples/course/c_28px_elu.yaml", verify=False).main
    bn = shapes("examples/course/c_28px_elu_batchnorm.yaml", verify=False).main
    assert bn.total_params == plain.total_params
    assert bn.total_buffers == 2 * (2 * 32 + 1)
