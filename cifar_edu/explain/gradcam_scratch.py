"""Grad-CAM written out with ``tf.GradientTape``: the version the lessons read.

Same recipe and choices as :func:`cifar_edu.explain.gradcam` (which uses
tf-keras-vis): gradients of the pre-softmax class score, bilinear upsampling
with ``scipy.ndimage.zoom`` like tf-keras-vis, per-image min-max normalisation,
so the two agree up to floating-point noise (a test checks it).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from scipy import ndimage

from cifar_edu.explain._checks import check_images, resolve_classes
from cifar_edu.explain.layers import class_score_output, layer_output

__all__ = ["gradcam_from_scratch"]


def gradcam_from_scratch(model: keras.Model, images: np.ndarray,
                         class_index: int | Sequence[int] | None = None,
                         layer: str | None = None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) in a dozen lines of TensorFlow.

    One forward and backward pass over all ``images`` at once: meant for a
    handful of images; :func:`cifar_edu.explain.gradcam` batches long lists.

    Parameters
    ----------
    model : keras.Model
        Any course model (raw 0-255 images in, probabilities out); not modified.
    images : np.ndarray
        ``(N, 32, 32, 3)`` images with values 0-255, or one image.
    class_index : int, sequence of int or None
        Class to explain; None means each image's predicted class.
    layer : str, optional
        Feature-map layer to explain; default :func:`default_layer`.

    Returns
    -------
    np.ndarray
        ``(N, 32, 32)`` float32 heatmaps in [0, 1].
    """
    pixels = check_images(model, images)           # float32 (N, 32, 32, 3), values 0-255
    classes = resolve_classes(model, pixels, class_index)  # one class per image
    x = tf.constant(pixels)
    # The layer's output and the class scores before the softmax, as symbolic tensors
    # of this model's graph (layer.output can belong to another graph, see layers.py).
    feature_map = layer_output(model, layer)
    logits, _ = class_score_output(model)
    # One forward pass gives both the feature maps A and the class scores y.
    grad_model = keras.Model(model.inputs, [feature_map, logits])
    with tf.GradientTape() as tape:
        features, scores = grad_model([x], training=False)  # (N, h, w, K), (N, classes)
        class_scores = tf.gather(scores, classes, axis=1, batch_dims=1)  # y_c per image
    grads = tape.gradient(class_scores, features)            # dy_c / dA, (N, h, w, K)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # alpha_k: pooled gradients
    cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1)).numpy()  # (N, h, w)
    # Bilinear upsampling to the image size, then scale each map to [0, 1].
    cam = ndimage.zoom(cam, (1, x.shape[1] / cam.shape[1], x.shape[2] / cam.shape[2]), order=1)
    cam -= cam.min(axis=(1, 2), keepdims=True)
    cam /= cam.max(axis=(1, 2), keepdims=True) + keras.config.epsilon()
    return cam.astype(np.float32)
