"""Tests of cifar_edu.plots: every function returns a labelled Figure with a text alternative."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from cifar_edu import plots
from cifar_edu.data import CLASS_NAMES
from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation import reliability_bins, roc_curves


@pytest.fixture()
def probs(rng):
    n = 120
    y_true = rng.integers(0, 10, n)
    logits = rng.normal(size=(n, 10))
    logits[np.arange(n), y_true] += 1.5
    return y_true, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def _title(fig: Figure) -> str:
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    return suptitle or " ".join(ax.get_title() for ax in fig.axes)


def _check(fig: object, data_axes: int = 0) -> Figure:
    """A Figure that renders, with a title, a text alternative and labelled data axes.

    ``data_axes``: how many of the first axes are plots (not images or colour bars);
    each needs a y label, and together an x label (stacked plots share the bottom one).
    """
    assert isinstance(fig, Figure)
    FigureCanvasAgg(fig).draw()  # errors at drawing time show up here, not in a lesson
    assert _title(fig).strip()
    assert len(plots.describe_figure(fig)) > 20
    plotted = fig.axes[:data_axes]
    for ax in plotted:
        assert ax.get_ylabel(), f"axes {ax.get_title()!r} has no y label"
    if plotted:
        assert all(ax.get_xlabel() for ax in plotted) or plotted[-1].get_xlabel()
    return fig


def test_no_rainbow_colormaps():
    source = inspect.getsource(plots)
    assert "jet" not in source and "rainbow" not in source


def test_image_grid(sample):
    fig = _check(plots.image_grid(sample.x_train[:10], sample.y_train[:10], ncols=5,
                                  title="Ten images"))
    assert _title(fig) == "Ten images"
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 10
    assert image_axes[0].get_title() == CLASS_NAMES[sample.y_train[0, 0]]
    assert "10 images" in plots.describe_figure(fig)


def test_image_grid_marks_wrong_predictions_in_text(sample):
    y = sample.y_test[:4, 0]
    predictions = y.copy()
    predictions[1] = (y[1] + 1) % 10
    fig = plots.image_grid(sample.x_test[:4], y, predictions=predictions)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert "true:" in titles[1] and "true:" not in titles[0]
    assert "3 of 4 predicted correctly" in plots.describe_figure(fig)


def test_image_grid_accepts_float_images_and_limits_count():
    floats01 = np.full((70, 32, 32, 3), 0.5, np.float32)
    fig = plots.image_grid(floats01, max_images=12)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 12
    assert shown[0].images[0].get_array().max() == 128  # 0-1 floats rescaled, not black
    with pytest.raises(CifarEduError):
        plots.image_grid(np.zeros((0, 32, 32, 3), np.uint8))


def test_class_distribution(sample):
    fig = _check(plots.class_distribution({"train": sample.y_train, "test": sample.y_test}),
                 data_axes=1)
    ax = fig.axes[0]
    assert len(ax.patches) == 20
    assert ax.get_xlabel() == "class"
    assert "train has 1,000 images, 100 to 100 per class" in plots.describe_figure(fig)
    with pytest.raises(CifarEduError):
        plots.class_distribution({})


def test_learning_curves_from_dict_and_history():
    history = {"loss": [2.0, 1.5, 1.2], "val_loss": [2.1, 1.6, 1.7],
               "accuracy": [0.3, 0.45, 0.55], "val_accuracy": [0.28, 0.41, 0.40],
               "learning_rate": [1e-3, 1e-3, 1e-4]}
    fig = _check(plots.learning_curves(history), data_axes=3)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy", "learning rate"]
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)
    assert fig.axes[2].get_yscale() == "log"
    assert "best at epoch 2" in plots.describe_figure(fig)
    keras_like = SimpleNamespace(history={"loss": [1.0, 0.5]})
    assert len(plots.learning_curves(keras_like).axes) == 1
    with pytest.raises(CifarEduError):
        plots.learning_curves({})


def test_confusion_matrix():
    cm = np.diag(np.full(10, 40)) + 1
    fig = _check(plots.confusion_matrix(cm, CLASS_NAMES), data_axes=1)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert ax.images[0].get_cmap().name == "viridis"
    assert ax.texts[0].get_text() == "82"  # 41 / 50 of the row, in percent
    counts = plots.confusion_matrix(cm, normalize=False)
    assert counts.axes[0].texts[0].get_text() == "41"
    with pytest.raises(CifarEduError):
        plots.confusion_matrix(np.ones((3, 3)))


def test_roc_curves(probs):
    y_true, y_prob = probs
    fig = _check(plots.roc_curves(roc_curves(y_true, y_prob)), data_axes=1)
    ax = fig.axes[0]
    assert len(ax.lines) == 11  # chance line + 10 classes
    assert ax.get_xlabel() == "false positive rate"
    assert "macro AUC" in plots.describe_figure(fig)
    with pytest.raises(CifarEduError):
        plots.roc_curves({"auc": []})


def test_reliability_diagram_from_bins_or_labels(probs):
    y_true, y_prob = probs
    bins = reliability_bins(y_true, y_prob)
    fig = _check(plots.reliability_diagram(bins), data_axes=2)
    assert "ECE" in fig.axes[0].get_title()
    assert fig.axes[1].get_xlabel().startswith("confidence")
    same = plots.reliability_diagram(y_true, y_prob)
    assert same.axes[0].get_title() == fig.axes[0].get_title()
    with pytest.raises(CifarEduError):
        plots.reliability_diagram(y_true)


def test_misclassification_gallery(sample, probs):
    y_true, y_prob = probs
    images = sample.x_test[:120]
    wrong = np.flatnonzero(y_prob.argmax(axis=1) != y_true)[:5]
    fig = _check(plots.misclassification_gallery(images, y_true, y_prob, wrong))
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(titles) == 5 and all("true:" in t for t in titles)
    empty = plots.misclassification_gallery(images, y_true, y_prob, [])
    assert "no mistakes" in plots.describe_figure(empty)
    with pytest.raises(CifarEduError):
        plots.misclassification_gallery(images, y_true, y_prob, [500])


def test_prediction_bars():
    prob = np.array([0.02, 0.01, 0.05, 0.6, 0.02, 0.25, 0.02, 0.01, 0.01, 0.01])
    fig = _check(plots.prediction_bars(prob[None], top_k=3, true_label=3), data_axes=1)
    ax = fig.axes[0]
    assert len(ax.patches) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat (true)", "dog", "bird"]
    assert ax.get_xlabel() == "probability"
    assert plots.describe_figure(fig).startswith("Top predictions: cat 60.0%")
    with pytest.raises(CifarEduError):
        plots.prediction_bars(np.ones((2, 10)) / 10)


def test_save_figure_is_atomic_and_keeps_the_text_alternative(tmp_path):
    fig = plots.prediction_bars(np.full(10, 0.1))
    path = plots.save_figure(fig, tmp_path / "sub" / "bars.png")
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["bars.png"]  # no temporary file left
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.info["Description"] == plots.describe_figure(fig)
    with pytest.raises(CifarEduError, match="suffix"):
        plots.save_figure(fig, tmp_path / "bars.docx")
