"""Figures for interpretability lessons: explanation grids, correct vs wrong, sanity check.

Plots only draw: maps come from :mod:`cifar_edu.explain`. Every function returns
a :class:`matplotlib.figure.Figure` (no pyplot state), uses a perceptually
uniform, colour-blind-safe colormap and says in its titles what is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from cifar_edu.data import CLASS_NAMES
from cifar_edu.errors import CifarEduError
from cifar_edu.explain.overlay import overlay
from cifar_edu.figure_display import register_png_formatter

if TYPE_CHECKING:
    from cifar_edu.explain.examples import ExplainedExamples


register_png_formatter()  # figures display in Jupyter without %matplotlib

__all__ = ["explanation_grid", "correct_vs_wrong_figure", "sanity_check_figure"]

_CELL = 1.6  # inches per image


def _as_images(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[np.newaxis]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise CifarEduError(f"images have shape {x.shape}; pass RGB images (N, 32, 32, 3)")
    return np.clip(x, 0, 255).astype(np.uint8)


def _colorbar(fig, axes, cmap: str) -> None:
    mappable = ScalarMappable(norm=Normalize(0, 1), cmap=cmap)
    fig.colorbar(mappable, ax=axes, shrink=0.8, label="relative importance (0 = none, 1 = most)")


def explanation_grid(images: np.ndarray, maps: np.ndarray | Mapping[str, np.ndarray],
                     titles: Sequence[str] | None = None, *, alpha: float = 0.45,
                     cmap: str = "magma", title: str = "What the model looked at") -> Figure:
    """Images in the first row, one row of heatmap overlays per method below.

    Parameters
    ----------
    images : np.ndarray
        ``(N, 32, 32, 3)`` images 0-255.
    maps : np.ndarray or mapping of str to np.ndarray
        ``(N, 32, 32)`` maps, or ``{"Grad-CAM": maps, "SmoothGrad": maps2, ...}``
        for one row per method.
    titles : sequence of str, optional
        One title per image (e.g. ``"cat (0.93)"``).
    alpha, cmap : float, str
        Overlay strength and colormap (see :func:`cifar_edu.explain.overlay`).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = _as_images(images)
    rows = dict(maps) if isinstance(maps, Mapping) else {"explanation": maps}
    rows = {name: np.asarray(m) for name, m in rows.items()}
    for name, m in rows.items():
        if m.shape != x.shape[:3]:
            raise CifarEduError(f"maps {name!r} have shape {m.shape}, but the images need "
                                f"{x.shape[:3]}: one map per image")
    if titles is not None and len(titles) != len(x):
        raise CifarEduError(f"{len(titles)} titles for {len(x)} images; pass one per image")
    n_rows, n_cols = 1 + len(rows), len(x)
    fig = Figure(figsize=(_CELL * n_cols + 1.2, _CELL * n_rows + 0.6), layout="constrained")
    axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False))
    for j in range(n_cols):
        axes[0, j].imshow(x[j])
        axes[0, j].set_title(titles[j] if titles is not None else f"image {j}", fontsize=9)
        for i, (name, m) in enumerate(rows.items(), start=1):
            axes[i, j].imshow(overlay(x[j], m[j], alpha, cmap))
    axes[0, 0].set_ylabel("image")
    for i, name in enumerate(rows, start=1):
        axes[i, 0].set_ylabel(name)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    _colorbar(fig, axes[1:, :].ravel().tolist(), cmap)
    fig.suptitle(title)
    return fig


def _label(index: int, class_names: Sequence[str]) -> str:
    return class_names[index] if 0 <= index < len(class_names) else str(index)


