"""Comparing two models honestly.

Two ways, for two questions:

* :func:`mcnemar_test` - *these two trained models* on *the same test images*:
  are their error rates different, or is the gap luck of the test set? Only
  the images where exactly one model is right (the discordant pairs) carry
  information; under "no difference" each such image is a fair coin flip, so
  the exact binomial test on them is McNemar's exact test.
* :func:`compare_over_seeds` - *two training recipes*: train each a few times
  with different seeds and compare mean +- sd of the accuracies. A change to
  the recipe (augmentation, batch norm, dropout) only "helps" if the gap is
  large against the seed-to-seed spread.
"""

from __future__ import annotations

import warnings

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation._checks import as_labels, as_predictions, check_lengths

__all__ = ["McNemarResult", "mcnemar_test", "SeedComparison", "seed_summary",
           "compare_over_seeds", "holm_rejections"]


@dataclass(frozen=True)
class McNemarResult:
    """Result of McNemar's exact test on paired predictions.

    Attributes
    ----------
    b : int
        Images model A got right and model B got wrong.
    c : int
        Images model A got wrong and model B got right.
    statistic : int
        ``min(b, c)``, the binomial count the exact test uses.
    p_value : float
        Two-sided p-value of "both models have the same error rate".
    n : int
        Number of images.
    accuracy_a, accuracy_b : float
        Accuracy of each model on these images.
    """

    b: int
    c: int
    statistic: int
    p_value: float
    n: int = 0
    accuracy_a: float = float("nan")
    accuracy_b: float = float("nan")

    def summary(self, alpha: float = 0.05) -> str:
        """One sentence a learner can read."""
        verdict = ("a real difference" if self.p_value < alpha
                   else "no evidence of a difference")
        return (f"A {self.accuracy_a:.2%} vs B {self.accuracy_b:.2%} on {self.n:,} images: "
                f"A alone right on {self.b}, B alone right on {self.c}; McNemar exact "
                f"p = {self.p_value:.3g} -> {verdict} at the {alpha:g} level")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return asdict(self)


