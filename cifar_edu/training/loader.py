"""A fast training input pipeline with alternating flip (airbench's loader, in ``tf.data``).

Every random choice of an epoch is drawn at once, from stateless seeds keyed by
``(seed, epoch)``: the order of the images, each image's crop offset and whether
it is mirrored. Batches are then cut with a few vectorised gathers of uint8
data, which costs next to nothing on two CPU cores, and the same seed gives the
same batches even when training resumes in the middle.

*Alternating flip* (Jordan, 2024): each image is mirrored at random in the first
epoch and in every other epoch exactly the opposite way, so over two epochs the
network sees both versions of every image instead of a random half of them.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from cifar_edu.augment import AugmentConfig

__all__ = ["make_epoch_dataset"]


def make_epoch_dataset(x: np.ndarray, y: np.ndarray, *, batch_size: int, num_epochs: int,
                       seed: int = 0, initial_epoch: int = 0,
                       augment: AugmentConfig | None = None, alternating_flip: bool = True,
                       num_classes: int = 10,
                       soft_targets: tuple[np.ndarray, np.ndarray] | None = None
                       ) -> tuple[tf.data.Dataset, int]:
    """Build the training batches of epochs ``initial_epoch`` .. ``num_epochs - 1``.

    Parameters
    ----------
    x : ndarray of uint8, shape (N, 32, 32, 3)
        Training images.
    y : ndarray, shape (N,) or (N, 1)
        Integer labels.
    batch_size : int
        Images per batch; the last incomplete batch of each epoch is dropped
        (a different subset each epoch), so every epoch has the same steps.
    num_epochs : int
        Epochs to produce in total.
    seed : int
        Seed of the order and the augmentation.
    initial_epoch : int
        First epoch to produce (to resume training).
    augment : AugmentConfig, optional
        Only ``flip``, ``translate`` (reflect-padded random crop) and ``cutout`` apply.
    alternating_flip : bool
        Mirror in alternating epochs (see the module docstring) instead of at random.
    num_classes : int
        Length of the one-hot labels.
    soft_targets : (ndarray, ndarray), optional
        Target probabilities ``(N, num_classes)`` for each image and for its mirror
        image (a teacher's, see :mod:`cifar_edu.training.distill`); each batch gets
        the ones of the view it shows, instead of the one-hot labels.

    Returns
    -------
    dataset : tf.data.Dataset
        Batches of float32 images in 0-255 ``(B, 32, 32, 3)`` and float32 targets
        ``(B, num_classes)``: one-hot labels, or ``soft_targets``.
    steps_per_epoch : int
    """
    x = np.asarray(x)
    labels = np.asarray(y).reshape(-1).astype(np.int32)
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3):
        raise ValueError(f"expected images of shape (N, 32, 32, 3), got {x.shape}")
    if len(labels) != len(x):
        raise ValueError(f"{len(x)} images but {len(labels)} labels")
    steps = len(x) // batch_size
    if steps < 1:
        raise ValueError(f"batch_size {batch_size} is larger than the {len(x)} training images")
    augment = augment or AugmentConfig(flip=False, translate=0)
    if augment.rotation or augment.zoom:
        raise ValueError("the epoch loader supports flip, translate and cutout only; use "
                         "cifar_edu.pipeline.make_dataset with build_augmentation for the rest")
    images = tf.constant(x)
    if soft_targets is None:
        targets = tf.one_hot(tf.constant(labels), num_classes, dtype=tf.float32)
        mirrored_targets = targets
    else:
        targets, mirrored_targets = (tf.constant(np.asarray(t, np.float32)) for t in soft_targets)
        if targets.shape != (len(x), num_classes) or mirrored_targets.shape != targets.shape:
            raise ValueError(f"soft_targets must be two arrays of shape {(len(x), num_classes)}")
    n, pad, cut = len(x), int(augment.translate), int(augment.cutout)
    # One fixed random mirror choice per image; alternate epochs invert it.
    base_flip = tf.random.stateless_uniform([n], seed=[seed, 1_000_003]) < 0.5

    def epoch_plan(epoch: tf.Tensor):
        key = tf.cast(epoch, tf.int32)
        order = tf.argsort(tf.random.stateless_uniform([n], seed=tf.stack([seed, 3 * key])))
        order = tf.reshape(order[:steps * batch_size], [steps, batch_size])
        if alternating_flip:
            flip = tf.math.logical_xor(base_flip, tf.equal(key % 2, 1))
        else:
            flip = tf.random.stateless_uniform([n], seed=tf.stack([seed, 3 * key + 1])) < 0.5
        shift = tf.random.stateless_uniform([n, 4], seed=tf.stack([seed, 3 * key + 2]),
                                            minval=0, maxval=2**30, dtype=tf.int32)
        plan = (order, tf.gather(flip, order), tf.gather(shift, order))
        return tf.data.Dataset.from_tensor_slices(plan)

    def make_batch(index: tf.Tensor, flip: tf.Tensor, shift: tf.Tensor):
        batch = tf.gather(images, index)
        if augment.flip:
            batch = tf.where(flip[:, None, None, None], tf.reverse(batch, axis=[2]), batch)
        if pad:
            padded = tf.pad(batch, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
            dy = shift[:, 0:1] % (2 * pad + 1)
            dx = shift[:, 1:2] % (2 * pad + 1)
            rows = dy + tf.range(32)[None, :]
            cols = dx + tf.range(32)[None, :]
            batch = tf.gather(padded, rows, axis=1, batch_dims=1)
            batch = tf.gather(batch, cols, axis=2, batch_dims=1)
        batch = tf.cast(batch, tf.float32)
        if cut:
            cy = shift[:, 2] % (32 - cut + 1)
            cx = shift[:, 3] % (32 - cut + 1)
            grid = tf.range(32)[None, :]
            in_rows = (grid >= cy[:, None]) & (grid < cy[:, None] + cut)
            in_cols = (grid >= cx[:, None]) & (grid < cx[:, None] + cut)
            inside = in_rows[:, :, None] & in_cols[:, None, :]
            batch = tf.where(inside[..., None], 0.0, batch)
        if augment.flip:
            target = tf.where(flip[:, None], tf.gather(mirrored_targets, index),
                              tf.gather(targets, index))
        else:
            target = tf.gather(targets, index)
        return batch, target

    ds = tf.data.Dataset.range(initial_epoch, num_epochs).flat_map(epoch_plan)
    ds = ds.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options).prefetch(2), steps
