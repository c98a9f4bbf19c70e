"""The course's baseline CNN, with switches for batch normalisation and dropout.

Three blocks of ``conv -> ReLU -> conv -> ReLU -> max-pool`` (32, 64 and 128
filters) and a small dense head: the classic first CNN for CIFAR-10. The
switches let a lesson run the ablation *augmentation x BN x dropout* on one
unchanged skeleton, so any difference in accuracy comes from the switch alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

__all__ = ["baseline_cnn"]


def baseline_cnn(batch_norm: bool = False, dropout: float = 0.0, *,
                 filters: Sequence[int] = (32, 64, 128), dense_units: int = 128,
                 num_classes: int = 10, name: str = "baseline_cnn") -> keras.Model:
    """Build the baseline CNN (uncompiled).

    Parameters
    ----------
    batch_norm : bool
        Add a ``BatchNormalization`` after every convolution and the dense layer
        (before the ReLU). The layers before it then need no bias.
    dropout : float
        Dropout rate after every block and the dense layer (0 = off). Rates grow a
        little with depth (``dropout``, ``+0.1``, ``+0.2`` ...), the usual recipe.
    filters : sequence of int
        Filters of each block; one block per entry, each halving the resolution.
    dense_units : int
        Width of the hidden dense layer.
    num_classes : int
        Number of output classes.
    name : str
        Name of the model.

    Returns
    -------
    keras.Model
        Takes raw images ``(N, 32, 32, 3)`` with values 0-255 (scaled inside by a
        ``Rescaling`` layer) and returns class probabilities ``(N, num_classes)``.
        Convolutions are named ``block{i}_conv{j}``; the output layer ``predictions``.
    """
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    inputs = keras.Input((32, 32, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for i, width in enumerate(filters, start=1):
        for j in (1, 2):
            x = layers.Conv2D(width, 3, padding="same", use_bias=not batch_norm,
                              kernel_initializer="he_uniform", name=f"block{i}_conv{j}")(x)
            if batch_norm:
                x = layers.BatchNormalization(name=f"block{i}_bn{j}")(x)
            x = layers.ReLU(name=f"block{i}_relu{j}")(x)
        x = layers.MaxPooling2D(name=f"block{i}_pool")(x)
        if dropout:
            x = layers.Dropout(min(dropout + 0.1 * (i - 1), 0.5), name=f"block{i}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, use_bias=not batch_norm, kernel_initializer="he_uniform",
                     name="dense")(x)
    if batch_norm:
        x = layers.BatchNormalization(name="dense_bn")(x)
    x = layers.ReLU(name="dense_relu")(x)
    if dropout:
        x = layers.Dropout(min(dropout + 0.1 * len(filters), 0.5), name="dense_dropout")(x)
    # float32 output: under mixed precision a bfloat16 softmax would round probabilities.
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32",
                           name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)