def mcnemar_test(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> McNemarResult:
    """McNemar's exact test: do two models differ in accuracy on the same images?

    Parameters
    ----------
    y_true : ndarray, shape (N,) or (N, 1)
        True labels.
    pred_a, pred_b : ndarray, shape (N,) or (N, K)
        Predicted labels (or probabilities) of the two models on the same images,
        in the same order.

    Returns
    -------
    McNemarResult

    Notes
    -----
    With ``b`` and ``c`` the discordant counts, the p-value is the two-sided
    exact binomial test of ``min(b, c)`` successes in ``b + c`` trials with
    probability 1/2 (``scipy.stats.binomtest``). It is exact for any sample
    size, unlike the chi-squared approximation. With no discordant pair at all
    the models are indistinguishable here and ``p_value`` is 1.
    """
    y_true = as_labels(y_true, "y_true")
    pred_a = as_predictions(pred_a, "pred_a")
    pred_b = as_predictions(pred_b, "pred_b")
    n = check_lengths(y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    right_a = pred_a == y_true
    right_b = pred_b == y_true
    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    statistic = min(b, c)
    p_value = 1.0 if b + c == 0 else float(
        stats.binomtest(statistic, b + c, 0.5, alternative="two-sided").pvalue)
    return McNemarResult(b, c, statistic, p_value, n, float(right_a.mean()),
                         float(right_b.mean()))


def seed_summary(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (``ddof=1``) and count of repeated runs.

    Parameters
    ----------
    values : sequence of float
        One result (e.g. test accuracy) per training seed.

    Returns
    -------
    mean, sd, n : float, float, int
        ``sd`` is NaN for a single run: one run says nothing about the spread.
    """
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise CifarEduError("no values to summarise; pass one result per seed, e.g. "
                            "[0.912, 0.908, 0.915]")
    if not np.all(np.isfinite(array)):
        raise CifarEduError("the values contain NaN or infinity; did a run fail?")
    sd = float(np.std(array, ddof=1)) if array.size > 1 else float("nan")
    return float(np.mean(array)), sd, int(array.size)


@dataclass(frozen=True)
class SeedComparison:
    """Mean +- sd of two recipes over seeds and their difference (B minus A).

    Attributes
    ----------
    mean_a, sd_a, n_a, mean_b, sd_b, n_b
        :func:`seed_summary` of each recipe.
    difference : float
        ``mean_b - mean_a``.
    ci_low, ci_high : float
        95% confidence interval of the difference (Welch); NaN with fewer than
        two runs per recipe.
    p_value : float
        Welch's two-sided t-test of "same mean"; NaN with fewer than two runs
        per recipe.
    """

    mean_a: float
    sd_a: float
    n_a: int
    mean_b: float
    sd_b: float
    n_b: int
    difference: float
    ci_low: float
    ci_high: float
    p_value: float

    def summary(self, label_a: str = "A", label_b: str = "B") -> str:
        """A few lines: mean +- sd of each recipe and the difference."""
        def fmt(mean: float, sd: float, n: int) -> str:
            spread = "n/a" if np.isnan(sd) else f"{sd:.4f}"
            return f"{mean:.4f} +- {spread} (n={n})"

        lines = [f"{label_a}: {fmt(self.mean_a, self.sd_a, self.n_a)}",
                 f"{label_b}: {fmt(self.mean_b, self.sd_b, self.n_b)}"]
        diff = f"{label_b} - {label_a}: {self.difference:+.4f}"
        if np.isnan(self.p_value):
            diff += " (run each recipe with at least 2 seeds to test it)"
        else:
            diff += (f", 95% CI [{self.ci_low:+.4f}, {self.ci_high:+.4f}], "
                     f"Welch p = {self.p_value:.3g}")
        return "\n".join(lines + [diff])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (NaN becomes None)."""
        return {k: (None if isinstance(v, float) and np.isnan(v) else v)
                for k, v in asdict(self).items()}


def compare_over_seeds(acc_a: Sequence[float], acc_b: Sequence[float],
                       confidence: float = 0.95) -> SeedComparison:
    """Compare two training recipes, each run with several seeds.

    Parameters
    ----------
    acc_a, acc_b : sequence of float
        One accuracy per seed for recipe A (the baseline) and recipe B.
    confidence : float
        Coverage of the interval of the difference.

    Returns
    -------
    SeedComparison
        Mean +- sd of each, the difference ``B - A`` and, with at least two runs
        each, Welch's t-test and confidence interval of the difference.
    """
    mean_a, sd_a, n_a = seed_summary(acc_a)
    mean_b, sd_b, n_b = seed_summary(acc_b)
    low = high = p_value = float("nan")
    if n_a >= 2 and n_b >= 2:
        if sd_a == 0 and sd_b == 0:
            # Identical runs: the t statistic is undefined; the difference is exact.
            low = high = mean_b - mean_a
            p_value = 1.0 if mean_a == mean_b else 0.0
        else:
            with warnings.catch_warnings():
                # Near-identical accuracies (e.g. two seeds that agree to the last image)
                # make scipy warn about precision; the result is still the right one.
                warnings.simplefilter("ignore", RuntimeWarning)
                result = stats.ttest_ind(np.asarray(acc_b, float), np.asarray(acc_a, float),
                                         equal_var=False)
            interval = result.confidence_interval(confidence_level=confidence)
            low, high, p_value = float(interval.low), float(interval.high), float(result.pvalue)
    return SeedComparison(mean_a, sd_a, n_a, mean_b, sd_b, n_b, mean_b - mean_a, low, high,
                          p_value)


def holm_rejections(p_values: Sequence[float], alpha: float = 0.05) -> np.ndarray:
    """Holm's step-down correction for many tests (Holm, 1979).

    Sort the p-values; compare the smallest with ``alpha / m``, the next with
    ``alpha / (m - 1)`` and so on, and stop at the first that is larger. The
    chance of even one false rejection among all ``m`` tests stays at ``alpha``.

    Parameters
    ----------
    p_values : sequence of float
        One p-value per test.
    alpha : float
        Family-wise error rate.

    Returns
    -------
    ndarray of bool
        Whether each test's null hypothesis is rejected, in the input's order.
    """
    p = np.asarray(p_values, dtype=float).reshape(-1)
    m = len(p)
    rejected = np.zeros(m, dtype=bool)
    for rank, index in enumerate(np.argsort(p, kind="stable")):
        if p[index] > alpha / (m - rank):
            break
        rejected[index] = True
    return rejected
