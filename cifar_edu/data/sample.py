"""The small real sample of CIFAR-10 shipped inside the package.

Quick mode, the unit tests and offline builds use it. It is cut from the rows
of the offline rebuild that are byte-exact originals (rows 0-1016 of every
batch file), so every pixel is a real CIFAR-10 pixel: the first
``SAMPLE_TRAIN_PER_CLASS`` images of each class met when reading rows 0-1016 of
``data_batch_1`` ... ``data_batch_5`` in order, and the first
``SAMPLE_TEST_PER_CLASS`` of each class in rows 0-1016 of ``test_batch``. The
file records the (batch, row) origin of every image.
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

import numpy as np

from cifar_edu.data.cifar_format import TEST_FILE, TRAIN_FILES, read_batch
from cifar_edu.errors import DataError
from cifar_edu.fileio import atomic_write_bytes

__all__ = ["SAMPLE_FILE", "SAMPLE_TRAIN_PER_CLASS", "SAMPLE_TEST_PER_CLASS", "EXACT_ROWS",
           "sample_path", "load_sample", "build_sample"]

SAMPLE_FILE = "cifar10_sample.npz"
SAMPLE_TRAIN_PER_CLASS = 100
SAMPLE_TEST_PER_CLASS = 50
EXACT_ROWS = 1017  # rows 0-1016 of each batch of the offline rebuild are byte-exact


def sample_path() -> Path:
    """Path of the shipped sample file inside the installed package."""
    return Path(str(resources.files("cifar_edu") / "assets" / SAMPLE_FILE))


def load_sample() -> dict[str, np.ndarray]:
    """Load the shipped sample: ``x_train, y_train, x_test, y_test`` and the origins.

    Labels have shape ``(N, 1)`` like Keras' loader; ``*_origin`` arrays hold
    ``(batch_index, row)`` pairs, batch index 0-4 for ``data_batch_1..5`` and 5
    for ``test_batch``.
    """
    path = sample_path()
    if not path.is_file():
        raise DataError(f"the shipped sample {path} is missing; reinstall cifar-edu "
                        "(`pip install -e .` from the repository).")
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def _first_per_class(batches: list[tuple[int, Path]], per_class: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images, labels, origin = [], [], []
    counts = np.zeros(10, dtype=int)
    for batch_index, path in batches:
        batch = read_batch(path)
        for row in range(min(EXACT_ROWS, len(batch.labels))):
            label = int(batch.labels[row])
            if counts[label] < per_class:
                counts[label] += 1
                images.append(batch.images[row])
                labels.append(label)
                origin.append((batch_index, row))
        if counts.min() >= per_class:
            break
    if counts.min() < per_class:
        raise DataError(f"not enough byte-exact rows to take {per_class} images per class")
    return (np.stack(images), np.asarray(labels, np.uint8).reshape(-1, 1),
            np.asarray(origin, np.int32))


def build_sample(directory: str | Path, out: str | Path | None = None,
                 train_per_class: int = SAMPLE_TRAIN_PER_CLASS,
                 test_per_class: int = SAMPLE_TEST_PER_CLASS) -> Path:
    """Cut the sample from a CIFAR-10 folder and write it atomically.

    This is how the shipped file was made (``python tools/make_sample.py``).
    """
    directory = Path(directory)
    out = Path(out) if out is not None else sample_path()
    train = _first_per_class([(i, directory / n) for i, n in enumerate(TRAIN_FILES)],
                             train_per_class)
    test = _first_per_class([(5, directory / TEST_FILE)], test_per_class)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_train=train[0], y_train=train[1], train_origin=train[2],
                        x_test=test[0], y_test=test[1], test_origin=test[2])
    atomic_write_bytes(out, buffer.getvalue())
    return out
