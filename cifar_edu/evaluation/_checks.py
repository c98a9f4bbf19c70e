"""Input checks shared by the evaluation functions.

Learners pass labels as ``(N,)`` or Keras-style ``(N, 1)`` arrays, and
probabilities or predicted labels interchangeably; these helpers normalise them
and turn shape mistakes into a :class:`~cifar_edu.errors.CifarEduError` that says
what to pass instead of a numpy traceback.
"""

from __future__ import annotations

import numpy as np

from cifar_edu.errors import CifarEduError


def as_labels(y: object, name: str = "y_true") -> np.ndarray:
    """Return integer labels of shape ``(N,)`` from ``(N,)`` or ``(N, 1)`` input."""
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise CifarEduError(f"{name} must be integer labels of shape (N,) or (N, 1), got shape "
                            f"{labels.shape}; for probabilities use y_prob.argmax(axis=1)")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise CifarEduError(f"{name} must hold whole-number class labels (0-9)")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise CifarEduError(f"{name} holds negative labels; class labels run from 0 to 9")
    return labels


def as_probabilities(y_prob: object, name: str = "y_prob") -> np.ndarray:
    """Return probabilities ``(N, K)`` as float64, checking they look like softmax output."""
    prob = np.asarray(y_prob, dtype=np.float64)
    if prob.ndim != 2 or prob.shape[1] < 2:
        raise CifarEduError(f"{name} must be class probabilities of shape (N, K), got shape "
                            f"{prob.shape}; use model.predict(x) or "
                            "cifar_edu.evaluation.predict_proba(model, x)")
    if not np.all(np.isfinite(prob)):
        raise CifarEduError(f"{name} contains NaN or infinite values; the model has diverged "
                            "(try a lower learning rate)")
    # Logits instead of probabilities are the usual mistake: every metric here
    # assumes rows that sum to one.
    if prob.size and (prob.min() < -1e-6 or np.abs(prob.sum(axis=1) - 1).max() > 1e-2):
        raise CifarEduError(f"the rows of {name} are not probabilities (they must be >= 0 and "
                            "sum to 1); end the model with a softmax, or apply "
                            "keras.ops.softmax to the logits")
    return prob


def as_predictions(y_prob_or_pred: object, name: str = "y_pred") -> np.ndarray:
    """Predicted labels ``(N,)`` from labels or from probabilities ``(N, K)`` (argmax)."""
    values = np.asarray(y_prob_or_pred)
    if values.ndim == 2 and values.shape[1] > 1:
        return as_probabilities(values, name).argmax(axis=1)
    return as_labels(values, name)


def check_lengths(**arrays: np.ndarray) -> int:
    """Raise unless every array has the same first dimension; return it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n:,}" for name, n in lengths.items())
        raise CifarEduError(f"the arrays must describe the same images, but {described} rows; "
                            "pass predictions and labels of the same split")
    n = next(iter(lengths.values()))
    if n == 0:
        raise CifarEduError("there is nothing to evaluate: the arrays are empty")
    return n


def check_num_classes(y_true: np.ndarray, num_classes: int, name: str = "y_true") -> None:
    """Raise if a label is outside ``0 .. num_classes - 1``."""
    if y_true.size and y_true.max() >= num_classes:
        raise CifarEduError(f"{name} holds label {int(y_true.max())} but there are only "
                            f"{num_classes} classes; do the labels and class_names match?")
