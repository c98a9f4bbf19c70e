"""Reading any image a learner brings, and turning it into a 32x32 CIFAR-10 input.

:func:`load_image` accepts a path, raw bytes or a Pillow image and always returns an
RGB Pillow image, or raises :class:`~cifar_edu.errors.ImageError` with a message that
says what is wrong with the file. It deals with the things real files do:

* EXIF orientation (phone photos are often stored sideways) is applied;
* grayscale (``1``, ``L``), 16-bit and 32-bit integer (``I;16``, ``I``) and float
  (``F``) images are scaled to 0-255 from their own bit depth, not clipped;
* transparency (``RGBA``, ``LA``, palette with a transparent colour) is composited
  on white, so a transparent background does not turn black;
* CMYK and other colour spaces are converted to RGB;
* animated GIF/WebP/PNG give their first frame;
* huge images are decoded at reduced size (a JPEG at 1/2 to 1/8 scale with
  ``draft``, then an integer shrink with ``reduce``), so a 12-megapixel photo is
  read in tens of milliseconds; Pillow's decompression-bomb limit
  (:data:`PIL.Image.MAX_IMAGE_PIXELS`) is kept, and even its warning is an error.

:func:`to_model_input` then crops the centre square and resizes it to 32x32.
This module does not import TensorFlow.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cifar_edu.errors import ImageError

__all__ = ["ImageSource", "DEFAULT_MAX_SIZE", "INPUT_SIZE", "load_image", "to_model_input",
           "image_name", "save_image"]

#: Everything :func:`load_image` accepts.
ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, Image.Image, np.ndarray]

#: Side of the images the models take.
INPUT_SIZE = 32

#: Longest side an image is shrunk to while loading. The model only sees 32x32, so
#: 512 keeps far more detail than needed and makes every later step cheap.
DEFAULT_MAX_SIZE = 512

# to_model_input decodes JPEGs at no less than this many times the output size.
_DRAFT_FACTOR = 4

# Modes whose values are not 0-255 and must be rescaled before conversion (Pillow's
# own convert("L") clips them at 255, which turns most 16-bit images white).
_WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")

# What Pillow's decoders raise on truncated or corrupt data (struct.error: bad headers).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


def image_name(source: object) -> str:
    """A short name for ``source`` to use in messages and reports."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return getattr(source, "filename", "") or "<image>"
    if isinstance(source, np.ndarray):
        return f"<array {source.shape}>"
    return f"<{type(source).__name__}>"


