"""Keras models as students save them: ``.keras``, ``to_json()`` and ``.h5`` files, read without Keras.

The committed fixtures (tests/models/keras, made by Keras: make_fixtures.py) carry Keras' own
``model.summary()`` text, so the file path is judged by Keras where Keras is not installed. Where it
is, random Sequential and functional models drawn from Keras' documented argument space are saved to
tmp_path and cnncalc's shapes, counts and summary are compared with Keras' own, layer by layer; torch
verifies the same numbers in every case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cnncalc.errors import CnnCalcError
from cnncalc.layers import in_layout
from cnncalc.pipeline import load, shapes
from cnncalc.render.keras_summary import to_keras


def run(*args: str) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from cnncalc.cli import main

    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


HERE = Path(__file__).parent / "models" / "keras"
FIXTURES = ["course_cnn", "bn_cnn", "residual"]


@pytest.mark.parametrize("name", FIXTURES)
def test_saved_model_summary_is_what_keras_printed(name: str) -> None:
    """The .keras file, read without Keras, gives Keras' own summary, character for character; torch agrees."""
    report = shapes(HERE / f"{name}.keras")
    assert report.ok and report.verified
    assert to_keras(report, 200).rstrip("\n") == (HERE / f"{name}.summary.txt").read_text().rstrip("\n")


def test_course_cnn_from_json_and_archive_agree_and_total_93322() -> None:
    a, b = shapes(HERE / "course_cnn.json", verify=False), shapes(HERE / "course_cnn.keras", verify=False)
    assert a.main.total_params == b.main.total_params == 93_322
    assert [r.node.name for r in a.main.layers] == [r.node.name for r in b.main.layers]
    assert [r.node.name for r in a.main.layers][:3] == ["conv2d", "max_pooling2d", "conv2d_1"]


def test_cli_shapes_of_a_keras_file_with_symbolic_input() -> None:
    """--input HxWx1 (channels last): formulas, conditions, verified by torch at several sizes."""
    code, out, err = run("shapes", str(HERE / "course_cnn.keras"), "--input", "HxWx1", "--width", "200")
    assert code == 0, err  # the saved weights are compared at the saved size, H = W = 28
    assert "⌊H/2⌋" in out and "At H=28, W=28" in out and "Valid when" in out and "Verified" in out
    code, out, err = run("shapes", str(HERE / "bn_cnn.keras"), "--input", "HxWx3", "--width", "200")
    assert code == 0, err
    assert "⌊H/2⌋" in out and "Verified" in out and "At H=32, W=32" in out


def test_saved_weights_that_do_not_fit_are_a_located_mismatch() -> None:
    pytest.importorskip("h5py")  # reads the archive's model.weights.h5
    code, _, err = run("shapes", str(HERE / "course_cnn.keras"), "--input", "40x40x1", "--width", "200")
    assert code == 1
    line = next(e for e in err.splitlines() if "saved weights" in e)
    assert line.startswith(f"{HERE / 'course_cnn.keras'}:config.json:1:")
    assert "'dense' parameters: derived" in line and "(576, 64) + (64,)" in line


def test_check_on_a_keras_file() -> None:
    code, out, err = run("check", str(HERE / "residual.keras"))
    assert code == 0, out + err
    assert "shapes verified by torch" in out


def test_reading_a_keras_file_imports_no_keras() -> None:
    code = ("import sys; from cnncalc.pipeline import shapes; import cnncalc.cli; "
            f"r = shapes({str(HERE / 'residual.keras')!r}, verify=False); "
            "assert r.main.total_params == 8730; assert 'keras' not in sys.modules, 'keras imported'; "
            "assert 'tensorflow' not in sys.modules")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def _config(layers: list[dict[str, Any]], shape: list[Any]) -> str:
    import json

    entries = [{"class_name": "InputLayer", "config": {"batch_shape": [None, *shape], "name": "input_layer"}}]
    entries += [{"class_name": c.pop("class_name"), "config": c} for c in layers]
    return json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": entries}}, indent=1)


