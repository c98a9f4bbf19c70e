"""Input checks shared by the explanation functions: images and class indices."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from cifar_edu.errors import CifarEduError
from cifar_edu.explain.layers import check_model

# Images per forward/backward pass: bounds memory on long lists of images.
BATCH_SIZE = 64


def check_images(model: keras.Model, images: object) -> np.ndarray:
    """Return ``images`` as float32 ``(N, H, W, 3)`` with 0-255 values, or raise.

    A single image ``(H, W, 3)`` becomes a batch of one. ``H, W`` must match the
    model's input (32x32 for the course's models).
    """
    check_model(model)
    try:
        x = np.asarray(images)
    except (TypeError, ValueError) as exc:
        raise CifarEduError(f"images could not be read as an array ({exc}); pass a numpy array "
                            "of shape (N, 32, 32, 3)") from None
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise CifarEduError(f"images have dtype {x.dtype}; pass numbers (uint8 0-255 or float)")
    if x.ndim == 3:
        x = x[np.newaxis]
    expected = tuple(model.inputs[0].shape[1:])      # (32, 32, 3); None = any size
    if x.ndim != 4 or x.shape[-1] != 3 or any(
            e is not None and e != s for e, s in zip(expected, x.shape[1:])):
        want = ", ".join("H" if s is None else str(s) for s in expected)
        raise CifarEduError(f"images have shape {x.shape}, but the model takes RGB images of shape "
                            f"(N, {want}) or one image ({want}); convert grayscale to RGB and "
                            "resize first (cifar_edu.predict does both)")
    if len(x) == 0:
        raise CifarEduError("no images given: pass at least one image")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise CifarEduError("images contain NaN or infinite values; pass pixel values 0-255")
    return x


def predict_probabilities(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Model outputs ``(N, classes)`` computed in small batches in inference mode."""
    chunks = [np.asarray(model(x[i:i + BATCH_SIZE], training=False))
              for i in range(0, len(x), BATCH_SIZE)]
    probs = np.concatenate(chunks)
    if probs.ndim != 2:
        raise CifarEduError(f"the model outputs shape {probs.shape}; explanations need class "
                            "probabilities of shape (N, classes)")
    return probs


def resolve_classes(model: keras.Model, x: np.ndarray,
                    class_index: int | Sequence[int] | np.ndarray | None) -> np.ndarray:
    """One class per image: the predicted one (None), one for all (int), or one each."""
    num_classes = int(model.outputs[0].shape[-1])
    if class_index is None:
        return predict_probabilities(model, x).argmax(axis=1)
    classes = np.asarray(class_index)
    if classes.dtype == bool or not np.issubdtype(classes.dtype, np.integer):
        raise CifarEduError(f"class_index must be an integer class (0-{num_classes - 1}), a list "
                            f"of them or None for the predicted class, got {class_index!r}")
    classes = classes.reshape(-1)
    if classes.size == 1:
        classes = np.repeat(classes, len(x))
    if classes.size != len(x):
        raise CifarEduError(f"class_index has {classes.size} entries for {len(x)} images; pass "
                            "one class for all images or one per image")
    if classes.min() < 0 or classes.max() >= num_classes:
        raise CifarEduError(f"class_index {classes.tolist()} is out of range: classes are "
                            f"0-{num_classes - 1} (see cifar_edu.data.CLASS_NAMES)")
    return classes.astype(np.int64)


def batches(n: int):
    """``slice`` objects covering ``range(n)`` in :data:`BATCH_SIZE` steps."""
    for start in range(0, n, BATCH_SIZE):
        yield slice(start, min(start + BATCH_SIZE, n))
