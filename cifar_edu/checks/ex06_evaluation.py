"""Checks of exercise 6 (evaluation): a confusion matrix, precision/recall/F1 by hand, macro
and weighted averages, McNemar's test and its verdict.

The references are scikit-learn's metrics (through :mod:`cifar_edu.evaluation`) and
:func:`cifar_edu.evaluation.mcnemar_test`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn import metrics as skm

from cifar_edu.checks import (Fail, Pass, as_float_array, call_learner, check, describe,
                              require_value)
from cifar_edu.data import NUM_CLASSES
from cifar_edu.evaluation import classification_table, mcnemar_test

__all__ = ["VERDICTS", "check_confusion_matrix", "check_precision_recall_f1",
           "check_averages", "check_mcnemar", "check_mcnemar_verdict"]

#: The answers of the McNemar task: which of two models is better, if either.
VERDICTS = ("A is better", "B is better", "no evidence")


def _labels(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    return (y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)).astype(int)


def _confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return skm.confusion_matrix(_labels(y_true), _labels(y_pred), labels=np.arange(NUM_CLASSES))


@check("Task 1, the confusion matrix")
def check_confusion_matrix(cm: object, y_true: np.ndarray, y_pred: np.ndarray) -> Pass:
    """Check a confusion matrix of counts: rows are true classes, columns predicted classes.

    Parameters
    ----------
    cm : array-like, shape (10, 10)
        The learner's matrix.
    y_true, y_pred : ndarray
        True and predicted labels (or probabilities) it was computed from.
    """
    matrix = as_float_array(cm, "cm")
    expected = _confusion(y_true, y_pred)
    if matrix.shape != expected.shape:
        raise Fail(f"`cm` has shape {matrix.shape}; expected {expected.shape}, one row and one "
                   "column per class.", "start from np.zeros((NUM_CLASSES, NUM_CLASSES), int) "
                                        "and add 1 at [true, predicted] for every image.")
    if np.array_equal(matrix, expected):
        return Pass(f"{int(expected.sum()):,} images, {int(np.trace(expected)):,} on the "
                    "diagonal; the same as sklearn.metrics.confusion_matrix.")
    if np.array_equal(matrix, expected.T):
        raise Fail("the matrix is transposed: its rows are the predicted classes.",
                   "row i must hold the images of TRUE class i: cm[true, predicted] += 1.")
    if np.allclose(matrix.sum(axis=1), 1.0) or np.isclose(matrix.sum(), 1.0):
        raise Fail("the matrix holds shares, not counts.",
                   "count images; lesson 6 normalises the rows only to read the matrix.")
    if matrix.sum() != expected.sum():
        raise Fail(f"the matrix counts {int(matrix.sum()):,} images, but there are "
                   f"{int(expected.sum()):,}.", "add 1 for every image, once: with np.add.at "
                   "(cm[i, j] += 1 in a loop works too; fancy indexing cm[y_true, y_pred] += 1 "
                   "adds only once per repeated pair).")
    raise Fail("some counts differ from sklearn.metrics.confusion_matrix.",
               "cm[true, predicted] += 1 for every image, with the predicted class the argmax "
               "of the probabilities.")


def _reference_prf(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 of the labels behind ``cm``, by scikit-learn (zero_division=0)."""
    rows, cols = np.nonzero(cm)
    counts = cm[rows, cols]
    y_true, y_pred = np.repeat(rows, counts), np.repeat(cols, counts)
    table = classification_table(y_true, y_pred)
    return table.precision, table.recall, table.f1


def _run_prf(function: object, cm: np.ndarray) -> tuple[np.ndarray, ...]:
    result = call_learner(function, cm.copy(), name="precision_recall_f1",
                          hint="the function takes the confusion matrix (a (10, 10) array of "
                               "counts) and returns three arrays.")
    if not isinstance(result, tuple) or len(result) != 3:
        raise Fail(f"the function returned {describe(result)}; expected a tuple "
                   "(precision, recall, f1).", "end it with `return precision, recall, f1`.")
    arrays = tuple(as_float_array(v, n) for v, n in zip(result, ("precision", "recall", "f1")))
    for array, name in zip(arrays, ("precision", "recall", "f1")):
        if array.shape != (cm.shape[0],):
            raise Fail(f"the returned {name} has shape {array.shape}; expected "
                       f"({cm.shape[0]},), one value per class.",
                       "compute all classes at once with the diagonal and the row and "
                       "column sums of the matrix.")
    return arrays


