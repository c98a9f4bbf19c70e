"""A fast, accurate CIFAR-10 network in the style of airbench and the Myrtle ResNet-9.

The design follows Keller Jordan's *airbench* (2024), the fastest known way to
94% on CIFAR-10, itself a descendant of David Page's ResNet-9:

* a frozen 2x2 **patch-whitening** first layer, set from the training images
  (:func:`init_whitening`): the network starts from decorrelated inputs;
* three blocks of ``conv -> max-pool -> BN -> GELU -> conv -> BN -> GELU``
  (optionally a third, residual conv), widths growing as the image shrinks;
* convolutions without biases (the following BatchNorm has one), BatchNorm
  without a learned scale, and identity ("dirac") initialisation of the first
  filters of every convolution: an implicit residual connection that makes the
  plain stack train like a ResNet;
* global max-pooling and one linear layer whose inputs are scaled by 1/9, which
  keeps the logits small early in training.

Only stock Keras layers are used, so saved models load with ``safe_mode=True``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers

__all__ = ["fast_cnn", "init_whitening", "CIFAR10_MEAN", "CIFAR10_STD", "WHITENING_LAYER"]

#: Per-channel mean and standard deviation of the CIFAR-10 training images, 0-255 scale.
CIFAR10_MEAN = (125.307, 122.961, 113.8575)
CIFAR10_STD = (62.9932, 62.0887, 66.7049)
#: Name of the patch-whitening layer.
WHITENING_LAYER = "whiten"


def _torch_init() -> keras.initializers.Initializer:
    """PyTorch's default conv/linear initialisation: uniform with bound 1/sqrt(fan_in).

    airbench's hyper-parameters were tuned with it and the identity part of each
    kernel relies on its scale. A new object per layer: one initializer object
    reused by several layers would give them identical weights.
    """
    return keras.initializers.VarianceScaling(1 / 3, mode="fan_in", distribution="uniform")


def fast_cnn(widths: Sequence[int] = (64, 256, 256), *, depth: int = 2,
             activation: str = "gelu", whiten_kernel: int = 2, bn_momentum: float = 0.6,
             logit_scale: float = 1 / 9, whitening_images: np.ndarray | None = None,
             num_classes: int = 10, name: str = "fast_cnn") -> keras.Model:
    """Build the airbench-style network (uncompiled).

    Parameters
    ----------
    widths : sequence of three int
        Filters of the three blocks. ``(64, 256, 256)`` is airbench94 (2.0 M
        parameters), ``(64, 128, 128)`` airbench93, ``(128, 384, 384)`` airbench95.
    depth : {2, 3}
        Convolutions per block; with 3 the last two form a residual pair (airbench96).
    activation : str
        ``"gelu"`` (airbench) or ``"relu"`` (ResNet-9).
    whiten_kernel : int
        Patch size of the whitening layer; it has ``2 * 3 * whiten_kernel**2`` filters.
    bn_momentum : float
        Keras' BatchNorm ``momentum``: the share of the running statistics kept at each
        step. airbench's 0.6 (far below Keras' default 0.99) lets the statistics follow
        the fast-changing weights of a short training.
    logit_scale : float
        Factor applied to the pooled features before the final linear layer.
    whitening_images : ndarray of uint8, shape (N, 32, 32, 3), optional
        Training images to set the whitening layer from (a few thousand are
        enough). Without them the layer keeps a random initialisation; call
        :func:`init_whitening` before training.
    num_classes : int
        Number of output classes.
    name : str
        Name of the model.

    Returns
    -------
    keras.Model
        Takes raw images ``(N, 32, 32, 3)`` in 0-255 (normalised inside with the
        CIFAR-10 channel statistics) and returns probabilities ``(N, num_classes)``.
        Convolutions are named ``block{i}_conv{j}``: ``block1`` works at 31x31 then
        15x15, ``block2`` at 15x15 then 7x7, ``block3`` at 7x7 then 3x3.
    """
    if len(widths) != 3:
        raise ValueError(f"widths must have three entries, got {widths!r}")
    if depth not in (2, 3):
        raise ValueError(f"depth must be 2 or 3, got {depth}")

    def conv(x, filters: int, tag: str):
        return layers.Conv2D(filters, 3, padding="same", use_bias=False,
                             kernel_initializer=_torch_init(), name=tag)(x)

    def norm(x, tag: str):
        # No learned scale: a ReLU/GELU net is scale-invariant after BN, the bias is enough.
        return layers.BatchNormalization(momentum=bn_momentum, epsilon=1e-5, scale=False,
                                         name=tag)(x)

    inputs = keras.Input((32, 32, 3), name="image")
    x = layers.Normalization(mean=CIFAR10_MEAN, variance=np.square(CIFAR10_STD),
                             name="normalize")(inputs)
    x = layers.Conv2D(2 * 3 * whiten_kernel**2, whiten_kernel, padding="valid", use_bias=False,
                      trainable=False, name=WHITENING_LAYER)(x)
    x = layers.Activation(activation, name="whiten_act")(x)
    for i, width in enumerate(widths, start=1):
        x = conv(x, width, f"block{i}_conv1")
        x = layers.MaxPooling2D(name=f"block{i}_pool")(x)
        x = norm(x, f"block{i}_bn1")
        x = shortcut = layers.Activation(activation, name=f"block{i}_act1")(x)
        x = conv(x, width, f"block{i}_conv2")
        x = norm(x, f"block{i}_bn2")
        x = layers.Activation(activation, name=f"block{i}_act2")(x)
        if depth == 3:
            x = conv(x, width, f"block{i}_conv3")
            x = norm(x, f"block{i}_bn3")
            x = layers.Add(name=f"block{i}_residual")([x, shortcut])
            x = layers.Activation(activation, name=f"block{i}_act3")(x)
    x = layers.GlobalMaxPooling2D(name="pool")(x)
    x = layers.Rescaling(logit_scale, name="logit_scale")(x)
    # float32 output: under mixed precision a 16-bit softmax would round probabilities.
    outputs = layers.Dense(num_classes, use_bias=False, activation="softmax",
                           kernel_initializer=_torch_init(), dtype="float32",
                           name="predictions")(x)
    model = keras.Model(inputs, outputs, name=name)
    _dirac_init(model)
    if whitening_images is not None:
        init_whitening(model, whitening_images)
    return model


def _dirac_init(model: keras.Model) -> None:
    """Make the first ``in_channels`` filters of every 3x3 conv an identity map."""
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D) and layer.kernel_size == (3, 3):
            kernel = keras.ops.convert_to_numpy(layer.kernel).copy()
            n = min(kernel.shape[2], kernel.shape[3])
            kernel[..., :n] = 0.0
            kernel[1, 1, np.arange(n), np.arange(n)] = 1.0
            layer.kernel.assign(kernel)


def init_whitening(model: keras.Model, images: np.ndarray, eps: float = 5e-4,
                   max_images: int = 5000) -> None:
    """Set the patch-whitening layer from the eigenvectors of the images' patch covariance.

    Each filter projects a ``k x k x 3`` patch onto one principal direction,
    scaled to unit variance; the layer holds every direction with both signs,
    so the following GELU keeps all the information.

    Parameters
    ----------
    model : keras.Model
        A model from :func:`fast_cnn` (it has a layer named ``"whiten"``).
    images : ndarray of uint8, shape (N, 32, 32, 3)
        Training images (never test images).
    eps : float
        Added to the eigenvalues, so near-constant directions are not blown up.
    max_images : int
        Use at most this many images (the estimate is stable long before 5,000).
    """
    try:
        layer = model.get_layer(WHITENING_LAYER)
        normalize = model.get_layer("normalize")
    except ValueError:
        raise ValueError("the model has no whitening layer; build it with fast_cnn()") from None
    images = np.asarray(images)[:max_images]
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3) or len(images) == 0:
        raise ValueError(f"expected training images (N, 32, 32, 3), got {images.shape}")
    mean = np.asarray(normalize.mean, dtype=np.float32).reshape(1, 1, 1, 3)
    std = np.sqrt(np.asarray(normalize.variance, dtype=np.float32)).reshape(1, 1, 1, 3)
    k = layer.kernel_size[0]
    covariance = np.zeros((k * k * 3, k * k * 3))
    count = 0
    for start in range(0, len(images), 500):  # chunks keep the patch matrix small
        x = (images[start:start + 500].astype(np.float32) - mean) / std
        # Windows come out as (..., channel, row, col); the kernel wants (row, col, channel).
        patches = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
        patches = np.moveaxis(patches, 3, -1).reshape(-1, k * k * 3)
        covariance += (patches.T @ patches).astype(np.float64)
        count += len(patches)
    covariance /= count
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    filters = eigenvectors[:, order] / np.sqrt(eigenvalues[order] + eps)
    kernel = np.concatenate([filters, -filters], axis=1).reshape(k, k, 3, -1)
    layer.kernel.assign(kernel.astype("float32"))
