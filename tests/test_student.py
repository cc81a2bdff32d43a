"""Homework mode as a student meets it (issue 13): Keras shapes, calculators with channels, no phantom files.

Every test goes through the command line, as a student would, and compares the numbers with
torch (built here, independently) or with Keras' own published totals.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.cli import main
from cnncalc.layers.keras import snake_case

GOLDEN = Path(__file__).parent / "golden"
PHANTOM = re.compile(r"cnncalc (conv|pool|convt|params \w+):\d|\(line \d|line \d+:\d")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- 1. Keras courses ---------------------------------------------------------------------------------


KERAS_TOTALS = {  # (total, trainable, non-trainable) as Keras' model.summary() prints them
    "examples/keras/mnist_cnn.yaml": (93_322, 93_322, 0),
    "examples/keras/happy_house.yaml": (37_633, 37_569, 64),
    "examples/keras/resnet20_cifar.yaml": (274_442, 273_066, 1_376),
}


@pytest.mark.parametrize("path", KERAS_TOTALS)
def test_keras_summary_reproduces_keras_totals(path: str) -> None:
    code, out, err = run("shapes", path, "--format", "keras")
    assert code == 0, err
    total, trainable, frozen = KERAS_TOTALS[path]
    lines = out.splitlines()
    assert re.match(r"┃ Layer \(type\) +┃ Output Shape +┃ +Param # ┃", lines[2])  # Keras 3's rich table
    assert f"Total params: {total:,} (" in out and f"Trainable params: {trainable:,} (" in out
    assert f"Non-trainable params: {frozen:,} (" in out


def test_keras_summary_of_the_course_cnn_is_what_keras_prints(update_golden: bool) -> None:
    """Keras names its layers conv2d, conv2d_1, ...; shapes (None, H, W, C); the file: golden/mnist_cnn.keras.txt."""
    code, out, _ = run("shapes", "examples/keras/mnist_cnn.yaml", "--format", "keras", "--width", "200")
    assert code == 0
    assert " conv2d (Conv2D) " in out and "(None, 26, 26, 32)" in out and " dense_1 (Dense) " in out
    assert "Total params: 93,322 (364.54 KB)" in out  # Keras 3 sizes the float32 weights, in KB of 1024 bytes
    assert out.splitlines()[-1].startswith("Verified: torch ")  # what was verified, as the table says it
    out = re.sub(r"torch \d+\.\d+\.\d+\S*", "torch X", out)
    path = GOLDEN / "mnist_cnn.keras.txt"
    if update_golden:
        path.write_text(out)
    assert out == path.read_text()


def test_keras_summary_counts_the_same_network_as_torch_does_with_keras_rules() -> None:
    """The course CNN built in torch: Keras' total is torch's parameter count (no BatchNorm here)."""
    from torch import nn

    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(), nn.Linear(576, 64), nn.ReLU(),
                        nn.Linear(64, 10))  # fmt: skip
    assert sum(p.numel() for p in net.parameters()) == 93_322
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_keras_convention_reads_and_prints_height_width_channels() -> None:
    code, out, err = run("shapes", "examples/keras/mnist_cnn.yaml", "--width", "200")
    assert code == 0, err
    assert "mnist-cnn · input 28×28×1" in out and "26×26×32" in out and "3×3×64" in out
    code, out, _ = run("explain", "examples/keras/mnist_cnn.yaml", "--no-verify")
    assert "input 28×28×1 -> output 26×26×32" in out
    assert "C_out = filters = 32" in out and "out_channels" not in out  # Keras' word stays Keras'
    assert "out = units = 64" in out


def test_convention_flag_reads_a_keras_input(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text("cnncalc: 1\nname: k\ninput: [28, 28, 1]\nlayers:\n  - {type: Conv2D, filters: 32, kernel_size: 3}\n"
                    "  - {type: MaxPooling2D, pool_size: 2}\n  - Flatten\n  - {type: Dense, units: 10}\n")  # fmt: skip
    code, out, err = run("shapes", str(path), "--convention", "keras", "--width", "200")
    assert code == 0, err
    assert "13×13×32" in out and "Total params: 54,410" in out
    assert sum(p.numel() for p in (torch.nn.Conv2d(1, 32, 3), torch.nn.Linear(13 * 13 * 32, 10))
               for p in p.parameters()) == 54_410  # fmt: skip


def test_channels_last_input_read_channels_first_gets_the_hint(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(
        "cnncalc: 1\nname: k\ninput: [28, 28, 1]\nlayers:\n  - {type: Conv2D, filters: 32, kernel_size: 3}\n"
    )
    code, out, err = run("shapes", str(path), "--no-verify")
    assert code == 2 and out == ""
    assert err.startswith(f"{path}:5:5: error: Conv2D 'conv2d': kernel is larger than the padded input in width")
    assert ("hint: cnncalc reads (C, H, W) as torch does; did you mean [1, 28, 28], or `convention: keras` for "
            "(H, W, C)?") in err  # fmt: skip
    path.write_text(
        "cnncalc: 1\nname: k\ninput: [32, 32, 3]\nlayers:\n  - Flatten\n  - {type: Linear, out_features: 2}\n"
    )
    code, out, _ = run("shapes", str(path), "--no-verify", "--width", "200")
    assert code == 0 and "Note: cnncalc reads (C, H, W) as torch does; did you mean [3, 32, 32]" in out
    path.write_text("cnncalc: 1\nname: k\ninput: [3, 32, 32]\nlayers:\n  - Flatten\n")
    code, out, _ = run("shapes", str(path), "--no-verify", "--width", "200")
    assert code == 0 and "Note:" not in out


@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(4, 12), st.integers(1, 6))
@settings(max_examples=15, deadline=None)
def test_keras_expect_and_shapes_are_channels_last(tmp_path_factory: pytest.TempPathFactory, ndim: int, k: int,
                                                    s: int, size: int, filters: int) -> None:  # fmt: skip
    """A Keras ConvND on (spatial..., C) against torch's ConvNd on (C, spatial...), through the CLI."""
    if size < k:
        return
    spatial = [size] * ndim
    out = [(size - k) // s + 1] * ndim
    text = (f"cnncalc: 1\nname: k\nconvention: keras\ninput: {[*spatial, 2]}\nlayers:\n"
            f"  - {{type: Conv{ndim}D, filters: {filters}, kernel_size: {k}, strides: {s}, expect: {[*out, filters]}}}\n")  # fmt: skip
    ref = getattr(torch.nn, f"Conv{ndim}d")(2, filters, k, s)
    assert tuple(ref(torch.zeros(1, 2, *spatial)).shape[2:]) == tuple(out)
    path = tmp_path_factory.mktemp("keras") / "k.yaml"
    path.write_text(text)
    code, got, err = run("shapes", str(path), "--no-verify", "--width", "200", "--format", "csv")
    assert code == 0, err
    row = got.splitlines()[1].split(",")
    assert row[6] == "x".join(map(str, [*out, filters])) and int(row[8]) == sum(p.numel() for p in ref.parameters())


def test_snake_case_is_keras_naming() -> None:
    assert [snake_case(n) for n in ("Conv2D", "MaxPooling2D", "BatchNormalization", "GlobalAveragePooling2D",
                                    "ZeroPadding2D", "ReLU", "Dense")] == [
        "conv2d", "max_pooling2d", "batch_normalization", "global_average_pooling2d", "zero_padding2d", "re_lu",
        "dense"]  # fmt: skip


# --- 2. Calculators with channels ---------------------------------------------------------------------


def test_alexnet_first_conv_in_one_go() -> None:
    code, out, err = run("conv", "227x227", "-k", "11", "-s", "4", "-c", "3", "-f", "96")
    assert code == 0, err
    assert "input 3×227×227 -> output 96×55×55  (verified with torch)" in out
    assert "params = (k_h·k_w·C_in + 1)·C_out = (11·11·3 + 1)·96 = 34,944" in out
    assert "MACs = C_out·H_out·W_out·k_h·k_w·C_in = 96·55·55·11·11·3 = 105,415,200" in out
    conv = torch.nn.Conv2d(3, 96, 11, 4)
    assert conv(torch.zeros(1, 3, 227, 227)).shape == (1, 96, 55, 55)
    assert sum(p.numel() for p in conv.parameters()) == 34_944
    code, out2, _ = run("conv", "227x227", "-k", "11", "-s", "4", "--in-channels", "3", "--out-channels", "96")
    assert code == 0 and "34,944" in out2


@given(st.sampled_from(["conv", "convt"]), st.integers(1, 2), st.integers(1, 8), st.integers(1, 8),
       st.integers(1, 4), st.integers(1, 3), st.integers(0, 1), st.integers(5, 16))  # fmt: skip
@settings(max_examples=20, deadline=None)
def test_channel_calculators_agree_with_torch(kind: str, n: int, c_in: int, c_out: int, k: int, s: int, p: int,
                                               size: int) -> None:  # fmt: skip
    args = [kind, "x".join([str(size)] * n), "-k", str(k), "-s", str(s), "-p", str(p), "-c", str(c_in), "-f",
            str(c_out), "--no-verify"]  # fmt: skip
    code, out, err = run(*args)
    name = "Conv" if kind == "conv" else "ConvTranspose"
    layer = getattr(torch.nn, f"{name}{n}d")(c_in, c_out, k, s, p)
    try:
        y = layer(torch.zeros(1, c_in, *[size] * n))
    except RuntimeError:
        assert code != 0
        return
    assert code == 0, err
    shape = "×".join(map(str, y.shape[1:]))
    assert f"-> output {shape}" in out
    assert f"= {sum(q.numel() for q in layer.parameters()):,}\n" in out
    per = k**n * (c_in if kind == "conv" else c_out)
    macs = per * c_out * y.shape[2:].numel() if kind == "conv" else per * c_in * size**n
    assert f"= {macs:,}\n" in out


def test_size_with_three_parts_is_3d_and_says_so() -> None:
    _, out, _ = run("conv", "--help")
    assert "32x64x64 (3-d" in re.sub(r"\s+", " ", out)
    code, out, err = run("conv", "3x227x227", "-k", "11", "-s", "4")
    assert code == 2 and out == ""
    assert err.startswith("cnncalc conv: error: Conv3d: kernel is larger than the padded input in depth")
    assert err.rstrip().endswith("did you mean 3 channels of 227x227? use -c 3 227x227")


def test_out_size_solves_for_what_was_not_given() -> None:
    code, out, _ = run("conv", "224", "--out", "112", "-k", "7", "-s", "2")
    assert code == 0 and "p = 3: accepted, verified with torch" in out
    assert "112 = ⌊(224 + 2·p − 7)/2⌋ + 1 ⇒ 111 ≤ (2·p + 217)/2 < 112 ⇒ 5/2 ≤ p < 7/2 ⇒ p = 3" in out
    assert torch.nn.Conv1d(1, 1, 7, 2, 3)(torch.zeros(1, 1, 224)).shape[-1] == 112
    code, out, _ = run("pool", "224", "--out-size", "112", "-k", "3", "-p", "1")
    assert code == 0 and "s = 2: accepted" in out
    code, out, _ = run("conv", "512", "--out-size", "504")
    assert code == 0 and "504 = ⌊(512 + 2·0 − k)/1⌋ + 1 ⇒ 504 = 513 − k ⇒ k = 9" in out


def test_several_free_keep_the_defaults_and_the_help_says_so() -> None:
    code, _, err = run("conv", "224", "--out-size", "112", "-k", "7")
    assert code == 1
    assert err == ("cnncalc conv: error: --out-size 112 does not hold: -k 7 gives 218; hint: write -s auto or -p auto "
                   "to solve for one of them\n")  # fmt: skip
    _, help_text, _ = run("conv", "--help")
    flat = re.sub(r"\s+", " ", help_text)
    assert "whichever alone is missing" in flat and "keep their defaults" in flat


def test_shell_safe_unknown_and_old_spellings() -> None:
    code, auto, _ = run("pool", "11", "--out-size", "3", "-k", "auto", "-s", "auto", "-p", "1")
    code2, glob, _ = run("pool", "11", "--out", "3", "-k", "?", "-s", "?", "-p", "1")
    assert code == code2 == 0 and auto == glob and "14 solutions" in auto
    code, out, _ = run("params", "conv", "-k", "5", "--in", "3", "--out", "32")
    code2, out2, _ = run("params", "conv", "-k", "5", "-c", "3", "-f", "32")
    code3, out3, _ = run("params", "linear", "--in-features", "512", "--out-features", "10")
    assert code == code2 == code3 == 0 and out == out2 and "= 2,432" in out and "= 5,130" in out3


@pytest.mark.parametrize("doc", ["README.md", "examples/homework/README.md"])
def test_readme_quotes_every_question_mark(doc: str) -> None:
    """``?`` is a shell glob: a command a student copies must quote it (or say auto)."""
    commands = []
    for line in Path(doc).read_text().splitlines():
        commands += re.findall(r"`([^`]*cnncalc [^`]*)`", line)
        if re.match(r"\s*(\$ |\.venv/bin/)?cnncalc ", line):
            commands.append(line.split("  #")[0])
    assert any("auto" in c or "'?'" in c for c in commands), doc
    for c in commands:
        assert "?" not in re.sub(r"'[^']*'|\"[^\"]*\"", "", c), c


# --- 3. No message points into a file the user never wrote ----------------------------------------------


@pytest.mark.parametrize("args", [
    ["conv", "3x227x227", "-k", "11", "-s", "4"],
    ["conv", "224", "--out", "112", "-k", "7", "-s", "2", "-p", "0"],
    ["conv", "224", "--out", "500", "-k", "7", "-s", "2"],
    ["conv", "abc", "-k", "3"],
    ["conv", "8", "-k", "3", "-d", "9"],
    ["pool", "4", "-k", "3", "-p", "2"],
    ["convt", "4", "-k", "3", "--output-padding", "5"],
    ["params", "conv", "-k", "0", "-c", "3", "-f", "4"],
])  # fmt: skip
def test_calculator_messages_name_the_command_and_flags(args: list[str]) -> None:
    code, out, err = run(*args)
    assert code in (1, 2)
    assert err.startswith(f"cnncalc {args[0]}"), err
    assert ": error: " in err and not PHANTOM.search(out + err), out + err
    assert "Traceback" not in err


def test_no_solution_suggests_only_options_the_command_has() -> None:
    code, out, err = run("conv", "224", "--out-size", "500", "-k", "7", "-s", "2")
    assert code == 1 and "--max" in out + err
    _, help_text, _ = run("conv", "--help")
    assert "--max" in help_text
    code, out, _ = run("conv", "224", "--out-size", "500", "-k", "7", "-s", "2", "--max", "400")
    assert code == 0 and "p = 391: accepted" in out


def test_solve_prints_no_empty_constraints_and_checks_only_what_it_checked() -> None:
    code, out, _ = run("solve", "examples/homework/q1_kernel_from_sizes.yaml")
    assert code == 0 and "Constraints:" not in out and "Checked with torch" in out
    code, out, _ = run("conv", "224", "--out-size", "500", "-k", "7", "-s", "2")
    assert "Checked with torch" not in out


# --- 7. Quiet, consistent output ----------------------------------------------------------------------


@pytest.mark.slow
def test_no_dependency_warning_reaches_the_user() -> None:
    """A fresh process, as after the README install (torch without numpy warns when some of it loads)."""
    import subprocess
    import sys

    for args in (["shapes", "tests/models/course_net.py:Net", "--input", "3xHxW"],
                 ["shapes", "examples/cifar_cnn.yaml"], ["check", "tests/models/course_net.py:Net", "--input", "3x28x28"]):  # fmt: skip
        proc = subprocess.run([sys.executable, "-c", "from cnncalc.cli import main; main()", *args],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "Warning" not in proc.stderr and proc.stderr == "", proc.stderr


def test_counts_have_separators_everywhere() -> None:
    for args in (["explain", "examples/vgg16.yaml"], ["explain", "examples/homework/q4_parameters.yaml"],
                 ["explain", "examples/keras/resnet20_cifar.yaml"], ["params", "linear", "-c", "4096", "-f", "1000"]):  # fmt: skip
        code, out, _ = run(*args, "--no-verify")
        assert code == 0
        for line in out.splitlines():
            if "params" in line or "buffers" in line or "Total parameters" in line:
                assert not re.search(r"(?<![\w.,/×])\d{4,}(?![\w.,/×])", line.split("note:")[0]), line
    code, out, _ = run("explain", "examples/homework/q4_parameters.yaml", "--no-verify")
    assert "Total parameters = 2,432 + 18,496 + 31,370 = 52,298" in out


def test_plurals_and_a_one_layer_explain_with_totals() -> None:
    code, out, _ = run("explain", "examples/homework/q3_receptive_field.yaml", "--layer", "Z1")
    assert code == 0 and "all 1 layers" not in out
    code, out, _ = run("conv", "32", "-k", "3")
    assert code == 0 and "its one layer agrees" in out and "all 1 layers" not in out
    code, out, _ = run("params", "conv", "-k", "3", "-c", "1", "-f", "1")
    assert "Total parameters = 10" in out
    code, out, _ = run("shapes", "tests/models/course_net.py:Net", "--input", "3x28x28")
    assert "agree on all 5 catalogue modules" in out


def test_a_one_layer_file_explains_with_its_totals(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text("cnncalc: 1\ninput: [3, 32, 32]\nlayers:\n  - {type: Conv2d, out_channels: 64, kernel_size: 3}\n")
    code, out, _ = run("explain", str(path))
    assert code == 0 and "Total parameters = 1,792" in out and "its one layer agrees" in out
    assert sum(p.numel() for p in torch.nn.Conv2d(3, 64, 3).parameters()) == 1_792


def test_layers_help_lists_the_types_and_how_to_see_one() -> None:
    from cnncalc.layers import CATALOGUE

    code, out, _ = run("layers", "--help")
    flat = " ".join(out.split())
    assert code == 0 and all(name in flat for name in CATALOGUE)
    assert "cnncalc layers Conv2d" in flat
    code, out, _ = run("layers", "ZeroPadding2D")
    assert code == 0 and "torch: ZeroPad2d" in out
