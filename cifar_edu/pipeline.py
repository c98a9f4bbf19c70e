"""``tf.data`` input pipelines from the uint8 arrays.

Images stay uint8 in memory (150 MB for all of CIFAR-10) and are not copied:
batches are gathered from the caller's array, augmented and cast to float32 on
the fly, and models scale pixels themselves, so no float copy of the whole
dataset ever exists (Binder gives 2 GB).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

__all__ = ["make_dataset", "AUTOTUNE"]

AUTOTUNE = tf.data.AUTOTUNE


def make_dataset(x: np.ndarray, y: np.ndarray | None = None, *, batch_size: int = 128,
                 shuffle: bool = False, seed: int = 0, augment: keras.Layer | None = None,
                 one_hot: bool = False, drop_remainder: bool = False) -> tf.data.Dataset:
    """Build a batched, prefetched ``tf.data.Dataset`` of ``(images, labels)``.

    Parameters
    ----------
    x : ndarray of uint8, shape (N, 32, 32, 3)
        Images as returned by :func:`cifar_edu.data.load_cifar10`.
    y : ndarray, shape (N,) or (N, 1), optional
        Integer labels; without them the dataset yields images only.
    batch_size : int
        Images per batch.
    shuffle : bool
        Reshuffle every epoch (training); the order is fixed by ``seed``.
    seed : int
        Seed of the shuffle order.
    augment : keras.Layer, optional
        Applied to each batch with ``training=True`` (see :mod:`cifar_edu.augment`).
    one_hot : bool
        Yield one-hot float labels (needed for label smoothing) instead of integers.
    drop_remainder : bool
        Drop the last incomplete batch (keeps batch statistics steady in training).

    Returns
    -------
    tf.data.Dataset
        Batches of float32 images in 0-255, shape ``(B, 32, 32, 3)``, and labels of
        shape ``(B,)`` int32 or ``(B, 10)`` float32.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3):
        raise ValueError(f"expected images of shape (N, 32, 32, 3), got {x.shape}")
    labels = None
    if y is not None:
        labels = np.asarray(y).reshape(-1).astype(np.int32)
        if len(labels) != len(x):
            raise ValueError(f"{len(x)} images but {len(labels)} labels")

    # Shuffle indices, not images: cheap, and a batch is then one gather.
    ds = tf.data.Dataset.range(len(x))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    # The gather reads the caller's numpy array in place: a tf.constant would copy
    # the whole dataset into TensorFlow (twice, once more when the graph is built).
    def gather_numpy(idx: np.ndarray) -> np.ndarray:
        return x[idx]

    def gather(idx: tf.Tensor):
        batch = tf.numpy_function(gather_numpy, [idx], tf.uint8, stateful=False)
        batch = tf.cast(tf.ensure_shape(batch, (None, 32, 32, 3)), tf.float32)
        if labels is None:
            return batch
        target = tf.gather(labels, idx)
        if one_hot:
            target = tf.one_hot(target, 10, dtype=tf.float32)
        return batch, target

    ds = ds.map(gather, num_parallel_calls=AUTOTUNE, deterministic=True)
    if augment is not None:
        # Sequential on purpose: the layers draw from one seeded random state, and
        # parallel calls would take draws in a racy order (same seed, other images).
        if labels is None:
            ds = ds.map(lambda b: augment(b, training=True))
        else:
            ds = ds.map(lambda b, t: (augment(b, training=True), t))
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options).prefetch(AUTOTUNE)
