"""Checks of exercise 2: scaling inside the model, an augmentation pipeline, tf.data pipelines.

The references are the conventions of lesson 2 and the layers that
:func:`cifar_edu.augment.build_augmentation` builds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import keras
import numpy as np

from cifar_edu.augment import Cutout
from cifar_edu.checks import Fail, NotDone, Pass, check, describe, require_value
from cifar_edu.data import NUM_CLASSES

__all__ = ["check_model_scales_inside", "check_augmentation", "check_pipelines",
           "check_safe_augmentations", "SAFE_AUGMENTATIONS"]

#: Task 4: is each transformation safe for CIFAR-10 (keeps the label, gives realistic images)?
SAFE_AUGMENTATIONS = {
    "horizontal flip": True,
    "vertical flip": False,
    "shift by up to 4 pixels": True,
    "rotation by up to 180 degrees": False,
    "cutout of an 8x8 square": True,
    "random 12x12 crop enlarged to 32x32": False,
}

_WHY = {
    "horizontal flip": "the world looks the same in a mirror: a mirrored car is still a car.",
    "vertical flip": "upside-down ships and horses do not occur in photographs; the model "
                     "would learn to recognise images it will never see.",
    "shift by up to 4 pixels": "a small shift keeps the whole object in view: the classic "
                               "pad-and-crop of CIFAR-10.",
    "rotation by up to 180 degrees": "large rotations make tilted horizons and sideways or "
                                     "upside-down objects that the test images do not "
                                     "contain; only small rotations are safe.",
    "cutout of an 8x8 square": "the object is still there, only partly hidden: the label "
                               "stays right and the model must use the whole object.",
    "random 12x12 crop enlarged to 32x32": "a small crop often shows only background or a "
                                           "wheel: the label no longer matches the image.",
}

_SCALING = (keras.layers.Rescaling, keras.layers.Normalization)
_FEATURE = (keras.layers.Conv2D, keras.layers.Dense, keras.layers.DepthwiseConv2D,
            keras.layers.SeparableConv2D)


def _leaf_layers(layer: keras.layers.Layer) -> Iterator[keras.layers.Layer]:
    """Layers in order, looking inside nested Sequential/Model blocks."""
    for sub in getattr(layer, "layers", []):
        if isinstance(sub, keras.Model):  # a nested Sequential or functional block
            yield from _leaf_layers(sub)
        else:
            yield sub


@check("Task 1, a model that scales its own inputs")
def check_model_scales_inside(model: object, x: np.ndarray) -> Pass:
    """Check that ``model`` takes raw 0-255 images, scales them inside and returns probabilities.

    Parameters
    ----------
    model : keras.Model
        The learner's model.
    x : ndarray, shape (N, 32, 32, 3)
        Raw training images (uint8) to try it on.
    """
    require_value(model, "model")
    if not isinstance(model, keras.Model):
        raise Fail(f"`model` should be a keras.Model, but it is {describe(model)}.",
                   "build it with keras.Sequential([...]) or keras.Model(inputs, outputs).")
    shape = tuple(getattr(model, "input_shape", ()) or ())
    if len(shape) != 4 or tuple(shape[1:]) != (32, 32, 3):
        raise Fail(f"the model's input shape is {shape}; CIFAR-10 images are (32, 32, 3).",
                   "start with keras.Input((32, 32, 3)).")
    layers = list(_leaf_layers(model))
    scaling = [i for i, layer in enumerate(layers) if isinstance(layer, _SCALING)]
    if not scaling:
        raise Fail("the model has no Rescaling or Normalization layer: its first layer gets "
                   "raw pixels of 0-255.",
                   "scale inside the model: put keras.layers.Rescaling(1 / 255) or the "
                   "Normalization layer right after the input, so every caller can pass raw "
                   "images.")
    first = scaling[0]
    before = [layer.name for layer in layers[:first] if isinstance(layer, _FEATURE)]
    if before:
        raise Fail(f"the layer(s) {before} come before the scaling layer and see raw pixels.",
                   "the scaling layer must be the first layer after the input.")
    layer = layers[first]
    batch = np.asarray(x[:16], dtype="float32")
    scaled = np.asarray(layer(batch), dtype=np.float64)
    if isinstance(layer, keras.layers.Rescaling) and np.isclose(float(np.ravel(layer.scale)[0]),
                                                                255.0):
        raise Fail("Rescaling(255) multiplies the pixels by 255 instead of dividing.",
                   "use keras.layers.Rescaling(1 / 255).")
    if np.abs(scaled).max() > 10:
        raise Fail(f"after the scaling layer the values still reach {np.abs(scaled).max():.0f}: "
                   "it does not bring the pixels near unit scale.",
                   "Rescaling(1 / 255) maps 0-255 to 0-1; Normalization needs the mean and "
                   "variance of the raw training pixels.")
    if scaled.std() < 0.05:
        raise Fail(f"after the scaling layer the values hardly vary (std {scaled.std():.3f}): "
                   "the images are scaled twice or by the wrong constants.",
                   "pass raw 0-255 images to the model and scale them once, inside.")
    probs = np.asarray(model(batch, training=False), dtype=np.float64)
    if probs.shape != (len(batch), NUM_CLASSES):
        raise Fail(f"for {len(batch)} images the model returns shape {probs.shape}; expected "
                   f"({len(batch)}, {NUM_CLASSES}).",
                   f"end with keras.layers.Dense({NUM_CLASSES}, activation='softmax') after a "
                   "pooling or Flatten layer.")
    if probs.min() < -1e-6 or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
        raise Fail("the outputs are not probabilities (each row must be >= 0 and sum to 1).",
                   "give the last Dense layer activation='softmax'.")
    return Pass(f"raw uint8 images in, {type(layer).__name__} inside, probabilities "
                f"{probs.shape} out.")


def _factor_range(factor: object) -> tuple[float, float]:
    if isinstance(factor, (tuple, list)):
        low, high = (float(v) for v in factor)
        return low, high
    value = float(factor)  # type: ignore[arg-type]
    return -value, value


@check("Task 2, an augmentation pipeline")
def check_augmentation(augment: object, translate: int = 3, cutout: int = 8) -> Pass:
    """Check a pipeline with a horizontal flip, a shift of ``translate`` pixels and cutout.

    Parameters
    ----------
    augment : keras.layers.Layer
        Usually a ``keras.Sequential`` of preprocessing layers.
    translate : int
        Maximum shift in pixels asked for, in both directions.
    cutout : int
        Side of the cutout square asked for.
    """
    require_value(augment, "augment")
    if not isinstance(augment, keras.layers.Layer):
        raise Fail(f"`augment` should be a Keras layer (e.g. keras.Sequential), but it is "
                   f"{describe(augment)}.",
                   "build it from preprocessing layers, or with cifar_edu.augment."
                   "build_augmentation(...).")
    layers = list(_leaf_layers(augment)) if getattr(augment, "layers", None) else [augment]
    flips = [layer for layer in layers if isinstance(layer, keras.layers.RandomFlip)]
    shifts = [layer for layer in layers if isinstance(layer, keras.layers.RandomTranslation)]
    cutouts = [layer for layer in layers if isinstance(layer, Cutout)]
    others = [type(layer).__name__ for layer in layers
              if not isinstance(layer, (keras.layers.RandomFlip, keras.layers.RandomTranslation,
                                        Cutout))]
    if not flips:
        raise Fail("the pipeline has no flip.", "add keras.layers.RandomFlip('horizontal').")
    mode = getattr(flips[0], "mode", "")
    if mode == "vertical":
        raise Fail("the flip is vertical: it turns images upside down.",
                   "CIFAR-10 objects are photographed upright; use RandomFlip('horizontal').")
    if mode != "horizontal":
        raise Fail(f"the flip mode is {mode!r}, which includes vertical flips.",
                   "use RandomFlip('horizontal') only: upside-down ships are not realistic.")
    if not shifts:
        raise Fail("the pipeline has no translation.",
                   f"add keras.layers.RandomTranslation({translate}/32, {translate}/32, "
                   "fill_mode='reflect').")
    wanted = translate / 32
    for name in ("height_factor", "width_factor"):
        low, high = _factor_range(getattr(shifts[0], name))
        if np.isclose(high, translate) or np.isclose(high, translate / 10):
            raise Fail(f"the translation's {name} is {high:g}, a fraction of the image size, "
                       f"not pixels.", f"{translate} pixels of 32 is {translate}/32 = "
                       f"{wanted:.4f}.")
        if not (np.isclose(-low, wanted, atol=2e-3) and np.isclose(high, wanted, atol=2e-3)):
            raise Fail(f"the translation's {name} allows shifts of {low * 32:+.1f} to "
                       f"{high * 32:+.1f} pixels; the task asks for up to {translate} pixels "
                       "either way.", f"pass {translate}/32 as both height_factor and "
                                      "width_factor (a fraction of the image size).")
    if not cutouts:
        raise Fail("the pipeline has no cutout.",
                   f"add cifar_edu.augment.Cutout({cutout}), or build_augmentation(cutout="
                   f"{cutout}).")
    if cutouts[0].size != cutout:
        raise Fail(f"the cutout square is {cutouts[0].size}x{cutouts[0].size} pixels.",
                   f"the task asks for {cutout}x{cutout}: Cutout({cutout}).")
    if others:
        raise Fail(f"the pipeline also has {others}.",
                   "keep only the three augmentations the task names (build_augmentation "
                   "turns on flip and translation by default: set the others to 0).")
    batch = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("float32")
    same = np.asarray(augment(batch, training=False))
    if not np.allclose(same, batch):
        raise Fail("the pipeline changes images when called with training=False.",
                   "use Keras preprocessing layers: they only augment with training=True, so "
                   "validation and test images pass unchanged.")
    changed = np.asarray(augment(batch, training=True))
    if changed.shape != batch.shape or changed.min() < -1e-3 or changed.max() > 255.001:
        raise Fail(f"augmented images have shape {changed.shape} and values "
                   f"{changed.min():.1f} to {changed.max():.1f}.",
                   "the augmentation must keep 32x32x3 images in the 0-255 range.")
    return Pass(f"horizontal flip, shifts of up to {translate} pixels, {cutout}x{cutout} "
                "cutout; images unchanged with training=False.")


def _first_batch(ds: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    require_value(ds, name)
    if not hasattr(ds, "element_spec") or not hasattr(ds, "take"):
        raise Fail(f"`{name}` should be a tf.data.Dataset, but it is {describe(ds)}.",
                   "build it with cifar_edu.pipeline.make_dataset(x, y, ...).")
    element = next(iter(ds.take(1)))
    if not isinstance(element, tuple) or len(element) != 2:
        raise Fail(f"`{name}` yields {describe(element)} instead of (images, labels) pairs.",
                   "pass the labels too: make_dataset(x, y, ...).")
    images, labels = (np.asarray(t) for t in element)
    if labels.ndim == 2 and labels.shape[1] == NUM_CLASSES:  # one-hot labels
        labels = labels.argmax(axis=1)
    return images, labels.reshape(-1)


@check("Task 3, training and validation pipelines")
def check_pipelines(train_ds: object, val_ds: object, x_tr: np.ndarray, y_tr: np.ndarray,
                    x_val: np.ndarray, y_val: np.ndarray, batch_size: int = 64) -> Pass:
    """Check a shuffled, augmented training pipeline and a plain validation pipeline.

    Parameters
    ----------
    train_ds, val_ds : tf.data.Dataset
        The learner's pipelines of ``(images, labels)`` batches.
    x_tr, y_tr, x_val, y_val : ndarray
        The splits they were built from.
    batch_size : int
        Training batch size the task asks for.
    """
    require_value(train_ds, "train_ds")
    require_value(val_ds, "val_ds")
    val_images, val_labels = _first_batch(val_ds, "val_ds")
    n = len(val_labels)
    expected_labels = np.asarray(y_val).reshape(-1)[:n]
    if not np.array_equal(val_labels, expected_labels):
        raise Fail("the validation batches are not in the order of x_val.",
                   "do not shuffle the validation split (shuffle=False, the default): "
                   "evaluation needs no randomness, and fixed order makes results "
                   "reproducible.")
    if not np.allclose(val_images, np.asarray(x_val[:n], dtype="float32")):
        raise Fail("the validation images are changed on their way through the pipeline.",
                   "never augment the validation (or test) split: it must measure the model "
                   "on the images as they are. Pass augment only to the training pipeline.")
    images, labels = _first_batch(train_ds, "train_ds")
    if len(labels) != batch_size:
        raise Fail(f"the training batches hold {len(labels)} images; the task asks for "
                   f"{batch_size}.", f"make_dataset(..., batch_size={batch_size}).")
    if np.array_equal(labels, np.asarray(y_tr).reshape(-1)[:batch_size]):
        raise Fail("the first training batch holds the first training images in order.",
                   "shuffle the training split (shuffle=True) so that every batch mixes the "
                   "classes and every epoch sees a new order.")
    # Hashes, not the images: 45,000 training images as bytes objects would take 140 MB.
    known = {hash(image.tobytes()) for image in np.asarray(x_tr, dtype=np.uint8)}
    unchanged = sum(hash(np.asarray(image, dtype=np.uint8).tobytes()) in known
                    for image in images)
    if unchanged == len(images):
        raise Fail("every image of the first training batch is an unchanged training image.",
                   "pass the augmentation to the training pipeline: make_dataset(..., "
                   "augment=augment).")
    return Pass(f"training batches of {batch_size}, shuffled and augmented "
                f"({len(images) - unchanged} of {len(images)} images changed); validation "
                "batches unchanged and in order.")


@check("Task 4, safe augmentations")
def check_safe_augmentations(safe: object) -> Pass:
    """Check the True/False answers to "is this augmentation safe for CIFAR-10?".

    Parameters
    ----------
    safe : dict
        One entry per key of :data:`SAFE_AUGMENTATIONS`, True or False.
    """
    require_value(safe, "safe")
    if not isinstance(safe, Mapping):
        raise Fail(f"`safe` should be a dict, but it is {describe(safe)}.",
                   "keep the dict of the task and replace each None by True or False.")
    unknown = sorted(set(safe) - set(SAFE_AUGMENTATIONS))
    if unknown:
        raise Fail(f"unknown entries {unknown}.", "keep the keys of the task as they are.")
    missing = [k for k in SAFE_AUGMENTATIONS if safe.get(k) is None]
    if len(missing) == len(SAFE_AUGMENTATIONS):
        raise NotDone("every answer is still None: replace each None by True or False.")
    if missing:
        raise NotDone(f"{len(missing)} answer(s) still None: {missing}.")
    wrong = [k for k, v in SAFE_AUGMENTATIONS.items() if bool(safe[k]) != v]
    if wrong:
        first = wrong[0]
        raise Fail(f"{len(wrong)} of {len(SAFE_AUGMENTATIONS)} answers are not right yet: "
                   f"{wrong}.", f"{first}: {_WHY[first]}")
    return Pass("all six right: an augmentation is safe when (almost) every transformed image "
                "still shows its label and looks like a real photograph.")
