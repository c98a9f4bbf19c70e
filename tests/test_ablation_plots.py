"""Tests of the ablation figures (cifar_edu.ablation_plots), on made-up grids: no training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from cifar_edu.ablation import ALL_CELLS, AblationResults
from cifar_edu.ablation_plots import ablation_bars, interaction_plot
from cifar_edu.errors import CifarEduError
from cifar_edu.plots import describe_figure


def _made_up(cells=ALL_CELLS, seeds=(0, 1)) -> AblationResults:
    """A grid whose accuracy grows with the number of switches on (plus a little noise)."""
    rng = np.random.default_rng(0)
    n = 200
    y = rng.integers(0, 10, size=n).astype(np.uint8)
    arrays = {"y_test": y, "exact_test_index": np.arange(50)}
    runs = []
    for cell in cells:
        on = sum((cell.augmentation, cell.batch_norm, cell.dropout))
        for seed in seeds:
            right = rng.random(n) < 0.5 + 0.1 * on
            pred = np.where(right, y, (y + 1) % 10).astype(np.uint8)
            arrays[f"{cell.key}/seed{seed}"] = pred
            runs.append({"cell": cell.key, "augmentation": cell.augmentation,
                         "batch_norm": cell.batch_norm, "dropout": cell.dropout, "seed": seed,
                         "test_accuracy": float(right[:50].mean()),
                         "test_accuracy_full": float(right.mean())})
    protocol = {"cells": [c.key for c in cells], "seeds": list(seeds), "num_epochs": 1,
                "train_images": 90, "val_images": 10, "test_images": n, "exact_test_images": 50}
    return AblationResults({"protocol": protocol, "runs": runs, "provenance": {}}, arrays,
                           Path("made-up"))


@pytest.mark.parametrize("which", ["exact", "full"])
def test_bars_show_every_cell_with_its_mean(which):
    results = _made_up()
    fig = ablation_bars(results, which)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == results.cells
    heights = [patch.get_width() for patch in ax.patches]
    means = [100 * np.mean(results.accuracies(c, which)) for c in results.cells]
    np.testing.assert_allclose(heights, means)
    alt = describe_figure(fig)
    assert "aug+bn+drop" in alt and f"{means[0]:.1f}%" in alt
    assert ("byte-exact" if which == "exact" else "whole test set") in ax.get_xlabel()


def test_bars_work_with_one_seed():
    fig = ablation_bars(_made_up(seeds=(3,)), "full", title="one seed")
    assert fig.axes[0].get_title() == "one seed"


def test_interaction_plot_has_two_panels_of_two_lines():
    results = _made_up()
    fig = interaction_plot(results, "dropout", "batch_norm", "full")
    panels = fig.axes
    assert len(panels) == 2
    assert [ax.get_title() for ax in panels] == ["augmentation off", "augmentation on"]
    # The solid line of the first panel: BN off, dropout off -> on, without augmentation.
    line = [l for l in panels[0].get_lines() if l.get_linestyle() == "-"][0]
    expected = [100 * np.mean(results.accuracies(c, "full")) for c in ("plain", "drop")]
    np.testing.assert_allclose(line.get_ydata(), expected)
    assert "batch norm" in describe_figure(fig) and "dropout" in describe_figure(fig)


def test_interaction_plot_refuses_bad_requests():
    results = _made_up()
    with pytest.raises(CifarEduError, match="different"):
        interaction_plot(results, "dropout", "dropout")
    with pytest.raises(CifarEduError, match="unknown factor"):
        interaction_plot(results, "weight_decay", "dropout")
    with pytest.raises(CifarEduError, match="exact"):
        ablation_bars(results, "test")
    partial = _made_up(cells=ALL_CELLS[:4])
    with pytest.raises(CifarEduError, match="eight cells"):
        interaction_plot(partial)
