"""Grad-CAM, Grad-CAM++, vanilla saliency and SmoothGrad through tf-keras-vis.

The caller's model is never modified. tf-keras-vis' usual recipe,
``Gradcam(model, model_modifier=ReplaceToLinear())``, swaps the softmax for a
linear activation *in place* unless it clones the model (``clone=True``), and on
Keras 3 it fails on Sequential models (no ``output_names``). Instead we hand
tf-keras-vis a new functional model that *shares* the caller's layers and
outputs the pre-softmax class scores (:func:`class_score_output`); no
``model_modifier`` is passed, so nothing is cloned or changed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import keras
import numpy as np

from cifar_edu.errors import CifarEduError
from cifar_edu.explain._checks import batches, check_images, resolve_classes
from cifar_edu.explain.layers import class_score_output, layer_output, resolve_layer

with warnings.catch_warnings():
    # tf-keras-vis imports scipy.ndimage.interpolation, a deprecated alias.
    warnings.simplefilter("ignore", DeprecationWarning)
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.scores import CategoricalScore

__all__ = ["gradcam", "saliency", "score_model"]

ClassIndex = int | Sequence[int] | np.ndarray | None


def score_model(model: keras.Model) -> keras.Model:
    """A model sharing ``model``'s layers that outputs class scores (logits), not probabilities."""
    scores, _ = class_score_output(model)
    return keras.Model(model.inputs, scores, name=f"{model.name}_scores")


class _FeatureMap(keras.layers.Layer):
    """Hands tf-keras-vis the feature-map tensor of *this* model's graph.

    tf-keras-vis reads ``penultimate_layer.output``, which is the tensor of the
    layer's first call; in a model loaded from a ``.keras`` file that call belongs
    to another graph and Grad-CAM fails (the gradient is None). This stand-in
    layer is never called; it only answers ``.output`` with the right tensor.
    """

    def __init__(self, tensor: keras.KerasTensor, name: str) -> None:
        super().__init__(name=f"{name}_feature_map")
        self._feature_map = tensor

    @property
    def output(self) -> keras.KerasTensor:
        return self._feature_map


def _as_maps(parts: list[np.ndarray]) -> np.ndarray:
    maps = np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])
    return np.clip(np.nan_to_num(maps, nan=0.0), 0.0, 1.0)


def _normalise(maps: np.ndarray) -> np.ndarray:
    """Scale each map to [0, 1]; a constant map becomes all zeros."""
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return np.divide(maps - low, span, out=np.zeros_like(maps), where=span > 0)


def gradcam(model: keras.Model, images: np.ndarray, class_index: ClassIndex = None, *,
            layer: str | None = None, plus_plus: bool = False) -> np.ndarray:
    """Grad-CAM (or Grad-CAM++) heatmaps: where in the image the class evidence is.

    Parameters
    ----------
    model : keras.Model
        Any course model: raw 0-255 images in, class probabilities out. Not modified.
    images : np.ndarray
        ``(N, 32, 32, 3)`` images with values 0-255 (uint8 or float), or one image.
    class_index : int, sequence of int or None
        Class to explain: None for each image's predicted class, one class for
        all images, or one class per image.
    layer : str, optional
        Name of the feature-map layer (see :func:`conv_layers`); default
        :func:`default_layer` (the last 8x8 layer).
    plus_plus : bool
        Use Grad-CAM++ (Chattopadhyay et al. 2018) instead of Grad-CAM (Selvaraju et al. 2017).

    Returns
    -------
    np.ndarray
        ``(N, 32, 32)`` float32 maps in [0, 1], bilinearly upsampled from the
        layer's resolution, each normalised to its own maximum.
    """
    x = check_images(model, images)
    name = resolve_layer(model, layer)
    classes = resolve_classes(model, x, class_index)
    explainer = (GradcamPlusPlus if plus_plus else Gradcam)(score_model(model))
    target = _FeatureMap(layer_output(model, name), name)
    parts = [explainer(CategoricalScore(classes[s].tolist()), x[s], penultimate_layer=target,
                       seek_penultimate_conv_layer=False)
             for s in batches(len(x))]
    return _as_maps(parts)


def saliency(model: keras.Model, images: np.ndarray, class_index: ClassIndex = None, *,
             smooth_samples: int = 0, smooth_noise: float = 0.2, seed: int | None = 0
             ) -> np.ndarray:
    """Vanilla saliency (|d score / d pixel|), or SmoothGrad when ``smooth_samples > 0``.

    Parameters
    ----------
    model : keras.Model
        Any course model (not modified).
    images : np.ndarray
        ``(N, 32, 32, 3)`` images with values 0-255, or one image.
    class_index : int, sequence of int or None
        As in :func:`gradcam`.
    smooth_samples : int
        Noisy copies averaged by SmoothGrad (Smilkov et al. 2017); 0 = vanilla saliency.
    smooth_noise : float
        Noise standard deviation as a fraction of each image's value range.
    seed : int or None
        Seed of SmoothGrad's noise (tf-keras-vis draws from numpy's global
        generator; its state is restored afterwards). None leaves it unseeded.

    Returns
    -------
    np.ndarray
        ``(N, 32, 32)`` float32 maps in [0, 1] (maximum over the colour channels).
    """
    if isinstance(smooth_samples, bool) or not isinstance(smooth_samples, (int, np.integer)) \
            or smooth_samples < 0:
        raise CifarEduError(f"smooth_samples must be an integer >= 0 (0 = vanilla saliency, "
                            f"20-50 is typical for SmoothGrad), got {smooth_samples!r}")
    if not np.isscalar(smooth_noise) or not 0 < float(smooth_noise) <= 1:
        raise CifarEduError(f"smooth_noise must be a fraction in (0, 1], e.g. 0.2, "
                            f"got {smooth_noise!r}")
    x = check_images(model, images)
    classes = resolve_classes(model, x, class_index)
    explainer = Saliency(score_model(model))
    state = np.random.get_state()
    try:
        if seed is not None:
            np.random.seed(seed)
        # normalize_map=False: tf-keras-vis adds 1e-7 to the range, which is not
        # negligible for gradients w.r.t. 0-255 pixels; _normalise is scale-free.
        parts = [explainer(CategoricalScore(classes[s].tolist()), x[s],
                           smooth_samples=int(smooth_samples), smooth_noise=float(smooth_noise),
                           normalize_map=False)
                 for s in batches(len(x))]
    finally:
        if seed is not None:
            np.random.set_state(state)
    return _as_maps([_normalise(np.asarray(p, dtype=np.float32)) for p in parts])
