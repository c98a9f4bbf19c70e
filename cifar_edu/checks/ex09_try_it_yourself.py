"""Checks of exercise 9 (try it yourself): a prediction function that takes any PNG, even a
grayscale one.

The references are the package's own prediction functions: :func:`cifar_edu.predict.
load_image`, :func:`~cifar_edu.predict.to_model_input` and
:func:`~cifar_edu.predict.make_prediction`. The test pictures are made here from a test
image of the shipped sample, enlarged and saved as PNG files in several modes.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from cifar_edu.checks import Fail, Pass, call_learner, check, describe, require_value
from cifar_edu.data import CLASS_NAMES, load_dataset
from cifar_edu.predict import (DEFAULT_UNSURE_THRESHOLD, load_image, predict_probabilities,
                               to_model_input)

__all__ = ["sample_pictures", "png_bytes", "check_read_rgb", "check_to_input",
           "check_predict_png", "check_unsure"]

# Mean absolute difference (0-255 units) below which two 32x32 inputs count as the same:
# Pillow's resampling filters differ by a few levels; a wrong crop differs by tens.
_SAME_INPUT = 4.0
# How far a reported probability may be from the model's on the package's input.
_PROB_TOLERANCE = 0.05


def png_bytes(image: Image.Image) -> bytes:
    """The bytes of ``image`` saved as a PNG file."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def sample_pictures() -> dict[str, bytes]:
    """PNG files made from the sample's first horse, enlarged to 128x128 pixels.

    Returns
    -------
    dict of str to bytes
        ``"RGB"``, ``"grayscale"`` (mode L), ``"palette"`` (mode P) and
        ``"wide grayscale"`` (mode L, 192x128 with grey bars left and right).
    """
    data = load_dataset("sample")
    labels = data.y_test.reshape(-1)
    horse = data.x_test[int(np.flatnonzero(labels == CLASS_NAMES.index("horse"))[0])]
    big = Image.fromarray(horse).resize((128, 128), Image.Resampling.BICUBIC)
    wide = Image.new("L", (192, 128), 128)
    wide.paste(big.convert("L"), (32, 0))
    return {"RGB": png_bytes(big), "grayscale": png_bytes(big.convert("L")),
            "palette": png_bytes(big.convert("P", palette=Image.Palette.ADAPTIVE)),
            "wide grayscale": png_bytes(wide)}


@check("Task 1, reading any PNG as RGB")
def check_read_rgb(read_rgb: object) -> Pass:
    """Check ``read_rgb(data)``: PNG bytes -> ``(H, W, 3)`` uint8 array, grayscale included."""
    for kind, data in sample_pictures().items():
        value = call_learner(read_rgb, data, name="read_rgb",
                             hint="open the bytes with Image.open(io.BytesIO(data)).")
        if isinstance(value, Image.Image):
            raise Fail(f"for the {kind} PNG, read_rgb returned a Pillow image, not an array.",
                       "return np.asarray(image), an array of shape (H, W, 3).")
        array = np.asarray(value)
        expected = np.asarray(load_image(data, max_size=None))
        if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 1):
            raise Fail(f"for the {kind} PNG, read_rgb returned shape {array.shape}: one "
                       "channel.", "convert every image to RGB before making the array: "
                                   "Image.open(...).convert('RGB') turns gray levels into "
                                   "three equal channels.")
        if array.ndim == 3 and array.shape[-1] == 4:
            raise Fail(f"for the {kind} PNG, read_rgb returned 4 channels (with alpha).",
                       "convert('RGB') drops the alpha channel.")
        if array.shape != expected.shape:
            raise Fail(f"for the {kind} PNG, read_rgb returned shape {array.shape}; the "
                       f"picture is {expected.shape}.",
                       "return the whole picture as (height, width, 3); np.asarray of a "
                       "Pillow image has rows first.")
        if array.dtype != np.uint8:
            hint = ("keep the 0-255 values: do not divide by 255; the model scales inside."
                    if array.max() <= 1.0 else "return uint8 values 0-255.")
            raise Fail(f"for the {kind} PNG, read_rgb returned dtype {array.dtype}.", hint)
        if np.abs(array.astype(int) - expected).max() > 1:
            raise Fail(f"for the {kind} PNG, the pixel values differ from the file's.",
                       "read the file with Pillow and convert('RGB') without other changes.")
    return Pass("RGB, grayscale and palette PNGs all become (H, W, 3) uint8 arrays.")


