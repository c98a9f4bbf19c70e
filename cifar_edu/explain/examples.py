"""Pick correctly and wrongly classified images and explain both, for side-by-side figures."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from cifar_edu.errors import CifarEduError
from cifar_edu.explain._checks import check_images, predict_probabilities
from cifar_edu.explain.layers import resolve_layer
from cifar_edu.explain.sanity import METHODS, explain

__all__ = ["ExplainedExamples", "explain_correct_and_wrong"]


@dataclass(frozen=True)
class ExplainedExamples:
    """Images with their explanation maps, labels and predictions (correct ones first).

    ``maps`` explain each image's *predicted* class: what the model looked at when it
    got it right, and when it got it wrong.
    """

    images: np.ndarray      # (N, 32, 32, 3) uint8
    maps: np.ndarray        # (N, 32, 32) float32 in [0, 1]
    y_true: np.ndarray      # (N,) int
    y_pred: np.ndarray      # (N,) int
    confidence: np.ndarray  # (N,) probability of the predicted class
    correct: np.ndarray     # (N,) bool
    method: str
    layer: str | None


def explain_correct_and_wrong(model: keras.Model, images: np.ndarray, y_true: np.ndarray, *,
                              n: int = 4, pick: str = "confident", method: str = "gradcam",
                              layer: str | None = None, seed: int = 0) -> ExplainedExamples:
    """Explain ``n`` correct and ``n`` wrong predictions of ``model`` on ``images``.

    Parameters
    ----------
    model : keras.Model
        Any course model (not modified).
    images, y_true : np.ndarray
        Images ``(N, 32, 32, 3)`` 0-255 and their labels ``(N,)`` or ``(N, 1)``.
    n : int
        How many of each (fewer when there are not enough).
    pick : {"confident", "random"}
        The most confident of each group, or a random sample (seeded by ``seed``).
    method : str
        One of :data:`cifar_edu.explain.METHODS`.
    layer : str, optional
        Grad-CAM layer; default :func:`default_layer`.

    Returns
    -------
    ExplainedExamples
    """
    x = check_images(model, images)
    labels = np.asarray(y_true).reshape(-1)
    if len(labels) != len(x):
        raise CifarEduError(f"{len(labels)} labels for {len(x)} images; pass one label per image")
    if pick not in ("confident", "random"):
        raise CifarEduError(f"pick must be 'confident' or 'random', got {pick!r}")
    if method not in METHODS:
        raise CifarEduError(f"unknown explanation method {method!r}; choose one of "
                            f"{', '.join(METHODS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise CifarEduError(f"n must be a positive integer, got {n!r}")
    name = resolve_layer(model, layer) if method.startswith("gradcam") else None
    probs = predict_probabilities(model, x)
    y_pred = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    rng = np.random.default_rng(seed)
    chosen = []
    for group in (np.flatnonzero(y_pred == labels), np.flatnonzero(y_pred != labels)):
        if pick == "confident":
            group = group[np.argsort(-confidence[group], kind="stable")]
        else:
            group = rng.permutation(group)
        chosen.append(group[:n])
    idx = np.concatenate(chosen).astype(np.int64)
    if len(idx) == 0:
        raise CifarEduError("no images to explain")
    maps = explain(model, x[idx], y_pred[idx], method=method, layer=name, seed=seed)
    return ExplainedExamples(
        images=np.clip(np.rint(x[idx]), 0, 255).astype(np.uint8), maps=maps,
        y_true=labels[idx].astype(np.int64), y_pred=y_pred[idx], confidence=confidence[idx],
        correct=y_pred[idx] == labels[idx], method=method, layer=name)