def correct_vs_wrong_figure(examples: ExplainedExamples,
                            class_names: Sequence[str] = CLASS_NAMES, *,
                            alpha: float = 0.45, cmap: str = "magma") -> Figure:
    """Correct predictions on the left, wrong ones on the right, each with its heatmap.

    Parameters
    ----------
    examples : cifar_edu.explain.ExplainedExamples
        From :func:`cifar_edu.explain.explain_correct_and_wrong`.
    class_names : sequence of str
        Names of the classes, in label order.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels of two rows (image, overlay of the map of the predicted class);
        each column is titled with the true and predicted class and the confidence.
    """
    groups = [("Correct predictions", np.flatnonzero(examples.correct)),
              ("Wrong predictions", np.flatnonzero(~examples.correct))]
    groups = [(name, idx) for name, idx in groups if len(idx)]
    width = sum(max(len(idx), 1) for _, idx in groups)
    fig = Figure(figsize=(_CELL * width + 1.5, _CELL * 2 + 1.2), layout="constrained")
    panels = fig.subfigures(1, len(groups), squeeze=False,
                            width_ratios=[len(idx) for _, idx in groups])[0]
    method = examples.method + (f" at {examples.layer}" if examples.layer else "")
    for panel, (name, idx) in zip(panels, groups):
        axes = np.asarray(panel.subplots(2, len(idx), squeeze=False))
        for j, k in enumerate(idx):
            axes[0, j].imshow(examples.images[k])
            axes[0, j].set_title(
                f"true: {_label(examples.y_true[k], class_names)}\n"
                f"pred: {_label(examples.y_pred[k], class_names)} "
                f"({examples.confidence[k]:.2f})", fontsize=8)
            axes[1, j].imshow(overlay(examples.images[k], examples.maps[k], alpha, cmap))
        axes[0, 0].set_ylabel("image")
        axes[1, 0].set_ylabel(method)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
        panel.suptitle(f"{name} ({len(idx)})")
    _colorbar(panel, axes[1, :].tolist(), cmap)   # one scale, next to the last panel
    fig.suptitle(f"Where the model looked for its predicted class ({method})")
    return fig


def sanity_check_figure(result: Mapping, images: np.ndarray,
                        titles: Sequence[str] | None = None, *, cmap: str = "magma") -> Figure:
    """Maps of the trained and of the randomised model, with their rank correlation.

    Parameters
    ----------
    result : dict
        From :func:`cifar_edu.explain.sanity_check`.
    images : np.ndarray
        The images passed to the check.
    titles : sequence of str, optional
        One title per image.

    Returns
    -------
    matplotlib.figure.Figure
        Rows: image, trained-model map, randomised-model map (Spearman rho in each title).
    """
    x = _as_images(images)
    maps, random_maps = np.asarray(result["maps"]), np.asarray(result["random_maps"])
    if maps.shape != x.shape[:3] or random_maps.shape != x.shape[:3]:
        raise CifarEduError("the images are not the ones of this sanity-check result")
    fig = Figure(figsize=(_CELL * len(x) + 1.2, _CELL * 3 + 0.9), layout="constrained")
    axes = np.asarray(fig.subplots(3, len(x), squeeze=False))
    norm = Normalize(0, 1)
    for j in range(len(x)):
        axes[0, j].imshow(x[j])
        axes[0, j].set_title(titles[j] if titles is not None else f"image {j}", fontsize=9)
        axes[1, j].imshow(maps[j], cmap=cmap, norm=norm)
        axes[2, j].imshow(random_maps[j], cmap=cmap, norm=norm)
        flat = result.get("flat", [False] * len(x))[j]
        axes[2, j].set_title("flat map (ρ counted as 0)" if flat
                             else f"Spearman ρ = {result['spearman'][j]:.2f}", fontsize=8)
    for ax, label in zip(axes[:, 0], ("image", "trained model", "random weights")):
        ax.set_ylabel(label)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    _colorbar(fig, axes[1:, :].ravel().tolist(), cmap)
    verdict = "maps changed: passed" if result["passed"] else "maps barely changed: FAILED"
    fig.suptitle(f"Sanity check ({result['method']}): mean Spearman ρ = "
                 f"{result['mean_spearman']:.2f}, {verdict}")
    return fig
