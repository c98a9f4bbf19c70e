"""Classification metrics on top of scikit-learn: accuracy with a bootstrap
confidence interval, per-class precision/recall/F1, confusion matrices,
one-vs-rest ROC curves and the most confident mistakes.

Everything here works on arrays (labels and probabilities), not on models, so
it is quick to test and reuse; :func:`cifar_edu.evaluation.evaluate_model`
runs a model and calls these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from cifar_edu.data import CLASS_NAMES
from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation._checks import (as_labels, as_predictions, as_probabilities,
                                          check_lengths, check_num_classes)

__all__ = ["ClassificationTable", "bootstrap_accuracy_ci", "classification_table",
           "confusion_matrices", "roc_curves", "most_confident_mistakes"]


def bootstrap_accuracy_ci(y_true: np.ndarray, y_pred: np.ndarray, n_boot: int = 1000,
                          confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Accuracy and its percentile-bootstrap confidence interval.

    Parameters
    ----------
    y_true : ndarray, shape (N,) or (N, 1)
        True labels.
    y_pred : ndarray, shape (N,) or (N, K)
        Predicted labels, or probabilities (their argmax is used).
    n_boot : int
        Number of bootstrap resamples.
    confidence : float
        Coverage of the interval (0.95 gives a 95% interval).
    seed : int
        Seed of the resampling; the same seed gives the same interval.

    Returns
    -------
    acc, low, high : float
        Accuracy on all images and the interval's bounds.

    Notes
    -----
    A bootstrap resample draws ``N`` images with replacement and counts the
    correct ones. Because each draw is correct with probability ``acc``, that
    count follows ``Binomial(N, acc)`` exactly, so we draw the counts directly:
    the same distribution as resampling indices, without an ``n_boot x N`` array.
    """
    y_true = as_labels(y_true, "y_true")
    y_pred = as_predictions(y_pred, "y_pred")
    n = check_lengths(y_true=y_true, y_pred=y_pred)
    if not 0.0 < confidence < 1.0:
        raise CifarEduError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    if n_boot < 1:
        raise CifarEduError(f"n_boot must be at least 1 (1000 is usual), got {n_boot}")
    acc = float(np.mean(y_true == y_pred))
    rng = np.random.default_rng(seed)
    resampled = rng.binomial(n, acc, size=n_boot) / n
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(resampled, [alpha, 1.0 - alpha])
    return acc, float(low), float(high)


