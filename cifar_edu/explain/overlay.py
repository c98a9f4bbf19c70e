"""Heatmap overlays: blend an explanation map onto its image."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image

from cifar_edu.errors import CifarEduError
from cifar_edu.fileio import atomic_path

__all__ = ["overlay", "save_overlay_png"]


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45, cmap: str = "magma",
            *, scale: int = 1) -> np.ndarray:
    """Colour ``heatmap`` with ``cmap`` and blend it onto ``image``.

    Parameters
    ----------
    image : np.ndarray
        One RGB image ``(H, W, 3)`` with values 0-255.
    heatmap : np.ndarray
        ``(H, W)`` map with values in [0, 1] (e.g. one row of :func:`gradcam`).
    alpha : float
        Weight of the heatmap colour, 0 (image only) to 1 (heatmap only).
    cmap : str
        Matplotlib colormap name; keep to perceptually uniform, colour-blind-safe
        ones (magma, viridis, cividis, inferno).
    scale : int
        Upscaling factor for display: the image is enlarged with nearest
        neighbour (pixels stay honest), the heatmap bilinearly.

    Returns
    -------
    np.ndarray
        ``(H*scale, W*scale, 3)`` uint8 image.
    """
    img = np.asarray(image)
    heat = np.asarray(heatmap, dtype=np.float32)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise CifarEduError(f"image has shape {img.shape}; pass one RGB image (H, W, 3)")
    if heat.shape != img.shape[:2]:
        raise CifarEduError(f"heatmap has shape {heat.shape} but the image is {img.shape[:2]}; "
                            "pass the map of this image, e.g. gradcam(model, images)[i]")
    if not np.isfinite(heat).all():
        raise CifarEduError("heatmap contains NaN or infinite values")
    if not 0.0 <= float(alpha) <= 1.0:
        raise CifarEduError(f"alpha must be between 0 and 1, got {alpha!r}")
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise CifarEduError(f"scale must be an integer >= 1, got {scale!r}")
    try:
        colormap = matplotlib.colormaps[cmap]
    except KeyError:
        raise CifarEduError(f"unknown colormap {cmap!r}; use e.g. 'magma', 'viridis' or "
                            "'cividis'") from None
    img = np.clip(img.astype(np.float32), 0, 255)
    heat = np.clip(heat, 0.0, 1.0)
    if scale > 1:
        size = (img.shape[1] * scale, img.shape[0] * scale)
        small = Image.fromarray(img.astype(np.uint8))
        img = np.asarray(small.resize(size, Image.Resampling.NEAREST), dtype=np.float32)
        # A float32 array becomes a mode "F" image, which Pillow resizes bilinearly.
        heat = np.asarray(Image.fromarray(heat).resize(size, Image.Resampling.BILINEAR))
    colour = colormap(heat)[..., :3] * 255.0
    blended = (1.0 - alpha) * img + alpha * colour
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def save_overlay_png(target: str | os.PathLike[str], image: np.ndarray, heatmap: np.ndarray,
                     alpha: float = 0.45, cmap: str = "magma", *, scale: int = 8) -> Path:
    """Write :func:`overlay` as a PNG file (atomically) and return its path."""
    pixels = overlay(image, heatmap, alpha, cmap, scale=scale)
    target = Path(target)
    with atomic_path(target, suffix=".png") as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")
    return target
