"""Helpers that write small datasets in the official CIFAR-10 python layout."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from cifar_edu.data.cifar_format import TEST_FILE, TRAIN_FILES
from cifar_edu.data import CLASS_NAMES


def write_batch(path: Path, images: np.ndarray, labels: np.ndarray, prefix: str = "img") -> None:
    """Write one batch like the originals: protocol 2, bytes keys, channel-first rows."""
    rows = np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), -1))
    batch = {
        b"batch_label": path.name.encode(),
        b"labels": [int(v) for v in np.asarray(labels).reshape(-1)],
        b"data": rows,
        b"filenames": [f"{prefix}_{i}.png".encode() for i in range(len(images))],
    }
    path.write_bytes(pickle.dumps(batch, protocol=2))


def write_cifar_dir(folder: Path, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                    y_test: np.ndarray, prefix: str = "img") -> Path:
    """Write a complete (small) CIFAR-10 folder; the training set is split into five batches."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, idx in zip(TRAIN_FILES, np.array_split(np.arange(len(x_train)), 5)):
        write_batch(folder / name, x_train[idx], y_train[idx], prefix)
    write_batch(folder / TEST_FILE, x_test, y_test, prefix)
    meta = {b"label_names": [n.encode() for n in CLASS_NAMES], b"num_vis": 3072,
            b"num_cases_per_batch": 10000}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder
