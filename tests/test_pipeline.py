"""tf.data pipelines and augmentation layers: shapes, dtypes, determinism, each switch."""

from __future__ import annotations

import numpy as np
import pytest

from cifar_edu.augment import AugmentConfig, Cutout, build_augmentation, preview_augmentation
from cifar_edu.pipeline import make_dataset


def _first(ds):
    return next(iter(ds))


def test_batches_shapes_and_dtypes(sample):
    images, labels = _first(make_dataset(sample.x_train, sample.y_train, batch_size=32))
    assert images.shape == (32, 32, 32, 3) and images.dtype.name == "float32"
    assert labels.shape == (32,) and labels.dtype.name == "int32"
    assert float(images.numpy().max()) <= 255.0
    np.testing.assert_array_equal(images.numpy()[0], sample.x_train[0].astype("float32"))


def test_one_hot_labels_and_images_only(sample):
    _, labels = _first(make_dataset(sample.x_train, sample.y_train, batch_size=8, one_hot=True))
    assert labels.shape == (8, 10)
    np.testing.assert_allclose(labels.numpy().sum(axis=1), 1.0)
    images = _first(make_dataset(sample.x_test, batch_size=8))
    assert images.shape == (8, 32, 32, 3)


def test_covers_every_image_once_per_epoch(sample):
    ds = make_dataset(sample.x_train, sample.y_train, batch_size=300, shuffle=True, seed=1)
    labels = np.concatenate([t.numpy() for _, t in ds])
    assert len(labels) == len(sample.y_train)
    np.testing.assert_array_equal(np.sort(labels), np.sort(sample.y_train.ravel()))
    dropped = make_dataset(sample.x_train, sample.y_train, batch_size=300, drop_remainder=True)
    assert sum(1 for _ in dropped) == len(sample.y_train) // 300


def test_shuffle_is_seeded_and_reshuffles_each_epoch(sample):
    def order(seed):
        ds = make_dataset(sample.x_train, sample.y_train, batch_size=1000, shuffle=True, seed=seed)
        return [t.numpy() for _, t in ds.repeat(2)]

    a, b, c = order(0), order(0), order(1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])  # a new order in the second epoch
    assert not np.array_equal(a[0], c[0])


def test_augmented_pipeline_is_deterministic_with_a_seed(sample):
    def batch(seed):
        augment = build_augmentation(flip=True, translate=4, rotation=10, zoom=0.1, cutout=8,
                                     seed=seed)
        ds = make_dataset(sample.x_train, sample.y_train, batch_size=64, shuffle=True, seed=seed,
                          augment=augment)
        return _first(ds)[0].numpy()

    first, again, other = batch(3), batch(3), batch(4)
    np.testing.assert_allclose(first, again)
    assert np.abs(first - other).max() > 0


def test_bad_inputs_are_refused(sample):
    with pytest.raises(ValueError, match="32, 32, 3"):
        make_dataset(np.zeros((4, 28, 28, 1), np.uint8))
    with pytest.raises(ValueError, match="labels"):
        make_dataset(sample.x_train[:4], sample.y_train[:3])
    with pytest.raises(ValueError, match="batch_size"):
        make_dataset(sample.x_train[:4], batch_size=0)


def test_default_config_is_flip_and_translate():
    config = AugmentConfig()
    assert config.flip and config.translate == 4 and not config.cutout
    names = [type(layer).__name__ for layer in build_augmentation(seed=0).layers]
    assert names == ["RandomFlip", "RandomTranslation"]


@pytest.mark.parametrize(
    "switch, layer",
    [({"flip": True}, "RandomFlip"), ({"translate": 4}, "RandomTranslation"),
     ({"rotation": 15}, "RandomRotation"), ({"zoom": 0.2}, "RandomZoom"), ({"cutout": 8}, "Cutout")],
)
def test_each_augmentation_is_switchable(sample, switch, layer):
    off = {"flip": False, "translate": 0, "rotation": 0, "zoom": 0, "cutout": 0}
    augment = build_augmentation(seed=0, **{**off, **switch})
    assert [type(l).__name__ for l in augment.layers] == [layer]
    images = sample.x_train[:8].astype("float32")
    out = np.asarray(augment(images, training=True))
    assert out.shape == images.shape
    assert not np.allclose(out, images)  # something changed
    np.testing.assert_allclose(np.asarray(augment(images, training=False)), images)


def test_translation_moves_whole_pixels(sample):
    augment = build_augmentation(flip=False, translate=4, seed=0)
    out = np.asarray(augment(sample.x_train[:16].astype("float32"), training=True))
    np.testing.assert_allclose(out, np.rint(out))  # no interpolation blur


def test_cutout_blanks_a_square_of_the_given_size():
    images = np.full((32, 32, 32, 3), 200.0, np.float32)
    out = np.asarray(Cutout(8, seed=0)(images, training=True))
    blank = (out == 0).all(axis=-1)
    assert blank.sum(axis=(1, 2)).max() == 64 and blank.sum(axis=(1, 2)).min() >= 16
    rows = np.where(blank[0].any(axis=1))[0]
    assert len(rows) <= 8 and (np.diff(rows) == 1).all()


def test_cutout_serialises():
    import keras

    layer = Cutout(6, seed=1)
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(clone, Cutout) and clone.size == 6


def test_preview_shape(sample):
    preview = preview_augmentation(sample.x_train[:3], build_augmentation(seed=0), n_variants=5)
    assert preview.shape == (3, 5, 32, 32, 3) and preview.dtype == np.uint8
