"""Dataset statistics for exploring CIFAR-10: channels, class means, brightness, odd images.

Everything here is plain numpy on the uint8 images and works in chunks, so the
whole training set (150 MB as uint8) is never copied to floats (1.2 GB as
float64): lesson 1 runs within Binder's 2 GB.

>>> mean, std = channel_mean_std(x_train)  # doctest: +SKIP
>>> class_means = class_mean_images(x_train, y_train)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from cifar_edu.data import NUM_CLASSES
from cifar_edu.errors import DataError

__all__ = ["LUMA_WEIGHTS", "channel_mean_std", "class_mean_images", "brightness_contrast",
           "distances_to_class_means", "nearest_class_mean", "atypical_examples",
           "ambiguous_examples", "lowest_contrast_examples"]

#: ITU-R BT.601 luma weights of red, green and blue: how bright a colour looks to people.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])

_CHUNK = 1024  # 1,024 images as float64 are 25 MB


def _check_images(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[-1] != 3 or len(x) == 0:
        raise DataError(f"expected one or more RGB images of shape (N, 32, 32, 3), got "
                        f"{x.shape}; pass x_train or x_test as loaded by cifar_edu.data")
    return x


def _check_labels(y: np.ndarray, n: int, num_classes: int) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if len(y) != n:
        raise DataError(f"{n} images but {len(y)} labels; pass matching x and y")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= num_classes:
        raise DataError(f"labels must be integers 0-{num_classes - 1}; pass y_train or y_test "
                        "as loaded by cifar_edu.data")
    return y.astype(np.int64)


def _check_means(class_means: np.ndarray, x: np.ndarray) -> np.ndarray:
    class_means = np.asarray(class_means, dtype=np.float64)
    if class_means.ndim != 4 or class_means.shape[1:] != x.shape[1:]:
        raise DataError(f"class_means must have shape (K, {', '.join(map(str, x.shape[1:]))}), "
                        f"got {class_means.shape}; compute them with class_mean_images")
    if np.isnan(class_means).any():
        raise DataError("some class means are NaN (a class without images); compute them "
                        "on a split that has every class")
    return class_means


def _chunks(n: int, chunk_size: int) -> Iterator[slice]:
    for start in range(0, n, chunk_size):
        yield slice(start, min(start + chunk_size, n))


def channel_mean_std(x: np.ndarray, *, chunk_size: int = _CHUNK
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each colour channel over all pixels of all images.

    These are the constants of a ``keras.layers.Normalization`` layer that
    standardises the images (compute them on the training split only).

    Parameters
    ----------
    x : ndarray, shape (N, H, W, 3)
        Images with values 0-255 (uint8 or float).
    chunk_size : int
        Images converted to float at a time (bounds the memory used).

    Returns
    -------
    mean, std : ndarray of float64, shape (3,)
        In pixel units (0-255), red, green, blue.
    """
    x = _check_images(x)
    total = np.zeros(3)
    squares = np.zeros(3)
    for part in _chunks(len(x), chunk_size):
        chunk = x[part].astype(np.float64)
        total += chunk.sum(axis=(0, 1, 2))
        squares += np.square(chunk).sum(axis=(0, 1, 2))
    count = x.shape[0] * x.shape[1] * x.shape[2]
    mean = total / count
    # E[x^2] - E[x]^2 in float64 is exact enough for 0-255 values (no cancellation issue).
    std = np.sqrt(np.maximum(squares / count - np.square(mean), 0.0))
    return mean, std


def class_mean_images(x: np.ndarray, y: np.ndarray, num_classes: int = NUM_CLASSES, *,
                      chunk_size: int = _CHUNK) -> np.ndarray:
    """The average image of every class (pixel by pixel).

    Parameters
    ----------
    x : ndarray, shape (N, H, W, 3)
        Images with values 0-255.
    y : ndarray of int, shape (N,) or (N, 1)
        Labels.
    num_classes : int
    chunk_size : int
        Images converted to float at a time.

    Returns
    -------
    ndarray of float64, shape (num_classes, H, W, 3)
        Values 0-255; NaN for a class without images.
    """
    x = _check_images(x)
    y = _check_labels(y, len(x), num_classes)
    sums = np.zeros((num_classes, *x.shape[1:]))
    for part in _chunks(len(x), chunk_size):
        chunk, labels = x[part], y[part]
        for k in np.unique(labels):
            sums[k] += chunk[labels == k].sum(axis=0, dtype=np.float64)
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None, None, None]


