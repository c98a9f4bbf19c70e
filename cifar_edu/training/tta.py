"""Test-time augmentation: average a model's predictions over mirrored and shifted views.

Level 0 is the plain prediction; level 1 averages each image and its mirror
image; level 2 (airbench) also averages the mirrored pair shifted one pixel
up-left and one pixel down-right (reflect-padded), weighted 1/2 : 1/4 : 1/4.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

__all__ = ["TTA_LEVELS", "accuracy_key", "predict_tta", "predict_levels", "tta_accuracies"]

#: Names of the test-time augmentation levels, as used in metrics files.
TTA_LEVELS = {0: "none", 1: "flip", 2: "flip_translate"}


def accuracy_key(tta: int | str) -> str:
    """The metrics key of the accuracy at a TTA level (a number or its name).

    >>> accuracy_key(0), accuracy_key("flip_translate")
    ('accuracy', 'accuracy_flip_translate')
    """
    name = TTA_LEVELS[tta] if isinstance(tta, int) else tta
    return "accuracy" if name == "none" else f"accuracy_{name}"


def _forward(model: keras.Model):
    # A traced call: much less per-batch overhead than model.predict on a small CPU.
    @tf.function(input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32)])
    def forward(images):
        return tf.cast(model(images, training=False), tf.float32)

    return forward


def predict_levels(model: keras.Model, x: np.ndarray, max_level: int = 1, batch_size: int = 1000
                    ) -> list[np.ndarray]:
    """Probabilities at every TTA level ``0 .. max_level``; the levels share forward passes.

    Returns
    -------
    list of ndarray of float32, shape (N, K)
        Element ``k`` holds the probabilities at level ``k``.
    """
    if max_level not in TTA_LEVELS:
        raise ValueError(f"the TTA level must be 0, 1 or 2, got {max_level}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    forward = _forward(model)

    def both(batch):
        return forward(batch), forward(tf.reverse(batch, axis=[2]))

    outputs: list[list[np.ndarray]] = [[] for _ in range(max_level + 1)]
    for start in range(0, len(x), batch_size):
        batch = tf.cast(tf.convert_to_tensor(x[start:start + batch_size]), tf.float32)
        if max_level == 0:
            outputs[0].append(forward(batch).numpy())
            continue
        plain, flipped = both(batch)
        mirror = 0.5 * (plain + flipped)
        outputs[0].append(plain.numpy())
        outputs[1].append(mirror.numpy())
        if max_level == 2:
            padded = tf.pad(batch, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
            shifted = [0.5 * (a + b) for a, b in (both(padded[:, :32, :32]),
                                                   both(padded[:, 2:, 2:]))]
            outputs[2].append((0.5 * mirror + 0.25 * (shifted[0] + shifted[1])).numpy())
    return [np.concatenate(parts).astype(np.float32, copy=False) for parts in outputs]


def predict_tta(model: keras.Model, x: np.ndarray, level: int = 1, batch_size: int = 1000
                ) -> np.ndarray:
    """Class probabilities of ``model`` for images ``x`` with test-time augmentation.

    Parameters
    ----------
    model : keras.Model
        Raw 0-255 images in, probabilities ``(N, K)`` out.
    x : ndarray, shape (N, 32, 32, 3)
        Images (uint8 or float 0-255).
    level : {0, 1, 2}
        See the module docstring; level 0, 1 and 2 cost 1, 2 and 6 forward passes.
    batch_size : int
        Images per forward pass.

    Returns
    -------
    ndarray of float32, shape (N, K)
    """
    return predict_levels(model, np.asarray(x), level, batch_size)[level]


def tta_accuracies(model: keras.Model, x: np.ndarray, y: np.ndarray, max_level: int = 2,
                   batch_size: int = 1000) -> dict[str, object]:
    """Accuracy at every TTA level up to ``max_level``, and per-class accuracy at ``max_level``.

    Returns
    -------
    dict
        ``{"n": N, "accuracy": ..., "accuracy_flip": ..., "accuracy_flip_translate": ...,
        "tta": "flip_translate", "per_class_accuracy": [...]}``; ``accuracy`` is
        without TTA, levels above ``max_level`` are left out, and the per-class
        figures use ``max_level``.
    """
    y = np.asarray(y).reshape(-1)
    probs = predict_levels(model, np.asarray(x), max_level, batch_size)
    result: dict[str, object] = {"n": int(len(y))}
    for level, prob in enumerate(probs):
        result[accuracy_key(level)] = float(np.mean(prob.argmax(1) == y))
    predicted = probs[-1].argmax(1)
    result["tta"] = TTA_LEVELS[max_level]
    result["per_class_accuracy"] = [
        float(np.mean(predicted[y == k] == k)) if np.any(y == k) else None
        for k in range(probs[-1].shape[1])]
    return result