def _read(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "model.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("layer", "message", "at"), [
    ({"class_name": "SeparableConv2D", "name": "sep", "filters": 4, "kernel_size": 3},
     "SeparableConv2D 'sep' (config.layers[1]): no cnncalc layer type: a depthwise and a pointwise", '"SeparableConv2D"'),
    ({"class_name": "MyLayer", "name": "mine"}, "MyLayer 'mine' (config.layers[1]): no cnncalc layer type", '"MyLayer"'),
    ({"class_name": "Conv2D", "name": "c", "filters": 4, "kernel_size": [3, 3], "data_format": "channels_first"},
     "data_format 'channels_first': cnncalc reads Keras models channels last", '"channels_first"'),
    ({"class_name": "Conv2D", "name": "c", "filters": 4, "kernel_size": [3, 3], "padding": "causal"},
     "causal", '"causal"'),
    ({"class_name": "Conv2D", "name": "c", "filters": 4, "kernel_size": [3, 3], "fancy": 3},
     "argument 'fancy' (3) has no counterpart", '"fancy"'),
])  # fmt: skip
def test_a_layer_cnncalc_cannot_read_is_named_and_located(tmp_path: Path, layer: dict[str, Any], message: str,
                                                          at: str) -> None:  # fmt: skip
    path = _read(tmp_path, _config([layer], [8, 8, 3]))
    code, out, err = run("shapes", str(path))
    assert code == 2, out + err
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert err.startswith(f"{path}:")
    line, col = (int(v) for v in err[len(str(path)) + 1 :].split(":")[:2])
    assert path.read_text().splitlines()[line - 1][col - 1 :].startswith(at)


def test_no_input_shape_asks_for_input(tmp_path: Path) -> None:
    path = _read(tmp_path, _config([{"class_name": "Flatten", "name": "f"}], [None, None, 3]))
    code, _, err = run("shapes", str(path))
    assert code == 2 and "--input" in err and "channels last" in err
    code, out, err = run("shapes", str(path), "--input", "4x5x3", "--format", "json")
    assert code == 0, err
    import json

    doc = json.loads(out)
    assert doc["input"] == [4, 5, 3] and doc["output_shape"] == [60]  # Flatten of 4x5x3, Keras' (H, W, C) order


def test_yaml_takes_keras_spelling_of_shared_layers() -> None:
    """{type: Dropout, rate: 0.1} is torch's Dropout(p=0.1); both at once is an error."""
    text = "cnncalc: 1\ninput: [3, 8, 8]\nlayers:\n  - {type: Dropout, rate: 0.1}\n  - {type: LeakyReLU, alpha: 0.3}\n"
    report = shapes(load("t.yaml", text))
    assert report.ok
    import torch

    a = report.main.layers[0]
    module = a.node.layer.build(a.args, torch.nn, [(3, 8, 8)])
    assert isinstance(module, torch.nn.Dropout) and module.p == 0.1
    b = report.main.layers[1]
    assert b.node.layer.build(b.args, torch.nn, [(3, 8, 8)]).negative_slope == 0.3
    with pytest.raises(CnnCalcError, match="both 'rate'"):
        shapes(load("t.yaml", "cnncalc: 1\ninput: [3, 8, 8]\nlayers:\n  - {type: Dropout, rate: 0.1, p: 0.2}\n"))


# ---- with Keras installed: random models, Keras' own numbers as the judge -----------------------------------------


@pytest.fixture(scope="module")
def keras() -> Any:
    os.environ["KERAS_BACKEND"] = "torch"
    pytest.importorskip("keras")
    import keras

    if keras.backend.backend() != "torch":
        pytest.skip("keras is set to another backend")
    return keras


