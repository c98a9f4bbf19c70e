"""Classifying images with any cifar-edu model: top-k classes and an "unsure" flag.

A model of the project takes raw RGB images ``(N, 32, 32, 3)`` in 0-255 and returns
class probabilities ``(N, 10)``. These functions read the image (any format, see
:mod:`cifar_edu.predict.image_io`), make it a 32x32 input, run the model and say
which classes it believes, and whether it is too unsure to trust.

The model is called with ``predict_on_batch``: it runs a compiled graph without the
per-call setup of ``model.predict`` (about 1 ms instead of 100 ms for one small
image on a CPU), so one image is classified as fast as the model itself allows.
This module does not import TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from cifar_edu.data import CLASS_NAMES
from cifar_edu.errors import CifarEduError, ImageError
from cifar_edu.predict.image_io import ImageSource, image_name, to_model_input

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = ["DEFAULT_UNSURE_THRESHOLD", "Prediction", "predict_probabilities", "make_prediction",
           "predict_image", "predict_images", "format_prediction", "gradcam_overlay"]

#: Top-1 probability below which a prediction is flagged "unsure".
#:
#: A classifier trained on ten classes must put all its probability on those ten,
#: even for a photo of a pizza; what it can do is spread it out. The calibration
#: lesson shows that for the course's models the top-1 probability is close to the
#: real chance of being right (reliability diagram, expected calibration error), and
#: that predictions with top-1 probability below 0.5 are wrong more often than right.
#: So below 0.5 the answer is "unsure: maybe not one of the 10 classes, or a hard
#: image". It is a starting point: re-read the reliability diagram for your model.
DEFAULT_UNSURE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Prediction:
    """What a model says about one image.

    Attributes
    ----------
    top_k : list of (str, float)
        The ``k`` most probable classes with their probabilities, best first.
    unsure : bool
        True when the top-1 probability is below the threshold: the image may not
        show one of the ten classes, or be too hard for the model.
    reason : str
        One sentence explaining the flag, for people.
    image : ndarray of uint8, shape (32, 32, 3)
        The input the model saw (centre-cropped and resized).
    probabilities : ndarray of float, shape (num_classes,)
        The model's full output.
    source : str
        Where the image came from (path or a short description).
    threshold : float
        The threshold the flag was computed with.
    """

    top_k: list[tuple[str, float]]
    unsure: bool
    reason: str
    image: np.ndarray = field(repr=False)
    probabilities: np.ndarray = field(repr=False)
    source: str = ""
    threshold: float = DEFAULT_UNSURE_THRESHOLD

    @property
    def label(self) -> str:
        """The most probable class."""
        return self.top_k[0][0]

    @property
    def confidence(self) -> float:
        """The probability of the most probable class."""
        return self.top_k[0][1]

    @property
    def class_index(self) -> int:
        """Index of the most probable class (for Grad-CAM and friends)."""
        return int(np.argmax(self.probabilities))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary (without the image)."""
        return {
            "source": self.source,
            "label": self.label,
            "probability": self.confidence,
            "top_k": [{"class": name, "probability": p} for name, p in self.top_k],
            "unsure": self.unsure,
            "threshold": self.threshold,
            "reason": self.reason,
        }


