"""Figures of the course: image grids, learning curves and evaluation plots.

Every function draws from arrays or reports it is given (no computation beyond
binning), returns its :class:`matplotlib.figure.Figure`, and sets
``fig.text_alternative``: a short plain-text description of what the figure
shows, for screen readers and for readers of the text-only output
(:func:`describe_figure` returns it; :func:`save_figure` stores it in the
file's metadata).

Figures are built with :class:`~matplotlib.figure.Figure`, not ``pyplot``: a
returned figure is shown once in Jupyter, is not kept alive by pyplot's
figure manager, and works headless. Colours are colour-blind safe: viridis for
matrices and the Okabe-Ito palette for lines, with line styles and text
(never colour alone) telling curves and right/wrong predictions apart.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cifar_edu.data import CLASS_NAMES
from cifar_edu.errors import CifarEduError
from cifar_edu.fileio import atomic_path
from cifar_edu.figure_display import register_png_formatter


register_png_formatter()  # figures display in Jupyter without %matplotlib

__all__ = ["OKABE_ITO", "image_grid", "class_distribution", "learning_curves",
           "confusion_matrix", "roc_curves", "reliability_diagram",
           "misclassification_gallery", "prediction_bars", "save_figure", "describe_figure"]

#: Okabe & Ito (2008) colour-blind-safe palette, ordered for lines on white
#: (yellow last: it is hard to see as a thin line).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
             "#F0E442")
_LINESTYLES = ("-", "--", "-.", ":")
_RIGHT, _WRONG = "#0072B2", "#D55E00"  # blue / vermillion, always paired with text
_CMAP = "viridis"


# --------------------------------------------------------------------------- helpers

def describe_figure(fig: Figure) -> str:
    """The text alternative of a figure made by this module ("" if it has none)."""
    return getattr(fig, "text_alternative", "")


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _finish(fig: Figure, alt: str) -> Figure:
    fig.text_alternative = alt
    return fig


def _as_images(images: Any, name: str = "images") -> np.ndarray:
    """uint8 ``(N, H, W, 3)`` for imshow from uint8 or float images."""
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[np.newaxis]
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        raise CifarEduError(f"{name} must have shape (N, 32, 32, 3), got {array.shape}")
    if array.dtype != np.uint8:
        array = array.astype(np.float32)
        # Images scaled to 0-1 would show as black; 0-255 is the project's convention.
        if array.size and array.max() <= 1.0:
            array = array * 255.0
        array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return array


def _as_label_vector(y: Any, name: str) -> np.ndarray:
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] > 1:  # probabilities
        return array.argmax(axis=1)
    return array.reshape(-1).astype(np.int64)


def _name(class_names: Sequence[str], label: int) -> str:
    return class_names[label] if 0 <= label < len(class_names) else f"class {label}"


def _grid_shape(n: int, ncols: int) -> tuple[int, int]:
    ncols = max(1, min(ncols, n))
    return math.ceil(n / ncols), ncols


def _image_axes(fig: Figure, n: int, ncols: int) -> list:
    nrows, ncols = _grid_shape(n, ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_axis_off()
    return list(axes[:n])


# --------------------------------------------------------------------------- images

def image_grid(images: np.ndarray, labels: np.ndarray | None = None,
               class_names: Sequence[str] = CLASS_NAMES, predictions: np.ndarray | None = None,
               ncols: int = 8, title: str = "CIFAR-10 images", max_images: int = 64) -> Figure:
    """A grid of images with their class names (and predictions, if given).

    Parameters
    ----------
    images : ndarray, shape (N, 32, 32, 3)
        uint8 images, or float images in 0-255 (floats that are all <= 1 are
        taken as 0-1).
    labels : ndarray, shape (N,) or (N, 1), optional
        True labels, shown under each image.
    class_names : sequence of str
        Names of the labels.
    predictions : ndarray, shape (N,) or (N, K), optional
        Predicted labels or probabilities. A wrong prediction is written as
        "pred (true: ...)" in vermillion, a right one in blue.
    ncols : int
        Images per row.
    title : str
        Figure title.
    max_images : int
        Only the first ``max_images`` are drawn (a grid of thousands is unreadable and slow).

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = _as_images(images)[:max_images]
    n = len(images)
    if n == 0:
        raise CifarEduError("no images to show; pass an array of shape (N, 32, 32, 3) with N > 0")
    true = None if labels is None else _as_label_vector(labels, "labels")[:n]
    pred = None if predictions is None else _as_label_vector(predictions, "predictions")[:n]
    nrows, cols = _grid_shape(n, ncols)
    fig = _figure(1.35 * cols, 1.45 * nrows + 0.5)
    n_right = 0
    for i, ax in enumerate(_image_axes(fig, n, ncols)):
        ax.imshow(images[i], interpolation="nearest")
        if pred is not None:
            guess = _name(class_names, int(pred[i]))
            if true is None:
                ax.set_title(guess, fontsize=8)
            elif pred[i] == true[i]:
                n_right += 1
                ax.set_title(guess, fontsize=8, color=_RIGHT)
            else:
                ax.set_title(f"{guess}\n(true: {_name(class_names, int(true[i]))})",
                             fontsize=7, color=_WRONG)
        elif true is not None:
            ax.set_title(_name(class_names, int(true[i])), fontsize=8)
    fig.suptitle(title)
    alt = f"{title}: a grid of {n} images"
    if true is not None and pred is not None:
        alt += f"; {n_right} of {n} predicted correctly"
    elif true is not None:
        counts = np.bincount(true, minlength=len(class_names))
        present = [f"{counts[k]} {_name(class_names, k)}" for k in np.flatnonzero(counts)]
        alt += " (" + ", ".join(present) + ")"
    return _finish(fig, alt + ".")