def _random_model(keras: Any, seed: int) -> Any:
    """A random model of Keras layers with Keras' documented arguments; invalid draws are redrawn."""
    import random

    from keras import layers as L

    rng = random.Random(seed)
    keras.utils.clear_session()
    size = rng.randint(12, 40)
    inp = keras.Input((size, rng.randint(12, 40), rng.choice([1, 3, 4])))
    x = inp
    outs = [x]
    functional = seed % 2 == 1

    def draw() -> Any:
        pad = rng.choice(["valid", "same"])
        k = rng.randint(1, 4)
        s = rng.randint(1, 3)
        d = 1 if s > 1 else rng.randint(1, 2)
        act = rng.choice(
            [None, "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "swish", "relu6", "leaky_relu"]
        )
        return rng.choice(
            [
                lambda: L.Conv2D(
                    rng.randint(1, 8),
                    k,
                    strides=s,
                    padding=pad,
                    dilation_rate=d,
                    activation=act,
                    use_bias=rng.random() < 0.7,
                ),
                lambda: L.Conv2DTranspose(rng.randint(1, 6), k, strides=s, padding=pad, activation=act),
                lambda: L.DepthwiseConv2D(k, strides=s, padding=pad, depth_multiplier=rng.randint(1, 2)),
                lambda: L.MaxPooling2D(rng.randint(1, 3), strides=rng.choice([None, 1, 2]), padding=pad),
                lambda: L.AveragePooling2D(rng.randint(1, 3), strides=rng.choice([None, 1, 2]), padding=pad),
                lambda: L.BatchNormalization(center=(c := rng.random() < 0.8), scale=c),
                lambda: L.Dense(rng.randint(1, 6), activation=act),
                lambda: L.Dropout(rng.random() / 2),
                lambda: L.SpatialDropout2D(0.1),
                lambda: L.Activation(rng.choice(["relu", "softmax", "tanh", "linear"])),
                lambda: L.ReLU(),
                lambda: L.LeakyReLU(negative_slope=0.2),
                lambda: L.Softmax(),
                lambda: L.ZeroPadding2D(rng.choice([1, (1, 2), ((0, 1), (2, 1))])),
                lambda: L.UpSampling2D(rng.randint(1, 2), interpolation=rng.choice(["nearest", "bilinear"])),
                lambda: L.Rescaling(1 / 255),
            ]
        )()

    for _ in range(rng.randint(2, 6)):
        for _attempt in range(20):
            layer = draw()
            try:
                y = layer(x)
            except Exception:  # Keras refuses this draw here (too small, bad combination): draw again
                continue
            if any(d is not None and d < 1 for d in y.shape[1:]) or any(d > 200 for d in y.shape[1:3] if d):
                continue
            break
        else:
            break
        if functional and rng.random() < 0.4 and tuple(y.shape) == tuple(x.shape):
            y = rng.choice([L.Add(), L.Multiply()])([x, y])
        elif functional and rng.random() < 0.3 and tuple(y.shape[1:3]) == tuple(x.shape[1:3]):
            y = L.Concatenate()([x, y])
        x = y
        outs.append(x)
    tail = rng.choice(["flatten", "gap", "reshape", "none"])
    if tail == "flatten":
        x = L.Flatten()(x)
        x = L.Dense(rng.randint(1, 10))(x)
    elif tail == "gap":
        x = L.GlobalAveragePooling2D(keepdims=rng.random() < 0.3)(x)
    elif tail == "reshape":
        x = L.Reshape((-1, int(x.shape[-1])))(x)
    if functional:
        return keras.Model(inp, x, name=f"f{seed}")
    return keras.Sequential([inp._keras_history.operation, *_layers_of(keras, inp, x)], name=f"s{seed}")


def _layers_of(keras: Any, inp: Any, out: Any) -> list[Any]:
    return [lay for lay in keras.Model(inp, out).layers if not isinstance(lay, keras.layers.InputLayer)]


def _summary(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda s, line_break=True: lines.append(s))
    return "\n".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(24))
