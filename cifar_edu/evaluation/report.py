"""The full evaluation of a model on one split, as one report object.

:func:`evaluate_model` runs a model and collects every number the course
discusses; :func:`evaluate_on_data` does it on a split of a loaded dataset and,
on the offline rebuild of CIFAR-10, also on its byte-exact test rows (see
``/work/shared/data/README.md``): those estimate the real test accuracy, the
whole rebuilt test set only gives a lower bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from sklearn import metrics as skm

from cifar_edu.data import CLASS_NAMES, CifarData, train_val_split
from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation._checks import as_labels, as_probabilities, check_lengths
from cifar_edu.evaluation.calibration import ReliabilityBins, reliability_bins
from cifar_edu.evaluation.inference import predict_proba
from cifar_edu.evaluation.metrics import (ClassificationTable, bootstrap_accuracy_ci,
                                          classification_table, confusion_matrices,
                                          most_confident_mistakes, roc_curves)
from cifar_edu.evaluation.tta import TTA_LEVELS, tta_level

__all__ = ["EvaluationReport", "evaluate_predictions", "evaluate_model", "evaluate_on_data",
           "split_arrays", "SPLITS"]

#: Splits :func:`evaluate_on_data` knows.
SPLITS = ("test", "exact", "val")


@dataclass
class EvaluationReport:
    """Every evaluation number of one model on one set of images.

    Attributes
    ----------
    name : str
        Short key of the image set (``"test"``, ``"exact"``, ``"val"`` ...).
    description : str
        What the images are and how to read the numbers.
    class_names : tuple of str
    n : int
        Number of images.
    accuracy : float
    accuracy_ci : (float, float)
        Percentile-bootstrap interval of the accuracy (NaN with ``n_boot=0``).
    confidence_level : float
        Coverage of ``accuracy_ci``.
    table : ClassificationTable
        Per-class precision, recall, F1, support, macro and weighted averages.
    confusion_counts : ndarray of int, shape (K, K)
        Rows are true classes, columns predicted classes.
    confusion_normalized : ndarray of float, shape (K, K)
        Rows divided by their totals (diagonal = recall).
    roc : dict
        One-vs-rest ROC curves and AUCs (see :func:`roc_curves`).
    reliability : ReliabilityBins
        Calibration bins; ``reliability.ece`` is the expected calibration error.
    log_loss : float
        Mean cross-entropy of the true class (the training loss, without regularisation).
    mistakes : ndarray of int
        Indices of the most confident wrong predictions, most confident first.
    y_true : ndarray of int, shape (N,)
    y_prob : ndarray of float32, shape (N, K)
    tta : str
        The test-time augmentation used: ``"none"``, ``"flip"`` or
        ``"flip_translate"`` (see :mod:`cifar_edu.evaluation.tta`).
    """

    name: str
    description: str
    class_names: tuple[str, ...]
    n: int
    accuracy: float
    accuracy_ci: tuple[float, float]
    confidence_level: float
    table: ClassificationTable
    confusion_counts: np.ndarray
    confusion_normalized: np.ndarray
    roc: dict[str, Any] = field(repr=False)
    reliability: ReliabilityBins = field(repr=False)
    log_loss: float = float("nan")
    mistakes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    y_true: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    y_prob: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32), repr=False)
    tta: str = "none"

    @property
    def y_pred(self) -> np.ndarray:
        """Predicted labels ``(N,)``."""
        return self.y_prob.argmax(axis=1)

    @property
    def ece(self) -> float:
        """Expected calibration error."""
        return self.reliability.ece

    @property
    def macro_auc(self) -> float:
        """Mean one-vs-rest ROC-AUC over classes."""
        return float(self.roc["macro_auc"])

    def to_dict(self, include_curves: bool = False) -> dict[str, Any]:
        """JSON-safe dict of every number (NaN becomes None).

        Parameters
        ----------
        include_curves : bool
            Also include the ROC curve points (large: about N points per class).
        """
        per_class = self.table.to_dict()["per_class"]
        for name, auc in zip(self.class_names, self.roc["auc"]):
            per_class[name]["roc_auc"] = auc
        confidence = self.y_prob.max(axis=1)
        result: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "n": self.n,
            "tta": self.tta,
            "class_names": list(self.class_names),
            "accuracy": self.accuracy,
            "accuracy_ci": {"low": self.accuracy_ci[0], "high": self.accuracy_ci[1],
                            "confidence": self.confidence_level,
                            "method": "percentile bootstrap"},
            "per_class": per_class,
            "macro": {**self.table.macro, "roc_auc": self.macro_auc},
            "weighted": dict(self.table.weighted),
            "confusion_matrix": {"counts": self.confusion_counts.tolist(),
                                 "normalized": self.confusion_normalized.tolist(),
                                 "rows": "true class", "columns": "predicted class"},
            "calibration": {"ece": self.ece, "n_bins": self.reliability.n_bins,
                            "bins": self.reliability.to_dict()},
            "log_loss": self.log_loss,
            "most_confident_mistakes": [
                {"index": int(i), "true": self.class_names[self.y_true[i]],
                 "predicted": self.class_names[int(self.y_prob[i].argmax())],
                 "confidence": float(confidence[i])}
                for i in self.mistakes],
        }
        if include_curves:
            result["roc_curves"] = {
                name: {"fpr": f.tolist(), "tpr": t.tolist()}
                for name, f, t in zip(self.class_names, self.roc["fpr"], self.roc["tpr"])}
        return _json_safe(result)

    def summary(self) -> str:
        """A text table: headline numbers, then one row per class."""
        low, high = self.accuracy_ci
        ci = ("" if math.isnan(low) else
              f" ({self.confidence_level:.0%} CI {low:.2%} - {high:.2%})")
        lines = []
        if self.description:
            lines.append(self.description)
        lines.append(f"accuracy {self.accuracy:.2%}{ci} on {self.n:,} images"
                     + ("" if self.tta == "none" else
                        f" with {self.tta.replace('_', ' + ')} TTA"))
        lines.append(f"macro F1 {self.table.macro['f1']:.3f} | macro ROC-AUC "
                     f"{self.macro_auc:.3f} | ECE {self.ece:.3f} | log loss {self.log_loss:.3f}")
        width = max(12, *(len(c) for c in self.class_names))
        header = f"{'class':<{width}} {'precision':>9} {'recall':>7} {'f1':>6} {'AUC':>6} " \
                 f"{'support':>8}"
        lines += ["", header, "-" * len(header)]
        for k, name in enumerate(self.class_names):
            auc = self.roc["auc"][k]
            auc_text = "  n/a" if math.isnan(auc) else f"{auc:.3f}"
            lines.append(f"{name:<{width}} {self.table.precision[k]:>9.3f} "
                         f"{self.table.recall[k]:>7.3f} {self.table.f1[k]:>6.3f} "
                         f"{auc_text:>6} {self.table.support[k]:>8,}")
        lines.append("-" * len(header))
        total = int(self.table.support.sum())
        for label, avg, auc in (("macro avg", self.table.macro, f"{self.macro_auc:.3f}"),
                                ("weighted avg", self.table.weighted, "")):
            lines.append(f"{label:<{width}} {avg['precision']:>9.3f} {avg['recall']:>7.3f} "
                         f"{avg['f1']:>6.3f} {auc:>6} {total:>8,}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _json_safe(obj: Any) -> Any:
    # JSON has no NaN; numpy scalars are not JSON types.
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if math.isnan(obj) or math.isinf(obj) else float(obj)
    return obj


def evaluate_predictions(y_true: np.ndarray, y_prob: np.ndarray, *,
                         class_names: Sequence[str] = CLASS_NAMES, n_boot: int = 1000,
                         confidence: float = 0.95, seed: int = 0, n_bins: int = 15,
                         k_mistakes: int = 16, name: str = "test", description: str = "",
                         tta: bool | int | str = False) -> EvaluationReport:
    """Build an :class:`EvaluationReport` from labels and predicted probabilities.

    Parameters
    ----------
    y_true : ndarray, shape (N,) or (N, 1)
        True labels.
    y_prob : ndarray, shape (N, K)
        Predicted probabilities (e.g. from :func:`predict_proba`).
    class_names : sequence of str
        One name per column of ``y_prob``.
    n_boot : int
        Bootstrap resamples for the accuracy interval (0 skips it).
    confidence : float
        Coverage of the accuracy interval.
    seed : int
        Seed of the bootstrap.
    n_bins : int
        Calibration bins.
    k_mistakes : int
        How many of the most confident mistakes to keep.
    name, description : str
        Label of the image set, stored in the report.
    tta : bool, int or str
        Recorded in the report by name (the probabilities already include it);
        see :func:`cifar_edu.evaluation.tta.tta_level`.

    Returns
    -------
    EvaluationReport
    """
    y_true = as_labels(y_true, "y_true")
    y_prob = as_probabilities(y_prob, "y_prob")
    n = check_lengths(y_true=y_true, y_prob=y_prob)
    class_names = tuple(class_names)
    if len(class_names) != y_prob.shape[1]:
        raise CifarEduError(f"{len(class_names)} class names for {y_prob.shape[1]} model outputs; "
                            "pass one name per class")
    y_pred = y_prob.argmax(axis=1)
    if n_boot > 0:
        acc, low, high = bootstrap_accuracy_ci(y_true, y_pred, n_boot, confidence, seed)
    else:
        acc, low, high = float(np.mean(y_true == y_pred)), float("nan"), float("nan")
    table = classification_table(y_true, y_pred, class_names)
    counts, normalized = confusion_matrices(y_true, y_pred, len(class_names))
    # float32 softmax rows sum to 1 only within rounding; scikit-learn's log_loss warns then.
    normalised_prob = y_prob / y_prob.sum(axis=1, keepdims=True)
    loss = float(skm.log_loss(y_true, normalised_prob, labels=np.arange(len(class_names))))
    return EvaluationReport(
        name=name, description=description, class_names=class_names, n=n, accuracy=acc,
        accuracy_ci=(low, high), confidence_level=confidence, table=table,
        confusion_counts=counts, confusion_normalized=normalized,
        roc=roc_curves(y_true, y_prob, class_names), reliability=reliability_bins(
            y_true, y_prob, n_bins), log_loss=loss,
        mistakes=most_confident_mistakes(y_true, y_prob, k_mistakes), y_true=y_true,
        y_prob=np.asarray(y_prob, np.float32), tta=TTA_LEVELS[tta_level(tta)])


def evaluate_model(model: keras.Model, x: np.ndarray, y: np.ndarray, *,
                   class_names: Sequence[str] = CLASS_NAMES, tta: bool | int | str = False,
                   n_boot: int = 1000, seed: int = 0, batch_size: int = 250,
                   name: str = "test", description: str = "") -> EvaluationReport:
    """Run a model over images and report every evaluation number.

    Parameters
    ----------
    model : keras.Model
        Raw 0-255 images ``(N, 32, 32, 3)`` in, probabilities ``(N, K)`` out.
    x : ndarray, shape (N, 32, 32, 3)
        Images (usually ``x_test``).
    y : ndarray, shape (N,) or (N, 1)
        Their labels.
    class_names : sequence of str
        One name per model output.
    tta : bool, int or str
        Test-time augmentation: ``True`` or ``"flip"`` averages with the
        mirrored images, ``"flip_translate"`` also with one-pixel shifts (see
        :func:`predict_proba`).
    n_boot : int
        Bootstrap resamples of the accuracy interval.
    seed : int
        Seed of the bootstrap.
    batch_size : int
        Images per forward pass.
    name, description : str
        Label of the image set, stored in the report.

    Returns
    -------
    EvaluationReport

    Examples
    --------
    >>> report = evaluate_model(model, x_test, y_test)  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    """
    y = as_labels(y, "y")
    if len(np.asarray(x)) != len(y):
        raise CifarEduError(f"{len(x):,} images but {len(y):,} labels; pass x and y of the "
                            "same split")
    y_prob = predict_proba(model, x, batch_size=batch_size, tta=tta)
    return evaluate_predictions(y, y_prob, class_names=class_names, n_boot=n_boot, seed=seed,
                                name=name, description=description, tta=tta)


def split_arrays(data: CifarData, split: str = "test", val_fraction: float = 0.1,
                 val_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of a named split of a loaded dataset.

    Parameters
    ----------
    data : CifarData
        From :func:`cifar_edu.data.load_dataset`.
    split : {"test", "exact", "val"}
        ``"test"`` the whole test set, ``"exact"`` its byte-exact rows (all of
        them except on the offline rebuild), ``"val"`` the validation split held
        out of the training images (as :func:`cifar_edu.data.train_val_split`).
    val_fraction, val_seed : float, int
        Define the validation split; keep the defaults to match training.
    """
    if split == "test":
        return data.x_test, data.y_test
    if split == "exact":
        return data.exact_test()
    if split == "val":
        _, (x_val, y_val) = train_val_split(data.x_train, data.y_train, val_fraction, val_seed)
        return x_val, y_val
    raise CifarEduError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")