@check("Task 2, precision, recall and F1 by hand")
def check_precision_recall_f1(precision_recall_f1: object, y_true: np.ndarray,
                              y_pred: np.ndarray) -> Pass:
    """Check a function ``precision_recall_f1(cm)`` against scikit-learn.

    It is run on the confusion matrix of ``y_true`` and ``y_pred`` and on a matrix
    where one class is never predicted (its precision must be 0, as scikit-learn's
    ``zero_division=0`` reports it, not NaN).
    """
    cm = _confusion(y_true, y_pred)
    precision, recall, f1 = _run_prf(precision_recall_f1, cm)
    ref_p, ref_r, ref_f = _reference_prf(cm)
    if np.isnan(precision).any() or np.isnan(recall).any() or np.isnan(f1).any():
        raise Fail("some values are NaN: a class that is never predicted divides 0 by 0.",
                   "report 0 where the denominator is 0, as scikit-learn's zero_division=0 "
                   "does: np.divide(tp, predicted, out=np.zeros(len(tp)), where=predicted > 0).")
    if np.allclose(precision, ref_r) and np.allclose(recall, ref_p) and not np.allclose(
            precision, ref_p):
        raise Fail("precision and recall are swapped.",
                   "precision = TP / (TP + FP) divides by the COLUMN sum (all images predicted "
                   "as the class); recall = TP / (TP + FN) divides by the ROW sum (all images "
                   "of the class).")
    if not np.allclose(precision, ref_p):
        raise Fail("the precisions differ from scikit-learn's.",
                   "precision of class k = cm[k, k] / cm[:, k].sum() (the column).")
    if not np.allclose(recall, ref_r):
        raise Fail("the recalls differ from scikit-learn's.",
                   "recall of class k = cm[k, k] / cm[k, :].sum() (the row).")
    if not np.allclose(f1, ref_f):
        if np.allclose(f1, (ref_p + ref_r) / 2):
            raise Fail("F1 is the arithmetic mean of precision and recall.",
                       "F1 is their HARMONIC mean: 2 * p * r / (p + r), which is low if "
                       "either is low.")
        raise Fail("the F1 scores differ from scikit-learn's.", "F1 = 2 * p * r / (p + r) "
                                                                  "(0 where p + r is 0).")
    # One class never predicted: its precision is 0/0.
    never = cm.copy()
    never[:, 0], never[:, 1] = 0, cm[:, 0] + cm[:, 1]
    with np.errstate(all="ignore"):
        precision, recall, f1 = _run_prf(precision_recall_f1, never)
    ref_p, ref_r, ref_f = _reference_prf(never)
    if np.isnan(precision).any() or np.isnan(f1).any():
        raise Fail("right on this model's matrix, but a class that is never predicted gets "
                   "NaN precision.", "report 0 where nothing was predicted (scikit-learn's "
                                     "zero_division=0): np.divide(..., out=np.zeros(...), "
                                     "where=denominator > 0).")
    if not (np.allclose(precision, ref_p) and np.allclose(recall, ref_r)
            and np.allclose(f1, ref_f)):
        raise Fail("right on this model's matrix, but not on a matrix where class 0 is never "
                   "predicted.", "a class never predicted has precision 0 and F1 0.")
    return Pass("the same precision, recall and F1 as scikit-learn, also for a class that is "
                "never predicted.")


@check("Task 3, macro and weighted averages")
def check_averages(macro_f1: object, weighted_f1: object, y_true: np.ndarray,
                   y_pred: np.ndarray) -> Pass:
    """Check the macro and weighted averages of F1 on ``y_true``, ``y_pred``."""
    require_value(macro_f1, "macro_f1")
    require_value(weighted_f1, "weighted_f1")
    macro = as_float_array(macro_f1, "macro_f1")
    weighted = as_float_array(weighted_f1, "weighted_f1")
    for value, name in ((macro, "macro_f1"), (weighted, "weighted_f1")):
        if value.size != 1:
            raise Fail(f"`{name}` is {describe(value)}; expected one number.",
                       "average the per-class F1 scores into a single number.")
    macro, weighted = float(macro.reshape(())), float(weighted.reshape(()))
    y_true, y_pred = _labels(y_true), _labels(y_pred)
    labels = np.arange(NUM_CLASSES)
    ref_macro = skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    ref_weighted = skm.f1_score(y_true, y_pred, labels=labels, average="weighted",
                                zero_division=0)
    accuracy = float(np.mean(y_true == y_pred))
    ok_macro, ok_weighted = np.isclose(macro, ref_macro), np.isclose(weighted, ref_weighted)
    if ok_macro and ok_weighted:
        return Pass(f"macro F1 {ref_macro:.3f}, weighted F1 {ref_weighted:.3f} on these "
                    f"{len(y_true):,} images.")
    if np.isclose(macro, ref_weighted) and np.isclose(weighted, ref_macro):
        raise Fail("macro and weighted are swapped.",
                   "macro = plain mean over classes (every class counts the same); weighted = "
                   "mean weighted by each class's number of true images (its support).")
    for value, name in ((macro, "macro_f1"), (weighted, "weighted_f1")):
        if np.isclose(value, accuracy) and not np.isclose(accuracy, ref_macro):
            raise Fail(f"`{name}` equals the accuracy: that is the micro average, which pools "
                       "all images before dividing.", "average the per-class F1 scores "
                                                      "instead (average='macro' or "
                                                      "'weighted' in scikit-learn).")
    if not ok_macro:
        raise Fail(f"`macro_f1` is {macro:.4f}; scikit-learn gives {ref_macro:.4f}.",
                   "macro F1 = the plain mean of the per-class F1 scores of these labels.")
    raise Fail(f"`weighted_f1` is {weighted:.4f}; scikit-learn gives {ref_weighted:.4f}.",
               "weight each class's F1 by its support (its number of true images), then "
               "divide by the number of images.")




