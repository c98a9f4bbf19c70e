"""Test-time augmentation: average a model's predictions over mirrored and shifted views.

Level 0 (``"none"``) is the plain prediction; level 1 (``"flip"``) averages each
image and its mirror image; level 2 (``"flip_translate"``, as in airbench) also
averages the mirrored pair shifted one pixel up-left and one pixel down-right
(reflect-padded), weighted 1/2 : 1/4 : 1/4. Training runs, the model card and
``cifar-edu evaluate --tta`` all use these functions, so their figures agree.
"""

from __future__ import annotations

import keras
import numpy as np

from cifar_edu.errors import CifarEduError

__all__ = ["TTA_LEVELS", "tta_level", "accuracy_key", "predict_levels"]

#: Names of the test-time augmentation levels, as used in metrics files.
TTA_LEVELS = {0: "none", 1: "flip", 2: "flip_translate"}


def tta_level(tta: bool | int | str) -> int:
    """The level number of a TTA setting.

    Parameters
    ----------
    tta : bool, int or str
        ``False``/``True`` (no TTA / mirror), a level 0-2, or a level name
        (``"none"``, ``"flip"``, ``"flip_translate"``).

    >>> tta_level(True), tta_level("flip_translate"), tta_level(0)
    (1, 2, 0)
    """
    if isinstance(tta, (bool, np.bool_)):
        return int(tta)
    if isinstance(tta, (int, np.integer)) and int(tta) in TTA_LEVELS:
        return int(tta)
    for level, name in TTA_LEVELS.items():
        if tta == name:
            return level
    raise CifarEduError(f"unknown test-time augmentation {tta!r}; use False or 'none', True or "
                        "'flip' (with the mirror image), or 'flip_translate' (also shifted "
                        "one pixel)")


def accuracy_key(tta: bool | int | str) -> str:
    """The metrics key of the accuracy at a TTA level (see :func:`tta_level`).

    >>> accuracy_key(0), accuracy_key("flip_translate")
    ('accuracy', 'accuracy_flip_translate')
    """
    name = TTA_LEVELS[tta_level(tta)]
    return "accuracy" if name == "none" else f"accuracy_{name}"


def predict_levels(model: keras.Model, x: np.ndarray, max_level: bool | int | str = 1,
                   batch_size: int = 1000) -> list[np.ndarray]:
    """Probabilities at every TTA level ``0 .. max_level``; the levels share forward passes.

    This is the engine without input checks; learners call
    :func:`cifar_edu.evaluation.predict_proba` with ``tta=``, which checks the
    images and the model's output first.

    Parameters
    ----------
    model : keras.Model
        Raw 0-255 images in, probabilities ``(N, K)`` out.
    x : ndarray, shape (N, 32, 32, 3)
        Images (uint8 or float 0-255).
    max_level : bool, int or str
        The highest level (see :func:`tta_level`); levels 0, 1 and 2 cost 1, 2
        and 6 forward passes.
    batch_size : int
        Images per forward pass.

    Returns
    -------
    list of ndarray of float32, shape (N, K)
        Element ``k`` holds the probabilities at level ``k``.
    """
    max_level = tta_level(max_level)
    if batch_size < 1:
        raise CifarEduError(f"batch_size must be at least 1, got {batch_size}")

    def forward(batch: np.ndarray) -> np.ndarray:
        # Converted per batch, so only one batch is ever held in float32.
        return np.asarray(model.predict_on_batch(np.ascontiguousarray(batch, np.float32)),
                          np.float32)

    def with_mirror(batch: np.ndarray) -> np.ndarray:
        return 0.5 * (forward(batch) + forward(batch[:, :, ::-1]))  # axis 2 is the width

    x = np.asarray(x)
    outputs: list[list[np.ndarray]] = [[] for _ in range(max_level + 1)]
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        if max_level == 0:
            outputs[0].append(forward(batch))
            continue
        plain, mirrored = forward(batch), forward(batch[:, :, ::-1])
        mirror = 0.5 * (plain + mirrored)
        outputs[0].append(plain)
        outputs[1].append(mirror)
        if max_level == 2:
            padded = np.pad(batch, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
            up_left, down_right = with_mirror(padded[:, :32, :32]), with_mirror(padded[:, 2:, 2:])
            outputs[2].append(0.5 * mirror + 0.25 * (up_left + down_right))
    return [np.concatenate(parts).astype(np.float32, copy=False) for parts in outputs]
