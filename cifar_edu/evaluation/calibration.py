"""Calibration: does a predicted confidence of 80% mean right 80% of the time?

The top-label confidence (the largest probability) of every image is put into
equal-width bins; in each bin the mean confidence is compared with the
accuracy. The reliability diagram draws the bins; the expected calibration
error (ECE, Guo et al. 2017) is the support-weighted mean gap between them.
scikit-learn's ``calibration_curve`` covers binary problems only, hence this
small module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation._checks import as_labels, as_probabilities, check_lengths

__all__ = ["ReliabilityBins", "reliability_bins", "expected_calibration_error"]


@dataclass(frozen=True)
class ReliabilityBins:
    """Confidence bins of a set of predictions.

    Attributes
    ----------
    edges : ndarray, shape (n_bins + 1,)
        Bin edges from 0 to 1; bin ``i`` holds confidences in ``(edges[i], edges[i+1]]``.
    confidence : ndarray, shape (n_bins,)
        Mean top-label confidence in each bin (NaN where the bin is empty).
    accuracy : ndarray, shape (n_bins,)
        Share of correct predictions in each bin (NaN where the bin is empty).
    count : ndarray of int, shape (n_bins,)
        Number of images in each bin.
    """

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray

    @property
    def n_bins(self) -> int:
        """Number of bins."""
        return len(self.count)

    @property
    def ece(self) -> float:
        """Expected calibration error: sum over bins of ``count/N * |accuracy - confidence|``."""
        filled = self.count > 0
        weights = self.count[filled] / self.count.sum()
        return float(np.sum(weights * np.abs(self.accuracy[filled] - self.confidence[filled])))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (empty bins have ``None`` confidence and accuracy)."""
        def clean(values: np.ndarray) -> list[float | None]:
            return [None if np.isnan(v) else float(v) for v in values]

        return {"edges": [float(e) for e in self.edges], "confidence": clean(self.confidence),
                "accuracy": clean(self.accuracy), "count": [int(c) for c in self.count],
                "ece": self.ece}


def reliability_bins(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = 15) -> ReliabilityBins:
    """Bin predictions by top-label confidence.

    Parameters
    ----------
    y_true : ndarray, shape (N,) or (N, 1)
        True labels.
    y_prob : ndarray, shape (N, K)
        Predicted probabilities.
    n_bins : int
        Number of equal-width bins in [0, 1] (15 as in Guo et al., 2017).

    Returns
    -------
    ReliabilityBins
    """
    y_true = as_labels(y_true, "y_true")
    y_prob = as_probabilities(y_prob, "y_prob")
    check_lengths(y_true=y_true, y_prob=y_prob)
    if n_bins < 1:
        raise CifarEduError(f"n_bins must be at least 1 (15 is usual), got {n_bins}")
    confidence = y_prob.max(axis=1)
    correct = (y_prob.argmax(axis=1) == y_true).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # right=True puts a confidence equal to an edge into the lower bin: (lo, hi].
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=confidence, minlength=n_bins) / count
        accuracy = np.bincount(which, weights=correct, minlength=n_bins) / count
    return ReliabilityBins(edges, mean_conf, accuracy, count.astype(np.int64))


def expected_calibration_error(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = 15) -> float:
    """Expected calibration error (0 is perfectly calibrated, lower is better).

    See :func:`reliability_bins` for the parameters; this is its ``.ece``.
    """
    return reliability_bins(y_true, y_prob, n_bins).ece
