"""Running a model over many images, batch by batch."""

from __future__ import annotations

import keras
import numpy as np

from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation._checks import as_probabilities
from cifar_edu.evaluation.tta import predict_levels, tta_level

__all__ = ["predict_proba"]


def _check_model_input(model: keras.Model) -> None:
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, tuple) and len(shape) == 4:
        expected = (32, 32, 3)
        if any(got is not None and got != want for got, want in zip(shape[1:], expected)):
            raise CifarEduError(f"the model expects inputs of shape {shape}, but cifar-edu "
                                "models take raw CIFAR-10 images (N, 32, 32, 3)")


def predict_proba(model: keras.Model, x: np.ndarray, batch_size: int = 250,
                  tta: bool | int | str = False) -> np.ndarray:
    """Class probabilities of a model for many images.

    Parameters
    ----------
    model : keras.Model
        Takes raw images ``(N, 32, 32, 3)`` in 0-255 and returns probabilities
        ``(N, K)``, like every cifar-edu model.
    x : ndarray, shape (N, 32, 32, 3) or (32, 32, 3)
        Images, usually uint8.
    batch_size : int
        Images per forward pass. Only one batch is ever converted to float32,
        so memory stays small even for the whole test set.
    tta : bool, int or str
        Test-time augmentation. ``True`` (or ``"flip"``) averages the
        probabilities of each image and its mirror image (horizontal flip),
        which usually adds a few tenths of a percent of accuracy at twice the
        cost; ``"flip_translate"`` also averages the mirrored pair shifted by
        one pixel (six forward passes). See :mod:`cifar_edu.evaluation.tta`.

    Returns
    -------
    ndarray of float32, shape (N, K)
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[np.newaxis]
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3):
        raise CifarEduError(f"expected images of shape (N, 32, 32, 3), got {x.shape}; "
                            "CIFAR-10 images are 32x32 RGB")
    if len(x) == 0:
        raise CifarEduError("there are no images to predict")
    if batch_size < 1:
        raise CifarEduError(f"batch_size must be at least 1, got {batch_size}")
    _check_model_input(model)
    level = tta_level(tta)
    prob = predict_levels(model, x, level, batch_size)[level]
    if prob.ndim != 2 or prob.shape[1] < 2:
        raise CifarEduError(f"the model returned an output of shape {prob.shape}; cifar-edu "
                            "models must return class probabilities of shape (N, K)")
    as_probabilities(prob, "the model's output")
    return prob
