"""Live Keras targets (``course.py:model``, factories, notebooks): Keras 3 on torch, judged by Keras itself.

cnncalc's table is compared with the real ``model.summary()``, and its shapes with Keras' own forward
pass; without Keras installed these tests skip (the saved-file path is tested without it:
tests/test_keras_models.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cnncalc.keras.target import import_hint, is_keras_model

MODELS = Path(__file__).parent / "models"
COURSE = str(MODELS / "keras_course.py")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from cnncalc.cli import main

    result = CliRunner(env=env).invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def keras() -> Any:
    os.environ["KERAS_BACKEND"] = "torch"
    pytest.importorskip("keras")
    import keras

    if keras.backend.backend() != "torch":
        pytest.skip("keras runs on another backend here")
    return keras


def _summary(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda s, line_break=True: lines.append(s))
    return "\n".join(lines)


def _target(keras: Any, name: str) -> Any:
    from cnncalc.pymodel.load import load_target

    return load_target(f"{COURSE}:{name}").model


@pytest.mark.parametrize("name", ["model", "bn_model", "residual"])
def test_format_keras_is_what_model_summary_prints(keras: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The course CNN (93,322), a BatchNormalization model, a functional residual block: Keras' own text, for the
    very model object cnncalc loaded (Keras numbers its layers per session: conv2d_3, ...)."""
    from cnncalc.keras.target import checked, spec
    from cnncalc.pipeline import shapes
    from cnncalc.render.keras_summary import to_keras

    model = _target(keras, name)
    assert is_keras_model(model)
    report = checked(shapes(spec(model, (), {}, name)), model)
    assert report.ok and not report.mismatches
    monkeypatch.setenv("COLUMNS", "200")
    assert to_keras(report).rstrip("\n") == _summary(model).rstrip("\n")
    code, out, err = run("shapes", f"{COURSE}:{name}", "--format", "keras", "--width", "200")
    assert code == 0, err
    assert f"Total params: {model.count_params():,} (" in out
    if name == "model":
        assert "Total params: 93,322 (364.54 KB)" in out


def test_table_is_checked_by_the_keras_forward(keras: Any) -> None:
    code, out, err = run("shapes", f"{COURSE}:residual", "--width", "200")
    assert code == 0, err
    assert "Keras" in out and "own forward pass" in out and "agrees" in out and "Verified: torch" in out


def test_unbuilt_model_is_built_at_the_input_never_counted_zero(keras: Any) -> None:
    code, out, err = run("shapes", f"{COURSE}:unbuilt", "--input", "10x10x3", "--format", "json")
    assert code == 0, err
    total = json.loads(out)["total_params"]
    model = keras.Sequential([keras.layers.Conv2D(8, 3), keras.layers.BatchNormalization(), keras.layers.Flatten(),
                              keras.layers.Dense(4)])  # fmt: skip
    model.build((None, 10, 10, 3))
    assert total == model.count_params() == 2_308
    code, _, err = run("shapes", f"{COURSE}:unbuilt")
    assert code == 2 and "has not been built" in err and "--input" in err


def test_symbolic_input_on_a_live_model(keras: Any) -> None:
    code, out, err = run("shapes", f"{COURSE}:residual", "--input", "HxWx3", "--width", "200")
    assert code == 0, err
    assert "H×W×16" in out and "At H=32, W=32" in out


