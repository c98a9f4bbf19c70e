"""Figures of the regularisation ablation (lesson 4): accuracy per cell, and interactions.

Plots only draw: the numbers come from :class:`cifar_edu.ablation.AblationResults`.
Every function returns a :class:`matplotlib.figure.Figure` (no pyplot state) with a
``text_alternative`` (see :func:`cifar_edu.plots.describe_figure`), uses the
colour-blind-safe Okabe-Ito palette, and tells lines apart by style and label as
well as by colour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from cifar_edu.ablation import FACTORS, AblationCell
from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation.comparison import seed_summary
from cifar_edu.figure_display import register_png_formatter
from cifar_edu.plots import OKABE_ITO

if TYPE_CHECKING:
    from cifar_edu.ablation import AblationResults

register_png_formatter()  # figures display in Jupyter without %matplotlib

__all__ = ["ablation_bars", "interaction_plot"]

_LABELS = {"exact": "byte-exact test rows", "full": "whole test set"}
_NAMES = {"augmentation": "augmentation", "batch_norm": "batch norm", "dropout": "dropout"}


def _check_which(which: str) -> str:
    if which not in _LABELS:
        raise CifarEduError(f"which must be 'exact' or 'full', not {which!r}")
    return which


def _check_factor(factor: str) -> str:
    if factor not in FACTORS:
        raise CifarEduError(f"unknown factor {factor!r}; choose one of {', '.join(FACTORS)}")
    return factor


def ablation_bars(results: AblationResults, which: str = "exact", *,
                  title: str | None = None) -> Figure:
    """Mean test accuracy of every cell over seeds, with ± one sd and each seed's run.

    Parameters
    ----------
    results : AblationResults
        A finished grid (:func:`cifar_edu.ablation.load_ablation`).
    which : {"exact", "full"}
        The byte-exact test rows (estimate of real accuracy) or the whole test set.
    title : str, optional
        Title of the figure (default: says which test images).

    Returns
    -------
    Figure
        One horizontal bar per cell, in the grid's order (plain at the top); the
        error bar is ± one standard deviation over seeds (none with one seed), and
        a dot marks each seed's run.
    """
    which = _check_which(which)
    cells = results.cells
    accuracies = [100 * np.asarray(results.accuracies(c, which), dtype=float) for c in cells]
    means = np.array([a.mean() for a in accuracies])
    sds = np.array([seed_summary(a)[1] for a in accuracies])
    fig = Figure(figsize=(7, 0.45 * len(cells) + 1.4), layout="constrained")
    ax = fig.subplots()
    rows = np.arange(len(cells))
    # Error bars only where there is a spread: one seed has none (sd is NaN).
    ax.barh(rows, means, color=OKABE_ITO[5], edgecolor=OKABE_ITO[0],
            xerr=np.where(np.isfinite(sds), sds, 0.0), capsize=4,
            error_kw={"ecolor": OKABE_ITO[6], "elinewidth": 1.2})
    for row, values in zip(rows, accuracies):
        ax.plot(values, np.full(len(values), row), "o", color=OKABE_ITO[6], markersize=4)
    low = min(float(np.min(a)) for a in accuracies)
    high = max(float(np.max(a)) for a in accuracies)
    margin = max(1.0, 0.15 * (high - low))
    ax.set_xlim(max(0.0, low - 3 * margin), min(100.0, high + margin))
    ax.set_yticks(rows, cells)
    ax.invert_yaxis()  # plain first, as in the table
    # Said in the label rather than a legend, which could hide the longest bar.
    ax.set_xlabel(f"test accuracy (%), {_LABELS[which]}\n"
                  "bar: mean over seeds, line: ± one sd, dots: each seed's run")
    ax.grid(axis="x", alpha=0.3)
    n_seeds = len(results.seeds)
    ax.set_title(title or f"The ablation grid: {len(cells)} cells x {n_seeds} seed"
                          f"{'s' if n_seeds != 1 else ''} ({_LABELS[which]})")
    best = cells[int(np.argmax(means))]
    fig.text_alternative = (
        f"Horizontal bar chart of mean test accuracy on the {_LABELS[which]} for the "
        f"{len(cells)} cells of the ablation, each with +- one sd over {n_seeds} seeds: "
        + "; ".join(f"{c} {m:.1f}%" for c, m in zip(cells, means))
        + f". Highest: {best}.")
    return fig


def interaction_plot(results: AblationResults, factor: str = "dropout",
                     by: str = "batch_norm", which: str = "full") -> Figure:
    """Does one switch change what another does? Accuracy with ``factor`` off and on.

    One panel per setting of the third switch; in each, one line per setting of
    ``by``. Parallel lines mean no interaction (the effect of ``factor`` is the same
    with ``by`` off and on); lines that diverge or cross mean an interaction.

    Parameters
    ----------
    results : AblationResults
        A finished grid that holds all the cells needed (the full 2 x 2 x 2 grid).
    factor : str
        The switch on the x axis: ``"augmentation"``, ``"batch_norm"`` or ``"dropout"``.
    by : str
        The switch that picks the line, another of the three.
    which : {"exact", "full"}
        The byte-exact test rows or the whole test set.

    Returns
    -------
    Figure
        Mean accuracy over seeds (markers: each seed's run).
    """
    factor, by, which = _check_factor(factor), _check_factor(by), _check_which(which)
    if factor == by:
        raise CifarEduError("choose two different switches for factor and by")
    (third,) = [f for f in FACTORS if f not in (factor, by)]
    fig = Figure(figsize=(8, 3.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    alt = []
    for ax, third_on in zip(axes, (False, True)):
        for line, by_on in enumerate((False, True)):
            means = []
            for x, factor_on in enumerate((False, True)):
                cell = AblationCell(**{third: third_on, by: by_on, factor: factor_on}).key
                if cell not in results.cells:
                    raise CifarEduError(f"the grid has no cell {cell!r}: an interaction plot "
                                        "needs the whole grid of eight cells")
                values = 100 * np.asarray(results.accuracies(cell, which), dtype=float)
                means.append(values.mean())
                ax.plot(np.full(len(values), x + (line - 0.5) * 0.06), values, "o",
                        color=OKABE_ITO[3 * line], alpha=0.5, markersize=4)
            ax.plot([0, 1], means, color=OKABE_ITO[3 * line], linestyle=("-", "--")[line],
                    marker="s", label=f"{_NAMES[by]} {'on' if by_on else 'off'}")
            alt.append(f"{_NAMES[third]} {'on' if third_on else 'off'}, {_NAMES[by]} "
                       f"{'on' if by_on else 'off'}: {means[0]:.1f}% -> {means[1]:.1f}%")
        ax.set_xticks([0, 1], [f"{_NAMES[factor]} off", f"{_NAMES[factor]} on"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(f"{_NAMES[third]} {'on' if third_on else 'off'}")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(f"test accuracy (%), {_LABELS[which]}")
    axes[0].legend(fontsize="small")
    fig.suptitle(f"Does {_NAMES[by]} change what {_NAMES[factor]} does?")
    fig.text_alternative = (f"Interaction plot: accuracy with {_NAMES[factor]} off and on, "
                            f"one line per setting of {_NAMES[by]}, one panel per setting of "
                            f"{_NAMES[third]}. " + "; ".join(alt) + ".")
    return fig
