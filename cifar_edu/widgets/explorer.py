"""The dataset explorer: browse CIFAR-10 by class, with a sample grid and per-class statistics."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np

from cifar_edu.data import CLASS_NAMES
from cifar_edu.errors import CifarEduError
from cifar_edu.widgets._common import (PngView, WidgetFace, figure_to_png, message_html,
                                       shows_errors)

__all__ = ["ALL_CLASSES", "ClassStatistics", "class_statistics", "sample_indices",
           "statistics_html", "DatasetExplorer"]

#: Dropdown value meaning "no class filter".
ALL_CLASSES = -1

# ITU-R BT.601 luma weights: how bright an RGB colour looks to people.
_LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class ClassStatistics:
    """Summary of the images of one class (pixel values 0-255).

    Attributes
    ----------
    name : str
    count : int
        Number of images.
    mean_brightness : float
        Mean luma (0.299 R + 0.587 G + 0.114 B) over all pixels.
    channel_means : tuple of float
        Mean of the red, green and blue channels.
    """

    name: str
    count: int
    mean_brightness: float
    channel_means: tuple[float, float, float]


def class_statistics(x: np.ndarray, y: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
                     ) -> list[ClassStatistics]:
    """Count, mean brightness and per-channel means of every class, plus all images.

    Parameters
    ----------
    x : ndarray of uint8, shape (N, 32, 32, 3)
    y : ndarray of int, shape (N,) or (N, 1)
    class_names : sequence of str

    Returns
    -------
    list of ClassStatistics
        One per class in label order, then one named ``"all"`` for the whole set.
        A class without images has NaN means.
    """
    x, y = _check_xy(x, y, class_names)
    rows = []
    for index, name in [*enumerate(class_names), (ALL_CLASSES, "all")]:
        subset = x if index == ALL_CLASSES else x[y == index]
        if len(subset):
            # dtype=float64 accumulates in chunks: no float copy of the whole set.
            means = subset.mean(axis=(0, 1, 2), dtype=np.float64)
        else:
            means = np.full(3, np.nan)
        # Brightness is linear in the channels, so the mean of luma is luma of the means.
        rows.append(ClassStatistics(name=str(name), count=int(len(subset)),
                                    mean_brightness=float(means @ _LUMA),
                                    channel_means=tuple(float(m) for m in means)))
    return rows


def sample_indices(y: np.ndarray, class_index: int = ALL_CLASSES, n: int = 32, seed: int = 0
                   ) -> np.ndarray:
    """Indices of ``n`` random images of one class (or of any class), without repeats.

    Returns fewer than ``n`` when the class has fewer images; sorted for stable display.
    """
    y = np.asarray(y).reshape(-1)
    candidates = np.arange(len(y)) if class_index == ALL_CLASSES else np.flatnonzero(
        y == class_index)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(candidates, size=min(n, len(candidates)), replace=False)
    return np.sort(chosen)


def statistics_html(stats: Sequence[ClassStatistics], selected: str | None = None) -> str:
    """The statistics as an accessible HTML table (caption, header cells with scope)."""
    head = "".join(f'<th scope="col">{h}</th>' for h in
                   ("Class", "Images", "Mean brightness", "Mean red", "Mean green",
                    "Mean blue"))
    body = []
    for row in stats:
        style = ' style="font-weight:bold;background:#eef"' if row.name == selected else ""
        cells = "".join(f"<td>{v}</td>" for v in (
            f"{row.count:,}", _fmt(row.mean_brightness), *map(_fmt, row.channel_means)))
        body.append(f'<tr{style}><th scope="row">{html.escape(row.name)}</th>{cells}</tr>')
    return ("<table><caption>Per-class statistics (pixel values 0-255)</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


class DatasetExplorer(WidgetFace):
    """Browse images by class: a random sample grid and a per-class statistics table.

    Parameters
    ----------
    x : ndarray of uint8, shape (N, 32, 32, 3)
    y : ndarray of int, shape (N,) or (N, 1)
    class_names : sequence of str
    n_images : int
        Images in the sample grid.
    ncols : int
        Columns of the grid.
    seed : int
        Seed of the first sample; "New sample" moves to the next seed.

    Examples
    --------
    >>> DatasetExplorer(x_train, y_train, CLASS_NAMES)  # doctest: +SKIP
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, class_names: Sequence[str] = CLASS_NAMES,
                 *, n_images: int = 32, ncols: int = 8, seed: int = 0) -> None:
        self.x, self.y = _check_xy(x, y, class_names)
        self.class_names = tuple(class_names)
        self.n_images, self.ncols, self.seed = n_images, ncols, seed
        self.stats = class_statistics(self.x, self.y, self.class_names)
        self.indices = np.zeros(0, dtype=int)

        self.class_dropdown = widgets.Dropdown(
            options=[("all classes", ALL_CLASSES)] + [(n, i) for i, n in
                                                      enumerate(self.class_names)],
            value=ALL_CLASSES, description="Class",
            tooltip="Show images of one class only (arrow keys change the class)")
        self.resample_button = widgets.Button(
            description="New sample", icon="refresh",
            tooltip="Draw another random set of images of this class")
        self.message = widgets.HTML()
        self.grid_view = PngView()
        self.grid_text = widgets.HTML()
        self.stats_view = widgets.HTML()
        self.widget = widgets.VBox([
            widgets.HBox([self.class_dropdown, self.resample_button]),
            self.message, self.grid_view, self.grid_text, self.stats_view,
        ])
        self.class_dropdown.observe(lambda change: self.update(), names="value")
        self.resample_button.on_click(lambda button: self.new_sample())
        self.update()

    def select_class(self, class_index: int) -> None:
        """Show class ``class_index`` (``ALL_CLASSES`` = -1 for every class)."""
        if class_index not in (ALL_CLASSES, *range(len(self.class_names))):
            self.message.value = message_html(
                f"no class {class_index!r}: pick 0-{len(self.class_names) - 1} or -1 for all")
            return
        self.class_dropdown.value = class_index  # its observer updates the view

    def new_sample(self) -> None:
        """Draw another random sample of the selected class."""
        self.seed += 1
        self.update()

    @shows_errors
    def update(self) -> None:
        """Redraw the grid, its description and the table for the selected class."""
        from cifar_edu.plots import image_grid

        self.message.value = ""
        class_index = self.class_dropdown.value
        label = "all classes" if class_index == ALL_CLASSES else self.class_names[class_index]
        self.stats_view.value = statistics_html(
            self.stats, selected="all" if class_index == ALL_CLASSES else label)
        self.indices = sample_indices(self.y, class_index, self.n_images, self.seed)
        if not len(self.indices):
            self.grid_view.png = b""
            self.grid_text.value = message_html(f"There are no images of {label}.", "info")
            return
        fig = image_grid(self.x[self.indices], self.y[self.indices],
                         class_names=self.class_names, ncols=self.ncols,
                         title=f"CIFAR-10: random images of {label}")
        self.grid_view.png = figure_to_png(fig)
        shown = ", ".join(f"{self.class_names[c]}: {n}" for c, n in zip(
            *np.unique(self.y[self.indices], return_counts=True)))
        description = (f"Grid of {len(self.indices)} random images of {label} "
                       f"(sample {self.seed}), each titled with its label. Classes shown: "
                       f"{shown}.")
        self.grid_text.value = f"<div>{html.escape(description)}</div>"
        self.grid_view.alt = description


def _check_xy(x: np.ndarray, y: np.ndarray, class_names: Sequence[str]
              ) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y).reshape(-1)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise CifarEduError(f"images must have shape (N, height, width, 3), got {x.shape}")
    if len(x) != len(y):
        raise CifarEduError(f"{len(x)} images but {len(y)} labels; pass matching x and y")
    if len(y) and (y.min() < 0 or y.max() >= len(class_names)):
        raise CifarEduError(f"labels must be 0-{len(class_names) - 1} (one per class name), "
                            f"found {y.min()}-{y.max()}")
    return x, y.astype(np.int64)


def _fmt(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{value:.1f}"