@check("Task 2, the model's 32x32 input")
def check_to_input(to_input: object) -> Pass:
    """Check ``to_input(image)``: centre square crop, resized to ``(32, 32, 3)`` uint8."""
    wide = np.asarray(load_image(sample_pictures()["wide grayscale"], max_size=None))
    tall = np.ascontiguousarray(np.transpose(wide, (1, 0, 2)))  # 128 wide, 192 high
    for kind, image in (("wide", wide), ("tall", tall)):
        value = call_learner(to_input, image.copy(), name="to_input",
                             hint="to_input takes an (H, W, 3) uint8 array; Image.fromarray "
                                  "turns it into a Pillow image.")
        array = np.asarray(value)
        if array.shape != (32, 32, 3):
            raise Fail(f"for a {image.shape[1]}x{image.shape[0]} picture, to_input returned "
                       f"shape {array.shape}.", "return a (32, 32, 3) array: resize to "
                                                "(32, 32) after the crop.")
        if array.dtype != np.uint8:
            raise Fail(f"`to_input` returned dtype {array.dtype}.",
                       "return uint8 pixels 0-255 (np.asarray of the resized Pillow image): "
                       "the model scales them itself.")
        expected = to_model_input(image)
        difference = np.abs(array.astype(float) - expected).mean()
        if difference <= _SAME_INPUT:
            continue
        squashed = np.asarray(Image.fromarray(image).resize((32, 32), Image.Resampling.LANCZOS))
        if np.abs(array.astype(float) - squashed).mean() <= _SAME_INPUT:
            raise Fail(f"the {kind} picture is squashed into 32x32 whole, grey bars included.",
                       "crop the centre square first (side = the shorter side), then resize: "
                       "CIFAR-10 objects fill the frame, and squashing distorts their shape.")
        side = min(image.shape[:2])
        corner = np.asarray(Image.fromarray(image[:side, :side]).resize(
            (32, 32), Image.Resampling.LANCZOS))
        if np.abs(array.astype(float) - corner).mean() <= _SAME_INPUT:
            raise Fail(f"the {kind} picture is cropped at its top-left corner.",
                       "centre the square: left = (width - side) // 2, top = (height - side) "
                       "// 2.")
        raise Fail(f"for the {kind} picture the input differs from the package's by "
                   f"{difference:.1f} levels on average.",
                   "crop the centre square, then resize it to 32x32 with "
                   "Image.Resampling.LANCZOS.")
    return Pass("wide and tall pictures: centre square, resized to (32, 32, 3) uint8.")


def _ranked(value: object, top_k: int) -> list[tuple[object, float]]:
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        raise Fail(f"`predict_png` returned {describe(value)}; expected a list of "
                   f"{top_k} (class name, probability) pairs.",
                   "return [(CLASS_NAMES[k], float(probs[k])) for k in order[:top_k]].")
    if len(value) != top_k:
        raise Fail(f"`predict_png` returned {len(value)} pairs for top_k={top_k}.",
                   "keep the top_k most probable classes: np.argsort(-probs)[:top_k].")
    return [(name, float(p)) for name, p in value]


