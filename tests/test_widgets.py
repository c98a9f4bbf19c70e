"""The widgets, driven without a browser: set values, call handlers, read what is shown."""

from __future__ import annotations

import datetime
import io
import warnings

import numpy as np
import pytest
from PIL import Image

ipywidgets = pytest.importorskip("ipywidgets")

from cifar_edu.augment import AugmentConfig  # noqa: E402
from cifar_edu.data import CLASS_NAMES  # noqa: E402
from cifar_edu.errors import CifarEduError, ImageError  # noqa: E402
from cifar_edu.widgets import (AugmentationPlayground, DatasetExplorer,  # noqa: E402
                               ImageClassifier)
from cifar_edu.widgets._common import montage  # noqa: E402
from cifar_edu.widgets.classifier import chart_description, read_upload  # noqa: E402
from cifar_edu.widgets.explorer import (ALL_CLASSES, class_statistics,  # noqa: E402
                                        sample_indices, statistics_html)
from cifar_edu.widgets.playground import augmentation_preview, describe_augmentation  # noqa: E402

PNG_SIGNATURE = b"\x89PNG"


def is_png(value) -> bool:
    """Image widgets hold their value as a memoryview."""
    return bytes(value).startswith(PNG_SIGNATURE)


def upload_value(content: bytes, name: str = "photo.png", mime: str = "image/png") -> tuple:
    """What ipywidgets 8 puts in FileUpload.value after the user picks a file."""
    return ({"name": name, "type": mime, "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)},)


def encode(img: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


@pytest.fixture()
def classifier(tiny_model, sample):
    return ImageClassifier(tiny_model, sample.x_test[:20], sample.y_test[:20])


# --------------------------------------------------------------------------- classifier

def test_upload_is_classified(classifier, sample):
    pytest.importorskip("cifar_edu.plots")
    photo = Image.fromarray(sample.x_test[3]).resize((128, 96))
    classifier.upload.value = upload_value(encode(photo, "JPEG"), "cat.jpg", "image/jpeg")
    pred = classifier.prediction
    assert pred is not None and pred.source == "cat.jpg"
    assert classifier.message.value == ""
    assert is_png(classifier.image_view.png)
    assert is_png(classifier.chart_view.png)
    assert f"Prediction: {pred.label}" in classifier.verdict.value
    for name, _ in pred.top_k:  # the text alternative lists every bar
        assert name in classifier.chart_text.value
    assert "True label" not in classifier.verdict.value


# Each bad upload and the words its message must contain.
BAD_UPLOADS = {
    "empty.png": (b"", "empty"),
    "notes.png": (b"my shopping list, not a picture", "not an image"),
    "report.jpg": (b"%PDF-1.7\n" + b"\0" * 64, "not an image"),
    "cut.jpg": (None, "truncated"),
    "cut.png": (None, "truncated"),
}


def _truncated(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    data = encode(Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)), fmt)
    return data[: len(data) // 2]


@pytest.mark.parametrize("name", sorted(BAD_UPLOADS))
def test_every_bad_upload_is_shown_in_the_widget(classifier, name):
    content, words = BAD_UPLOADS[name]
    if content is None:
        content = _truncated("JPEG" if name.endswith(".jpg") else "PNG")
    classifier.show_index(0)  # something is shown before...
    classifier.upload.value = upload_value(content, name)  # ...must not raise
    assert words in classifier.message.value and name in classifier.message.value
    assert 'role="alert"' in classifier.message.value
    assert classifier.prediction is None  # no stale answer next to the error
    assert classifier.verdict.value == "" and classifier.image_view.png == b""


def test_decompression_bomb_upload(classifier, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    classifier.handle_upload(upload_value(encode(Image.new("RGB", (100, 100))), "bomb.png"))
    assert "too large" in classifier.message.value


def test_malformed_and_cleared_upload_values(classifier):
    classifier.show_index(0)
    classifier.handle_upload(({"name": "x.png"},))  # no content key
    assert "choose the file again" in classifier.message.value
    assert classifier.prediction is None
    classifier.handle_upload(())  # the upload was cleared: nothing happens
    assert read_upload(()) is None
    with pytest.raises(ImageError):
        read_upload(({"name": "x.png", "content": 3.5},))


def test_file_names_are_escaped(classifier):
    classifier.handle_upload(upload_value(b"nope", "<img src=x onerror=alert(1)>.png"))
    assert "<img" not in classifier.message.value and "&lt;img" in classifier.message.value


def test_odd_but_valid_uploads(classifier):
    pytest.importorskip("cifar_edu.plots")
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 0, 255))]
    odd = {
        "anim.gif": encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "alpha.png": encode(Image.new("RGBA", (50, 30), (0, 128, 0, 100))),
        "gray16.png": encode(Image.fromarray(np.full((10, 10), 40000, np.uint16))),
        "cmyk.jpg": encode(Image.new("CMYK", (30, 30), (0, 200, 200, 0)), "JPEG"),
        "dot.bmp": encode(Image.new("RGB", (1, 1), (9, 9, 9)), "BMP"),
    }
    for name, content in odd.items():
        classifier.handle_upload(upload_value(content, name))
        assert classifier.message.value == "", name
        assert classifier.prediction is not None and classifier.prediction.source == name


def test_pick_a_test_image_shows_the_true_label(classifier, sample):
    pytest.importorskip("cifar_edu.plots")
    classifier.picker.value = 5  # as a user moving the slider
    true_name = CLASS_NAMES[int(sample.y_test[5, 0])]
    assert f"True label: {true_name}" in classifier.verdict.value
    assert classifier.prediction.source == "test image 5"
    classifier.show_index(2)
    assert classifier.picker.value == 2 and classifier.prediction.source == "test image 2"
    classifier.show_index(99)
    assert "from 0 to 19" in classifier.message.value


def test_unsure_flag_is_shown(tiny_model, sample):
    clf = ImageClassifier(tiny_model, sample.x_test[:3], sample.y_test[:3], unsure_threshold=1.0)
    clf.show_index(1)
    assert clf.prediction.unsure and "&#9888;" in clf.verdict.value  # a warning sign
    assert "Unsure:" in clf.verdict.value and "not show one of the 10" in clf.verdict.value
    confident = ImageClassifier(tiny_model, sample.x_test[:3], unsure_threshold=0.0)
    confident.show_index(1)
    assert "Unsure" not in confident.verdict.value


def test_gradcam_toggle(classifier):
    pytest.importorskip("cifar_edu.explain")
    classifier.show_index(0)
    plain = classifier.image_view.png
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny model has no 8x8 layer; it says so
        classifier.gradcam_toggle.value = True
    assert classifier.message.value == ""
    assert is_png(classifier.image_view.png)
    assert classifier.image_view.png != plain
    assert "Grad-CAM" in classifier.image_view.alt
    classifier.gradcam_toggle.value = False
    assert classifier.image_view.png == plain


def test_classifier_without_pool_and_bad_pool(tiny_model):
    clf = ImageClassifier(tiny_model)
    assert clf.picker is None
    clf.show_index(0)
    assert "no test images" in clf.message.value
    with pytest.raises(CifarEduError, match="shape"):
        ImageClassifier(tiny_model, np.zeros((2, 28, 28), np.uint8))


def test_widgets_display_and_describe_their_controls(classifier, sample):
    bundle = classifier._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    controls = [classifier.upload, classifier.picker, classifier.gradcam_toggle]
    assert all(c.description and c.tooltip for c in controls)
    assert classifier.upload.accept == "image/*" and classifier.upload.multiple is False


def test_chart_description_lists_probabilities(classifier):
    classifier.show_index(0)
    text = chart_description(classifier.prediction)
    assert text.count("<li>") == 3 and "%" in text


# --------------------------------------------------------------------------- explorer

def test_class_statistics_match_numpy(sample):
    stats = class_statistics(sample.x_train, sample.y_train)
    assert [s.name for s in stats] == [*CLASS_NAMES, "all"]
    assert sum(s.count for s in stats[:-1]) == stats[-1].count == len(sample.x_train)
    cats = sample.x_train[sample.y_train[:, 0] == 3].astype(np.float64)
    np.testing.assert_allclose(stats[3].channel_means, cats.mean(axis=(0, 1, 2)), rtol=1e-9)
    luma = (cats @ np.array([0.299, 0.587, 0.114])).mean()
    assert stats[3].mean_brightness == pytest.approx(luma, rel=1e-9)


def test_class_statistics_with_an_empty_class():
    x = np.zeros((4, 32, 32, 3), np.uint8)
    stats = class_statistics(x, np.array([0, 0, 1, 1]), ["a", "b", "c"])
    assert stats[2].count == 0 and np.isnan(stats[2].mean_brightness)
    assert "n/a" in statistics_html(stats)
    with pytest.raises(CifarEduError, match="labels"):
        class_statistics(x, np.array([0, 0, 1, 5]), ["a", "b", "c"])


def test_sample_indices():
    y = np.repeat(np.arange(10), 5)
    idx = sample_indices(y, 3, n=4, seed=1)
    assert len(idx) == 4 and np.all(y[idx] == 3) and len(set(idx)) == 4
    assert np.array_equal(idx, sample_indices(y, 3, n=4, seed=1))
    assert len(sample_indices(y, 3, n=50)) == 5
    assert len(sample_indices(y, ALL_CLASSES, n=12)) == 12


def test_dataset_explorer_browses_by_class(sample):
    pytest.importorskip("cifar_edu.plots")
    explorer = DatasetExplorer(sample.x_train, sample.y_train, n_images=8)
    assert is_png(explorer.grid_view.png)
    assert "<caption>" in explorer.stats_view.value and 'scope="col"' in explorer.stats_view.value
    explorer.class_dropdown.value = 3  # the user picks "cat"
    assert np.all(sample.y_train[explorer.indices, 0] == 3) and len(explorer.indices) == 8
    assert "8 random images of cat" in explorer.grid_text.value
    before = explorer.indices.copy()
    explorer.resample_button.click()
    assert not np.array_equal(before, explorer.indices)
    assert np.all(sample.y_train[explorer.indices, 0] == 3)
    explorer.select_class(42)
    assert "no class 42" in explorer.message.value
    assert explorer.class_dropdown.description and explorer.class_dropdown.tooltip
    assert explorer.resample_button.tooltip


# --------------------------------------------------------------------------- playground

def test_augmentation_preview_is_deterministic(sample):
    images = sample.x_train[:2]
    config = AugmentConfig(flip=True, translate=4, cutout=8)
    out = augmentation_preview(images, config, n_variants=3, seed=5)
    assert out.shape == (2, 4, 32, 32, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, 0], images)  # column 0 is the original
    np.testing.assert_array_equal(out, augmentation_preview(images, config, 3, seed=5))
    off = AugmentConfig(flip=False, translate=0)
    np.testing.assert_array_equal(augmentation_preview(images, off, 2)[:, 2], images)
    assert describe_augmentation(off) == "no augmentation"
    assert "8x8" in describe_augmentation(config)


