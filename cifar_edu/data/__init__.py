"""CIFAR-10 data: loading from any source, the shipped sample, the validation split.

>>> from cifar_edu.data import load_cifar10, CLASS_NAMES
>>> (x_train, y_train), (x_test, y_test) = load_cifar10("sample")  # doctest: +SKIP

``load_cifar10`` returns exactly what ``keras.datasets.cifar10.load_data()``
returns, so what learners know about Keras transfers.
"""

from __future__ import annotations

import os

import numpy as np

from cifar_edu.data.download import cache_dir, fetch
from cifar_edu.data.sample import load_sample
from cifar_edu.data.sources import CifarData, DataSource, load_dataset, source_checksums
from cifar_edu.data.split import train_val_indices, train_val_split

__all__ = ["CLASS_NAMES", "NUM_CLASSES", "IMAGE_SHAPE", "load_cifar10", "load_dataset",
           "CifarData", "DataSource", "train_val_split", "train_val_indices", "fetch",
           "cache_dir", "load_sample", "source_checksums"]

#: The ten class names, in label order (label 3 is "cat").
CLASS_NAMES: tuple[str, ...] = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                "horse", "ship", "truck")
NUM_CLASSES = 10
IMAGE_SHAPE = (32, 32, 3)


def load_cifar10(source: str | os.PathLike[str] = "auto", *, verbose: bool = True
                 ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``, like Keras.

    Parameters
    ----------
    source : str or path-like
        ``"auto"`` (``$CIFAR10_DIR``, else the download cache, else the shipped
        sample), ``"full"`` (download if needed), ``"sample"``, or a folder in the
        official python layout.
    verbose : bool
        Print one line saying which source was used.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        uint8 images ``(N, 32, 32, 3)`` and uint8 labels ``(N, 1)`` (read-only).
    """
    data = load_dataset(source)
    if verbose:
        print(f"cifar-edu: using {data.source.description}: {len(data.y_train):,} training and "
              f"{len(data.y_test):,} test images")
    return data.as_keras_tuple()
