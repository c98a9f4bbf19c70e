"""Data augmentation built from Keras preprocessing layers.

Every augmentation the course teaches is one switch of :func:`build_augmentation`:
horizontal flip, translation (pad-and-crop), rotation, zoom and cutout. The
result is a ``keras.Sequential`` that is active only when called with
``training=True``; it works on uint8 or float images in the 0-255 range and
returns float32 images in the same range (models rescale inside).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
import numpy as np
from keras import ops

__all__ = ["AugmentConfig", "Cutout", "build_augmentation", "preview_augmentation"]


@keras.saving.register_keras_serializable(package="cifar_edu")
class Cutout(keras.layers.Layer):
    """Cutout (DeVries & Taylor, 2017): blank out one random square per image.

    Parameters
    ----------
    size : int
        Side of the square in pixels; it may be clipped at the image border.
    fill_value : float
        What the square is filled with (0 is black in 0-255 images).
    seed : int, optional
        Seed of the square's position.
    """

    def __init__(self, size: int = 8, fill_value: float = 0.0, seed: int | None = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.size = int(size)
        self.fill_value = float(fill_value)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):  # noqa: D102 - Keras API
        if not training or self.size <= 0:
            return images
        images = ops.cast(images, self.compute_dtype)
        shape = ops.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        cy = keras.random.randint((batch, 1, 1), 0, height, seed=self.seed_generator)
        cx = keras.random.randint((batch, 1, 1), 0, width, seed=self.seed_generator)
        rows = ops.reshape(ops.arange(height), (1, -1, 1))
        cols = ops.reshape(ops.arange(width), (1, 1, -1))
        top, left = cy - self.size // 2, cx - self.size // 2
        inside = ops.logical_and(
            ops.logical_and(rows >= top, rows < top + self.size),
            ops.logical_and(cols >= left, cols < left + self.size),
        )
        mask = ops.cast(ops.expand_dims(inside, -1), images.dtype)
        return images * (1 - mask) + self.fill_value * mask

    def compute_output_shape(self, input_shape):  # noqa: D102 - Keras API
        return input_shape

    def get_config(self) -> dict:  # noqa: D102 - Keras API
        return {**super().get_config(), "size": self.size, "fill_value": self.fill_value,
                "seed": self.seed}


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations to apply, and how strongly.

    Attributes
    ----------
    flip : bool
        Random horizontal flip (a mirrored cat is still a cat; vertical flips are
        not used, an upside-down ship is rare).
    translate : int
        Maximum shift in pixels in each direction, with reflected borders:
        the same as padding by this much and cropping 32x32 at random. 0 = off.
    rotation : float
        Maximum rotation in degrees. 0 = off.
    zoom : float
        Maximum zoom in or out as a fraction (0.1 = +-10%). 0 = off.
    cutout : int
        Side of the cutout square in pixels. 0 = off.
    """

    flip: bool = True
    translate: int = 4
    rotation: float = 0.0
    zoom: float = 0.0
    cutout: int = 0

    def to_dict(self) -> dict:
        """The settings as a plain dict (for provenance records)."""
        return asdict(self)


def build_augmentation(config: AugmentConfig | None = None, *, seed: int | None = None,
                       **overrides: object) -> keras.Sequential:
    """Build the augmentation pipeline as a ``keras.Sequential`` of preprocessing layers.

    Parameters
    ----------
    config : AugmentConfig, optional
        The settings; defaults to flip + 4-pixel translation, the standard CIFAR-10 recipe.
    seed : int, optional
        Base seed; each layer gets its own seed derived from it, so the same seed
        gives the same random transformations.
    **overrides
        Fields of :class:`AugmentConfig` to change, e.g. ``cutout=8``.

    Examples
    --------
    >>> augment = build_augmentation(flip=True, translate=4, cutout=8, seed=0)  # doctest: +SKIP
    >>> augmented = augment(images, training=True)  # doctest: +SKIP
    """
    config = AugmentConfig(**{**(asdict(config) if config else {}), **overrides})
    def layer_seed(i: int) -> int | None:
        return None if seed is None else seed * 101 + i

    layers: list[keras.layers.Layer] = []
    if config.flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=layer_seed(0)))
    if config.translate:
        # Nearest-neighbour sampling keeps shifts whole pixels, like pad-and-crop.
        factor = config.translate / 32
        layers.append(keras.layers.RandomTranslation(factor, factor, fill_mode="reflect",
                                                     interpolation="nearest",
                                                     seed=layer_seed(1)))
    if config.rotation:
        layers.append(keras.layers.RandomRotation(config.rotation / 360, fill_mode="reflect",
                                                  seed=layer_seed(2)))
    if config.zoom:
        layers.append(keras.layers.RandomZoom(config.zoom, fill_mode="reflect",
                                              seed=layer_seed(3)))
    if config.cutout:
        layers.append(Cutout(config.cutout, seed=layer_seed(4)))
    return keras.Sequential(layers, name="augmentation")


def preview_augmentation(images: np.ndarray, augmentation: keras.Layer, n_variants: int = 4
                         ) -> np.ndarray:
    """Apply ``augmentation`` to a handful of images several times, for display.

    Parameters
    ----------
    images : ndarray, shape (N, 32, 32, 3)
        A few images (uint8 or 0-255 floats).
    augmentation : keras.Layer
        For example the result of :func:`build_augmentation`.
    n_variants : int
        How many random versions of each image to make.

    Returns
    -------
    ndarray of uint8, shape (N, n_variants, 32, 32, 3)
    """
    batch = np.asarray(images, dtype="float32")
    variants = [np.asarray(augmentation(batch, training=True)) for _ in range(n_variants)]
    out = np.stack(variants, axis=1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