def predict_probabilities(model: keras.Model, images: np.ndarray, *, batch_size: int = 256
                          ) -> np.ndarray:
    """Run ``model`` on 32x32 images and check that it returns probabilities.

    Parameters
    ----------
    model : keras.Model
        Raw 0-255 images in, class probabilities out.
    images : ndarray, shape (N, 32, 32, 3)
        uint8 or 0-255 float images.
    batch_size : int
        How many images go through the model at once.

    Returns
    -------
    ndarray of float32, shape (N, num_classes)
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise CifarEduError(f"expected images of shape (N, 32, 32, 3), got {images.shape}")
    batches = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size].astype("float32")
        batches.append(np.asarray(model.predict_on_batch(chunk), dtype="float32"))
    probs = np.concatenate(batches) if batches else np.zeros((0, 0), "float32")
    if probs.ndim != 2:
        raise CifarEduError(f"the model returned shape {probs.shape}; a cifar-edu model must "
                            "return class probabilities of shape (N, 10)")
    if len(probs) and (np.any(probs < -1e-4) or not np.allclose(probs.sum(axis=1), 1, atol=1e-3)):
        raise CifarEduError("the model's outputs are not probabilities (they must be >= 0 and "
                            "sum to 1); end the model with a softmax layer, e.g. "
                            "keras.layers.Activation('softmax')")
    return probs


def make_prediction(probabilities: np.ndarray, image: np.ndarray, *, top_k: int = 3,
                    unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD,
                    class_names: Sequence[str] = CLASS_NAMES, source: str = "") -> Prediction:
    """Turn one row of probabilities into a :class:`Prediction` (no model involved).

    Parameters
    ----------
    probabilities : ndarray, shape (num_classes,)
        One image's class probabilities.
    image : ndarray of uint8, shape (32, 32, 3)
        The input that produced them.
    top_k : int
        How many classes to report (at most ``num_classes``).
    unsure_threshold : float
        Flag the prediction when the top-1 probability is below this.
    class_names : sequence of str
        Names in label order.
    source : str
        Where the image came from.
    """
    probabilities = np.asarray(probabilities, dtype="float64").reshape(-1)
    if len(probabilities) != len(class_names):
        raise CifarEduError(f"the model has {len(probabilities)} outputs but there are "
                            f"{len(class_names)} class names; pass matching class_names")
    k = _check_top_k(top_k, len(class_names))
    _check_threshold(unsure_threshold)
    order = np.argsort(-probabilities, kind="stable")[:k]
    ranked = [(str(class_names[i]), float(probabilities[i])) for i in order]
    best_name, best_p = ranked[0]
    unsure = best_p < unsure_threshold
    if unsure:
        reason = (f"the most likely class, {best_name}, has only {best_p:.0%} "
                  f"probability (below {unsure_threshold:.0%}); the image may not show one "
                  "of the 10 CIFAR-10 classes, or is hard to tell")
    else:
        reason = (f"{best_name} with {best_p:.0%} probability (at or above the "
                  f"{unsure_threshold:.0%} threshold)")
    return Prediction(top_k=ranked, unsure=unsure, reason=reason, image=np.asarray(image),
                      probabilities=probabilities.astype("float32"), source=source,
                      threshold=float(unsure_threshold))


def predict_image(model: keras.Model, source: ImageSource, *, top_k: int = 3,
                  unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD,
                  class_names: Sequence[str] = CLASS_NAMES, name: str | None = None
                  ) -> Prediction:
    """Classify one image from a file, bytes, a Pillow image or an array.

    Parameters
    ----------
    model : keras.Model
        Raw 0-255 images ``(N, 32, 32, 3)`` in, probabilities ``(N, 10)`` out.
    source : str, path-like, bytes, PIL.Image.Image or ndarray
        The image, in any format Pillow reads (see :func:`~cifar_edu.predict.load_image`).
    top_k : int
        How many classes to report.
    unsure_threshold : float
        Flag the prediction as unsure when the top-1 probability is below this
        (default :data:`DEFAULT_UNSURE_THRESHOLD`).
    class_names : sequence of str
        Names in label order.
    name : str, optional
        How to call the image in the result and in messages.

    Returns
    -------
    Prediction

    Raises
    ------
    cifar_edu.errors.ImageError
        The image could not be read; the message says why.

    Examples
    --------
    >>> from cifar_edu.model_store import load_model  # doctest: +SKIP
    >>> predict_image(load_model("pretrained"), "cat.jpg").top_k  # doctest: +SKIP
    [('cat', 0.91), ('dog', 0.05), ('deer', 0.01)]
    """
    (result,) = predict_images(model, [source], top_k=top_k, unsure_threshold=unsure_threshold,
                               class_names=class_names,
                               names=None if name is None else [name])
    assert isinstance(result, Prediction)  # on_error="raise"
    return result


def predict_images(model: keras.Model, sources: Iterable[ImageSource], *, top_k: int = 3,
                   unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD,
                   class_names: Sequence[str] = CLASS_NAMES,
                   names: Sequence[str] | None = None, batch_size: int = 256,
                   on_error: Literal["raise", "return"] = "raise"
                   ) -> list[Prediction | ImageError]:
    """Classify several images in batches.

    Parameters
    ----------
    model, top_k, unsure_threshold, class_names
        As in :func:`predict_image`.
    sources : iterable
        Files, bytes, Pillow images or arrays.
    names : sequence of str, optional
        How to call each image (default: its path or a short description).
    batch_size : int
        Images per model call.
    on_error : {"raise", "return"}
        What to do with an image that cannot be read: raise its
        :class:`~cifar_edu.errors.ImageError`, or put the error in its place in the
        result so the other images are still classified (the CLI does this).

    Returns
    -------
    list of Prediction (or ImageError, with ``on_error="return"``), in input order.
    """
    if on_error not in ("raise", "return"):
        raise ValueError("on_error must be 'raise' or 'return'")
    _check_top_k(top_k, len(class_names))
    _check_threshold(unsure_threshold)
    sources = list(sources)
    names = [image_name(s) for s in sources] if names is None else list(names)
    if len(names) != len(sources):
        raise CifarEduError(f"got {len(names)} names for {len(sources)} images")
    results: list[Prediction | ImageError | None] = [None] * len(sources)
    inputs, slots = [], []
    for i, (source, name) in enumerate(zip(sources, names)):
        try:
            inputs.append(to_model_input(source, name=name))
            slots.append(i)
        except ImageError as exc:
            if on_error == "raise":
                raise
            results[i] = exc
    if inputs:
        images = np.stack(inputs)
        probs = predict_probabilities(model, images, batch_size=batch_size)
        for row, i in enumerate(slots):
            results[i] = make_prediction(probs[row], images[row], top_k=top_k,
                                         unsure_threshold=unsure_threshold,
                                         class_names=class_names, source=names[i])
    return results  # type: ignore[return-value]  # every slot is filled


def format_prediction(prediction: Prediction) -> str:
    """A few lines of text for people: the source, the top-k classes and the flag."""
    lines = [f"{prediction.source}:"]
    width = max(len(name) for name, _ in prediction.top_k)
    for rank, (name, p) in enumerate(prediction.top_k, start=1):
        lines.append(f"  {rank}. {name:<{width}}  {p:6.1%}")
    if prediction.unsure:
        lines.append(f"  UNSURE: {prediction.reason}")
    return "\n".join(lines)


def gradcam_overlay(model: keras.Model, prediction: Prediction, *, scale: int = 8,
                    alpha: float = 0.45, layer: str | None = None) -> np.ndarray:
    """Grad-CAM of the predicted class drawn over the 32x32 input, enlarged ``scale`` times.

    Uses :func:`cifar_edu.explain.gradcam` and :func:`cifar_edu.explain.overlay`; the
    model is not modified.

    Returns
    -------
    ndarray of uint8, shape (32 * scale, 32 * scale, 3)
    """
    from cifar_edu import explain  # imports TensorFlow; only needed here

    heatmaps = explain.gradcam(model, prediction.image[None], prediction.class_index,
                               layer=layer)
    return explain.overlay(prediction.image, np.asarray(heatmaps)[0], alpha=alpha,
                           cmap="magma", scale=scale)


def _check_top_k(top_k: int, num_classes: int) -> int:
    if not isinstance(top_k, (int, np.integer)) or isinstance(top_k, bool) or top_k < 1:
        raise CifarEduError(f"top_k must be a whole number from 1 to {num_classes}, "
                            f"got {top_k!r}")
    return min(int(top_k), num_classes)


def _check_threshold(threshold: float) -> None:
    if not 0.0 <= float(threshold) <= 1.0:
        raise CifarEduError(f"the unsure threshold is a probability between 0 and 1, "
                            f"got {threshold}")
