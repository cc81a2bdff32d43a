"""Rough edges new users hit: Keras' names in every output, sizes too large to print, what --format keras verified."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.cli import main

from .helpers import arch_text


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def keras_rows(out: str) -> list[tuple[str, str]]:
    """(name, type) of each row of a Keras summary."""
    cells, rows = [], []
    for line in [*out.splitlines(), "└"]:
        if line.startswith("│"):
            cells.append(line.split("│")[1].strip())  # the first column, wrapped over lines as Keras wraps it
        elif cells:
            rows.append(" ".join(cells))
            cells = []
    return [m.groups() for m in (re.fullmatch(r"(\S+) \((\w+)\)", r) for r in rows) if m]


# --- Keras' names, in the table and in --format keras ----------------------------------------------------------


_KERAS = [{"type": "Conv2D", "filters": 4, "kernel_size": 3}, {"type": "MaxPooling2D"},
          {"type": "Conv2D", "filters": 4, "kernel_size": 1}, {"type": "BatchNormalization"},
          {"type": "Activation", "activation": "relu"}, {"type": "Flatten"}, {"type": "Dense", "units": 8},
          {"type": "Dense", "units": 3}]  # fmt: skip


def keras_naming(types: list[str]) -> list[str]:
    """Keras' rule (keras.src.backend.common.global_state.get_uid): the snake-case type, then _1, _2, ..."""
    seen: dict[str, int] = {}
    out = []
    for t in types:
        base = re.sub(r"([a-z])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", t)).lower()
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.append(base if n == 0 else f"{base}_{n}")
    return out


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(range(len(_KERAS))), min_size=1, max_size=8), st.booleans())
def test_table_and_keras_summary_give_the_same_names(tmp_path_factory: pytest.TempPathFactory, picks: list[int],
                                                     keras_convention: bool) -> None:  # fmt: skip
    layers = [_KERAS[i] for i in sorted(picks)]  # spatial layers before Flatten, Dense after it
    text = arch_text(layers, [12, 12, 2] if keras_convention else [2, 12, 12])
    if keras_convention:
        text = text.replace("name: t\n", "name: t\nconvention: keras\n")
    path = tmp_path_factory.mktemp("k") / "k.yaml"
    path.write_text(text)
    code, doc, err = run("shapes", str(path), "--no-verify", "--format", "json")
    if code == 2:
        return  # too small for the kernels, or Dense before Flatten: refused by both
    assert code == 0, err
    table = [layer["name"] for layer in json.loads(doc)["layers"]]
    code, out, _ = run("shapes", str(path), "--no-verify", "--format", "keras", "--expand", "--width", "200")
    assert code == 0
    assert [n for n, _ in keras_rows(out)] == table
    types = [layer["type"] for layer in layers]
    # Keras' rule for Keras' types (and every type in a file of Keras' convention); torch's Flatten: flatten_1
    keras_named = [k for k, t in enumerate(types) if keras_convention or t != "Flatten"]
    assert [table[k] for k in keras_named] == keras_naming([types[k] for k in keras_named])
    flattens = [table[k] for k in range(len(types)) if k not in keras_named]
    assert flattens == [f"flatten_{j + 1}" for j in range(len(flattens))]


def test_keras_names_in_the_table_of_a_keras_file() -> None:
    code, doc, _ = run("shapes", "examples/keras/mnist_cnn.yaml", "--no-verify", "--format", "json")
    assert code == 0
    names = [layer["name"] for layer in json.loads(doc)["layers"]]
    assert names == ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "conv2d_2", "flatten", "dense",
                     "dense_1"]  # fmt: skip
    code, out, _ = run("shapes", "examples/keras/mnist_cnn.yaml", "--no-verify", "--width", "200")
    assert " dense " in out and " dense_1 " in out and "dense_2" not in out


def test_keras_summary_says_what_was_verified() -> None:
    code, out, _ = run("shapes", "examples/keras/mnist_cnn.yaml", "--format", "keras", "--device", "cpu")
    assert code == 0
    assert re.search(r"^Verified: torch \S+ forward pass on cpu: all 8 layers agree", out, flags=re.MULTILINE)
    code, out, _ = run("shapes", "examples/keras/mnist_cnn.yaml", "--format", "keras", "--no-verify")
    assert out.splitlines()[-1] == "Not verified (--no-verify): numbers are derived, not checked with torch."


