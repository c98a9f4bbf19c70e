"""Tests of cifar_edu.explain and cifar_edu.explain_plots (fast: a few seconds on CPU)."""

from __future__ import annotations

import io

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from cifar_edu.augment import build_augmentation
from cifar_edu.errors import CifarEduError
from cifar_edu.explain import (class_score_output, conv_layers, default_layer,
                               explain_correct_and_wrong, gradcam, gradcam_from_scratch,
                               layer_resolution, overlay, randomized_copy, resolve_layer,
                               saliency, sanity_check, save_overlay_png)
from cifar_edu.explain_plots import (correct_vs_wrong_figure, explanation_grid,
                                     sanity_check_figure)


@pytest.fixture(scope="module")
def images(sample):
    return sample.x_test[:6]


@pytest.fixture(scope="module")
def bn_model():
    """Untrained functional CNN: conv-BN-ReLU-pool blocks (32, 16, 8), a 4x4 conv, Softmax layer."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    for i, filters in enumerate((8, 16, 16), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
        x = keras.layers.MaxPooling2D(name=f"pool{i}")(x)     # to 16, 8, 4
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv4")(x)  # 4x4
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(10, name="logits")(x)
    outputs = keras.layers.Softmax(name="probs")(x)
    return keras.Model(inputs, outputs, name="bn_cnn")


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([np.corrcoef(m.ravel(), r.ravel())[0, 1] for m, r in zip(a, b)])


# -- layer choice ---------------------------------------------------------------------------

def test_conv_layers_lists_feature_maps_with_resolution(tiny_model, bn_model):
    assert conv_layers(tiny_model) == [("conv1", (32, 32)), ("conv2", (16, 16))]
    names = dict(conv_layers(bn_model))
    assert names["relu3"] == (8, 8) and names["conv4"] == (4, 4)
    assert "pool1" not in names and "rescaling" not in names   # not feature layers
    assert layer_resolution(bn_model, "relu2") == (16, 16)


def test_default_layer_picks_the_last_layer_at_that_resolution(tiny_model, bn_model):
    assert default_layer(tiny_model, resolution=16) == "conv2"
    assert default_layer(tiny_model, resolution=32) == "conv1"
    assert default_layer(bn_model) == "relu3"                 # last 8x8 (after BN + ReLU)
    assert default_layer(bn_model, resolution=4) == "conv4"
    # No 8x8 map: the nearest resolution (16x16) is used, without a warning.
    assert default_layer(tiny_model, resolution=8) == "conv2"
    with pytest.raises(CifarEduError, match="positive integer"):
        default_layer(tiny_model, resolution=0)


def test_nested_backbone_is_listed_but_not_augmentation_and_inner_layers_fail_clearly():
    backbone = keras.Sequential([keras.Input((32, 32, 3)),
                                 keras.layers.Conv2D(4, 3, padding="same", name="inner_conv")],
                                name="backbone")
    model = keras.Sequential([keras.Input((32, 32, 3)), build_augmentation(), backbone,
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(10, activation="softmax")], name="nested")
    assert conv_layers(model) == [("backbone", (32, 32))]     # not the augmentation Sequential
    with pytest.raises(CifarEduError, match="inside the nested submodel 'backbone'"):
        resolve_layer(model, "inner_conv")
    assert gradcam(model, np.zeros((1, 32, 32, 3)), layer="backbone").shape == (1, 32, 32)


# -- the class score: logits, read off the graph ------------------------------------------

def test_class_scores_are_the_logits_for_dense_softmax_and_softmax_layer(tiny_model, bn_model,
                                                                          images):
    for model in (tiny_model, bn_model):
        scores, kind = class_score_output(model)
        assert kind == "logit"
        logits = np.asarray(keras.Model(model.inputs, scores)([images]))
        probs = np.asarray(model(images))
        np.testing.assert_allclose(np.asarray(keras.ops.softmax(logits)), probs, atol=1e-5)


def test_a_hidden_softmax_falls_back_to_log_probabilities():
    head = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10, activation="softmax")])
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, name="c"),
                              keras.layers.GlobalAveragePooling2D(), head])
    assert class_score_output(model)[1] == "log_probability"


# -- Grad-CAM: tf-keras-vis vs from scratch -------------------------------------------------

@pytest.mark.parametrize("layer", ["conv1", "conv2"])
def test_scratch_gradcam_agrees_with_tf_keras_vis(tiny_model, images, layer):
    library = gradcam(tiny_model, images, layer=layer)
    scratch = gradcam_from_scratch(tiny_model, images, layer=layer)
    assert library.shape == scratch.shape == (len(images), 32, 32)
    assert (_pearson(library, scratch) > 0.99).all()
    np.testing.assert_allclose(library, scratch, atol=1e-4)


def test_scratch_gradcam_agrees_on_a_batchnorm_model_for_a_given_class(bn_model, images):
    library = gradcam(bn_model, images, class_index=3, layer="relu3")
    scratch = gradcam_from_scratch(bn_model, images, class_index=3, layer="relu3")
    assert (_pearson(library, scratch) > 0.99).all()


def test_gradcam_works_on_a_model_loaded_from_a_keras_file(tiny_model, images, tmp_path):
    # Loading calls each layer several times, so layer.output is in another graph.
    tiny_model.save(tmp_path / "tiny.keras")
    loaded = keras.saving.load_model(tmp_path / "tiny.keras", compile=False)
    assert conv_layers(loaded) == conv_layers(tiny_model)
    for plus_plus in (False, True):
        maps = gradcam(loaded, images, layer="conv2", plus_plus=plus_plus)
        np.testing.assert_allclose(maps, gradcam(tiny_model, images, layer="conv2",
                                                 plus_plus=plus_plus), atol=1e-4)
    np.testing.assert_allclose(gradcam_from_scratch(loaded, images, layer="conv1"),
                               gradcam(tiny_model, images, layer="conv1"), atol=1e-4)
    assert sanity_check(loaded, images[:2], layer="conv2")["maps"].shape == (2, 32, 32)


def test_maps_have_the_documented_shape_dtype_and_range(tiny_model, images):
    for maps in (gradcam(tiny_model, images, layer="conv2"),
                 gradcam(tiny_model, images, [0, 1, 2, 3, 4, 5], layer="conv2", plus_plus=True),
                 gradcam(tiny_model, images[0], layer="conv1")[0][None],
                 saliency(tiny_model, images)):
        assert maps.dtype == np.float32 and maps.ndim == 3 and maps.shape[1:] == (32, 32)
        assert maps.min() >= 0.0 and maps.max() <= 1.0
        assert np.isclose(maps.max(axis=(1, 2)), 1.0, atol=1e-3).sum() >= 1


def test_explaining_never_changes_the_callers_model(tiny_model, images):
    probs_before = np.asarray(tiny_model(images))
    weights_before = [w.copy() for w in tiny_model.get_weights()]
    n_layers = len(tiny_model.layers)
    gradcam(tiny_model, images, layer="conv2")
    gradcam(tiny_model, images, layer="conv1", plus_plus=True)
    saliency(tiny_model, images, smooth_samples=2)
    gradcam_from_scratch(tiny_model, images, layer="conv2")
    randomized_copy(tiny_model, seed=3)
    probs_after = np.asarray(tiny_model(images))
    np.testing.assert_allclose(probs_after.sum(axis=1), 1.0, atol=1e-5)   # still softmax
    np.testing.assert_allclose(probs_after, probs_before, atol=1e-6)
    assert tiny_model.get_layer("predictions").activation is keras.activations.softmax
    assert len(tiny_model.layers) == n_layers
    for before, after in zip(weights_before, tiny_model.get_weights()):
        np.testing.assert_array_equal(before, after)


# -- saliency -------------------------------------------------------------------------------

def test_saliency_and_smoothgrad_shapes_and_seeding(tiny_model, images):
    vanilla = saliency(tiny_model, images)
    state = np.random.get_state()
    smooth = saliency(tiny_model, images, smooth_samples=4, seed=7)
    assert np.array_equal(np.random.get_state()[1], state[1])   # global generator restored
    again = saliency(tiny_model, images, smooth_samples=4, seed=7)
    assert vanilla.shape == smooth.shape == (len(images), 32, 32)
    np.testing.assert_allclose(smooth, again, atol=1e-6)
    assert not np.allclose(smooth, vanilla, atol=1e-3)
    with pytest.raises(CifarEduError, match="smooth_samples"):
        saliency(tiny_model, images, smooth_samples=-1)


# -- sanity check (Adebayo et al. 2018) -----------------------------------------------------

def test_randomized_copy_is_a_reproducible_new_model(tiny_model):
    copy_a, copy_b = randomized_copy(tiny_model, seed=0), randomized_copy(tiny_model, seed=0)
    assert copy_a is not tiny_model
    assert [lay.name for lay in copy_a.layers] == [lay.name for lay in tiny_model.layers]
    kernel = tiny_model.get_layer("conv2").get_weights()[0]
    assert not np.allclose(copy_a.get_layer("conv2").get_weights()[0], kernel)
    for a, b in zip(copy_a.get_weights(), copy_b.get_weights()):
        np.testing.assert_array_equal(a, b)
    top_only = randomized_copy(tiny_model, layers=["predictions"])
    np.testing.assert_array_equal(top_only.get_layer("conv2").get_weights()[0], kernel)
    with pytest.raises(CifarEduError, match="no layer"):
        randomized_copy(tiny_model, layers=["nope"])


def test_sanity_check_shows_maps_change_under_randomisation(tiny_model, images):
    # Saliency maps of the random model are never flat, so this is a real rank comparison.
    smooth = sanity_check(tiny_model, images, method="saliency")
    assert smooth["passed"] and not any(smooth["flat"])
    assert max(smooth["spearman"]) < 0.5
    result = sanity_check(tiny_model, images, layer="conv2")
    assert result["passed"] and result["mean_spearman"] < 0.5
    assert len(result["spearman"]) == len(result["flat"]) == len(images)
    assert result["maps"].shape == result["random_maps"].shape == (len(images), 32, 32)
    fig = sanity_check_figure(result, images)
    assert isinstance(fig, Figure) and "Sanity check" in fig._suptitle.get_text()


# -- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 28, 28, 3)), r"shape \(2, 28, 28, 3\).*\(N, 32, 32, 3\)"),
    (np.zeros((2, 32, 32)), "grayscale"),
    (np.zeros((0, 32, 32, 3)), "no images"),
    (np.full((1, 32, 32, 3), np.nan), "NaN"),
    ("cat.png", "dtype"),
])
def test_bad_images_get_a_clear_error(tiny_model, bad, match):
    for fn in (gradcam, saliency, gradcam_from_scratch):
        with pytest.raises(CifarEduError, match=match):
            fn(tiny_model, bad)


def test_bad_layer_and_class_get_a_clear_error(tiny_model, images):
    with pytest.raises(CifarEduError, match=r"no layer 'conv9'.*conv1 \(32x32\), conv2 \(16x16\)"):
        gradcam(tiny_model, images, layer="conv9")
    with pytest.raises(CifarEduError, match=r"'predictions' outputs shape \(None, 10\), not a fea"):
        gradcam_from_scratch(tiny_model, images, layer="predictions")
    with pytest.raises(CifarEduError, match="out of range"):
        gradcam(tiny_model, images, class_index=10, layer="conv2")
    with pytest.raises(CifarEduError, match="one per image"):
        gradcam(tiny_model, images, class_index=[1, 2], layer="conv2")
    with pytest.raises(CifarEduError, match="keras.Model"):
        gradcam("model.keras", images)


# -- overlays and figures -------------------------------------------------------------------

def test_overlay_blends_and_upscales(images, tmp_path):
    heat = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    out = overlay(images[0], heat)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(overlay(images[0], heat, alpha=0.0), images[0])
    assert overlay(images[0], heat, scale=4).shape == (128, 128, 3)
    with pytest.raises(CifarEduError, match="heatmap has shape"):
        overlay(images[0], heat[:16])
    with pytest.raises(CifarEduError, match="unknown colormap"):
        overlay(images[0], heat, cmap="no-such-map")
    path = save_overlay_png(tmp_path / "cam.png", images[0], heat, scale=2)
    with Image.open(path) as png:
        assert png.format == "PNG" and png.size == (64, 64)


def test_correct_vs_wrong_side_by_side(tiny_model, sample):
    examples = explain_correct_and_wrong(tiny_model, sample.x_test[:60], sample.y_test[:60], n=3,
                                         layer="conv2")
    assert examples.correct.sum() == 3 and (~examples.correct).sum() == 3
    assert list(examples.correct) == [True] * 3 + [False] * 3            # correct ones first
    assert np.all(np.diff(examples.confidence[:3]) <= 0)                 # most confident first
    assert examples.maps.shape == (6, 32, 32) and examples.images.dtype == np.uint8
    fig = correct_vs_wrong_figure(examples)
    assert isinstance(fig, Figure)
    fig.savefig(io.BytesIO(), format="png")                              # it renders
    grid = explanation_grid(examples.images, {"Grad-CAM": examples.maps,
                                              "saliency": examples.maps[::-1]},
                            titles=[f"#{i}" for i in range(6)])
    assert isinstance(grid, Figure) and len(grid.axes) == 3 * 6 + 1     # + colorbar
    with pytest.raises(CifarEduError, match="one map per image"):
        explanation_grid(examples.images, examples.maps[:2])


def test_default_layer_is_used_when_none_given(tiny_model, images):
    np.testing.assert_allclose(gradcam(tiny_model, images[:2]),
                               gradcam(tiny_model, images[:2], layer="conv2"), atol=1e-6)
