"""Checks of exercise 1 (the dataset): class balance and per-channel statistics.

The reference answers come from :mod:`cifar_edu.stats`, the functions lesson 1 uses.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from cifar_edu.checks import (Fail, Pass, as_float_array, call_learner, check,
                              describe, require_value)
from cifar_edu.data import NUM_CLASSES, load_dataset
from cifar_edu.stats import channel_mean_std

__all__ = ["check_class_counts", "check_channel_stats", "check_chunked_channel_stats",
           "check_normalization_layer"]

# Relative tolerance of "the same statistic": float32 accumulation is well within it.
_RTOL = 1e-3


def _close(a: np.ndarray, b: np.ndarray, rtol: float = _RTOL) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=1e-6))


@check("Task 1, images per class")
def check_class_counts(train_counts: object, y: np.ndarray) -> Pass:
    """Check the number of images of each class in the labels ``y``.

    Parameters
    ----------
    train_counts : array-like of int, shape (10,)
        The learner's counts, class 0 first.
    y : ndarray, shape (N,) or (N, 1)
        The labels they were computed from (``y_tr``).
    """
    counts = as_float_array(train_counts, "train_counts").reshape(-1)
    labels = np.asarray(y).reshape(-1)
    expected = np.bincount(labels, minlength=NUM_CLASSES)
    if counts.shape == (0,) or counts.size == 1:
        raise Fail(f"`train_counts` is {describe(train_counts)}, one number instead of one per "
                   "class.", "count every class: np.bincount(y_tr.reshape(-1), "
                            "minlength=NUM_CLASSES).")
    if counts.size != NUM_CLASSES:
        raise Fail(f"`train_counts` has {counts.size} entries instead of {NUM_CLASSES}, one "
                   "per class.", "np.bincount stops at the largest label it sees: pass "
                            "minlength=NUM_CLASSES so that every class gets an entry.")
    if np.isclose(counts.sum(), 1.0) and not np.isclose(expected.sum(), 1.0):
        raise Fail("your numbers add up to 1: they are shares, not counts.",
                   "count images (np.bincount); divide by len(y_tr) only for shares.")
    if np.array_equal(counts, expected):
        spread = f"{expected.min():,} to {expected.max():,}" if expected.min() != expected.max() \
            else f"{expected.min():,}"
        return Pass(f"{int(expected.sum()):,} images, {spread} per class.")
    if counts.sum() != expected.sum():
        raise Fail(f"your counts add up to {int(counts.sum()):,}, but the split has "
                   f"{len(labels):,} images.",
                   "count the labels of the training split y_tr (after the validation split), "
                   "not of y_train or y_test.")
    if np.array_equal(np.sort(counts), np.sort(expected)):
        raise Fail("the right counts, in the wrong order.",
                   "entry k must be the count of class k (CLASS_NAMES[k]); np.bincount gives "
                   "that order.")
    raise Fail(f"expected {expected.tolist()}, got {counts.astype(int).tolist()}.",
               "np.bincount(y_tr.reshape(-1), minlength=NUM_CLASSES) counts each class.")


def _shape_problem(value: np.ndarray, name: str, x: np.ndarray) -> Fail | None:
    """A specific hint when a statistic does not have one value per channel."""
    if value.shape == (3,):
        return None
    axis_hint = ("average over images, rows and columns together, keeping the channel axis: "
                 "axis=(0, 1, 2).")
    if value.shape == (len(x), 3):
        return Fail(f"`{name}` has one value per image and channel {value.shape}.",
                    "that is a per-image statistic; " + axis_hint)
    if value.shape == x.shape[1:]:
        return Fail(f"`{name}` has one value per pixel position {value.shape}.",
                    "that is the mean image (lesson 1's class means); " + axis_hint)
    if value.shape == ():
        return Fail(f"`{name}` is a single number for all three channels.",
                    "each colour channel gets its own constant; " + axis_hint)
    return Fail(f"`{name}` has shape {value.shape}; expected (3,), one value per channel "
                "(red, green, blue).", axis_hint)


@check("Task 2, per-channel mean and standard deviation")
def check_channel_stats(channel_mean: object, channel_std: object, x: np.ndarray) -> Pass:
    """Check the mean and standard deviation of each colour channel of the images ``x``.

    Parameters
    ----------
    channel_mean, channel_std : array-like, shape (3,)
        The learner's statistics, in pixel units (0-255).
    x : ndarray, shape (N, 32, 32, 3)
        The images they describe.
    """
    require_value(channel_mean, "channel_mean")
    require_value(channel_std, "channel_std")
    mean = as_float_array(channel_mean, "channel_mean")
    std = as_float_array(channel_std, "channel_std")
    x = np.asarray(x)
    for value, name in ((mean, "channel_mean"), (std, "channel_std")):
        problem = _shape_problem(value, name, x)
        if problem:
            raise problem
    ref_mean, ref_std = channel_mean_std(x)
    if _close(mean, ref_mean / 255) or _close(std, ref_std / 255):
        raise Fail("your values are 255 times too small: they are on the 0-1 scale.",
                   "compute them on the raw 0-255 pixels (x as loaded), not on x / 255: the "
                   "Normalization layer inside the model receives raw pixels.")
    if _close(mean, ref_std) and _close(std, ref_mean):
        raise Fail("mean and standard deviation are swapped.",
                   "channel_mean = x.mean(...), channel_std = x.std(...).")
    mean_ok = _close(mean, ref_mean)
    if not mean_ok:
        if np.allclose(mean, ref_mean, rtol=0.05):
            raise Fail(f"your means {np.round(mean, 1)} are close to but not "
                       f"{np.round(ref_mean, 1)}.",
                       "use exactly the images the task names (the training split x_tr, "
                       "without the validation images or the test set).")
        raise Fail(f"expected means {np.round(ref_mean, 2)}, got {np.round(mean, 2)}.",
                   "x.mean(axis=(0, 1, 2)) averages every pixel of every image per channel.")
    if _close(std, np.square(ref_std)):
        raise Fail("`channel_std` holds variances (squared standard deviations).",
                   "take the square root, or use x.std(...) instead of x.var(...).")
    if not _close(std, ref_std):
        per_image = x.std(axis=(1, 2), dtype=np.float64).mean(axis=0)
        if _close(std, per_image, rtol=1e-2):
            raise Fail("your standard deviations are the average spread *within* each image, "
                       "which misses how much images differ from each other.",
                       "take the standard deviation over all pixels of all images at once: "
                       "x.std(axis=(0, 1, 2)).")
        if np.allclose(std, ref_std, rtol=0.05):
            raise Fail(f"your standard deviations {np.round(std, 1)} are close to but not "
                       f"{np.round(ref_std, 1)}.",
                       "use exactly the images the task names, and the mean of the same "
                       "images.")
        raise Fail(f"expected standard deviations {np.round(ref_std, 2)}, got "
                   f"{np.round(std, 2)}.", "x.std(axis=(0, 1, 2)) per channel.")
    return Pass(f"mean {np.round(ref_mean, 1)}, std {np.round(ref_std, 1)} (red, green, "
                "blue; 0-255 scale).")


def _chunk_stds(x: np.ndarray, chunk_size: int) -> np.ndarray:
    """The wrong answer "mean of the chunks' standard deviations"."""
    stds = [x[i:i + chunk_size].std(axis=(0, 1, 2), dtype=np.float64)
            for i in range(0, len(x), chunk_size)]
    return np.mean(stds, axis=0)


@check("Task 3, statistics in chunks")
def check_chunked_channel_stats(channel_mean_std_chunked: object) -> Pass:
    """Check a function ``f(x, chunk_size)`` that returns per-channel mean and std in chunks.

    The function runs on the shipped sample's 1,000 training images with
    ``chunk_size=128`` while the memory numpy allocates is traced: it must match
    :func:`cifar_edu.stats.channel_mean_std` and stay well below the 25 MB that a
    float64 copy of those images takes.
    """
    x = load_dataset("sample").x_train
    chunk_size = 128  # does not divide 1,000: the last chunk is smaller
    full_copy = x.size * 8
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        start, _ = tracemalloc.get_traced_memory()
        result = call_learner(channel_mean_std_chunked, x, chunk_size=chunk_size,
                              name="channel_mean_std_chunked",
                              hint="the function must take the images and a keyword argument "
                                   "chunk_size: def channel_mean_std_chunked(x, chunk_size=1000)")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    if not isinstance(result, tuple) or len(result) != 2:
        raise Fail(f"the function returned {describe(result)}; expected a pair (mean, std).",
                   "end it with `return mean, std`.")
    mean, std = (as_float_array(v, name) for v, name in zip(result, ("mean", "std")))
    for value, name in ((mean, "mean"), (std, "std")):
        problem = _shape_problem(value, f"the returned {name}", x)
        if problem:
            raise problem
    ref_mean, ref_std = channel_mean_std(x)
    if not _close(mean, ref_mean):
        if _close(mean, ref_mean / 255):
            raise Fail("the mean is on the 0-1 scale.", "do not divide the pixels by 255.")
        chunk_means = np.mean([x[i:i + chunk_size].mean(axis=(0, 1, 2), dtype=np.float64)
                               for i in range(0, len(x), chunk_size)], axis=0)
        if _close(mean, chunk_means, rtol=1e-5):
            raise Fail("the mean is the average of the chunks' means; the last chunk is "
                       "smaller, so it gets too much weight.",
                       "add up the pixel values (and count the pixels) over all chunks, and "
                       "divide once at the end.")
        raise Fail(f"on the sample the mean should be {np.round(ref_mean, 2)}, got "
                   f"{np.round(mean, 2)}.",
                   "add up the pixel values of every chunk (per channel), and divide by the "
                   "total number of pixels at the end; the last chunk can be smaller.")
    if not _close(std, ref_std):
        if _close(std, _chunk_stds(x, chunk_size), rtol=1e-2):
            raise Fail("the standard deviation is the average of the chunks' standard "
                       "deviations, which misses the differences between chunks.",
                       "accumulate the sum of x and the sum of x**2 per channel over all "
                       "chunks; at the end std = sqrt(E[x^2] - E[x]^2).")
        raise Fail(f"on the sample the std should be {np.round(ref_std, 2)}, got "
                   f"{np.round(std, 2)}.",
                   "accumulate sums of x and of x**2 (in float64) over the chunks; "
                   "std = sqrt(E[x^2] - E[x]^2).")
    used = max(peak - start, 0)
    if used > 0.5 * full_copy:
        raise Fail(f"right values, but the function allocated {used / 1e6:.0f} MB at once for "
                   f"{x.nbytes / 1e6:.1f} MB of images (a float64 copy of all of them is "
                   f"{full_copy / 1e6:.0f} MB).",
                   "convert only one chunk to float at a time: loop over "
                   "x[start:start + chunk_size] and never call astype on the whole array.")
    return Pass(f"the same values as cifar_edu.stats.channel_mean_std, using at most "
                f"{used / 1e6:.1f} MB at a time instead of {full_copy / 1e6:.0f} MB.")


def _layer_constants(layer: object) -> tuple[np.ndarray, np.ndarray]:
    """The per-channel mean and std a layer applies, read from what it does to flat images."""
    if not callable(layer):
        raise Fail(f"`normalize` should be a Keras layer, but it is {describe(layer)}.",
                   "keras.layers.Normalization(mean=channel_mean, variance=channel_std**2).")
    probe = np.zeros((2, 4, 4, 3), dtype="float32")
    probe[1] = 255.0
    try:
        out = np.asarray(layer(probe), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - an unadapted or wrongly built layer
        raise Fail(f"calling the layer on a batch of images raised {type(exc).__name__}: {exc}",
                   "give the constants when you create it: keras.layers.Normalization("
                   "mean=..., variance=...), or call its adapt() method first.") from None
    if out.shape != probe.shape:
        raise Fail(f"the layer turns images of shape {probe.shape} into {out.shape}.",
                   "a Normalization layer keeps the shape of the images (axis=-1, the "
                   "channels).")
    low, high = out[0, 0, 0], out[1, 0, 0]  # (0 - m) / s and (255 - m) / s per channel
    with np.errstate(divide="ignore", invalid="ignore"):
        std = 255.0 / (high - low)
    return -low * std, std


@check("Task 4, a normalisation layer")
def check_normalization_layer(normalize: object, x: np.ndarray) -> Pass:
    """Check a layer that standardises raw images with the per-channel constants of ``x``.

    Parameters
    ----------
    normalize : keras.layers.Layer
        Usually ``keras.layers.Normalization(mean=..., variance=...)``.
    x : ndarray, shape (N, 32, 32, 3)
        The training images whose statistics it must use.
    """
    require_value(normalize, "normalize")
    mean, std = _layer_constants(normalize)
    ref_mean, ref_std = channel_mean_std(np.asarray(x))
    if np.allclose(std, 1.0, rtol=1e-3) and np.allclose(mean, 0.0, atol=1e-3):
        raise Fail("the layer leaves the pixels unchanged.",
                   "pass the statistics: keras.layers.Normalization(mean=channel_mean, "
                   "variance=channel_std**2).")
    if _close(mean, ref_mean / 255):
        raise Fail("the layer uses constants of the 0-1 scale, but it receives raw 0-255 "
                   "pixels.", "use the mean and variance of the raw pixels (x_tr as loaded).")
    if _close(std, np.sqrt(ref_std)):
        raise Fail("the layer divides by the square root of the standard deviation: it was "
                   "given the standard deviation as its variance.",
                   "Normalization takes variance=channel_std**2.")
    if np.ptp(mean) == 0 and np.ptp(ref_mean) > 0:
        raise Fail("the layer uses one constant for all three channels.",
                   "pass one mean and one variance per channel (arrays of shape (3,)).")
    if _close(mean, ref_mean) and _close(std, ref_std):
        return Pass("the layer turns each channel of the training images into mean 0 and "
                    "standard deviation 1.")
    if np.allclose(mean, ref_mean, rtol=0.05) and np.allclose(std, ref_std, rtol=0.05):
        raise Fail("the constants are close, but not those of the training split.",
                   "compute them on x_tr only: statistics of x_train include the validation "
                   "images, and statistics of x_test leak the test set into the model.")
    raise Fail(f"the layer subtracts {np.round(mean, 1)} and divides by {np.round(std, 1)}; "
               f"expected {np.round(ref_mean, 1)} and {np.round(ref_std, 1)}.",
               "keras.layers.Normalization(mean=channel_mean, variance=channel_std**2) with "
               "the statistics of x_tr.")

