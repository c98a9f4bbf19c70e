"""Model builders: each returns an uncompiled ``keras.Model`` that takes raw images.

>>> from cifar_edu.models import baseline_cnn, fast_cnn
>>> model = baseline_cnn(batch_norm=True, dropout=0.2)       # doctest: +SKIP
>>> model = fast_cnn(widths=(64, 256, 256))                   # doctest: +SKIP

Every model takes ``(N, 32, 32, 3)`` images with values 0-255 exactly as the
loader returns them, scales them inside, and returns class probabilities
``(N, 10)``; the output layer is float32 even under mixed precision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from cifar_edu.models.baseline import baseline_cnn
from cifar_edu.models.fast import CIFAR10_MEAN, CIFAR10_STD, fast_cnn, init_whitening

__all__ = ["baseline_cnn", "fast_cnn", "init_whitening", "build_model", "BUILDERS",
           "CIFAR10_MEAN", "CIFAR10_STD"]

#: Builders by name, as recipes refer to them.
BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "baseline_cnn": baseline_cnn,
    "fast_cnn": fast_cnn,
}


def build_model(name: str, **kwargs: Any) -> keras.Model:
    """Build the model ``name`` (a key of :data:`BUILDERS`) with keyword arguments."""
    try:
        builder = BUILDERS[name]
    except KeyError:
        raise ValueError(f"unknown model builder {name!r}; known: {', '.join(BUILDERS)}") from None
    return builder(**kwargs)