def load_image(source: ImageSource, *, max_size: int | None = DEFAULT_MAX_SIZE,
               name: str | None = None) -> Image.Image:
    """Read an image from a file, bytes or a Pillow image and return it as RGB.

    Parameters
    ----------
    source : str, path-like, bytes, Pillow image or ndarray
        A file path, the file's bytes (e.g. from an upload widget), a Pillow image
        or an array ``(H, W)``/``(H, W, 3)``/``(H, W, 4)``.
    max_size : int or None
        Shrink the image (keeping its aspect ratio) so that its longest side is at
        most this; ``None`` keeps the full resolution.
    name : str, optional
        How to call the image in error messages (default: the path or "<N bytes>").

    Returns
    -------
    PIL.Image.Image
        A loaded image in mode ``"RGB"``, upright according to its EXIF orientation.

    Raises
    ------
    cifar_edu.errors.ImageError
        The file is missing, empty, truncated, not an image or too large.
    """
    name = name or image_name(source)
    img = _read_rgb(source, name, draft_size=max_size)
    if max_size is not None and max(img.size) > max_size:
        # thumbnail() shrinks by an integer factor first (Image.reduce), then filters.
        img.thumbnail((max_size, max_size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return img


def to_model_input(source: ImageSource, *, size: int = INPUT_SIZE, name: str | None = None
                   ) -> np.ndarray:
    """Crop the centre square of an image and resize it to the model's input size.

    Centre-crop-then-resize is used rather than letterboxing: CIFAR-10 objects fill
    most of the frame and no training image has borders, so padding bars would be
    something the model never saw; squashing would distort shapes. The resize uses
    Lanczos filtering, which averages away detail (no aliasing) and stays sharp;
    this is what ``ImageOps.fit(img, (32, 32), Image.LANCZOS)`` does, plus a fast
    integer pre-shrink for big images.

    Parameters
    ----------
    source : anything :func:`load_image` accepts
        The image; a ``(32, 32, 3)`` uint8 array is returned unchanged (as a copy).
    size : int
        Side of the output (32 for CIFAR-10).
    name : str, optional
        How to call the image in error messages.

    Returns
    -------
    ndarray of uint8, shape (size, size, 3)
    """
    if (isinstance(source, np.ndarray) and source.shape == (size, size, 3)
            and source.dtype == np.uint8):
        return source.copy()
    # A JPEG is decoded at the smallest 1/2^k scale still >= 4x the output on both sides,
    # so a 12-megapixel photo costs milliseconds; 4x leaves Lanczos enough to average.
    img = _read_rgb(source, name or image_name(source), draft_size=_DRAFT_FACTOR * size)
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    fitted = img.resize((size, size), Image.Resampling.LANCZOS,
                        box=(left, top, left + side, top + side), reducing_gap=2.0)
    return np.asarray(fitted, dtype=np.uint8).copy()


def _read_rgb(source: object, name: str, draft_size: int | None) -> Image.Image:
    """Decode ``source`` (JPEGs at reduced scale when ``draft_size`` is set) into RGB."""
    if isinstance(source, Image.Image):
        try:
            source.load()
        except _DECODE_ERRORS as exc:
            raise _damaged(name, exc) from None
        img = _upright(source)  # a new image: the caller's is never modified
    elif isinstance(source, np.ndarray):
        img = _from_array(source, name)
    else:
        img = _open_and_decode(source, name, draft_size)
    try:
        return _to_rgb(img)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{name}: the image could not be converted ({exc}); save it again "
                         "as PNG or JPEG and retry") from None


def _open_and_decode(source: object, name: str, draft_size: int | None) -> Image.Image:
    """Open ``source`` (path or bytes) with Pillow and decode its first frame."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ImageError(f"{name}: the file is empty (0 bytes); upload or pass a real "
                             "image file")
        stream: io.BytesIO | Path = io.BytesIO(data)
    elif isinstance(source, (str, os.PathLike)):
        stream = Path(source).expanduser()
        try:
            _check_path(stream, name)
        except (OSError, ValueError) as exc:  # a NUL byte, a name too long, ...
            raise ImageError(f"{name!r} is not a usable file path ({exc})") from None
    else:
        raise ImageError(f"cannot read an image from a {type(source).__name__}; pass a file "
                         "path, the file's bytes or a PIL image")
    try:
        # A bomb *warning* (between 1x and 2x the limit) becomes an error too: the
        # limit exists so that a crafted file cannot exhaust memory.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as img:
                if draft_size is not None:
                    # JPEG only: decode at 1/2, 1/4 or 1/8 scale, never below draft_size.
                    img.draft(None, (draft_size, draft_size))
                img.load()  # the first frame of an animation: Image.open starts there
                # While the file is open: TIFF keeps its orientation tag in the file.
                return _upright(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{name}: the image is too large to open safely ({exc}); shrink it "
                         "below Pillow's limit of "
                         f"{Image.MAX_IMAGE_PIXELS:,} pixels first") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: this is not an image file Pillow can read (is it really a "
                         "PNG/JPEG/GIF/WebP/BMP/TIFF? a renamed text or PDF file will not "
                         "work)") from None
    except _DECODE_ERRORS as exc:
        raise _damaged(name, exc) from None
    except MemoryError:
        raise ImageError(f"{name}: not enough memory to decode this image; shrink it "
                         "first") from None


def _damaged(name: str, exc: BaseException) -> ImageError:
    return ImageError(f"{name}: the image is truncated or damaged ({exc}); download or export "
                      "it again")


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; returns a new image (with .info, so transparency stays)."""
    try:
        return ImageOps.exif_transpose(img)
    except (OSError, ValueError, SyntaxError, struct.error):
        # A broken EXIF block should not make a readable picture unusable.
        return img.copy()


def _check_path(path: Path, name: str) -> None:
    if path.is_dir():
        raise ImageError(f"{name} is a folder, not an image file; pass the image files in it "
                         "(e.g. folder/*.jpg)")
    if not path.exists():
        raise ImageError(f"{name}: no such file; check the path and its spelling")
    if not os.access(path, os.R_OK):
        raise ImageError(f"{name}: permission denied; make the file readable")
    if path.stat().st_size == 0:
        raise ImageError(f"{name}: the file is empty (0 bytes); pass a real image file")


def _from_array(array: np.ndarray, name: str) -> Image.Image:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ImageError(f"{name}: an image array must have shape (H, W), (H, W, 3) or "
                         f"(H, W, 4), got {array.shape}")
    if array.size == 0:
        raise ImageError(f"{name}: the image array is empty")
    if array.dtype != np.uint8:
        array = _scale_to_uint8(array.astype(np.float64), integer=np.issubdtype(array.dtype,
                                                                                np.integer))
    return Image.fromarray(array)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any mode to RGB: rescale wide modes, composite transparency on white."""
    if img.mode in _WIDE_MODES:
        values = np.asarray(img)
        integer = img.mode != "F"
        if img.mode.startswith("I;16"):
            scaled = np.rint(values.astype(np.float64) / 257.0).astype(np.uint8)
        else:
            scaled = _scale_to_uint8(values.astype(np.float64), integer=integer)
        img = Image.fromarray(scaled)
    if img.has_transparency_data:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def _scale_to_uint8(values: np.ndarray, *, integer: bool) -> np.ndarray:
    """Map values of unknown range to 0-255.

    Integers are read as 8-bit if they fit, else as 16-bit (the common case: 16-bit
    PNG/TIFF), else stretched from their minimum to maximum. Floats in [0, 1] are
    read as fractions, floats in [0, 255] as 8-bit values, anything else stretched.
    """
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if integer and lo >= 0 and hi <= 255:
        out = values
    elif integer and lo >= 0 and hi <= 65535:
        out = values / 257.0
    elif not integer and lo >= 0 and hi <= 1:
        out = values * 255.0
    elif not integer and lo >= 0 and hi <= 255:
        out = values
    else:
        out = (values - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(values)
    out = np.nan_to_num(out, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def save_image(image: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Write an RGB uint8 array to ``path`` atomically, in the format its suffix names.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
    path : path-like
        ``.png`` (recommended), ``.jpg``, ``.webp``, ...

    Returns
    -------
    Path
        The file written.
    """
    from cifar_edu.errors import CifarEduError
    from cifar_edu.fileio import atomic_path

    path = Path(path).expanduser()
    image_format = Image.registered_extensions().get(path.suffix.lower())
    if image_format is None or image_format not in Image.SAVE:
        raise CifarEduError(f"cannot write an image to {path}: use a file name ending in "
                            ".png, .jpg or .webp")
    if path.is_dir():
        raise CifarEduError(f"{path} is a folder; give a file name such as {path / 'out.png'}")
    # The temporary file's name ends in .tmp, so the format is given explicitly.
    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(tmp, format=image_format)
    return path