def misclassification_gallery(images: np.ndarray, y_true: np.ndarray, y_prob: np.ndarray,
                              indices: Sequence[int], class_names: Sequence[str] = CLASS_NAMES,
                              ncols: int = 8, title: str = "Most confident mistakes") -> Figure:
    """Images the model got wrong, each with its prediction, confidence and true class.

    Parameters
    ----------
    images : ndarray, shape (N, 32, 32, 3)
        All evaluated images.
    y_true : ndarray, shape (N,) or (N, 1)
        True labels.
    y_prob : ndarray, shape (N, K)
        Predicted probabilities.
    indices : sequence of int
        Which images to show, e.g. from
        :func:`cifar_edu.evaluation.most_confident_mistakes`.
    class_names : sequence of str
    ncols : int
        Images per row.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = _as_images(images)
    y_true = _as_label_vector(y_true, "y_true")
    y_prob = np.asarray(y_prob)
    indices = [int(i) for i in np.asarray(indices).reshape(-1)]
    if not (len(images) == len(y_true) == len(y_prob)):
        raise CifarEduError(f"{len(images)} images, {len(y_true)} labels and {len(y_prob)} "
                            "probability rows; pass arrays of the same split")
    bad = [i for i in indices if not 0 <= i < len(images)]
    if bad:
        raise CifarEduError(f"indices {bad[:5]} are outside the {len(images)} images; pass "
                            "indices computed on the same arrays")
    if not indices:
        fig = _figure(4, 1.5)
        ax = fig.subplots()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no mistakes to show", ha="center", va="center")
        fig.suptitle(title)
        return _finish(fig, f"{title}: there are no mistakes to show.")
    nrows, cols = _grid_shape(len(indices), ncols)
    fig = _figure(1.45 * cols, 1.65 * nrows + 0.5)
    described = []
    for ax, i in zip(_image_axes(fig, len(indices), ncols), indices):
        pred = int(y_prob[i].argmax())
        guess, truth = _name(class_names, pred), _name(class_names, int(y_true[i]))
        ax.imshow(images[i], interpolation="nearest")
        ax.set_title(f"{guess} {y_prob[i, pred]:.0%}\ntrue: {truth}", fontsize=7)
        described.append(f"{truth} taken for {guess} ({y_prob[i, pred]:.0%})")
    fig.suptitle(title)
    return _finish(fig, f"{title}: " + "; ".join(described) + ".")


def prediction_bars(probabilities: np.ndarray, class_names: Sequence[str] = CLASS_NAMES,
                    top_k: int = 5, title: str = "Top predictions",
                    true_label: int | None = None) -> Figure:
    """Horizontal bars of the ``top_k`` most probable classes of one image.

    Parameters
    ----------
    probabilities : ndarray, shape (K,) or (1, K)
        One image's predicted probabilities.
    class_names : sequence of str
    top_k : int
        Number of classes shown (most probable on top).
    title : str
    true_label : int, optional
        If given, the true class's bar is labelled "(true)".

    Returns
    -------
    matplotlib.figure.Figure
    """
    prob = np.asarray(probabilities, dtype=np.float64)
    if prob.ndim == 2 and prob.shape[0] == 1:
        prob = prob[0]
    if prob.ndim != 1:
        raise CifarEduError(f"prediction_bars shows one image: pass probabilities of shape (K,) "
                            f"or (1, K), got {prob.shape}")
    if len(class_names) != len(prob):
        raise CifarEduError(f"{len(class_names)} class names for {len(prob)} probabilities")
    top_k = max(1, min(int(top_k), len(prob)))
    order = np.argsort(-prob, kind="stable")[:top_k]
    names = [class_names[k] + (" (true)" if true_label is not None and k == true_label else "")
             for k in order]
    fig = _figure(5, 0.45 * top_k + 1.2)
    ax = fig.subplots()
    bars = ax.barh(range(top_k), prob[order], color=OKABE_ITO[0])
    ax.bar_label(bars, labels=[f"{p:.1%}" for p in prob[order]], padding=3, fontsize=9)
    ax.set_yticks(range(top_k), names)
    ax.invert_yaxis()  # most probable on top
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("probability")
    ax.set_ylabel("class")
    ax.set_title(title)
    alt = f"{title}: " + ", ".join(f"{class_names[k]} {prob[k]:.1%}" for k in order) + "."
    return _finish(fig, alt)


# --------------------------------------------------------------------------- data

def class_distribution(y_by_split: Mapping[str, np.ndarray],
                       class_names: Sequence[str] = CLASS_NAMES,
                       title: str = "Images per class") -> Figure:
    """Grouped bars of the number of images of each class in each split.

    Parameters
    ----------
    y_by_split : mapping of str to ndarray
        Labels of each split, e.g. ``{"train": y_train, "test": y_test}``.
    class_names : sequence of str
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not y_by_split:
        raise CifarEduError('pass at least one split, e.g. {"train": y_train, "test": y_test}')
    k = len(class_names)
    counts = {}
    for split, y in y_by_split.items():
        labels = _as_label_vector(y, split)
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise CifarEduError(f"the labels of {split!r} are outside 0..{k - 1}")
        counts[split] = np.bincount(labels, minlength=k)
    fig = _figure(8, 3.8)
    ax = fig.subplots()
    width = 0.8 / len(counts)
    x = np.arange(k)
    for j, (split, c) in enumerate(counts.items()):
        ax.bar(x + (j - (len(counts) - 1) / 2) * width, c, width,
               label=f"{split} ({c.sum():,})", color=OKABE_ITO[j % len(OKABE_ITO)],
               hatch=("", "//", "..", "xx")[j % 4], edgecolor="white", linewidth=0.5)
    ax.set_xticks(x, class_names, rotation=30, ha="right")
    ax.set_xlabel("class")
    ax.set_ylabel("number of images")
    ax.set_title(title)
    # Outside the axes: balanced classes fill the plot up to the same height.
    ax.legend(title="split", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    alt = f"{title}: " + "; ".join(
        f"{split} has {c.sum():,} images, {c.min():,} to {c.max():,} per class"
        for split, c in counts.items()) + "."
    return _finish(fig, alt)


# --------------------------------------------------------------------------- training

def learning_curves(history: Mapping[str, Sequence[float]] | Any,
                    title: str = "Learning curves") -> Figure:
    """Training and validation curves per epoch, one panel per metric.

    Parameters
    ----------
    history : dict or keras.callbacks.History
        ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}`` as in
        ``model.fit(...).history``. A learning-rate entry (``lr`` or
        ``learning_rate``) gets its own panel on a log scale.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    history = getattr(history, "history", history)
    if not isinstance(history, Mapping) or not history:
        raise CifarEduError("learning_curves needs the history of model.fit: a dict like "
                            "{'loss': [...], 'val_loss': [...]} or the History object")
    metrics: list[str] = []
    for key in history:
        base = key[4:] if key.startswith("val_") else key
        if base not in metrics:
            metrics.append(base)
    # Loss first, learning rate last: the order a reader looks for them.
    metrics.sort(key=lambda m: (m != "loss", m in ("lr", "learning_rate")))
    fig = _figure(4.2 * len(metrics), 3.6)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    described = []
    for ax, metric in zip(axes, metrics):
        parts = []
        for j, (key, label) in enumerate(((metric, "train"), (f"val_{metric}", "validation"))):
            if key not in history:
                continue
            values = np.asarray(history[key], dtype=np.float64).reshape(-1)
            if values.size == 0:
                continue
            epochs = np.arange(1, values.size + 1)
            ax.plot(epochs, values, color=OKABE_ITO[j], linestyle=_LINESTYLES[j],
                    marker="o" if values.size <= 30 else None, markersize=3, label=label)
            parts.append(f"{label} {values[0]:.3g} -> {values[-1]:.3g}")
            if label == "validation" and metric not in ("lr", "learning_rate"):
                best = int(np.nanargmin(values) if "loss" in metric else np.nanargmax(values))
                ax.axvline(best + 1, color="0.5", linestyle=":", linewidth=1,
                           label=f"best epoch {best + 1}")
                parts[-1] += f" (best at epoch {best + 1})"
        if metric in ("lr", "learning_rate"):
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric.replace("_", " "))
        ax.set_title(metric.replace("_", " "))
        ax.legend(fontsize=8)
        described.append(f"{metric}: " + ", ".join(parts))
    fig.suptitle(title)
    return _finish(fig, f"{title}. " + "; ".join(described) + ".")


# --------------------------------------------------------------------------- evaluation

def confusion_matrix(cm: np.ndarray, class_names: Sequence[str] = CLASS_NAMES,
                     normalize: bool = True, title: str | None = None) -> Figure:
    """Heat map of a confusion matrix (rows: true class, columns: predicted class).

    Parameters
    ----------
    cm : ndarray, shape (K, K)
        Counts, e.g. ``report.confusion_counts``.
    class_names : sequence of str
    normalize : bool
        Show each row as percentages of its true class (the diagonal is then
        the per-class recall) instead of counts.
    title : str, optional
        Defaults to "Confusion matrix (% of true class)" or "(counts)".

    Returns
    -------
    matplotlib.figure.Figure
    """
    cm = np.asarray(cm, dtype=np.float64)
    k = len(class_names)
    if cm.shape != (k, k):
        raise CifarEduError(f"the confusion matrix must be {k}x{k} for {k} classes, got "
                            f"{cm.shape}")
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(totals > 0, cm / totals, 0.0)
        vmax, fmt, label = 1.0, (lambda v: f"{100 * v:.0f}"), "% of true class"
    else:
        values = cm
        vmax = max(float(cm.max()), 1.0)
        fmt, label = (lambda v: f"{v:.0f}"), "images"
    title = title or f"Confusion matrix ({label})"
    fig = _figure(0.55 * k + 2.8, 0.5 * k + 1.8)
    ax = fig.subplots()
    im = ax.imshow(values, cmap=_CMAP, vmin=0, vmax=vmax)
    cbar = fig.colorbar(im, ax=ax, shrink=0.85)
    cbar.set_label(label)
    if normalize:
        cbar.ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}")
    for i in range(k):
        for j in range(k):
            # viridis is dark at the bottom: white text there, black on the bright end.
            colour = "white" if values[i, j] < 0.6 * vmax else "black"
            ax.text(j, i, fmt(values[i, j]), ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(k), class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    off = share.copy()
    np.fill_diagonal(off, -1)
    i, j = np.unravel_index(np.argmax(off), off.shape)
    alt = (f"{title}. Recall per class: "
           + ", ".join(f"{n} {share[c, c]:.0%}" for c, n in enumerate(class_names))
           + f". Most frequent confusion: {class_names[i]} predicted as {class_names[j]} "
             f"({share[i, j]:.0%} of {class_names[i]}).")
    return _finish(fig, alt)


def roc_curves(roc: Mapping[str, Any], title: str = "ROC curves (one class vs the rest)"
               ) -> Figure:
    """One-vs-rest ROC curve of every class with its AUC.

    Parameters
    ----------
    roc : dict
        From :func:`cifar_edu.evaluation.roc_curves` (or ``report.roc``).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    try:
        names, fprs, tprs, aucs = roc["class_names"], roc["fpr"], roc["tpr"], roc["auc"]
    except (KeyError, TypeError):
        raise CifarEduError("roc_curves draws the dict returned by "
                            "cifar_edu.evaluation.roc_curves(y_true, y_prob)") from None
    fig = _figure(6.2, 5.2)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", linewidth=1, label="chance (AUC 0.5)")
    for k, (name, fpr, tpr, auc) in enumerate(zip(names, fprs, tprs, aucs)):
        auc_text = "n/a" if auc is None or np.isnan(auc) else f"{auc:.3f}"
        ax.plot(fpr, tpr, color=OKABE_ITO[k % len(OKABE_ITO)],
                linestyle=_LINESTYLES[(k // len(OKABE_ITO) + k) % len(_LINESTYLES)],
                linewidth=1.4, label=f"{name} ({auc_text})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (recall)")
    macro = roc.get("macro_auc", float("nan"))
    ax.set_title(f"{title}\nmacro AUC {macro:.3f}")
    ax.legend(title="class (AUC)", fontsize=7, loc="lower right")
    defined = [(a, n) for a, n in zip(aucs, names) if a is not None and not np.isnan(a)]
    alt = f"{title}: macro AUC {macro:.3f}"
    if defined:
        lo, hi = min(defined), max(defined)
        alt += f"; lowest {lo[1]} {lo[0]:.3f}, highest {hi[1]} {hi[0]:.3f}"
    return _finish(fig, alt + ".")


def reliability_diagram(bins_or_y_true: Any, y_prob: np.ndarray | None = None,
                        n_bins: int = 15, title: str = "Reliability diagram") -> Figure:
    """Accuracy against confidence per bin, with the gap to perfect calibration.

    Parameters
    ----------
    bins_or_y_true : ReliabilityBins or ndarray
        Bins from :func:`cifar_edu.evaluation.reliability_bins` (or
        ``report.reliability``), or the true labels (then pass ``y_prob``).
    y_prob : ndarray, shape (N, K), optional
        Predicted probabilities, when true labels are given.
    n_bins : int
        Number of bins when computing them here.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        Top: accuracy per bin (bars), the gap to the diagonal (hatched) and
        the diagonal of perfect calibration. Bottom: images per bin.
    """
    # Imported here, not at the top: cifar_edu.evaluation loads TensorFlow, which the
    # other plots do not need, and it imports this module to write reports.
    from cifar_edu.evaluation.calibration import ReliabilityBins, reliability_bins

    if isinstance(bins_or_y_true, ReliabilityBins):
        bins = bins_or_y_true
    elif y_prob is None:
        raise CifarEduError("pass reliability bins, or the true labels and y_prob: "
                            "reliability_diagram(y_true, y_prob)")
    else:
        bins = reliability_bins(bins_or_y_true, y_prob, n_bins)
    centers = (bins.edges[:-1] + bins.edges[1:]) / 2
    width = np.diff(bins.edges)
    filled = bins.count > 0
    fig = _figure(5.2, 5.6)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.bar(centers[filled], bins.accuracy[filled], width[filled] * 0.95, color=OKABE_ITO[0],
            label="accuracy")
    gap = bins.confidence[filled] - bins.accuracy[filled]
    # Hatch only (no fill): over- and under-confidence gaps both stay readable where the
    # gap overlaps the accuracy bar.
    top.bar(centers[filled], gap, width[filled] * 0.95, bottom=bins.accuracy[filled],
            facecolor="none", hatch="///", edgecolor=OKABE_ITO[3], linewidth=1,
            label="gap to mean confidence")
    top.plot([0, 1], [0, 1], color="0.3", linestyle="--", linewidth=1,
             label="perfect calibration")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(f"{title} (ECE {bins.ece:.3f})")
    top.legend(fontsize=8, loc="upper left")
    bottom.bar(centers, bins.count, width * 0.95, color="0.45")
    bottom.set_xlabel("confidence (probability of the predicted class)")
    bottom.set_ylabel("images")
    over = np.sum(bins.count[filled] * (gap > 0)) / max(int(bins.count.sum()), 1)
    alt = (f"{title}: expected calibration error {bins.ece:.3f} over {int(bins.count.sum()):,} "
           f"images in {bins.n_bins} bins; {over:.0%} of the images are in bins where the model "
           "is more confident than accurate.")
    return _finish(fig, alt)


# --------------------------------------------------------------------------- files

_METADATA_KEY = {"png": "Description", "svg": "Description", "pdf": "Subject"}


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 150) -> Path:
    """Save a figure atomically (a crash never leaves half a file).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like
        Target file; its suffix picks the format (``.png``, ``.pdf``, ``.svg`` ...).
        The text alternative goes into the file's description metadata.
    dpi : int
        Resolution of raster formats.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise CifarEduError(f"cannot save a figure as {path.name!r}: use one of the suffixes "
                            + ", ".join(f".{s}" for s in sorted(supported)))
    kwargs: dict[str, Any] = {}
    alt = describe_figure(fig)
    if alt and fmt in _METADATA_KEY:
        kwargs["metadata"] = {_METADATA_KEY[fmt]: alt}
    # The temporary name ends in ".tmp", so the format must be given explicitly.
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, **kwargs)
    return path
