"""Shared fixtures: the shipped sample and a tiny trained model.

Tests are offline and fast. Tests that need the whole dataset are marked
``full_data`` and skipped unless ``CIFAR10_DIR`` points at it.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

FULL_DIR = os.environ.get("CIFAR10_DIR")


def pytest_collection_modifyitems(config, items):
    if FULL_DIR:
        return
    skip = pytest.mark.skip(reason="needs the whole CIFAR-10: set CIFAR10_DIR to its folder")
    for item in items:
        if "full_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sample():
    """The shipped sample as a :class:`cifar_edu.data.CifarData`."""
    from cifar_edu.data import load_dataset

    return load_dataset("sample")


@pytest.fixture(scope="session")
def full_data():
    """The whole dataset from ``CIFAR10_DIR`` (tests using it are marked ``full_data``)."""
    from cifar_edu.data import load_dataset

    return load_dataset(FULL_DIR)


@pytest.fixture(scope="session")
def tiny_model(sample):
    """A small CNN trained for two epochs on the sample: raw 0-255 images in, probabilities out.

    Its convolution layers are named ``conv1`` (32x32) and ``conv2`` (16x16) so
    interpretability tests can pick a layer by name.
    """
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax", name="predictions"),
        ],
        name="tiny_cnn",
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(sample.x_train, sample.y_train, epochs=2, batch_size=100, verbose=0)
    return model


@pytest.fixture()
def rng():
    return np.random.default_rng(0)