@dataclass(frozen=True)
class ClassificationTable:
    """Per-class precision, recall, F1 and support, with macro and weighted averages.

    Attributes
    ----------
    class_names : tuple of str
    precision, recall, f1 : ndarray of float, shape (K,)
    support : ndarray of int, shape (K,)
        Number of true images of each class.
    macro, weighted : dict
        ``{"precision", "recall", "f1"}`` averaged over classes equally
        (macro) or by support (weighted).
    accuracy : float
    text : str
        scikit-learn's ``classification_report`` of the same predictions.
    """

    class_names: tuple[str, ...]
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    macro: dict[str, float]
    weighted: dict[str, float]
    accuracy: float
    text: str

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: one entry per class plus the averages."""
        return {
            "per_class": {
                name: {"precision": float(p), "recall": float(r), "f1": float(f),
                       "support": int(s)}
                for name, p, r, f, s in zip(self.class_names, self.precision, self.recall,
                                            self.f1, self.support)
            },
            "macro": dict(self.macro),
            "weighted": dict(self.weighted),
            "accuracy": self.accuracy,
        }


def classification_table(y_true: np.ndarray, y_prob_or_pred: np.ndarray,
                         class_names: Sequence[str] = CLASS_NAMES) -> ClassificationTable:
    """Precision, recall, F1 and support per class (scikit-learn's numbers).

    Parameters
    ----------
    y_true : ndarray, shape (N,) or (N, 1)
        True labels.
    y_prob_or_pred : ndarray, shape (N,) or (N, K)
        Predicted labels, or probabilities (their argmax is used).
    class_names : sequence of str
        Names of the classes, in label order.

    Returns
    -------
    ClassificationTable

    Notes
    -----
    A class that is never predicted has an undefined precision; it is reported
    as 0 (``zero_division=0``), which is what a learner should read it as.
    """
    y_true = as_labels(y_true, "y_true")
    y_pred = as_predictions(y_prob_or_pred, "y_prob_or_pred")
    check_lengths(y_true=y_true, y_pred=y_pred)
    class_names = tuple(class_names)
    labels = np.arange(len(class_names))
    check_num_classes(y_true, len(class_names))
    check_num_classes(y_pred, len(class_names), "the predictions")
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0)
    averages = {}
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0)
        averages[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    text = skm.classification_report(y_true, y_pred, labels=labels, target_names=class_names,
                                     digits=3, zero_division=0)
    return ClassificationTable(class_names, precision, recall, f1, support.astype(np.int64),
                               averages["macro"], averages["weighted"],
                               float(np.mean(y_true == y_pred)), text)


def confusion_matrices(y_true: np.ndarray, y_prob_or_pred: np.ndarray,
                       num_classes: int = len(CLASS_NAMES)) -> tuple[np.ndarray, np.ndarray]:
    """Confusion matrix as counts and row-normalised (rows are true classes).

    Returns
    -------
    counts : ndarray of int, shape (K, K)
        ``counts[i, j]`` images of class ``i`` predicted as ``j``.
    normalized : ndarray of float, shape (K, K)
        Each row divided by its total: the diagonal is the per-class recall.
        Rows of classes absent from ``y_true`` are all 0.
    """
    y_true = as_labels(y_true, "y_true")
    y_pred = as_predictions(y_prob_or_pred, "y_prob_or_pred")
    check_lengths(y_true=y_true, y_pred=y_pred)
    check_num_classes(y_true, num_classes)
    check_num_classes(y_pred, num_classes, "the predictions")
    labels = np.arange(num_classes)
    counts = skm.confusion_matrix(y_true, y_pred, labels=labels)
    normalized = skm.confusion_matrix(y_true, y_pred, labels=labels, normalize="true")
    return counts.astype(np.int64), normalized


def roc_curves(y_true: np.ndarray, y_prob: np.ndarray,
               class_names: Sequence[str] | None = None) -> dict[str, Any]:
    """One-vs-rest ROC curve and AUC of every class, and their macro average.

    Parameters
    ----------
    y_true : ndarray, shape (N,) or (N, 1)
        True labels.
    y_prob : ndarray, shape (N, K)
        Predicted probabilities.
    class_names : sequence of str, optional
        Defaults to the CIFAR-10 names when ``K == 10``, else ``"class 0"`` ...

    Returns
    -------
    dict
        ``class_names`` (list), ``fpr``, ``tpr``, ``thresholds`` (lists of K
        arrays), ``auc`` (list of K floats; NaN for a class with no positive or
        no negative image) and ``macro_auc`` (mean of the defined AUCs).
    """
    y_true = as_labels(y_true, "y_true")
    y_prob = as_probabilities(y_prob, "y_prob")
    check_lengths(y_true=y_true, y_prob=y_prob)
    num_classes = y_prob.shape[1]
    check_num_classes(y_true, num_classes)
    if class_names is None:
        class_names = CLASS_NAMES if num_classes == len(CLASS_NAMES) else [
            f"class {k}" for k in range(num_classes)]
    if len(class_names) != num_classes:
        raise CifarEduError(f"{len(class_names)} class names for {num_classes} probability "
                            "columns; pass one name per model output")
    fpr, tpr, thresholds, auc = [], [], [], []
    for k in range(num_classes):
        positive = y_true == k
        if positive.all() or not positive.any():
            # AUC needs both positives and negatives; say "undefined", not 0.5.
            fpr.append(np.array([0.0, 1.0]))
            tpr.append(np.array([0.0, 1.0]))
            thresholds.append(np.array([np.inf, 0.0]))
            auc.append(float("nan"))
            continue
        f, t, th = skm.roc_curve(positive, y_prob[:, k])
        fpr.append(f)
        tpr.append(t)
        thresholds.append(th)
        auc.append(float(skm.roc_auc_score(positive, y_prob[:, k])))
    defined = [a for a in auc if not np.isnan(a)]
    macro = float(np.mean(defined)) if defined else float("nan")
    return {"class_names": list(class_names), "fpr": fpr, "tpr": tpr, "thresholds": thresholds,
            "auc": auc, "macro_auc": macro}


def most_confident_mistakes(y_true: np.ndarray, y_prob: np.ndarray, k: int = 16) -> np.ndarray:
    """Indices of the ``k`` wrong predictions the model was most sure of.

    Parameters
    ----------
    y_true : ndarray, shape (N,) or (N, 1)
        True labels.
    y_prob : ndarray, shape (N, K)
        Predicted probabilities.
    k : int
        How many to return (fewer if there are fewer mistakes).

    Returns
    -------
    ndarray of int
        Indices into ``y_true``, most confident first. Looking at these images
        often shows label noise or genuinely ambiguous pictures.
    """
    y_true = as_labels(y_true, "y_true")
    y_prob = as_probabilities(y_prob, "y_prob")
    check_lengths(y_true=y_true, y_prob=y_prob)
    if k < 0:
        raise CifarEduError(f"k must be 0 or more, got {k}")
    wrong = np.flatnonzero(y_prob.argmax(axis=1) != y_true)
    confidence = y_prob[wrong].max(axis=1)
    # Stable sort keeps the lower index first among equal confidences (reproducible).
    order = np.argsort(-confidence, kind="stable")
    return wrong[order[:k]]