def test_keras_itself_names_them_so() -> None:
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3), keras.layers.MaxPooling2D(),
                              keras.layers.Conv2D(64, 3), keras.layers.MaxPooling2D(), keras.layers.Conv2D(64, 3),
                              keras.layers.Flatten(), keras.layers.Dense(64), keras.layers.Dense(10)])  # fmt: skip
    _, doc, _ = run("shapes", "examples/keras/mnist_cnn.yaml", "--no-verify", "--format", "json")
    theirs = [re.sub(r"_\d+$", "", n) for n in (layer.name for layer in model.layers)]
    ours = [re.sub(r"_\d+$", "", layer["name"]) for layer in json.loads(doc)["layers"]]
    assert ours == theirs  # the same bases (a Keras session's counters run on across models)


# --- sizes too large to print ----------------------------------------------------------------------------------


def _huge(tmp_path: Path) -> Path:
    path = tmp_path / "huge.yaml"
    path.write_text(arch_text([{"type": "Upsample", "scale_factor": 1e300}, {"type": "ReLU"},
                               {"type": "Conv1d", "out_channels": 2, "kernel_size": 3}], [1, 8]))  # fmt: skip
    return path


@pytest.mark.parametrize("args", [
    ["shapes"], ["shapes", "--format", "markdown"], ["shapes", "--format", "keras"], ["explain"], ["rf"],
    ["explain", "--format", "markdown"], ["explain", "--format", "latex"],
])  # fmt: skip
def test_huge_sizes_are_shown_in_scientific_form(tmp_path: Path, args: list[str]) -> None:
    path = _huge(tmp_path)
    code, out, err = run(*args[:1], str(path), *args[1:], "--no-verify")
    assert code == 0, err
    assert re.search(r"\d{17,}", out) is None, out[:500]
    if args[0] != "rf":
        assert "8.00e+300" in out and "(8.00e+300)" not in out


def test_json_keeps_every_digit(tmp_path: Path) -> None:
    code, doc, _ = run("shapes", str(_huge(tmp_path)), "--no-verify", "--format", "json")
    assert code == 0
    shapes = [layer["output_shape"] for layer in json.loads(doc)["layers"]]  # floor(float(8) * 1e300), as torch
    assert shapes[0] == [1, int(8.0 * 1e300)] and shapes[2] == [2, int(8.0 * 1e300) - 2]


@given(st.integers(1, 10**400))
def test_scientific_rounds_as_decimal_does(n: int) -> None:
    from decimal import ROUND_HALF_UP, Context, Decimal

    from cnncalc.symbolic import scientific

    expected = format(Context(prec=3, rounding=ROUND_HALF_UP, Emax=10**6).create_decimal(Decimal(n)), ".2e")
    mantissa, exponent = expected.split("e")
    assert scientific(n) == f"{mantissa}e+{int(exponent)}"


# --- repeated layers folded; --timeout covers the writing ------------------------------------------------------


def _relus(tmp_path: Path, n: int = 900, uses: int = 3) -> Path:
    path = tmp_path / "relus.yaml"
    path.write_text(f"cnncalc: 1\nname: relus\ninput: [4, 8, 8]\nblocks:\n  Many:\n    layers:\n"
                    f"      - {{type: ReLU, repeat: {n}}}\nlayers:\n  - {{type: Many, repeat: {uses}}}\n"
                    f"  - {{type: Conv2d, out_channels: 2, kernel_size: 3}}\n")  # fmt: skip
    return path


@pytest.mark.parametrize("fmt", ["table", "markdown", "keras"])
def test_repeated_layers_are_one_row_each_and_expand_lists_them(tmp_path: Path, fmt: str) -> None:
    path = _relus(tmp_path)
    code, out, err = run("shapes", str(path), "--no-verify", "--format", fmt, "--width", "200")
    assert code == 0, err
    assert out.count("ReLU ×900") == 3 and "many_1.relu_1 … relu_900" in out and "relu_2 " not in out
    assert len(out.splitlines()) < 40
    assert "--expand lists each" in out
    code, out, _ = run("shapes", str(path), "--no-verify", "--format", fmt, "--width", "200", "--expand")
    assert code == 0 and "×900" not in out and out.count("ReLU") >= 2700


