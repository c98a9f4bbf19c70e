"""Sanity check for explanations (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

An explanation that stays the same when the model's weights are replaced by
random ones explains the image, not the model. The check computes the maps of
the trained model and of a randomised copy (same images, same classes) and
reports their rank correlation: it should be low.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import keras
import numpy as np
from scipy import stats

from cifar_edu.errors import CifarEduError
from cifar_edu.explain._checks import check_images, resolve_classes
from cifar_edu.explain.layers import resolve_layer
from cifar_edu.explain.maps import ClassIndex, gradcam, saliency

__all__ = ["METHODS", "randomized_copy", "sanity_check", "explain"]

#: Explanation methods by name, as used by :func:`explain` and :func:`sanity_check`.
METHODS = ("gradcam", "gradcam++", "saliency", "smoothgrad")


def explain(model: keras.Model, images: np.ndarray, class_index: ClassIndex = None, *,
            method: str = "gradcam", layer: str | None = None, smooth_samples: int = 25,
            seed: int | None = 0) -> np.ndarray:
    """Compute ``(N, 32, 32)`` maps with the method named ``method`` (one of :data:`METHODS`)."""
    if method == "gradcam":
        return gradcam(model, images, class_index, layer=layer)
    if method == "gradcam++":
        return gradcam(model, images, class_index, layer=layer, plus_plus=True)
    if method == "saliency":
        return saliency(model, images, class_index)
    if method == "smoothgrad":
        return saliency(model, images, class_index, smooth_samples=smooth_samples, seed=seed)
    raise CifarEduError(f"unknown explanation method {method!r}; choose one of "
                        f"{', '.join(METHODS)}")


def _leaf_layers(model: keras.Model) -> Iterable[keras.layers.Layer]:
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def randomized_copy(model: keras.Model, seed: int = 0, *,
                    layers: Sequence[str] | None = None) -> keras.Model:
    """A clone of ``model`` whose trainable weights are re-initialised at random.

    Parameters
    ----------
    model : keras.Model
        The trained model; it is not modified.
    seed : int
        Seed of the new weights (same seed, same copy).
    layers : sequence of str, optional
        Names of the layers to randomise (default: all). Randomising the top
        layers first, then more and more, is Adebayo et al.'s *cascading* test.

    Returns
    -------
    keras.Model
        Same architecture and layer names. Each weight is redrawn from its layer's
        own initializer (``kernel_initializer``, ...) seeded with ``seed``; a weight
        without one is shuffled. Non-trainable state (batch-norm statistics,
        normalisation mean/variance) is kept, as in the paper.
    """
    try:
        clone = keras.models.clone_model(model)
    except Exception as exc:  # Keras raises several types for models it cannot clone
        raise CifarEduError(f"could not copy model {model.name!r} ({exc}); the sanity check "
                            "needs a Sequential or functional model") from None
    clone.set_weights(model.get_weights())
    leaves = list(_leaf_layers(clone))
    if layers is not None:
        unknown = sorted(set(layers) - {layer.name for layer in leaves})
        if unknown:
            raise CifarEduError(f"model {model.name!r} has no layer(s) {unknown}; layers with "
                                f"weights: {[lay.name for lay in leaves if lay.weights]}")
    rng = np.random.default_rng(seed)
    for i, layer in enumerate(leaves):
        if layers is not None and layer.name not in layers:
            continue
        for j, weight in enumerate(layer.trainable_weights):
            initializer = getattr(layer, f"{weight.name}_initializer", None)
            if initializer is not None:
                config = initializer.get_config()
                if "seed" in config:  # a fresh, reproducible draw per weight
                    config["seed"] = int(seed) * 10_007 + i * 101 + j
                value = type(initializer).from_config(config)(weight.shape, weight.dtype)
            else:
                value = rng.permutation(np.asarray(weight).ravel()).reshape(weight.shape)
            weight.assign(value)
    return clone


def _correlations(a: np.ndarray, b: np.ndarray) -> tuple[list[float], list[float], list[bool]]:
    """Per-image Spearman and Pearson correlation, and whether either map is flat.

    A flat (constant) map ranks nothing, so its correlation is undefined; it is
    counted as 0. With Grad-CAM this happens when the ReLU removes all evidence
    of a randomised model: the map did change, to nothing.
    """
    spearman, pearson, flat = [], [], []
    for m, r in zip(a.reshape(len(a), -1), b.reshape(len(b), -1)):
        flat.append(bool(np.ptp(m) == 0 or np.ptp(r) == 0))
        if flat[-1]:
            spearman.append(0.0)
            pearson.append(0.0)
            continue
        spearman.append(float(stats.spearmanr(m, r).statistic))
        pearson.append(float(stats.pearsonr(m, r).statistic))
    return spearman, pearson, flat


def sanity_check(model: keras.Model, images: np.ndarray, class_index: ClassIndex = None, *,
                 method: str = "gradcam", layer: str | None = None, seed: int = 0,
                 max_correlation: float = 0.5) -> dict[str, Any]:
    """Do the maps change when the weights are randomised? (model randomisation test)

    Parameters
    ----------
    model : keras.Model
        The trained model (not modified).
    images : np.ndarray
        ``(N, 32, 32, 3)`` images with values 0-255.
    class_index : int, sequence of int or None
        Class to explain; None = the *trained* model's prediction, used for both models.
    method : str
        One of :data:`METHODS`.
    layer : str, optional
        Grad-CAM layer (ignored by saliency methods); default :func:`default_layer`.
    seed : int
        Seed of the randomised weights (and of SmoothGrad's noise).
    max_correlation : float
        The check passes when the mean Spearman correlation is below this.

    Returns
    -------
    dict
        ``method``, ``layer``, ``seed``, per-image ``spearman`` and ``pearson``
        lists, ``flat`` (per image: one of the two maps is constant, correlation
        counted as 0), the means ``mean_spearman`` and ``mean_pearson``,
        ``max_correlation``, ``passed`` (bool), ``classes`` and the maps:
        ``maps`` (trained) and ``random_maps``, each (N, 32, 32).
    """
    if method not in METHODS:
        raise CifarEduError(f"unknown explanation method {method!r}; choose one of "
                            f"{', '.join(METHODS)}")
    x = check_images(model, images)
    classes = resolve_classes(model, x, class_index)
    name = resolve_layer(model, layer) if method.startswith("gradcam") else None
    maps = explain(model, x, classes, method=method, layer=name, seed=seed)
    random_maps = explain(randomized_copy(model, seed), x, classes, method=method, layer=name,
                          seed=seed)
    spearman, pearson, flat = _correlations(maps, random_maps)
    mean_spearman = float(np.mean(spearman))
    return {
        "method": method, "layer": name, "seed": seed,
        "spearman": spearman, "pearson": pearson, "flat": flat,
        "mean_spearman": mean_spearman, "mean_pearson": float(np.mean(pearson)),
        "max_correlation": max_correlation, "passed": mean_spearman < max_correlation,
        "classes": classes, "maps": maps, "random_maps": random_maps,
    }
