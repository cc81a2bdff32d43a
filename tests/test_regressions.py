"""Every disagreement hypothesis found, kept as an explicit case (see tests/test_layers_vs_torch.py
and tests/test_fuzz_networks.py for the generators that found them)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import symbolic as sym
from cnncalc.errors import CnnCalcError
from cnncalc.pipeline import load, shapes

from . import reference
from .helpers import agree, arch_text

LAYER_CASES: list[tuple[dict[str, Any], dict[str, Any], list[int]]] = [
    # torch's LPPool1d multiplies by kernel_size, so a list kernel fails; cnncalc refused to say so.
    ({"type": "LPPool1d", "norm_type": 2.0, "kernel_size": [1]}, {"norm_type": 2.0, "kernel_size": [1]}, [1, 1]),
    # ... but a list stride is fine.
    (
        {"type": "LPPool1d", "norm_type": 2.0, "kernel_size": 1, "stride": [1]},
        {"norm_type": 2.0, "kernel_size": 1, "stride": [1]},
        [1, 1],
    ),
    # 1d adaptive pooling does not take null ("keep the size") entries.
    ({"type": "AdaptiveAvgPool1d", "output_size": [None]}, {"output_size": [None]}, [3, 1]),
    # Flatten(0, 0) flattens nothing and is fine.
    ({"type": "Flatten", "start_dim": 0, "end_dim": 0}, {"start_dim": 0, "end_dim": 0}, [1]),
    # A scalar scale_factor broadcasts over the spatial dims.
    ({"type": "Upsample", "scale_factor": 0.5}, {"scale_factor": 0.5}, [2, 1]),
    # recompute_scale_factor with a size: torch refuses it at the forward pass (cnncalc crashed in its twin).
    (
        {"type": "Upsample", "size": 1, "recompute_scale_factor": True},
        {"size": 1, "recompute_scale_factor": True},
        [1, 2],
    ),
    (
        {"type": "Upsample", "size": 3, "recompute_scale_factor": False},
        {"size": 3, "recompute_scale_factor": False},
        [1, 2],
    ),
    # FeatureAlphaDropout takes any batched rank >= 2.
    ({"type": "FeatureAlphaDropout"}, {}, [1]),
    # Negative zero-padding crops before it pads: 1 + 2 - 2 = 1, but the crop alone would be -1.
    ({"type": "ZeroPad1d", "padding": [2, -2]}, {"padding": [2, -2]}, [2, 1]),
    # 'same' with an even kernel is only a performance warning in torch.
    (
        {"type": "Conv2d", "out_channels": 1, "kernel_size": [5, 4], "padding": "same", "dilation": 1, "bias": False},
        {"in_channels": 1, "out_channels": 1, "kernel_size": [5, 4], "padding": "same", "dilation": 1, "bias": False},
        [1, 6, 9],
    ),
]


@pytest.mark.parametrize("layer,kwargs,shape", LAYER_CASES)
def test_layer_regression(layer: dict[str, Any], kwargs: dict[str, Any], shape: list[int]) -> None:
    agree(layer, kwargs, shape)


def test_instance_norm_needs_more_than_one_spatial_element() -> None:
    # Without running statistics InstanceNorm normalises per instance, in eval mode too.
    agree({"type": "InstanceNorm2d"}, {"num_features": 3}, [3, 1, 1])
    agree({"type": "InstanceNorm2d", "track_running_stats": True}, {"num_features": 3, "track_running_stats": True},
          [3, 1, 1])  # fmt: skip


def test_default_that_breaks_a_coupled_condition_is_reported() -> None:
    # floor((H-1)/3 + 1) * floor((W-1)/3 + 1) >= 2 ties H and W; at H = W = 3 it fails.
    layers = [{"type": "MaxPool2d", "kernel_size": 1, "stride": 3}, {"type": "InstanceNorm2d"}]
    with pytest.raises(reference.Rejected):
        reference.run(layers, [1, 3, 3])
    with pytest.raises(CnnCalcError, match=r"needs more than 1 spatial element .* \(at the default H = 3, W = 3\)"):
        shapes(load("t.yaml", arch_text(layers, [1, "H", "W"], {"H": 3, "W": 3})), verify=False)


def test_merge_of_paths_that_scale_differently_is_valid_at_listed_sizes() -> None:
    # 3 * ceil(L/2) == L + 1 only holds for L = 2 (hypothesis found an earlier StopIteration here).
    layers = [{"type": "MaxPool1d", "kernel_size": 1, "stride": 2, "id": "a"},
              {"type": "Upsample", "scale_factor": 3, "id": "up"},
              {"type": "ZeroPad1d", "padding": [0, 1], "from": "input", "id": "b"},
              {"type": "Add", "from": ["up", "b"]}]  # fmt: skip
    report = shapes(load("t.yaml", arch_text(layers, [2, "L"], {"L": 2})), device="cpu")
    assert report.conditions == ["L in {2}"]
    assert report.verified


def test_a_disagreement_with_torch_skips_the_receptive_field_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # The twin of a network torch contradicts proves nothing (an Upsample torch refused crashed it, exit 3).
    from cnncalc.layers import CATALOGUE

    pool = CATALOGUE["MaxPool1d"]
    original = pool.output
    monkeypatch.setattr(pool, "output", lambda a, ins, ctx: tuple(d + 1 for d in original(a, ins, ctx)))
    layers = [{"type": "Conv1d", "out_channels": 2, "kernel_size": 1}, {"type": "MaxPool1d", "kernel_size": 2}]
    report = shapes(load("t.yaml", arch_text(layers, [1, 8])), device="cpu")
    assert report.mismatches and not report.verified
    assert report.rf is not None and "receptive fields not checked: torch disagrees with the shapes" in report.rf.notes


@pytest.mark.parametrize("merge", ["Add", "Concat", "Mul"])
def test_a_merge_may_take_the_same_input_twice(merge: str) -> None:
    # An independent fuzzer: the torch network freed the input after its first use (KeyError, a false exit 1).
    layers = [{"type": "ReLU", "id": "a"}, {"type": merge, "from": ["a", "a"]}]
    report = shapes(load("t.yaml", arch_text(layers, [2, 4])), device="cpu")
    assert report.verified and not report.mismatches
    assert reference.run(layers, [2, 4])[-1][0] == report.defaults.output_shape


@pytest.mark.parametrize(("start", "length", "size"), [(-3, 2, 5), (-5, 5, 5), (-1, 1, 5), (-6, 1, 5), (-1, 2, 5)])
def test_narrow_takes_a_negative_start_from_the_end(start: int, length: int, size: int) -> None:
    # torch.narrow reads start < 0 as size + start (and refuses start < -size); cnncalc refused every negative.
    layers = [{"type": "Narrow", "dim": 2, "start": start, "length": length}, {"type": "Conv1d", "out_channels": 1,
              "kernel_size": 1}]  # fmt: skip
    try:
        want = reference.run(layers, [3, size])
    except reference.Rejected:
        with pytest.raises(CnnCalcError, match=r"before the first entry|past the end"):
            shapes(load("t.yaml", arch_text(layers, [3, size])), verify=False)
        return
    report = shapes(load("t.yaml", arch_text(layers, [3, size])), device="cpu")
    assert report.verified and [r.shape for r in report.defaults.layers] == [w[0] for w in want]


def test_a_float_scale_factor_between_a_shift_and_a_pool_is_bounded_and_right() -> None:
    # An independent fuzzer: 1.7 became 7656119366529843/2**52, the condition solver enumerated one period of
    # 2**53 sizes and exhausted memory even with --no-verify. Now 17/10, and every size agrees with torch.
    layers = [{"type": "Conv1d", "out_channels": 1, "kernel_size": 3}, {"type": "Upsample", "scale_factor": 1.7},
              {"type": "AvgPool1d", "kernel_size": 2}]  # fmt: skip
    report = shapes(load("t.yaml", arch_text(layers, [1, "L"], {"L": 5})), device="cpu")
    assert report.verified and report.conditions == ["L >= 4"]
    for size in range(1, 60):
        try:
            want = reference.run(layers, [1, size])[-1][0]
        except reference.Rejected:
            with pytest.raises(CnnCalcError):
                shapes(load("t.yaml", arch_text(layers, [1, "L"], {"L": 5})), {"L": size}, verify=False)
            continue
        got = shapes(load("t.yaml", arch_text(layers, [1, "L"], {"L": 5})), {"L": size}, verify=False)
        assert got.defaults.output_shape == want
        assert tuple(sym.substitute(d, {"L": size}) for d in report.main.output_shape) == want


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 9999), st.integers(0, 3), st.data())
def test_a_scale_factors_fraction_matches_torchs_double_rounding(digits: int, places: int, data: st.DataObject) -> None:
    """exact_scale's fraction floors like torch's ``floor(float(i) * s)`` at every size drawn (small, and the
    whole-number products where double rounding bites); no fraction at all when none can."""
    import math
    from fractions import Fraction

    from cnncalc.layers.reshape import exact_scale

    s = digits / 10**places
    f = exact_scale(s)
    if f is None:  # then some size must really disagree with the decimal written, or it is too long to trust
        written = Fraction(repr(s))
        assert written.denominator > 2**12 or any(math.floor(i * written) != math.floor(float(i) * s)
                                                   for i in range(written.denominator, 2**24, written.denominator))  # fmt: skip
        return
    sizes = data.draw(st.lists(st.integers(1, 2**31), min_size=20, max_size=20))
    multiples = [f.denominator * m for m in data.draw(st.lists(st.integers(1, 2**20), min_size=20, max_size=20))]
    for i in [*range(1, 200), *sizes, *multiples]:
        assert math.floor(i * f) == math.floor(float(i) * s), (s, i)


def test_a_scale_factor_without_an_exact_fraction_is_derived_at_the_defaults() -> None:
    layers = [{"type": "Upsample", "scale_factor": 0.7}, {"type": "Conv1d", "out_channels": 2, "kernel_size": 3}]
    report = shapes(load("t.yaml", arch_text(layers, [1, "L"], {"L": 10})), device="cpu")
    assert report.verified and report.defaults.output_shape == reference.run(layers, [1, 10])[-1][0]
    assert any("scale_factor 0.7 has no exact formula in the symbols" in n and "L=10 work;" in n for n in report.notes)


def test_check_reports_each_failed_expectation_once_at_its_line(tmp_path: Any) -> None:
    # An independent tester: check printed "error: FILE:L:C: error: ..." (the prefix twice), all in one line.
    from click.testing import CliRunner

    from cnncalc.cli import main

    path = tmp_path / "ex.yaml"
    path.write_text("cnncalc: 1\ninput: [3, 8, 8]\nlayers:\n  - {type: Conv2d, out_channels: 4, kernel_size: 3, "
                    "expect: [4, 7, 7]}\n  - {type: ReLU, expect: [4, 5, 5]}\n")  # fmt: skip
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    errors = [line.strip() for line in result.stdout.splitlines() if "error:" in line]
    assert errors == [f"{path}:4:61: error: 'conv2d_1': expected output shape (4, 7, 7), derived (4, 6, 6)",
                      f"{path}:5:26: error: 'relu_1': expected output shape (4, 5, 5), derived (4, 6, 6)"]  # fmt: skip
    assert "✗ expected shapes" in result.stdout


def test_shapes_says_when_samples_mix(tmp_path: Any) -> None:
    # An independent tester: Softmax without dim on a per-sample 2-d input normalises over the batch (torch's
    # implicit dim); check failed on it, shapes said nothing. Now shapes notes it (exit 0), check still fails.
    from click.testing import CliRunner

    from cnncalc.cli import main

    path = tmp_path / "softmax.yaml"
    path.write_text("cnncalc: 1\ninput: [3, 8]\nlayers:\n  - {type: Softmax}\n")
    shown = CliRunner().invoke(main, ["shapes", str(path), "--no-verify"])
    assert shown.exit_code == 0
    assert "Note: 'softmax_1' (Softmax): Softmax with dim None on a batched rank-3 input normalises over dim 0" in (
        shown.stdout)  # fmt: skip
    assert CliRunner().invoke(main, ["check", str(path)]).exit_code == 1
    path.write_text("cnncalc: 1\ninput: [3, 8]\nlayers:\n  - {type: Softmax, dim: -1}\n")
    assert "Note:" not in CliRunner().invoke(main, ["shapes", str(path), "--no-verify"]).stdout


@pytest.mark.slow
def test_every_integer_argument_may_be_an_expression_over_symbols(tmp_path: Any) -> None:
    """Each integer-like argument of every layer type written as ``A``, ``A - 1`` (which may be 0) or ``A + 1``,
    through shapes, explain, rf, draw and solve: exit 0, 1 or 2 with located lines, never an internal error
    (89 of these crashed: a stride A - 1 divided by zero in the condition solver, a symbolic dim or group count
    reached Python comparisons, an adaptive size A reached the maps, explain's check of groups = A)."""
    from click.testing import CliRunner

    from cnncalc.cli import main
    from cnncalc.layers import CATALOGUE, REQUIRED

    simple = {"int": "2", "size": "2", "pad": "1", "sizeopt": "2", "ints": "[1]", "float": "0.5", "floats": "2.0",
              "bool": "true"}  # fmt: skip
    inputs = {1: "[4, 12]", 2: "[4, 12, 12]", 3: "[4, 6, 6, 6]"}
    path, runner, cases = tmp_path / "c.yaml", CliRunner(), 0
    for name, t in CATALOGUE.items():
        for arg, spec in t.args.items():
            if spec.kind not in ("int", "size", "pad", "sizeopt", "ints") or name == "Permute":
                continue
            others = {a: (s.choices[0] if s.kind == "str" else simple.get(s.kind, "2"))
                      for a, s in t.args.items() if s.default is REQUIRED and a != arg}  # fmt: skip
            for value, default in (("A", 2), ("A - 1", 1), ("A", 1), ("A + 1", 2)):
                written = ", ".join(f"{k}: {v}" for k, v in {**others, arg: value}.items())
                path.write_text(f"cnncalc: 1\nsymbols: {{A: {default}}}\ninput: {inputs[getattr(t, 'ndim', 0) or 2]}\n"
                                f"layers:\n  - {{type: {name}, {written}}}\n  - Flatten\n")  # fmt: skip
                for command in (["shapes", "--format", "json"], ["explain"], ["rf"], ["solve"],
                                ["draw", "-o", str(tmp_path / "c.svg")]):  # fmt: skip
                    cases += 1
                    result = runner.invoke(main, [command[0], str(path), "--no-verify", *command[1:]])
                    assert result.exit_code in (0, 1, 2), (path.read_text(), command, result.stderr)
                    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
                    errors = [line for line in result.stderr.splitlines() if "error:" in line]
                    assert all(line.startswith(str(path)) for line in errors if command[0] != "solve"), errors
    assert cases > 2000


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_calculators_never_crash(data: st.DataObject) -> None:
    """conv, pool and convt with any mix of numbers, auto, nonsense and --out-size: exit 0, 1 or 2, one-line
    errors, never an internal error (convt solving for a size with no positive root was exit 3)."""
    from click.testing import CliRunner

    from cnncalc.cli import main

    pick = data.draw
    command = pick(st.sampled_from(["conv", "pool", "convt"]))
    args = [command, pick(st.sampled_from(["1", "7", "32", "32x32", "5x6", "4x4x4", "0", "-3", "3x", "auto"]))]
    for option, values in (("-k", ["1", "2", "3", "7", "auto", "0", "99"]), ("-s", ["1", "2", "3", "auto", "0"]),
                           ("-p", ["0", "1", "2", "auto", "same", "-1"]), ("-d", ["1", "2", "auto", "0"])):  # fmt: skip
        if pick(st.booleans()):
            args += [option, pick(st.sampled_from(values))]
    if command == "convt" and pick(st.booleans()):
        args += ["--output-padding", pick(st.sampled_from(["0", "1", "auto"]))]
    if pick(st.booleans()):
        args += ["--out-size", pick(st.sampled_from(["1", "16", "64", "16x16", "0", "100000"]))]
    if command != "pool" and pick(st.booleans()):
        args += ["-c", pick(st.sampled_from(["1", "3", "auto"])), "-f", pick(st.sampled_from(["1", "8", "auto"]))]
    result = CliRunner().invoke(main, [*args, "--no-verify"])
    assert result.exit_code in (0, 1, 2), (args, result.stderr)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)


def test_meta_device_inputs_are_never_allocated() -> None:
    # An API sweep: summary(model, (1, 3, 2**40, 8), device="meta") made the input on the CPU first (exit 3 in a
    # CLI, an allocation error in Python). On meta the input is made on meta: no values, any size.
    import torch
    from torch import nn

    import cnncalc

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    s = cnncalc.summary(model, (1, 3, 2**40, 8), device="meta", verbose=0)
    assert s.output_shapes == [(1, 2)] and s.total_params == sum(p.numel() for p in model.parameters())
    assert all(p.device.type == "cpu" for p in model.parameters()) and isinstance(model[0].weight, torch.Tensor)
