"""Checks of exercise 7 (interpretability): Grad-CAM written with ``tf.GradientTape``.

The reference is :func:`cifar_edu.explain.gradcam_from_scratch`, which agrees with the
tf-keras-vis implementation behind :func:`cifar_edu.explain.gradcam`. A map counts as
the same when its Pearson correlation with the reference is above 0.99 on every image.
To name the usual mistakes, the checks also compute the maps those mistakes give
(no ReLU, the probability instead of the logit, no pooling of the gradients, the
predicted instead of the requested class) and look for the one that matches.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import tensorflow as tf
from scipy import ndimage, stats

from cifar_edu.checks import (Fail, Pass, as_float_array, call_learner, check, describe,
                              require_value)
from cifar_edu.explain import class_score_output, gradcam_from_scratch, layer_output

__all__ = ["MIN_CORRELATION", "map_correlations", "check_grad_model", "check_gradcam",
           "check_class_maps", "check_agreement"]

#: Per-image Pearson correlation above which two heatmaps count as the same.
MIN_CORRELATION = 0.99


def map_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each pair of maps ``a[i]``, ``b[i]``.

    Two flat (constant) maps count as identical (1), a flat map and a non-flat one
    as unrelated (0).
    """
    out = []
    for x, y in zip(np.asarray(a, np.float64), np.asarray(b, np.float64)):
        x, y = x.ravel(), y.ravel()
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            out.append(float(np.ptp(x) == np.ptp(y)))
        else:
            out.append(float(np.corrcoef(x, y)[0, 1]))
    return np.array(out)


def _variant(model: keras.Model, images: np.ndarray, layer: str, classes: np.ndarray, *,
             relu: bool = True, logits: bool = True, pooled: bool = True,
             zoom: bool = True) -> np.ndarray:
    """Grad-CAM as :func:`gradcam_from_scratch` computes it, with one choice switched."""
    score = class_score_output(model)[0] if logits else model.outputs[0]
    grad_model = keras.Model(model.inputs, [layer_output(model, layer), score])
    x = tf.constant(np.asarray(images, dtype="float32"))
    with tf.GradientTape() as tape:
        features, scores = grad_model([x], training=False)
        class_scores = tf.gather(scores, classes, axis=1, batch_dims=1)
    grads = tape.gradient(class_scores, features)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True) if pooled else grads
    cam = tf.reduce_sum(weights * features, axis=-1)
    cam = (tf.nn.relu(cam) if relu else cam).numpy()
    if zoom:
        cam = ndimage.zoom(cam, (1, x.shape[1] / cam.shape[1], x.shape[2] / cam.shape[2]),
                           order=1)
    else:  # TensorFlow's bilinear resize: pixel centres aligned differently
        cam = tf.image.resize(cam[..., None], x.shape[1:3]).numpy()[..., 0]
    cam -= cam.min(axis=(1, 2), keepdims=True)
    cam /= cam.max(axis=(1, 2), keepdims=True) + keras.config.epsilon()
    return cam


def _predicted(model: keras.Model, images: np.ndarray) -> np.ndarray:
    return np.asarray(model(np.asarray(images, "float32"), training=False)).argmax(axis=1)