def test_folded_counts_add_up_and_json_keeps_every_layer(tmp_path: Path) -> None:
    path = tmp_path / "convs.yaml"
    path.write_text(arch_text([{"type": "Conv2d", "out_channels": 4, "kernel_size": 1, "repeat": 5},
                               {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "repeat": 3}],
                              [4, 8, 8]))  # fmt: skip
    import torch

    one = sum(p.numel() for p in torch.nn.Conv2d(4, 4, 1).parameters())
    code, out, _ = run("shapes", str(path), "--no-verify", "--format", "markdown")
    assert code == 0
    assert f"| conv2d_1 … conv2d_5 | Conv2d ×5 | 4×8×8 | {5 * one:,} |" in out  # a 1×1 conv keeps its RF: one row
    assert out.count("| Conv2d |") == 3  # the 3×3 ones see more at each layer: a row each
    code, doc, _ = run("shapes", str(path), "--no-verify", "--format", "json")
    assert len(json.loads(doc)["layers"]) == 8
    code, out, _ = run("rf", str(path), "--no-verify", "--width", "200")
    assert code == 0 and "Conv2d ×5" in out and len(re.findall(r"│ Conv2d +│", out)) == 3


@pytest.mark.parametrize("args", [
    ["shapes"], ["shapes", "--expand"], ["shapes", "--format", "markdown"], ["shapes", "--format", "json"],
    ["shapes", "--format", "csv"], ["shapes", "--format", "keras"], ["rf"], ["shapes", "--width", "60"],
    ["explain"], ["explain", "--format", "latex"],
])  # fmt: skip
def test_the_time_limit_covers_the_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    """Time runs out after the derivation: the writing stops, exit 2, located at a layer (it used to exit 0)."""
    import time

    from cnncalc import budget, pipeline

    derive = pipeline.shapes

    def then_out_of_time(*a: object, **k: object) -> object:
        report = derive(*a, **k)  # type: ignore[arg-type]
        armed = budget._deadline.get()
        assert armed is not None  # the limit is armed for the whole command, not only the derivation
        budget._deadline.set((time.monotonic() - 1, armed[1]))
        return report

    monkeypatch.setattr(pipeline, "shapes", then_out_of_time)
    path = _relus(tmp_path, 5, 2)
    code, out, err = run(*args[:1], str(path), *args[1:], "--no-verify")
    assert code == 2, (out, err)
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: error: the network did not finish within the time limit of "
                    rf"{budget.timeout():g} s \(--timeout\) while writing the (table|output|summary|derivations), at this layer; hint: raise "
                    r"--timeout", err), err  # fmt: skip
    assert "Total" not in out and "relu" not in out


def test_a_small_timeout_stops_a_deep_network(tmp_path: Path) -> None:
    path = _relus(tmp_path, 9000, 10)
    code, out, err = run("shapes", str(path), "--no-verify", "--timeout", "0.01")
    assert code == 2 and out == ""
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: error: the network did not finish within the time limit of "
                    r"0.01 s \(--timeout\)", err), err  # fmt: skip


def test_explain_folds_repeated_layers_with_the_same_working(tmp_path: Path) -> None:
    path = tmp_path / "convs.yaml"
    path.write_text(arch_text([{"type": "Conv2d", "out_channels": 4, "kernel_size": 1, "repeat": 5},
                               {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "repeat": 3}],
                              [4, 8, 8]))  # fmt: skip
    import torch

    one, three = (sum(p.numel() for p in torch.nn.Conv2d(4, 4, k).parameters()) for k in (1, 3))
    code, out, _ = run("explain", str(path), "--no-verify")
    assert code == 0
    assert "conv2d_1 … conv2d_5 (×5, each) · Conv2d(" in out and out.count("output H:") == 4
    assert f"Total parameters = 5·{one} + {three} + {three} + {three} = {5 * one + 3 * three}" in out


def test_automatic_names_never_take_an_id(tmp_path: Path) -> None:
    """An id written in the file (``dense``, ``linear_1``) is never also given to an unnamed layer."""
    path = tmp_path / "ids.yaml"
    path.write_text(arch_text([{"type": "Dense", "units": 4}, {"type": "Dense", "units": 4, "id": "dense"},
                               {"type": "Dense", "units": 3}, {"type": "Linear", "out_features": 2, "id": "linear_1"},
                               {"type": "Linear", "out_features": 2}], [8]))  # fmt: skip
    code, doc, _ = run("shapes", str(path), "--no-verify", "--format", "json")
    assert code == 0
    names = [layer["name"] for layer in json.loads(doc)["layers"]]
    assert names == ["dense_1", "dense", "dense_2", "linear_1", "linear_2"]
    code, out, _ = run("shapes", str(path), "--no-verify", "--format", "keras", "--width", "200")
    assert [n for n, _ in keras_rows(out)] == names