def _describe(data: CifarData, split: str, n: int) -> str:
    # Short names: the full source description (with its path) is printed once by the caller.
    if data.source.kind == "sample":
        what = "the shipped sample"
    else:
        what = "CIFAR-10 (offline rebuild)" if data.source.offline_rebuild else "CIFAR-10"
    if split == "val":
        return f"validation split of {what} ({n:,} images held out of training)"
    if split == "exact" or not data.source.offline_rebuild:
        if data.source.offline_rebuild:
            return (f"byte-exact test rows of {what} ({n:,} images): "
                    "the estimate of real test accuracy")
        if data.source.kind == "sample":
            return f"test images of {what} ({n:,} images; a quick check, not the real test set)"
        return f"test set of {what} ({n:,} images)"
    return (f"whole test set of {what} ({n:,} images): a lower bound of real accuracy, because "
            "the JPEG-damaged rows are harder than the originals")


def evaluate_on_data(model: keras.Model, data: CifarData, split: str = "test", *,
                     tta: bool | int | str = False, n_boot: int = 1000, seed: int = 0,
                     batch_size: int = 250, val_fraction: float = 0.1
                     ) -> dict[str, EvaluationReport]:
    """Evaluate a model on a split of a loaded dataset (what ``cifar-edu evaluate`` does).

    Parameters
    ----------
    model : keras.Model
        Raw 0-255 images in, probabilities out.
    data : CifarData
        From :func:`cifar_edu.data.load_dataset`.
    split : {"test", "exact", "val"}
        See :func:`split_arrays`.
    tta, n_boot, seed, batch_size
        As in :func:`evaluate_model`.
    val_fraction : float
        Size of the validation split (for ``split="val"``).

    Returns
    -------
    dict of str to EvaluationReport
        One report keyed by ``split``. On the offline rebuild with
        ``split="test"`` there are two: ``"exact"`` (byte-exact rows, the
        estimate of real accuracy, listed first) and ``"test"`` (all rows, a
        lower bound). The model runs only once.
    """
    x, y = split_arrays(data, split, val_fraction)
    y_prob = predict_proba(model, x, batch_size=batch_size, tta=tta)
    options = dict(n_boot=n_boot, seed=seed, tta=tta)
    reports: dict[str, EvaluationReport] = {}
    if split == "test" and data.source.offline_rebuild:
        idx = data.exact_test_index
        reports["exact"] = evaluate_predictions(
            y[idx], y_prob[idx], name="exact",
            description=_describe(data, "exact", len(idx)), **options)
    reports[split] = evaluate_predictions(y, y_prob, name=split,
                                          description=_describe(data, split, len(y)), **options)
    return reports
