"""The train/validation split.

Model selection (early stopping, choosing epochs or hyper-parameters) uses a
validation set carved out of the 50,000 training images; the test set is only
ever used for the final report. The split is stratified (every class keeps its
share) and deterministic (same seed, same split on every machine).
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit

__all__ = ["train_val_split", "train_val_indices"]


def train_val_indices(y: np.ndarray, val_fraction: float = 0.1, seed: int = 0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Return sorted index arrays ``(train_idx, val_idx)`` of a stratified split.

    Parameters
    ----------
    y : ndarray, shape (N,) or (N, 1)
        Integer labels.
    val_fraction : float
        Share of images that go to validation (0.1 gives 5,000 of 50,000).
    seed : int
        Seed of the shuffle; the same seed gives the same split everywhere.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    labels = np.asarray(y).reshape(-1)
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=val_fraction, random_state=seed)
    train_idx, val_idx = next(splitter.split(np.zeros(len(labels)), labels))
    return np.sort(train_idx), np.sort(val_idx)


def train_val_split(x: np.ndarray, y: np.ndarray, val_fraction: float = 0.1, seed: int = 0
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split training images into ``(x_train, y_train), (x_val, y_val)``.

    See :func:`train_val_indices` for the parameters. Shapes and dtypes are kept.
    """
    train_idx, val_idx = train_val_indices(y, val_fraction, seed)
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])