@check("Task 1, the gradient model")
def check_grad_model(grad_model: object, model: keras.Model, layer: str,
                     images: np.ndarray) -> Pass:
    """Check a model that returns ``[feature maps of layer, class scores before softmax]``."""
    require_value(grad_model, "grad_model")
    if not isinstance(grad_model, keras.Model):
        raise Fail(f"`grad_model` should be a keras.Model, but it is {describe(grad_model)}.",
                   "keras.Model(model.inputs, [layer_output(model, layer), logits]).")
    x = np.asarray(images, dtype="float32")
    with warnings.catch_warnings():  # Keras warns when a list input is passed as one array
        warnings.simplefilter("ignore", UserWarning)
        outputs = grad_model(x, training=False)
        expected = np.asarray(keras.Model(model.inputs, layer_output(model, layer))([x]),
                              dtype=np.float64)
    if not isinstance(outputs, (list, tuple)) or len(outputs) != 2:
        raise Fail(f"`grad_model` returns {describe(outputs)}; expected two outputs, "
                   "[feature maps, class scores].",
                   "give keras.Model a list of two outputs: [layer_output(model, layer), "
                   "logits].")
    features, scores = (np.asarray(o, dtype=np.float64) for o in outputs)
    if features.shape != expected.shape:
        raise Fail(f"the first output has shape {features.shape}; the layer {layer!r} gives "
                   f"{expected.shape}.", f"use layer_output(model, {layer!r}) as the first "
                                        "output.")
    if not np.allclose(features, expected, rtol=1e-4, atol=1e-4):
        raise Fail(f"the first output is not the output of layer {layer!r}.",
                   f"use layer_output(model, {layer!r}).")
    probs = np.asarray(model(x, training=False), dtype=np.float64)
    if scores.shape != probs.shape:
        raise Fail(f"the second output has shape {scores.shape}; expected {probs.shape}, one "
                   "score per class.", "use the class scores: class_score_output(model)[0].")
    if np.allclose(scores, probs, atol=1e-5):
        raise Fail("the second output is the probabilities, after the softmax.",
                   "Grad-CAM differentiates the class score BEFORE the softmax (the logit): "
                   "class_score_output(model)[0]. Through the softmax the gradient mixes in "
                   "the other classes and vanishes for confident predictions.")
    softmax = np.exp(scores - scores.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    if not np.allclose(softmax, probs, atol=1e-4):
        raise Fail("the softmax of the second output is not the model's prediction.",
                   "use class_score_output(model)[0], the scores that the model's softmax "
                   "turns into probabilities.")
    return Pass(f"feature maps {features.shape[1:]} of {layer!r} and {scores.shape[1]} "
                "logits, in one forward pass.")


def _learner_maps(value: object, n: int, name: str) -> np.ndarray:
    maps = as_float_array(value, name)
    if maps.ndim == 4 and maps.shape[-1] == 1:
        maps = maps[..., 0]
    if maps.ndim == 4:
        raise Fail(f"the maps have shape {maps.shape}: one map per feature channel.",
                   "sum the weighted feature maps over the channels: "
                   "tf.reduce_sum(weights * features, axis=-1).")
    if maps.ndim != 3 or len(maps) != n:
        raise Fail(f"the maps have shape {maps.shape}; expected ({n}, 32, 32), one map per "
                   "image.", "return one 2-D map per image.")
    if maps.shape[1:] != (32, 32):
        raise Fail(f"the maps are {maps.shape[1]}x{maps.shape[2]}, the size of the feature "
                   "map, not of the image.",
                   "upsample each map to 32x32: scipy.ndimage.zoom(cam, (1, 32 / h, 32 / w), "
                   "order=1), as the library does.")
    if not np.isfinite(maps).all():
        raise Fail("the maps contain NaN or infinite values.",
                   "add a small epsilon when dividing by the maximum (a map can be all zero).")
    peaks = maps.max(axis=(1, 2))
    flat = np.ptp(maps, axis=(1, 2)) == 0
    if maps.min() < -1e-4 or maps.max() > 1 + 1e-4 or np.any(~flat & (peaks < 0.99)):
        raise Fail(f"the maps range from {maps.min():.3g} to {maps.max():.3g}; each map should "
                   "go from 0 to 1.",
                   "normalise each map on its own: subtract its minimum, divide by its "
                   "maximum (axis=(1, 2), keepdims=True).")
    return maps


def _diagnose(maps: np.ndarray, model: keras.Model, images: np.ndarray, layer: str,
              classes: np.ndarray, reference: np.ndarray) -> Fail:
    """The most specific explanation of maps that do not match the reference."""
    r = map_correlations(maps, reference)
    variants = [
        ({"relu": False}, "the map is not passed through a ReLU, so evidence AGAINST the "
                          "class shows up too.",
         "apply tf.nn.relu to the weighted sum of the feature maps, before normalising."),
        ({"logits": False}, "the gradients are taken of the probability, after the softmax.",
         "differentiate the class score before the softmax: class_score_output(model)[0]."),
        ({"pooled": False}, "the gradients are not averaged over the positions: that is "
                            "gradient x activation, not Grad-CAM.",
         "weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True): one weight per "
         "feature channel."),
        ({"zoom": False}, "the maps are upsampled with tf.image.resize, which places the "
                          "pixel centres differently from the library.",
         "upsample with scipy.ndimage.zoom(cam, (1, 32 / h, 32 / w), order=1), as "
         "tf-keras-vis does."),
    ]
    for switches, what, hint in variants:
        other = _variant(model, images, layer, classes, **switches)
        if map_correlations(other, reference).min() < MIN_CORRELATION and \
                map_correlations(maps, other).min() >= MIN_CORRELATION:
            return Fail(what, hint)
    if r.min() >= 0.95:
        return Fail(f"close (lowest correlation {r.min():.3f}), but not above "
                    f"{MIN_CORRELATION}.", "upsample as the library does, bilinearly with "
                    "scipy.ndimage.zoom(cam, (1, 32 / h, 32 / w), order=1), and normalise "
                    "each map to [0, 1].")
    return Fail(f"the maps differ from the library's (correlation per image: "
                f"{np.round(r, 2).tolist()}).",
                "follow the recipe: logits before softmax, gradients of the class score "
                "w.r.t. the feature maps, averaged over positions, weighted sum over "
                "channels, ReLU, upsample to 32x32, scale to [0, 1].")


@check("Task 2, Grad-CAM with GradientTape")
def check_gradcam(my_gradcam: object, model: keras.Model, images: np.ndarray,
                  layer: str) -> Pass:
    """Check ``my_gradcam(model, images, layer)`` (maps of the predicted classes)."""
    value = call_learner(my_gradcam, model, images, layer, name="my_gradcam",
                         hint="my_gradcam(model, images, layer) must run on raw 0-255 "
                              "images; run it alone on two images and read the traceback.")
    maps = _learner_maps(value, len(images), "the result of my_gradcam")
    reference = gradcam_from_scratch(model, images, layer=layer)
    r = map_correlations(maps, reference)
    if r.min() >= MIN_CORRELATION:
        return Pass(f"your maps match the library's Grad-CAM (lowest correlation "
                    f"{r.min():.4f} over {len(r)} images).")
    raise _diagnose(maps, model, images, layer, _predicted(model, images), reference)


@check("Task 3, explaining another class")
def check_class_maps(class_maps: object, model: keras.Model, images: np.ndarray, layer: str,
                     class_index: int) -> Pass:
    """Check Grad-CAM maps of class ``class_index`` (for every image, whatever it predicts)."""
    maps = _learner_maps(require_value(class_maps, "class_maps"), len(images), "class_maps")
    classes = np.full(len(images), int(class_index))
    reference = gradcam_from_scratch(model, images, class_index=int(class_index), layer=layer)
    r = map_correlations(maps, reference)
    if r.min() >= MIN_CORRELATION:
        return Pass(f"maps of class {class_index} for all {len(images)} images (lowest "
                    f"correlation {r.min():.4f}).")
    predicted = gradcam_from_scratch(model, images, layer=layer)
    differs = map_correlations(predicted, reference) < MIN_CORRELATION
    if differs.any() and map_correlations(maps, predicted).min() >= MIN_CORRELATION:
        raise Fail("these are the maps of each image's PREDICTED class.",
                   f"differentiate the score of class {class_index} for every image: "
                   "tf.gather(scores, classes, axis=1, batch_dims=1) with classes = "
                   f"[{class_index}] * len(images) (or scores[:, {class_index}]).")
    raise _diagnose(maps, model, images, layer, classes, reference)


@check("Task 4, agreement with tf-keras-vis")
def check_agreement(agreement: object, ours: np.ndarray, library: np.ndarray) -> Pass:
    """Check the per-image Pearson correlations between two sets of maps."""
    values = as_float_array(agreement, "agreement").reshape(-1)
    ours_maps = as_float_array(ours, "ours")
    lib_maps = as_float_array(library, "library")
    if ours_maps.shape != lib_maps.shape:
        raise Fail(f"`ours` has shape {ours_maps.shape}, the library's maps {lib_maps.shape}; "
                   "finish task 2 first.", "my_gradcam must return (N, 32, 32) maps.")
    reference = map_correlations(ours_maps, lib_maps)
    if values.size == 1 and len(reference) > 1:
        raise Fail("`agreement` is one number for all the images.",
                   "compute one correlation per image: loop over the pairs of maps (a pooled "
                   "correlation hides one bad map among good ones).")
    if values.shape != reference.shape:
        raise Fail(f"`agreement` has {values.size} values for {len(reference)} images.",
                   "one correlation per image.")
    # A flat map has no correlation (np.corrcoef gives NaN): any value is accepted there.
    defined = (np.ptp(ours_maps, axis=(1, 2)) > 0) & (np.ptp(lib_maps, axis=(1, 2)) > 0)
    if np.allclose(values[defined], reference[defined], atol=1e-3):
        return Pass(f"correlations {np.round(reference, 3).tolist()}: the two implementations "
                    "agree." if reference.min() >= MIN_CORRELATION else
                    f"correlations {np.round(reference, 3).tolist()}.")
    if np.allclose(values[defined], np.square(reference[defined]), atol=1e-3):
        raise Fail("these are squared correlations (R²).", "report Pearson's r itself.")
    ranks = np.array([stats.spearmanr(a.ravel(), b.ravel()).statistic
                      for a, b in zip(ours_maps, lib_maps)])
    if np.allclose(values[defined], ranks[defined], atol=1e-3):
        raise Fail("these are Spearman rank correlations.",
                   "the task asks for Pearson's r: np.corrcoef(a.ravel(), b.ravel())[0, 1].")
    raise Fail(f"expected {np.round(reference, 3).tolist()}, got "
               f"{np.round(values, 3).tolist()}.",
               "Pearson correlation of the flattened maps: np.corrcoef(a.ravel(), "
               "b.ravel())[0, 1] (scipy.stats.pearsonr gives the same).")

