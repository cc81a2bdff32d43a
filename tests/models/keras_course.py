"""Keras models as a Keras course writes them (Keras 3: ``import keras``), for tests/test_keras_targets.py."""

import keras
from keras import layers

# TensorFlow's CNN tutorial on MNIST-sized input: Total params 93,322
model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10),
    ]
)

# not built: its weights exist only after a first call
unbuilt = keras.Sequential([layers.Conv2D(8, 3), layers.BatchNormalization(), layers.Flatten(), layers.Dense(4)])


def bn_model():
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Conv2D(16, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )


def residual(classes=10):
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(16, 3, padding="same")(inputs)
    y = layers.BatchNormalization()(x)
    y = layers.ReLU()(y)
    y = layers.Conv2D(16, 3, padding="same")(y)
    x = layers.Add()([x, y])
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(4, 3)
        self.head = layers.Dense(2)

    def call(self, x):
        return self.head(keras.ops.mean(self.conv(x), axis=(1, 2)))


class Net(keras.Model):
    """A subclassed model as a course writes one: layers in __init__, the graph in call()."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = layers.Conv2D(8, 3, activation="relu")
        self.pool = layers.MaxPooling2D()
        self.conv2 = layers.Conv2D(16, 3, padding="same")
        self.bn = layers.BatchNormalization()
        self.flatten = layers.Flatten()
        self.head = layers.Dense(classes)

    def call(self, x):
        x = self.pool(self.conv1(x))
        x = self.bn(self.conv2(x))
        return self.head(self.flatten(x))