@check("Task 4, McNemar's test by hand")
def check_mcnemar(b: object, c: object, p_value: object, y_true: np.ndarray,
                  pred_a: np.ndarray, pred_b: np.ndarray) -> Pass:
    """Check the discordant counts ``b``, ``c`` and the exact McNemar p-value.

    ``b`` counts images model A gets right and model B wrong, ``c`` the opposite.
    """
    for value, name in ((b, "b"), (c, "c"), (p_value, "p_value")):
        require_value(value, name)
    b_, c_, p_ = (float(as_float_array(v, n).reshape(-1)[0])
                  for v, n in ((b, "b"), (c, "c"), (p_value, "p_value")))
    ref = mcnemar_test(y_true, pred_a, pred_b)
    if (b_, c_) == (ref.c, ref.b) and ref.b != ref.c:
        raise Fail("b and c are swapped.", "b = images A gets right and B gets wrong; "
                                           "c = images A gets wrong and B gets right.")
    if (b_, c_) != (ref.b, ref.c):
        raise Fail(f"expected b = {ref.b} and c = {ref.c}, got b = {b_:g} and c = {c_:g}.",
                   "right_a = pred_a == y_true; b = np.sum(right_a & ~right_b); "
                   "c = np.sum(~right_a & right_b).")
    if np.isclose(p_, ref.p_value, rtol=1e-6, atol=1e-12):
        return Pass(f"b = {ref.b}, c = {ref.c}, exact p = {ref.p_value:.3g}.")
    n = ref.b + ref.c
    if n and np.isclose(p_, ref.p_value / 2, rtol=1e-6):
        raise Fail("the p-value is one-sided (half of the two-sided value).",
                   "we do not know in advance which model is better: use "
                   "alternative='two-sided'.")
    if n and any(np.isclose(p_, float(stats.binomtest(ref.statistic, n, 0.5,
                                                      alternative=alt).pvalue), rtol=1e-6)
                 for alt in ("less", "greater")):
        raise Fail("the p-value is one-sided.", "use alternative='two-sided'.")
    total = ref.n
    if n and any(np.isclose(p_, float(stats.binomtest(k, total, 0.5).pvalue), rtol=1e-6)
                 for k in (ref.b, ref.c, ref.statistic)):
        raise Fail("the test uses every image as a trial.",
                   "only the discordant images carry evidence: the number of trials is "
                   "b + c, not the number of images.")
    if n:
        chi2 = (abs(ref.b - ref.c) - 1) ** 2 / n
        if any(np.isclose(p_, float(stats.chi2.sf(v, 1)), rtol=1e-3)
               for v in (chi2, (ref.b - ref.c) ** 2 / n)):
            raise Fail("that is the chi-squared approximation of McNemar's test.",
                       "use the exact test: stats.binomtest(min(b, c), b + c, 0.5).pvalue.")
    raise Fail(f"the p-value should be {ref.p_value:.4g}, got {p_:.4g}.",
               "scipy.stats.binomtest(min(b, c), b + c, 0.5, alternative='two-sided').pvalue "
               "(1 when b + c is 0).")


@check("Task 5, the verdict")
def check_mcnemar_verdict(verdict: object, y_true: np.ndarray, pred_a: np.ndarray,
                          pred_b: np.ndarray, alpha: float = 0.05) -> Pass:
    """Check the verdict ("A is better", "B is better" or "no evidence") at level ``alpha``."""
    require_value(verdict, "verdict")
    if verdict not in VERDICTS:
        raise Fail(f"`verdict` is {verdict!r}; it must be one of {list(VERDICTS)}.",
                   "copy one of the three strings exactly.")
    ref = mcnemar_test(y_true, pred_a, pred_b)
    if ref.p_value >= alpha:
        expected = "no evidence"
    else:
        expected = "B is better" if ref.c > ref.b else "A is better"
    gap = ref.accuracy_b - ref.accuracy_a
    if verdict == expected:
        return Pass(f"p = {ref.p_value:.3g} {'<' if ref.p_value < alpha else '>='} {alpha:g}: "
                    f"{expected} (accuracy {ref.accuracy_a:.1%} vs {ref.accuracy_b:.1%}).")
    if expected == "no evidence":
        raise Fail(f"p = {ref.p_value:.3g} is not below {alpha:g}.",
                   f"a gap of {gap:+.1%} in accuracy alone is not evidence: with b = {ref.b} "
                   f"and c = {ref.c}, such a split is well within what coin tosses give.")
    if verdict == "no evidence":
        raise Fail(f"p = {ref.p_value:.3g} is below {alpha:g}: the difference is unlikely to "
                   "be luck.", "below the level, the model that is right alone more often "
                               "is better.")
    raise Fail("the difference is real, but in the other direction.",
               f"B alone is right on c = {ref.c} images, A alone on b = {ref.b}: the larger "
               "count wins.")
