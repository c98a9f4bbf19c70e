"""The interactive image classifier: upload a picture or pick a test image, see the answer.

The widget is a thin face over :func:`cifar_edu.predict.predict_image` (reading any
image, top-k, the unsure flag), :func:`cifar_edu.plots.prediction_bars` (the chart)
and :func:`cifar_edu.explain.gradcam` (the overlay). Everything it shows as text
comes from pure functions below, which the tests check directly.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np

from cifar_edu.data import CLASS_NAMES
from cifar_edu.errors import CifarEduError, ImageError
from cifar_edu.predict import (DEFAULT_UNSURE_THRESHOLD, Prediction, gradcam_overlay,
                               predict_image)
from cifar_edu.widgets._common import (PngView, WidgetFace, array_to_png, figure_to_png,
                                       message_html, shows_errors)

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = ["ImageClassifier", "read_upload", "prediction_html", "chart_description"]

_IMAGE_SCALE = 6  # 32x32 shown as 192x192


def read_upload(value: Sequence[Mapping[str, Any]]) -> tuple[str, bytes] | None:
    """Get ``(file name, content)`` from the value of an ipywidgets 8 ``FileUpload``.

    Parameters
    ----------
    value : tuple of dict
        ``FileUpload.value``: one dict per file with ``name``, ``type``, ``size``,
        ``content`` (a memoryview) and ``last_modified``.

    Returns
    -------
    (str, bytes) or None
        The first file, or None when nothing is uploaded (the value was cleared).

    Raises
    ------
    cifar_edu.errors.ImageError
        The value is not what ipywidgets 8 produces.
    """
    if value is None or len(value) == 0:
        return None
    entry = value[0]
    if not isinstance(entry, Mapping) or "content" not in entry:
        raise ImageError("the upload did not contain a file (this widget needs ipywidgets 8); "
                         "choose the file again")
    name = str(entry.get("name") or "uploaded file")
    try:
        content = bytes(entry["content"])
    except (TypeError, ValueError):
        raise ImageError(f"{name}: the upload's content could not be read; choose the file "
                         "again") from None
    return name, content


def prediction_html(prediction: Prediction, true_label: str | None = None) -> str:
    """The verdict as HTML: the best class, the unsure flag and the true label if known."""
    best = html.escape(prediction.label)
    parts = [f"<strong>Prediction: {best}</strong> ({prediction.confidence:.0%})"]
    if prediction.unsure:
        parts.append('<span role="status" style="color:#b35806">&#9888; Unsure: '
                     f"{html.escape(prediction.reason)}</span>")
    if true_label is not None:
        verdict = "correct" if true_label == prediction.label else "wrong"
        parts.append(f"True label: {html.escape(true_label)} ({verdict})")
    return "<br>".join(parts)


def chart_description(prediction: Prediction) -> str:
    """Text alternative of the probability chart: every bar's class and value."""
    items = "".join(f"<li>{html.escape(name)}: {p:.1%}</li>" for name, p in prediction.top_k)
    return (f"<div>Bar chart of the top {len(prediction.top_k)} class probabilities of "
            f"{html.escape(prediction.source)}:<ol>{items}</ol></div>")