def test_random_keras_models_match_keras_layer_by_layer(keras: Any, tmp_path: Path, seed: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    model = _random_model(keras, seed)
    path = tmp_path / "m.keras"
    model.save(path)
    report = shapes(path)
    assert report.ok, [m.text() for m in report.mismatches]
    got = {r.node.name: r for r in report.defaults.layers}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        r = got[layer.name]
        assert tuple(in_layout(r.shape, True)) == tuple(layer.output.shape[1:]), layer.name
        assert r.params == layer.count_params(), layer.name
    monkeypatch.setenv("COLUMNS", "200")
    assert to_keras(report).rstrip("\n") == _summary(model).rstrip("\n")


def test_h5_and_json_files_made_by_keras(keras: Any, tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    model = _random_model(keras, 3)
    model.save(tmp_path / "m.h5")
    (tmp_path / "m.json").write_text(model.to_json())
    a, b = shapes(tmp_path / "m.h5"), shapes(tmp_path / "m.json", verify=False)
    assert a.ok and a.main.total_params == b.main.total_params == model.count_params()


def test_symbolic_sizes_are_keras_sizes(keras: Any, tmp_path: Path) -> None:
    """A fully convolutional model read with --input HxWx3: the formulas, at several sizes, are Keras' shapes there."""
    import sympy
    from keras import layers as L

    keras.utils.clear_session()
    inp = keras.Input((None, None, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same")(inp)
    x = L.MaxPooling2D(3, strides=2)(x)
    x = L.Conv2DTranspose(4, 3, strides=2, padding="valid")(x)
    y = L.Conv2D(4, 1)(x)
    x = L.Add()([x, y])
    model = keras.Model(inp, L.Dense(5)(x))
    model.save(tmp_path / "fcn.keras")
    from cnncalc.keras.files import spec
    from cnncalc.pymodel.inputs import parse_inputs

    report = shapes(spec(tmp_path / "fcn.keras", parse_inputs(["HxWx3"])))
    assert report.ok
    out = report.main.layers[-1].shape
    for h, w in [(20, 17), (33, 64), (9, 12)]:
        want = model.predict(__import__("numpy").zeros((1, h, w, 3)), verbose=0).shape[1:]
        values = {"H": h, "W": w}
        got = [sympy.sympify(d) for d in in_layout(out, True)]
        assert tuple(int(d.xreplace({s: values[s.name] for s in d.free_symbols})) for d in got) == tuple(want)


def test_keras2_functional_json(tmp_path: Path) -> None:
    """tf.keras 2's to_json(): batch_input_shape, inbound_nodes as [[name, node, tensor, kwargs]], input_layers."""
    import json

    def layer(cls: str, name: str, inbound: list[str], **config: Any) -> dict[str, Any]:
        return {"class_name": cls, "name": name, "config": {"name": name, "trainable": True, "dtype": "float32", **config},
                "inbound_nodes": [[[src, 0, 0, {}] for src in inbound]] if inbound else []}  # fmt: skip

    layers = [layer("InputLayer", "input_1", [], batch_input_shape=[None, 16, 16, 3], sparse=False, ragged=False),
              layer("Conv2D", "conv2d", ["input_1"], filters=8, kernel_size=[3, 3], strides=[1, 1], padding="same",
                    data_format="channels_last", dilation_rate=[1, 1], groups=1, activation="relu", use_bias=True,
                    kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": None}}),
              layer("Conv2D", "conv2d_1", ["conv2d"], filters=8, kernel_size=[1, 1], padding="valid"),
              layer("Add", "add", ["conv2d", "conv2d_1"]),
              layer("GlobalAveragePooling2D", "gap", ["add"], data_format="channels_last", keepdims=False),
              layer("Dense", "dense", ["gap"], units=4, activation="softmax")]  # fmt: skip
    doc = {"class_name": "Functional", "config": {"name": "model", "layers": layers, "input_layers": [["input_1", 0, 0]],
                                                  "output_layers": [["dense", 0, 0]]}, "keras_version": "2.13.1"}  # fmt: skip
    path = tmp_path / "k2.json"
    path.write_text(json.dumps(doc))
    report = shapes(path)
    assert report.ok and report.verified
    names = [r.node.name for r in report.main.layers]
    assert names == ["conv2d", "conv2d_1", "add", "gap", "dense"]
    assert report.main.layers[2].node.inputs == (0, 1)
    text = to_keras(report, 200)
    assert "input_1 (InputLayer)" in text and "conv2d[0][0]," in text and "conv2d_1[0][0]" in text
