"""Homework mode: worked derivations, the solver, the calculators and the numeric convolution.

Answers are pinned where the issue states them, and checked against torch: the solver's
solutions against an exhaustive torch search, derivation steps against torch's output sizes,
the numeric convolution against F.conv2d.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.analysis.derivation import derive
from cnncalc.cli import main
from cnncalc.convolve import convolve
from cnncalc.errors import CnnCalcError
from cnncalc.pipeline import explain, load, shapes, solve_file
from cnncalc.render.derivation import to_text

from .helpers import arch_text

SOBEL = ("1 0 2 3 1; 3 2 0 7 0; 0 6 1 1 4", "-1 0 1; -2 0 2; -1 0 1")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- explain -------------------------------------------------------------------------------------------------


def test_explain_shows_formula_numbers_and_result_per_layer() -> None:
    code, out, _ = run("explain", "examples/homework/q4_parameters.yaml")
    assert code == 0
    assert "H_out = ⌊(H_in + 2·p − k)/s⌋ + 1 = ⌊(32 + 2·2 − 5)/1⌋ + 1 = ⌊31/1⌋ + 1 = 32" in out
    assert "params = (k_h·k_w·C_in + 1)·C_out = (5·5·3 + 1)·32 = 2,432" in out
    assert "features = C·H·W = 64·7·7 = 3136" in out
    assert "Total parameters = 2,432 + 18,496 + 31,370 = 52,298" in out
    assert "verified with torch" in out


def test_explain_says_when_torch_floors() -> None:
    text = arch_text([{"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "stride": 2}], [1, 252, 252])
    expl = explain(load("t.yaml", text), verify=True)
    out, report = to_text(expl), expl.report
    assert "(252 + 2·0 − 3)/2 = 124.5, floor -> 124: the last row of the input is never covered" in out
    assert report.main.layers[0].shape == (1, 125, 125) and report.ok
    padded = arch_text([{"type": "Conv1d", "out_channels": 1, "kernel_size": 3, "stride": 4, "padding": 1}], [1, 10])
    out = to_text(explain(load("t.yaml", padded), verify=False))
    assert "(10 + 2·1 − 3)/4 = 2.25, floor -> 2: only padding is left over; every input position is covered" in out


def test_explain_symbolic_receptive_field_of_z2() -> None:
    code, out, _ = run("explain", "examples/homework/q3_receptive_field.yaml", "--layer", "Z2")
    assert code == 0
    assert "= ⌊(A − 7)/1⌋ + 1 = A − 6" in out
    assert "r = r_in + (k − 1)·S_in = 5 + (3 − 1)·1 = 7" in out
    assert "Valid when: A >= 7" in out


def test_explain_unknown_layer_is_a_one_line_error() -> None:
    code, _, err = run("explain", "examples/homework/q3_receptive_field.yaml", "--layer", "Z3")
    assert code == 2 and "no layer named 'Z3'" in err and "the layers are Z1, Z2" in err
    code, _, err = run("explain", "examples/homework/q4_parameters.yaml", "--layer", "conv3")
    assert code == 2 and "did you mean 'conv2'" in err


def _well_formed_latex(doc: str) -> None:
    assert doc.startswith("\\documentclass") and doc.rstrip().endswith("\\end{document}")
    depth = 0
    for ch in re.sub(r"\\[{}]", "", doc):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    envs = re.findall(r"\\(begin|end)\{([a-z*]+)\}", doc)
    stack: list[str] = []
    for kind, name in envs:
        if kind == "begin":
            stack.append(name)
        else:
            assert stack.pop() == name
    assert not stack
    for math in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", doc, re.S):
        assert math.count("\\left") == math.count("\\right")
        assert "_" not in re.sub(r"_\{[^{}]*(\{[^{}]*\}[^{}]*)*\}|\\_|(?<=[A-Za-z])_[A-Za-z]", "", math)
    known = {"documentclass", "usepackage", "begin", "end", "section", "subsection", "texttt", "textbf", "item",
             "left", "right", "lfloor", "rfloor", "lceil", "rceil", "frac", "cdot", "mathrm", "times", "to", "emph",
             "par", "paragraph", "_", "bmatrix", "star", "circledast"}  # fmt: skip
    assert set(re.findall(r"\\([A-Za-z]+|.)", doc)) <= known | {",", "\\", "{", "}", "&", "%", "$", "#", "[", "]"}


def test_latex_is_well_formed_for_concrete_symbolic_and_keras_files() -> None:
    for path in (
        "examples/homework/q4_parameters.yaml",
        "examples/resnet18.yaml",
        "examples/keras/resnet20_cifar.yaml",
    ):
        code, out, _ = run("explain", path, "--format", "latex", "--no-verify")
        assert code == 0, path
        _well_formed_latex(out)
    code, out, _ = run("convolve", "--image", SOBEL[0], "--kernel", SOBEL[1], "--padding", "1", "--steps",
                       "--format", "latex")  # fmt: skip
    assert code == 0
    _well_formed_latex(out)


def test_markdown_has_a_section_per_layer() -> None:
    code, out, _ = run("explain", "examples/homework/q4_parameters.yaml", "--format", "markdown", "--no-verify")
    assert code == 0 and out.count("\n### ") == 7
    assert "- **parameters**: `params = (k_h·k_w·C_in + 1)·C_out = (5·5·3 + 1)·32 = 2,432`" in out


@st.composite
def window_layer(draw: st.DrawFn) -> tuple[dict[str, Any], list[int]]:
    n = draw(st.sampled_from([1, 2]))
    kind = draw(st.sampled_from(["Conv", "MaxPool", "AvgPool", "ConvTranspose"]))
    k = draw(st.integers(1, 5))
    layer: dict[str, Any] = {"type": f"{kind}{n}d", "kernel_size": k, "stride": draw(st.integers(1, 3))}
    if kind in ("Conv", "ConvTranspose"):
        layer["out_channels"] = 2
        layer["dilation"] = draw(st.integers(1, 2))
    if kind == "MaxPool":
        layer["dilation"] = draw(st.integers(1, 2))
    layer["padding"] = draw(st.integers(0, k // 2))
    if kind in ("MaxPool", "AvgPool"):
        layer["ceil_mode"] = draw(st.booleans())
    return layer, [2, *draw(st.lists(st.integers(6, 20), min_size=n, max_size=n))]


@given(window_layer())
def test_derivation_steps_equal_torch_output_sizes(case: tuple[dict[str, Any], list[int]]) -> None:
    layer, shape = case
    kwargs = {k: v for k, v in layer.items() if k != "type"}
    module = getattr(torch.nn, layer["type"])(**({"in_channels": 2} if "out_channels" in layer else {}), **kwargs)
    try:
        report = shapes(load("t.yaml", arch_text([layer], shape)), verify=False)
    except CnnCalcError:
        with pytest.raises(RuntimeError):
            module(torch.zeros(1, *shape))
        return
    (d,) = derive(report.main, report.rf)
    out = module(torch.zeros(1, *shape))
    sizes = [s for s in d.steps if s.lhs.endswith("_out") and s.lhs != "C_out"]
    assert [s.result for s in sizes] == list(out.shape[2:])
    for s in sizes:
        if s.formula is not None and not layer.get("ceil_mode"):
            assert s.formula.value(s.env) == s.result  # the shown formula gives the shown number


# --- solve ---------------------------------------------------------------------------------------------------


def test_solve_finds_the_kernel_9() -> None:
    code, out, _ = run("solve", "examples/homework/q1_kernel_from_sizes.yaml")
    assert code == 0
    assert "F = 9: accepted, verified with torch" in out and "1 solution," in out


def test_solve_lists_every_pooling_pair_exactly_as_torch_does() -> None:
    report = solve_file("examples/homework/q2_pool_pairs.yaml")
    ours = {(c.values["k"], c.values["s"]): c.accepted for c in report.solved.candidates}
    theirs = {}
    for k in range(1, 12):
        for s in range(1, 12):
            try:
                y = torch.nn.MaxPool2d(k, s, padding=1)(torch.zeros(1, 1, 11, 11))
                if tuple(y.shape[2:]) == (3, 3):
                    theirs[(k, s)] = True
            except RuntimeError:
                if (13 - k) // s + 1 == 3:
                    theirs[(k, s)] = False  # the arithmetic holds, torch refuses
    assert ours == theirs
    assert report.ok and not report.disagreements
    refused = [e for c, e in zip(report.solved.candidates, report.torch_refusals) if not c.accepted]
    assert refused and all(e and "pad should be at most half" in e for e in refused)


def test_solve_names_the_constraint_that_cannot_hold() -> None:
    text = arch_text([{"type": "Conv2d", "out_channels": 8, "kernel_size": "k", "id": "conv1",
                       "expect": [8, 40, 40]}], [3, 32, 32], {"k": None})  # fmt: skip
    report = solve_file(load("t.yaml", text), verify=False)
    assert not report.ok and "conv1: expect [8, 40, 40] cannot hold" in report.solved.impossible


def test_solve_without_unknowns_is_a_usage_error() -> None:
    code, _, err = run("solve", "examples/homework/q4_parameters.yaml")
    assert code == 2 and "nothing to solve" in err


@given(st.integers(5, 60), st.integers(1, 7), st.integers(1, 3), st.integers(0, 3))
def test_solved_kernels_are_exactly_those_torch_agrees_with(i: int, k: int, s: int, p: int) -> None:
    out = torch.nn.Conv1d(1, 1, k, s, p)(torch.zeros(1, 1, i)).shape[-1] if k <= i + 2 * p else None
    if out is None:
        return
    text = arch_text([{"type": "Conv1d", "out_channels": 1, "kernel_size": "k", "stride": s, "padding": p,
                       "expect": [1, out]}], [1, i], {"k": None})  # fmt: skip
    report = solve_file(load("t.yaml", text), verify=False)
    found = {c.values["k"] for c in report.solved.candidates if c.accepted}
    truth = {kk for kk in range(1, i + 2 * p + 1) if (i + 2 * p - kk) // s + 1 == out}
    assert k in found and found == truth


# --- calculators ---------------------------------------------------------------------------------------------


def test_conv_calculator_gives_504_with_the_formula() -> None:
    code, out, _ = run("conv", "512", "-k", "9")
    assert code == 0 and "⌊(512 + 2·0 − 9)/1⌋ + 1 = ⌊503/1⌋ + 1 = 504" in out


def test_conv_calculator_solves_for_the_kernel() -> None:
    code, out, _ = run("conv", "512", "--out", "504")
    assert code == 0 and "k = 9: accepted, verified with torch" in out and "1 solution," in out


def test_pool_calculator_and_alternatives() -> None:
    code, out, _ = run("pool", "504", "-k", "2", "-s", "2")
    assert code == 0 and "= 252" in out
    code, out, _ = run("pool", "11", "--out", "3", "-k", "?", "-s", "?")
    assert code == 0 and "10 solutions, 10 accepted" in out and "k = 3, s = 3: accepted" in out
    code, out, _ = run("pool", "5", "-k", "2", "-s", "2", "-p", "1", "--ceil")
    assert code == 0 and "-> 3" in out and "torch drops it" in out  # trap 1: naive ceil says 4


def test_convt_calculator_and_shapes_per_dim() -> None:
    code, out, _ = run("convt", "6", "-k", "3", "-s", "2", "-p", "1")
    assert code == 0 and "(6 − 1)·2 − 2·1 + 1·(3 − 1) + 0 + 1 = 11" in out
    code, out, _ = run("conv", "32x64", "-k", "3x5", "-s", "1x2")
    assert code == 0 and "H_out" in out and "= 30" in out and "= 30" in out.split("W_out")[1]
    code, out, _ = run("conv", "8x16x16", "--out", "6x14x14")
    assert code == 0 and "k_d = 3, k_h = 3, k_w = 3: accepted, verified with torch" in out


def test_params_calculator() -> None:
    code, out, _ = run("params", "conv", "-k", "5", "--in", "3", "--out", "32")
    assert code == 0 and "params = (k_h·k_w·C_in + 1)·C_out = (5·5·3 + 1)·32 = 2,432" in out
    code, out, _ = run("params", "conv", "-k", "3", "--in", "8", "--out", "16", "--groups", "4", "--no-bias")
    assert code == 0 and "k_h·k_w·C_in/g·C_out = 3·3·8/4·16 = 288" in out
    code, out, _ = run("params", "linear", "--in", "512", "--out", "10")
    assert code == 0 and "(512 + 1)·10 = 5,130" in out
    code, out, _ = run("params", "batchnorm", "--in", "64", "--convention", "keras")
    assert code == 0 and "params_keras = params_torch + moving_stats = 128 + 128 = 256" in out


def test_calculator_bad_input_is_one_line() -> None:
    for args in (["conv", "512"], ["conv", "51x2x3x4", "-k", "3"], ["conv", "abc", "-k", "3"],
                 ["conv", "512", "-k", "?"], ["params", "conv", "--in", "3", "--out", "2"]):  # fmt: skip
        code, _, err = run(*args)
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, args


# --- convolve ------------------------------------------------------------------------------------------------


def test_convolve_sobel_row_one_and_working() -> None:
    code, out, _ = run("convolve", "--image", SOBEL[0], "--kernel", SOBEL[1], "--padding", "1", "--steps")
    assert code == 0
    rows = out.split("Output:\n")[1].splitlines()
    assert rows[0].split() == ["2", "-1", "11", "-2", "-13"]
    assert "Cross-correlation" in out and "Verified: torch.nn.functional.conv2d gives the same matrix." in out
    assert "out[0,0] = 0*(-1) + 0*0 + 0*1 + 0*(-2) + 1*0 + 0*2 + 0*(-1) + 3*0 + 2*1 = 2" in out
    code, same, _ = run("convolve", "--image", SOBEL[0], "--kernel", SOBEL[1], "--padding", "same")
    assert code == 0 and same.split("Output:\n")[1].splitlines()[0].split() == rows[0].split()
    code, flipped, _ = run("convolve", "--image", SOBEL[0], "--kernel", SOBEL[1], "--padding", "1", "--flip")
    assert code == 0 and flipped.split("Output:\n")[1].splitlines()[0].split() == ["-2", "1", "-11", "2", "13"]


matrices = st.integers(1, 5).flatmap(
    lambda h: st.integers(1, 5).flatmap(
        lambda w: st.lists(st.lists(st.integers(-9, 9), min_size=w, max_size=w), min_size=h, max_size=h)
    )
)


@given(matrices, matrices, st.integers(0, 2), st.integers(1, 3), st.booleans())
def test_convolve_matches_conv2d(image: list[list[int]], kernel: list[list[int]], p: int, s: int, flip: bool) -> None:
    if len(kernel) > len(image) + 2 * p or len(kernel[0]) > len(image[0]) + 2 * p:
        return
    result = convolve([[Fraction(v) for v in r] for r in image], [[Fraction(v) for v in r] for r in kernel], p, s, flip)
    w = torch.tensor(kernel, dtype=torch.float64)
    w = torch.flip(w, (0, 1)) if flip else w
    want = F.conv2d(torch.tensor(image, dtype=torch.float64)[None, None], w[None, None], stride=s, padding=p)[0, 0]
    assert [[int(v) for v in r] for r in result.output] == want.long().tolist()
    for r, trow in zip(result.terms, result.output):
        for pairs, value in zip(r, trow):
            assert sum(x * y for x, y in pairs) == value