class ImageClassifier(WidgetFace):
    """Classify an uploaded image or a test image, with top-k bars and Grad-CAM.

    Parameters
    ----------
    model : keras.Model
        Raw 0-255 images ``(N, 32, 32, 3)`` in, class probabilities out.
    x_pool, y_pool : ndarray, optional
        Images (and their labels) to pick from, e.g. the test set.
    class_names : sequence of str
        Names in label order.
    top_k : int
        How many classes to show.
    unsure_threshold : float
        Top-1 probability below which the answer is flagged as unsure.

    Attributes
    ----------
    widget : ipywidgets.VBox
        The whole interface; ``display(classifier)`` shows it.
    prediction : Prediction or None
        What is shown now.

    Examples
    --------
    >>> clf = ImageClassifier(model, x_test, y_test)  # doctest: +SKIP
    >>> clf  # in a notebook cell, shows the widget  # doctest: +SKIP
    """

    def __init__(self, model: keras.Model, x_pool: np.ndarray | None = None,
                 y_pool: np.ndarray | None = None, class_names: Sequence[str] = CLASS_NAMES,
                 *, top_k: int = 3, unsure_threshold: float = DEFAULT_UNSURE_THRESHOLD) -> None:
        self.model = model
        self.class_names = tuple(class_names)
        self.top_k = top_k
        self.unsure_threshold = unsure_threshold
        self.x_pool = None if x_pool is None else np.asarray(x_pool)
        self.y_pool = None if y_pool is None else np.asarray(y_pool).reshape(-1)
        if self.x_pool is not None and self.x_pool.shape[1:] != (32, 32, 3):
            raise CifarEduError(f"x_pool must be images of shape (N, 32, 32, 3), got "
                                f"{self.x_pool.shape}")
        if self.y_pool is not None and (self.x_pool is None
                                        or len(self.y_pool) != len(self.x_pool)):
            raise CifarEduError("y_pool needs x_pool of the same length")
        self.prediction: Prediction | None = None
        self.true_label: str | None = None
        self._overlay: np.ndarray | None = None

        self.upload = widgets.FileUpload(
            accept="image/*", multiple=False, description="Upload image",
            tooltip="Choose a photo (PNG, JPEG, GIF, WebP, BMP or TIFF) to classify")
        self.picker = None
        if self.x_pool is not None and len(self.x_pool):
            self.picker = widgets.IntSlider(
                value=0, min=0, max=len(self.x_pool) - 1, description="Test image",
                continuous_update=False,
                tooltip="Pick an image of the test set by its index (arrow keys move by one)")
        self.gradcam_toggle = widgets.ToggleButton(
            value=False, description="Grad-CAM overlay", icon="eye",
            tooltip="Colour the parts of the image that most raised the predicted class")
        self.message = widgets.HTML()
        self.image_view = PngView(alt="The 32x32 image the model sees")
        self.chart_view = PngView(alt="Bar chart of class probabilities")
        self.verdict = widgets.HTML()
        self.chart_text = widgets.HTML()

        controls = [self.upload] + ([self.picker] if self.picker else []) + [self.gradcam_toggle]
        self.widget = widgets.VBox([
            widgets.HBox(controls),
            self.message,
            widgets.HBox([self.image_view, self.chart_view]),
            self.verdict,
            self.chart_text,
        ])
        self.upload.observe(lambda change: self.handle_upload(change["new"]), names="value")
        if self.picker is not None:
            self.picker.observe(lambda change: self._classify_pool(change["new"]),
                                names="value")
        self.gradcam_toggle.observe(lambda change: self._render_image(), names="value")
        if self.picker is not None:
            self.show_index(0)
        else:
            self.message.value = message_html("Upload an image to classify it.", "info")

    @shows_errors
    def handle_upload(self, value: Sequence[Mapping[str, Any]]) -> None:
        """Classify the file in a ``FileUpload`` value (a tuple of dicts in ipywidgets 8)."""
        if not value:
            return  # the upload was cleared
        self._clear()
        name, content = read_upload(value)
        self._show(predict_image(self.model, content, top_k=self.top_k,
                                 unsure_threshold=self.unsure_threshold,
                                 class_names=self.class_names, name=name), true_label=None)

    @shows_errors
    def show_index(self, index: int) -> None:
        """Classify image ``index`` of the pool (and move the slider there)."""
        if self.x_pool is None or not len(self.x_pool):
            raise CifarEduError("there are no test images to pick from; pass x_pool (and "
                                "y_pool) when creating the classifier")
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.x_pool):
            raise CifarEduError(f"pick an image index from 0 to {len(self.x_pool) - 1}, "
                                f"got {index!r}")
        if self.picker is not None and self.picker.value != index:
            self.picker.value = int(index)  # its observer classifies the image
        else:
            self._classify_pool(int(index))

    @shows_errors
    def _classify_pool(self, index: int) -> None:
        self._clear()
        true_label = None if self.y_pool is None else self.class_names[int(self.y_pool[index])]
        self._show(predict_image(self.model, self.x_pool[index], top_k=self.top_k,
                                 unsure_threshold=self.unsure_threshold,
                                 class_names=self.class_names, name=f"test image {index}"),
                   true_label=true_label)

    def _clear(self) -> None:
        # An error must never sit next to the previous image's result.
        self.prediction, self.true_label, self._overlay = None, None, None
        for view in (self.message, self.verdict, self.chart_text):
            view.value = ""
        self.image_view.png = b""
        self.chart_view.png = b""

    def _show(self, prediction: Prediction, true_label: str | None) -> None:
        self.prediction, self.true_label = prediction, true_label
        self.verdict.value = prediction_html(prediction, true_label)
        self.chart_text.value = chart_description(prediction)
        self._render_image()
        self._render_chart()

    @shows_errors
    def _render_image(self) -> None:
        if self.prediction is None:
            return
        self.message.value = ""
        # The plain image first: if Grad-CAM fails, the learner still sees the input.
        self.image_view.png = array_to_png(self.prediction.image, scale=_IMAGE_SCALE)
        self.image_view.alt = f"The 32x32 image the model sees: {self.prediction.source}"
        if self.gradcam_toggle.value:
            if self._overlay is None:
                self._overlay = gradcam_overlay(self.model, self.prediction, scale=_IMAGE_SCALE)
            self.image_view.png = array_to_png(self._overlay)
            self.image_view.alt = (f"Grad-CAM for {self.prediction.label}: bright areas "
                                       "raised the probability of this class most")

    @shows_errors
    def _render_chart(self) -> None:
        from cifar_edu.plots import prediction_bars

        assert self.prediction is not None
        fig = prediction_bars(self.prediction.probabilities, self.class_names,
                              top_k=len(self.prediction.top_k))
        self.chart_view.png = figure_to_png(fig)
