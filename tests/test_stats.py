"""Tests of cifar_edu.stats: dataset statistics, checked against direct numpy formulas."""

from __future__ import annotations

import numpy as np
import pytest

from cifar_edu import stats
from cifar_edu.errors import CifarEduError, DataError


@pytest.fixture()
def small(rng):
    """40 random images of 4 classes (10 each), labels shaped (N, 1) like Keras'."""
    x = rng.integers(0, 256, size=(40, 8, 8, 3), dtype=np.uint8)
    y = np.repeat(np.arange(4), 10).reshape(-1, 1).astype(np.uint8)
    return x, y


def test_channel_mean_std_matches_numpy_and_ignores_chunking(small):
    x, _ = small
    mean, std = stats.channel_mean_std(x, chunk_size=7)
    expected = x.astype(np.float64)
    np.testing.assert_allclose(mean, expected.mean(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(std, expected.std(axis=(0, 1, 2)), rtol=1e-9)
    assert mean.shape == std.shape == (3,)


def test_channel_mean_std_of_constant_images_is_zero_spread():
    x = np.full((5, 4, 4, 3), 200, dtype=np.uint8)
    mean, std = stats.channel_mean_std(x)
    np.testing.assert_allclose(mean, 200.0)
    np.testing.assert_allclose(std, 0.0, atol=1e-9)


def test_class_mean_images_are_per_class_averages(small):
    x, y = small
    means = stats.class_mean_images(x, y, num_classes=5, chunk_size=6)
    assert means.shape == (5, 8, 8, 3)
    for k in range(4):
        np.testing.assert_allclose(means[k], x[y[:, 0] == k].mean(axis=0), rtol=1e-12)
    assert np.isnan(means[4]).all()  # a class without images


def test_brightness_contrast_is_mean_and_std_of_luma(small):
    x, _ = small
    brightness, contrast = stats.brightness_contrast(x, chunk_size=3)
    luma = x.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(brightness, luma.mean(axis=(1, 2)), rtol=1e-12)
    np.testing.assert_allclose(contrast, luma.std(axis=(1, 2)), rtol=1e-12)
    flat = np.full((1, 4, 4, 3), 90, dtype=np.uint8)
    assert stats.brightness_contrast(flat)[1][0] == pytest.approx(0.0, abs=1e-9)


def test_distances_match_direct_formula(small):
    x, y = small
    means = stats.class_mean_images(x, y, num_classes=4)
    dist = stats.distances_to_class_means(x, means, chunk_size=9)
    direct = np.sqrt(((x[:, None].astype(np.float64) - means[None]) ** 2).sum(axis=(2, 3, 4)))
    np.testing.assert_allclose(dist, direct, rtol=1e-9, atol=1e-6)
    np.testing.assert_array_equal(stats.nearest_class_mean(x, means), direct.argmin(axis=1))


def test_nearest_class_mean_recovers_separable_classes():
    # Two classes that differ only in brightness: the nearest mean must be right.
    x = np.concatenate([np.full((3, 4, 4, 3), 20), np.full((3, 4, 4, 3), 230)]).astype(np.uint8)
    y = np.array([0, 0, 0, 1, 1, 1])
    means = stats.class_mean_images(x, y, num_classes=2)
    np.testing.assert_array_equal(stats.nearest_class_mean(x, means), y)


def test_atypical_examples_pick_the_farthest_of_each_class():
    x = np.full((6, 4, 4, 3), 100, dtype=np.uint8)
    x[1] = 160  # the odd one of class 0
    x[5] = 0    # the odd one of class 1
    y = np.array([0, 0, 0, 1, 1, 1])
    means = stats.class_mean_images(x, y, num_classes=2)
    np.testing.assert_array_equal(stats.atypical_examples(x, y, means), [1, 5])
    assert len(stats.atypical_examples(x, y, means, per_class=2)) == 4


def test_ambiguous_examples_are_nearer_another_class():
    # Class 0 is dark, class 1 is bright; image 2 is labelled 0 but is bright.
    x = np.array([10, 10, 250, 240, 240, 240], dtype=np.uint8)[:, None, None, None]
    x = np.broadcast_to(x, (6, 4, 4, 3)).copy()
    y = np.array([0, 0, 0, 1, 1, 1])
    means = stats.class_mean_images(x, y, num_classes=2)
    indices, nearest = stats.ambiguous_examples(x, y, means, n=5)
    np.testing.assert_array_equal(indices, [2])
    np.testing.assert_array_equal(nearest, [1])


def test_lowest_contrast_examples_orders_ascending():
    contrast = np.array([5.0, 1.0, 3.0, 0.5])
    np.testing.assert_array_equal(stats.lowest_contrast_examples(contrast, n=2), [3, 1])


def test_works_on_the_shipped_sample(sample):
    mean, std = stats.channel_mean_std(sample.x_train)
    assert np.all((mean > 50) & (mean < 200)) and np.all((std > 30) & (std < 100))
    means = stats.class_mean_images(sample.x_train, sample.y_train)
    assert means.shape == (10, 32, 32, 3) and not np.isnan(means).any()
    accuracy = np.mean(stats.nearest_class_mean(sample.x_test, means) == sample.y_test[:, 0])
    assert 0.1 < accuracy < 0.6  # better than chance, far from a CNN


@pytest.mark.parametrize("call", [
    lambda: stats.channel_mean_std(np.zeros((4, 32, 32), dtype=np.uint8)),
    lambda: stats.channel_mean_std(np.zeros((0, 32, 32, 3), dtype=np.uint8)),
    lambda: stats.class_mean_images(np.zeros((4, 8, 8, 3), np.uint8), np.arange(3)),
    lambda: stats.class_mean_images(np.zeros((2, 8, 8, 3), np.uint8), np.array([0, 12])),
    lambda: stats.distances_to_class_means(np.zeros((2, 8, 8, 3), np.uint8),
                                           np.zeros((10, 32, 32, 3))),
    lambda: stats.distances_to_class_means(np.zeros((2, 8, 8, 3), np.uint8),
                                           np.full((2, 8, 8, 3), np.nan)),
])
def test_bad_input_raises_a_clear_error(call):
    with pytest.raises(DataError) as info:
        call()
    assert isinstance(info.value, CifarEduError)
    assert "pass" in str(info.value) or "compute" in str(info.value)