def test_montage_layout():
    grid = np.zeros((2, 3, 4, 4, 3), np.uint8)
    grid[1, 2] = 7
    out = montage(grid, pad=1)
    assert out.shape == (9, 14, 3) and out[5, 10, 0] == 7 and out[4, 0, 0] == 255


def test_augmentation_playground_controls(sample):
    playground = AugmentationPlayground(sample.x_train[:2], n_variants=2)
    first = playground.preview.copy()
    assert is_png(playground.preview_view.png)
    assert "original" in playground.preview_text.value
    playground.cutout.value = 10
    assert playground.config.cutout == 10 and "10x10" in playground.preview_text.value
    assert not np.array_equal(first, playground.preview)
    playground.flip.value = False
    playground.translate.value = 0
    playground.cutout.value = 0
    np.testing.assert_array_equal(playground.preview[:, 1], sample.x_train[:2])
    playground.rotation.value = 30
    playground.zoom.value = 0.2
    seed = playground.seed.value
    playground.resample_button.click()
    assert playground.seed.value == seed + 1 and playground.message.value == ""
    for control in (playground.flip, playground.translate, playground.rotation, playground.zoom,
                    playground.cutout, playground.seed, playground.resample_button):
        assert control.description and control.tooltip
    with pytest.raises(CifarEduError, match="32x32"):
        AugmentationPlayground(np.zeros((2, 28, 28, 3), np.uint8))
