"""Reading CIFAR-10 in the official "python version" layout.

A folder ``cifar-10-batches-py`` holds ``data_batch_1`` ... ``data_batch_5``
(10,000 training images each), ``test_batch`` (10,000 test images) and
``batches.meta`` (class names). Each batch is a pickled dict whose ``data`` is a
``(10000, 3072)`` uint8 array of channel-first rows and whose ``labels`` is a list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cifar_edu.data.safe_pickle import safe_load
from cifar_edu.errors import DataError

__all__ = ["TRAIN_FILES", "TEST_FILE", "META_FILE", "ALL_FILES", "Batch", "read_batch",
           "read_class_names", "read_directory"]

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
ALL_FILES = (*TRAIN_FILES, TEST_FILE, META_FILE)

_HINT = ("A complete CIFAR-10 folder (python version) holds data_batch_1 ... data_batch_5, "
         "test_batch and batches.meta; download it again with `cifar-edu data fetch`, or point "
         "CIFAR10_DIR at such a folder.")


@dataclass(frozen=True)
class Batch:
    """One batch file, decoded.

    Attributes
    ----------
    images : ndarray of uint8, shape (N, 32, 32, 3)
    labels : ndarray of uint8, shape (N,)
    filenames : list of str
    """

    images: np.ndarray
    labels: np.ndarray
    filenames: list[str]


def _require(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"missing file {path}. {_HINT}")
    return path


def read_batch(path: str | Path) -> Batch:
    """Read one batch file safely and return its images in ``(N, 32, 32, 3)`` layout.

    Raises
    ------
    DataError
        The file is missing, truncated, corrupt or not a CIFAR-10 batch.
    """
    path = _require(Path(path))
    raw = safe_load(path)
    if not isinstance(raw, dict) or b"data" not in raw or b"labels" not in raw:
        raise DataError(f"{path} is not a CIFAR-10 batch (no 'data'/'labels' entries). {_HINT}")
    data, labels = raw[b"data"], np.asarray(raw[b"labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072:
        raise DataError(f"{path}: 'data' is not an (N, 3072) uint8 array. {_HINT}")
    if labels.shape != (data.shape[0],) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise DataError(f"{path}: labels do not match the images or are outside 0-9. {_HINT}")
    # Rows are channel-first (1024 R, 1024 G, 1024 B); Keras and matplotlib want HWC.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    filenames = [f.decode("utf-8", "replace") if isinstance(f, bytes) else str(f)
                 for f in raw.get(b"filenames", [])]
    return Batch(np.ascontiguousarray(images), labels.astype(np.uint8), filenames)


def read_class_names(directory: str | Path) -> list[str]:
    """Return the ten class names stored in ``batches.meta``."""
    path = _require(Path(directory) / META_FILE)
    meta = safe_load(path)
    try:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[b"label_names"]]
    except (KeyError, TypeError, AttributeError):
        raise DataError(f"{path} has no 'label_names'. {_HINT}") from None
    return names


def read_directory(directory: str | Path) -> tuple[Batch, Batch]:
    """Read the five training batches and the test batch of a folder.

    Returns
    -------
    train, test : Batch
        Training images are the five batches concatenated in order.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"CIFAR-10 folder {directory} does not exist. {_HINT}")
    for name in ALL_FILES:  # fail before the slow reads, naming the first missing file
        _require(directory / name)
    parts = [read_batch(directory / name) for name in TRAIN_FILES]
    # One allocation for the result; each part is freed as soon as it is copied.
    train = Batch(
        np.concatenate([p.images for p in parts]),
        np.concatenate([p.labels for p in parts]),
        [f for p in parts for f in p.filenames],
    )
    del parts
    return train, read_batch(directory / TEST_FILE)
