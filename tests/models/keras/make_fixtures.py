"""How the committed Keras fixtures here were made (Keras 3 on its torch backend); rerun to remake them:

    KERAS_BACKEND=torch COLUMNS=200 python tests/models/keras/make_fixtures.py

Each model is saved as Keras saves it (``.keras``; ``to_json()`` for the course CNN), with the text
of its own ``model.summary()`` beside it, so the file path is tested, against Keras' own output,
where Keras is not installed.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
from keras import layers

HERE = Path(__file__).parent


def course_cnn() -> keras.Model:
    """TensorFlow's CNN tutorial on MNIST-sized input: Total params 93,322."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10),
        ],
        name="course_cnn",
    )


def bn_cnn() -> keras.Model:
    """A Sequential model with BatchNormalization (4C parameters, 2C of them non-trainable) and Dropout."""
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Conv2D(16, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same"),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.GlobalAveragePooling2D(),
            layers.Dropout(0.3),
            layers.Dense(10, activation="softmax"),
        ],
        name="bn_cnn",
    )


def residual() -> keras.Model:
    """A functional residual block: Conv-BN-ReLU-Conv-BN, Add with the shortcut, then a 1x1 projection branch."""
    inp = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(16, 3, padding="same")(inp)
    y = layers.BatchNormalization()(x)
    y = layers.ReLU()(y)
    y = layers.Conv2D(16, 3, padding="same")(y)
    y = layers.BatchNormalization()(y)
    x = layers.Add()([x, y])
    x = layers.ReLU()(x)
    z = layers.Conv2D(32, 3, strides=2, padding="same")(x)
    s = layers.Conv2D(32, 1, strides=2)(x)
    x = layers.Concatenate()([z, s])
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(10)(x), name="residual")


def summary(model: keras.Model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda s, line_break=True: lines.append(s))
    return "\n".join(lines)


if __name__ == "__main__":
    for make in (course_cnn, bn_cnn, residual):
        keras.utils.clear_session()  # the names Keras gives start again from conv2d in each file
        m = make()
        m.save(HERE / f"{make.__name__}.keras")
        (HERE / f"{make.__name__}.summary.txt").write_text(summary(m))
        if make is course_cnn:
            (HERE / "course_cnn.json").write_text(m.to_json())