@check("Task 3, predicting a grayscale PNG")
def check_predict_png(predict_png: object, model: object, top_k: int = 3) -> Pass:
    """Check ``predict_png(model, data, top_k)`` on a grayscale and an RGB PNG.

    The learner's pairs must name the classes, be sorted by probability, and give the
    probabilities the model returns for the package's input of the same file (within
    0.05: the learner's crop and resize may differ by a pixel level or two).
    """
    require_value(predict_png, "predict_png")
    pictures = sample_pictures()
    for kind in ("grayscale", "RGB"):
        data = pictures[kind]
        value = call_learner(predict_png, model, data, top_k=top_k, name="predict_png",
                             hint="predict_png(model, data, top_k=3): read the bytes with "
                                  "read_rgb, make the input with to_input, add a batch axis "
                                  "(image[np.newaxis]) and call the model.")
        ranked = _ranked(value, top_k)
        image = to_model_input(data)
        probs = predict_probabilities(model, image[np.newaxis])[0].astype(float)
        names = [name for name, _ in ranked]
        if all(isinstance(n, (int, np.integer)) for n in names):
            raise Fail("the pairs hold class numbers, not names.",
                       "name the classes: CLASS_NAMES[k].")
        unknown = [n for n in names if n not in CLASS_NAMES]
        if unknown:
            raise Fail(f"unknown class names {unknown}.", "use the names in CLASS_NAMES.")
        values = np.array([p for _, p in ranked])
        if values.max() > 1.0 + 1e-6:
            raise Fail("some probabilities are above 1 (percentages?).",
                       "report probabilities between 0 and 1, as the model returns them.")
        if np.any(np.diff(values) > 1e-9):
            raise Fail("the pairs are not sorted from most to least probable.",
                       "order the classes with np.argsort(-probs)[:top_k].")
        skewed = predict_probabilities(model, (image / 255.0)[np.newaxis])[0].astype(float)
        reported = np.array([probs[CLASS_NAMES.index(n)] for n in names])
        if np.abs(values - reported).max() > _PROB_TOLERANCE:
            if np.abs(values - np.array([skewed[CLASS_NAMES.index(n)] for n in names])
                      ).max() <= _PROB_TOLERANCE:
                raise Fail("the probabilities are those of the image divided by 255.",
                           "pass raw 0-255 pixels: every course model scales its inputs "
                           "itself, so scaling outside makes the image almost uniform.")
            raise Fail(f"for the {kind} PNG the probabilities differ from the model's: "
                       f"{[(n, round(p, 3)) for n, p in ranked]} vs "
                       f"{[(n, round(float(p), 3)) for n, p in zip(names, reported)]}.",
                       "run the model on the (1, 32, 32, 3) uint8 input of task 2 and report "
                       "its probabilities unchanged.")
        best = int(np.argmax(probs))
        second = np.sort(probs)[-2]
        if names[0] != CLASS_NAMES[best] and probs[best] - second > _PROB_TOLERANCE:
            raise Fail(f"the most probable class is {CLASS_NAMES[best]}, not {names[0]}.",
                       "sort all ten probabilities, not only some of them.")
    return Pass(f"grayscale and RGB PNGs: top {top_k} {names[0]!r} first, with the model's "
                "probabilities.")


@check("Task 4, the unsure flag")
def check_unsure(is_unsure: object, threshold: float = DEFAULT_UNSURE_THRESHOLD) -> Pass:
    """Check ``is_unsure(probabilities, threshold)``: True when the top-1 probability is below."""
    require_value(is_unsure, "is_unsure")
    cases = {
        "ten classes at 10% each": (np.full(10, 0.1), True),
        "one class at 90%": (np.array([0.9] + [0.1 / 9] * 9), False),
        f"top class exactly at {threshold:.0%}": (
            np.array([threshold] + [(1 - threshold) / 9] * 9), False),
        "two classes at 45% each": (np.array([0.45, 0.45] + [0.1 / 8] * 8), True),
    }
    for name, (probs, expected) in cases.items():
        value = call_learner(is_unsure, probs.copy(), threshold, name="is_unsure",
                             hint="is_unsure(probabilities, threshold) takes one row of "
                                  "probabilities (shape (10,)) and returns True or False.")
        if not isinstance(value, (bool, np.bool_)):
            raise Fail(f"`is_unsure` returned {describe(value)}, not True or False.",
                       "return a comparison, e.g. probabilities.max() < threshold.")
        if bool(value) != expected:
            if name.startswith("ten") or name.startswith("one"):
                raise Fail(f"for {name} it returned {bool(value)}.",
                           "unsure means the TOP-1 probability is BELOW the threshold: "
                           "probabilities.max() < threshold.")
            if name.startswith("top"):
                raise Fail(f"for the {name} it returned True.",
                           "at the threshold the prediction counts as sure: use < , not <=.")
            raise Fail(f"for {name} it returned {bool(value)}.",
                       "compare the largest probability with the threshold, not the gap "
                       "between the top two or the number of classes.")
    return Pass("flags the four test cases as the package's prediction functions do.")