def brightness_contrast(x: np.ndarray, *, chunk_size: int = _CHUNK
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Brightness and contrast of every image.

    Brightness is the mean luma (``0.299 R + 0.587 G + 0.114 B``) of the image's
    pixels; contrast is the standard deviation of the luma (RMS contrast).

    Parameters
    ----------
    x : ndarray, shape (N, H, W, 3)
        Images with values 0-255.
    chunk_size : int
        Images converted to float at a time.

    Returns
    -------
    brightness, contrast : ndarray of float64, shape (N,)
        Both in pixel units (0-255).
    """
    x = _check_images(x)
    brightness = np.empty(len(x))
    contrast = np.empty(len(x))
    for part in _chunks(len(x), chunk_size):
        luma = x[part].astype(np.float64) @ LUMA_WEIGHTS  # (n, H, W)
        brightness[part] = luma.mean(axis=(1, 2))
        contrast[part] = luma.std(axis=(1, 2))
    return brightness, contrast


def distances_to_class_means(x: np.ndarray, class_means: np.ndarray, *,
                             chunk_size: int = _CHUNK) -> np.ndarray:
    """Euclidean distance (in pixel space, 0-255 units) from every image to every class mean.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, 3)
    class_means : ndarray, shape (K, H, W, 3)
        From :func:`class_mean_images`.
    chunk_size : int
        Images converted to float at a time.

    Returns
    -------
    ndarray of float64, shape (N, K)
    """
    x = _check_images(x)
    means = _check_means(class_means, x).reshape(len(class_means), -1)
    mean_sq = np.square(means).sum(axis=1)
    out = np.empty((len(x), len(means)))
    for part in _chunks(len(x), chunk_size):
        flat = x[part].reshape(part.stop - part.start, -1).astype(np.float64)
        # |a - b|^2 = |a|^2 - 2 a.b + |b|^2: one matrix product instead of N*K subtractions.
        sq = np.square(flat).sum(axis=1)[:, None] - 2.0 * flat @ means.T + mean_sq[None, :]
        out[part] = np.sqrt(np.maximum(sq, 0.0))
    return out


def nearest_class_mean(x: np.ndarray, class_means: np.ndarray, *,
                       chunk_size: int = _CHUNK) -> np.ndarray:
    """The class whose mean image is nearest to each image: the simplest possible classifier.

    Returns
    -------
    ndarray of int64, shape (N,)
    """
    return distances_to_class_means(x, class_means, chunk_size=chunk_size).argmin(axis=1)


def atypical_examples(x: np.ndarray, y: np.ndarray, class_means: np.ndarray,
                      per_class: int = 1, *, chunk_size: int = _CHUNK) -> np.ndarray:
    """Indices of the images farthest from their own class mean, ``per_class`` of each class.

    Far from the mean in pixel space means unusual colours, lighting or framing
    for that class, not necessarily an unusual object.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, 3)
    y : ndarray of int, shape (N,) or (N, 1)
    class_means : ndarray, shape (K, H, W, 3)
        From :func:`class_mean_images`.
    per_class : int
        Images per class (fewer if a class has fewer).
    chunk_size : int

    Returns
    -------
    ndarray of int64
        Grouped by class in label order, farthest first within a class.
    """
    x = _check_images(x)
    y = _check_labels(y, len(x), len(class_means))
    own = distances_to_class_means(x, class_means, chunk_size=chunk_size)[np.arange(len(x)), y]
    picked = []
    for k in range(len(class_means)):
        members = np.flatnonzero(y == k)
        order = np.argsort(-own[members], kind="stable")
        picked.append(members[order[:per_class]])
    return np.concatenate(picked).astype(np.int64)


def ambiguous_examples(x: np.ndarray, y: np.ndarray, class_means: np.ndarray, n: int = 8,
                       *, chunk_size: int = _CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Images much nearer to another class's mean image than to their own.

    The margin of an image is (distance to its own class mean) minus (distance
    to the nearest other class mean); the ``n`` images with the largest positive
    margin are the ones a nearest-mean classifier gets most clearly wrong.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, 3)
    y : ndarray of int, shape (N,) or (N, 1)
    class_means : ndarray, shape (K, H, W, 3)
        From :func:`class_mean_images`.
    n : int
        How many to return (fewer if fewer images are nearer another class).
    chunk_size : int

    Returns
    -------
    indices, nearest : ndarray of int64
        The images, most ambiguous first, and the class whose mean each is nearest to.
    """
    x = _check_images(x)
    y = _check_labels(y, len(x), len(class_means))
    dist = distances_to_class_means(x, class_means, chunk_size=chunk_size)
    rows = np.arange(len(x))
    own = dist[rows, y]
    others = dist.copy()
    others[rows, y] = np.inf
    nearest = others.argmin(axis=1)
    margin = own - others[rows, nearest]
    order = np.argsort(-margin, kind="stable")
    order = order[margin[order] > 0][:n]
    return order.astype(np.int64), nearest[order].astype(np.int64)


def lowest_contrast_examples(contrast: np.ndarray, n: int = 8) -> np.ndarray:
    """Indices of the ``n`` images with the lowest contrast, lowest first.

    Parameters
    ----------
    contrast : ndarray, shape (N,)
        From :func:`brightness_contrast`.
    n : int

    Returns
    -------
    ndarray of int64
    """
    contrast = np.asarray(contrast, dtype=np.float64).reshape(-1)
    return np.argsort(contrast, kind="stable")[:n].astype(np.int64)
