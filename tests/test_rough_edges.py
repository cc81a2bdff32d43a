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
    return [r for r in re.findall(r"^ (\S+) \((\w+)\) ", out, flags=re.MULTILINE) if r != ("Layer", "type")]


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
    code, out, _ = run("shapes", str(path), "--no-verify", "--format", "keras")
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
