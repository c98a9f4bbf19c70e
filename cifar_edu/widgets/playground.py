"""The augmentation playground: one control per augmentation, a live preview.

It uses the very function the training code uses,
:func:`cifar_edu.augment.build_augmentation`, so what learners see is what the
model gets; :attr:`AugmentationPlayground.config` can be passed on to training.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from cifar_edu.augment import AugmentConfig, build_augmentation, preview_augmentation
from cifar_edu.errors import CifarEduError
from cifar_edu.widgets._common import PngView, WidgetFace, array_to_png, montage, shows_errors

__all__ = ["MAX_PREVIEW_IMAGES", "augmentation_preview", "describe_augmentation",
           "AugmentationPlayground"]

#: At most this many images are previewed (one row each); more would be slow and unreadable.
MAX_PREVIEW_IMAGES = 8


def augmentation_preview(images: np.ndarray, config: AugmentConfig, n_variants: int = 4,
                         seed: int = 0) -> np.ndarray:
    """Each image followed by ``n_variants`` random augmentations of it.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, 32, 32, 3)
    config : AugmentConfig
        Which augmentations, how strong.
    n_variants : int
        Random versions per image.
    seed : int
        Same seed, same versions.

    Returns
    -------
    ndarray of uint8, shape (N, 1 + n_variants, 32, 32, 3)
        Column 0 is the original.
    """
    images = np.asarray(images, dtype=np.uint8)
    originals = images[:, None]
    if not any(config.to_dict().values()):
        # Nothing switched on: the pipeline would be empty (and Keras refuses to build it).
        variants = np.repeat(originals, n_variants, axis=1)
    else:
        augmentation = build_augmentation(config, seed=seed)
        variants = preview_augmentation(images, augmentation, n_variants)
    return np.concatenate([originals, variants], axis=1)


def describe_augmentation(config: AugmentConfig) -> str:
    """The settings in words (also the text alternative of the preview)."""
    parts = []
    if config.flip:
        parts.append("random horizontal flip")
    if config.translate:
        parts.append(f"shift up to {config.translate} px")
    if config.rotation:
        parts.append(f"rotation up to {config.rotation:g} degrees")
    if config.zoom:
        parts.append(f"zoom up to {config.zoom:.0%} in or out")
    if config.cutout:
        parts.append(f"a {config.cutout}x{config.cutout} px square blanked out")
    return ", ".join(parts) if parts else "no augmentation"


class AugmentationPlayground(WidgetFace):
    """Try the augmentations on a few images and see random results at once.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, 32, 32, 3)
        The images to augment (at most :data:`MAX_PREVIEW_IMAGES` are used).
    n_variants : int
        Random versions shown per image.
    seed : int
        First seed; "New random draw" moves to the next one.
    config : AugmentConfig, optional
        Initial settings (default: flip + 4-pixel shift, the standard recipe).

    Examples
    --------
    >>> AugmentationPlayground(x_train[:4])  # doctest: +SKIP
    """

    def __init__(self, images: np.ndarray, *, n_variants: int = 4, seed: int = 0,
                 config: AugmentConfig | None = None) -> None:
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[1:] != (32, 32, 3) or not len(images):
            raise CifarEduError(f"pass one or more 32x32 RGB images, shape (N, 32, 32, 3); got "
                                f"{images.shape}")
        self.images = images[:MAX_PREVIEW_IMAGES].astype(np.uint8)
        self.n_variants = n_variants
        config = config or AugmentConfig()
        self.preview = np.zeros(0, dtype=np.uint8)

        self.flip = widgets.Checkbox(value=config.flip, description="Horizontal flip",
                                     tooltip="Mirror left-right at random (half the time)")
        self.translate = widgets.IntSlider(
            value=config.translate, min=0, max=8, description="Shift (px)",
            continuous_update=False,
            tooltip="Largest random shift in pixels, borders reflected (0 = off)")
        self.rotation = widgets.FloatSlider(
            value=config.rotation, min=0, max=45, step=5, description="Rotation (°)",
            continuous_update=False, tooltip="Largest random rotation in degrees (0 = off)")
        self.zoom = widgets.FloatSlider(
            value=config.zoom, min=0, max=0.5, step=0.05, description="Zoom",
            continuous_update=False,
            tooltip="Largest random zoom in or out, as a fraction (0.1 = 10%; 0 = off)")
        self.cutout = widgets.IntSlider(
            value=config.cutout, min=0, max=16, description="Cutout (px)",
            continuous_update=False,
            tooltip="Side of a random square blanked out (0 = off)")
        self.seed = widgets.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="Seed",
                                           tooltip="Same seed, same random versions")
        self.resample_button = widgets.Button(description="New random draw", icon="refresh",
                                              tooltip="Next seed: other random versions")
        self.message = widgets.HTML()
        self.preview_view = PngView()
        self.preview_text = widgets.HTML()
        self.widget = widgets.VBox([
            widgets.HBox([self.flip, self.translate, self.rotation]),
            widgets.HBox([self.zoom, self.cutout]),
            widgets.HBox([self.seed, self.resample_button]),
            self.message, self.preview_view, self.preview_text,
        ])
        for control in (self.flip, self.translate, self.rotation, self.zoom, self.cutout,
                        self.seed):
            control.observe(lambda change: self.update(), names="value")
        self.resample_button.on_click(lambda button: self.new_draw())
        self.update()

    @property
    def config(self) -> AugmentConfig:
        """The settings chosen with the controls."""
        return AugmentConfig(flip=bool(self.flip.value), translate=int(self.translate.value),
                             rotation=float(self.rotation.value), zoom=float(self.zoom.value),
                             cutout=int(self.cutout.value))

    def new_draw(self) -> None:
        """Show other random versions (the next seed)."""
        self.seed.value = min(self.seed.value + 1, self.seed.max)  # its observer redraws

    @shows_errors
    def update(self) -> None:
        """Redraw the preview with the current settings."""
        self.message.value = ""
        config = self.config
        self.preview = augmentation_preview(self.images, config, self.n_variants,
                                            seed=int(self.seed.value))
        self.preview_view.png = array_to_png(montage(self.preview), scale=3)
        description = (f"{len(self.images)} rows of images. In each row the first image is "
                       f"the original, the next {self.n_variants} are random versions with "
                       f"{describe_augmentation(config)} (seed {self.seed.value}).")
        self.preview_text.value = f"<div>{html.escape(description)}</div>"
        self.preview_view.alt = description