def test_subclassed_model_is_traced_into_its_layer_graph(keras: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """call() on a keras.Input gives the graph over the same layer objects; Keras' summary of the built model."""
    from cnncalc.keras.target import checked, spec
    from cnncalc.pipeline import shapes
    from cnncalc.pymodel.inputs import parse_inputs
    from cnncalc.render.keras_summary import to_keras

    model = _target(keras, "Net")
    assert not model.built  # built by cnncalc's one forward pass, never counted as 0
    report = checked(shapes(spec(model, parse_inputs(["28x28x1"]), {}, "Net")), model)
    assert report.ok and not report.mismatches and report.main.total_params == model.count_params() > 0
    monkeypatch.setenv("COLUMNS", "200")
    assert to_keras(report).rstrip("\n") == _summary(model).rstrip("\n")
    code, out, err = run("shapes", f"{COURSE}:Net", "--input", "HxWx1", "--width", "200")
    assert code == 0, err
    assert "Valid when" in out and "own forward pass" in out


def test_subclassed_model_with_ops(keras: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """keras.ops.mean over the spatial axes in call() is a global average pooling; Keras lists only the layers."""
    from cnncalc.keras.target import checked, spec
    from cnncalc.pipeline import shapes
    from cnncalc.pymodel.inputs import parse_inputs
    from cnncalc.render.keras_summary import to_keras

    model = _target(keras, "Subclassed")
    report = checked(shapes(spec(model, parse_inputs(["8x8x3"]), {}, "Subclassed")), model)
    assert report.ok and not report.mismatches and report.main.total_params == model.count_params()
    monkeypatch.setenv("COLUMNS", "200")
    assert to_keras(report).rstrip("\n") == _summary(model).rstrip("\n")


def test_an_operation_without_a_layer_type_says_which(keras: Any, tmp_path: Path) -> None:
    path = tmp_path / "ops.py"
    path.write_text("import keras\nfrom keras import layers, ops\n\n\nclass M(keras.Model):\n"
                    "    def __init__(self):\n        super().__init__()\n        self.c = layers.Conv2D(2, 3)\n\n"
                    "    def call(self, x):\n        return ops.cumsum(self.c(x), axis=1)\n")  # fmt: skip
    code, _, err = run("shapes", f"{path}:M", "--input", "8x8x3")
    assert code == 2 and "keras.ops operation" in err and "Traceback" not in err


def test_tensorflow_import_gets_a_hint(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("tensorflow is installed here")
    path = tmp_path / "tfmodel.py"
    path.write_text("from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(3)])\n")
    code, _, err = run("shapes", f"{path}:model", "--input", "3")
    assert code == 2
    assert err.startswith(f"{path.name}:1:") or f"{path}:1:" in err
    assert "imports TensorFlow" in err and "import keras" in err and "cnncalc[keras]" in err


def test_missing_keras_hint() -> None:
    e = ModuleNotFoundError("No module named 'keras'", name="keras")
    found = import_hint(e)
    assert found is not None and "cnncalc[keras]" in found[1]
    assert import_hint(ModuleNotFoundError("x", name="numpyx")) is None


def test_notebook_with_keras_cells(keras: Any, tmp_path: Path) -> None:
    cells = ["import keras\nfrom keras import layers",
             "def make():\n    return keras.Sequential([keras.Input((16, 16, 1)), layers.Conv2D(4, 3), layers.Flatten(),"
             " layers.Dense(2)])",
             "model = make()\nmodel.fit(x, y)"]  # fmt: skip
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
                    for c in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    path = tmp_path / "course.ipynb"
    path.write_text(json.dumps(nb))
    code, out, err = run("shapes", f"{path}:make", "--format", "keras", "--width", "200")
    assert code == 0, err
    L = keras.layers
    same = keras.Sequential([keras.Input((16, 16, 1)), L.Conv2D(4, 3), L.Flatten(), L.Dense(2)])
    assert f"Total params: {same.count_params():,} (" in out and "(Conv2D)" in out and "(Dense)" in out


def test_cnncalc_summary_of_a_keras_model(keras: Any) -> None:
    import cnncalc

    model = _target(keras, "residual")
    found = cnncalc.summary(model, verbose=0)
    assert found.total_params == model.count_params()
    assert found.trainable_params == sum(int(w.numpy().size) for w in model.trainable_weights)
    assert "Keras" in " ".join(found.report.notes)
    unbuilt = keras.Sequential([keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(2)])
    got = cnncalc.summary(unbuilt, input_size=(1, 9, 9, 2), verbose=0)  # torchinfo's form: batch first
    assert got.total_params == unbuilt.count_params() > 0
