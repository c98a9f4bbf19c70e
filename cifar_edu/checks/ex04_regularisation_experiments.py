"""Checks of exercise 4 (regularisation experiments): the model of an ablation cell, the
discordant pairs of two cells, McNemar's exact test as a function, a switch's verdict over
seeds, and Holm's correction for many tests.

The references are :func:`cifar_edu.models.baseline_cnn` with the switches that
:func:`cifar_edu.ablation.ablation_recipe` sets, :func:`cifar_edu.evaluation.mcnemar_test`,
:meth:`cifar_edu.ablation.AblationResults.effects` (a gain or a loss only when every seed
shows it at p < 0.05), and Holm's step-down procedure (Holm, 1979).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from scipy import stats

from cifar_edu.ablation import ALL_CELLS, AblationCell, AblationResults
from cifar_edu.checks import (Fail, Pass, as_float_array, call_learner, check, describe,
                              require_value)
from cifar_edu.evaluation import holm_rejections, mcnemar_test
from cifar_edu.models import baseline_cnn

__all__ = ["VERDICTS", "ALPHA", "check_cell_model", "check_discordant_pairs",
           "check_mcnemar_function", "check_factor_verdict", "check_holm"]

#: The answers of task 4: what switching a factor on does, decided over every seed.
VERDICTS = ("gain", "loss", "not decided")
#: The level of every test of the exercise.
ALPHA = 0.05
#: The ablation's dropout rate (of the first block; it grows with depth).
DROPOUT_RATE = 0.2

_DROPOUT_HINT = ("baseline_cnn takes a boolean for batch_norm but a RATE for dropout: "
                 f"dropout={DROPOUT_RATE} if cell.dropout else 0.0.")


# --------------------------------------------------------------------------- task 1

def _layer_kinds(model: keras.Model) -> dict[str, list]:
    kinds: dict[str, list] = {"bn": [], "dropout": [], "augment": []}
    for layer in model.layers:
        name = type(layer).__name__
        if isinstance(layer, keras.layers.BatchNormalization):
            kinds["bn"].append(layer)
        elif isinstance(layer, keras.layers.Dropout):
            kinds["dropout"].append(layer)
        elif name.startswith("Random") or isinstance(layer, keras.Sequential):
            kinds["augment"].append(layer)
    return kinds


@check("Task 1, the model of a cell")
def check_cell_model(make_model: object) -> Pass:
    """Check ``make_model(cell)`` on the eight cells of the grid.

    The model of a cell is :func:`cifar_edu.models.baseline_cnn` with batch
    normalisation exactly when ``cell.batch_norm`` and dropout (rate 0.2) exactly
    when ``cell.dropout``; augmentation stays out of the model (the ablation
    augments in its input pipeline), so every cell shares one skeleton.
    """
    references: dict[tuple[bool, bool], keras.Model] = {}
    for cell in ALL_CELLS:
        model = call_learner(make_model, cell, name="make_model", hint=_DROPOUT_HINT)
        if not isinstance(model, keras.Model):
            raise Fail(f"`make_model({cell.key!r})` returned {describe(model)}, not a Keras model.",
                       "return the model: `return baseline_cnn(batch_norm=..., dropout=...)`.")
        key = (cell.batch_norm, cell.dropout)
        if key not in references:
            references[key] = baseline_cnn(batch_norm=cell.batch_norm,
                                           dropout=DROPOUT_RATE if cell.dropout else 0.0)
        reference = references[key]
        kinds = _layer_kinds(model)
        has_bn, has_dropout = bool(kinds["bn"]), bool(kinds["dropout"])
        if kinds["augment"]:
            raise Fail(f"the model of {cell.key!r} contains augmentation layers "
                       f"({', '.join(type(l).__name__ for l in kinds['augment'])}).",
                       "in this ablation augmentation belongs to the input pipeline "
                       "(ablation_recipe sets it), not to the model: the model of 'aug+bn' "
                       "is the model of 'bn', so every cell has the same skeleton.")
        if (has_bn, has_dropout) == (cell.dropout, cell.batch_norm) != (cell.batch_norm,
                                                                         cell.dropout):
            raise Fail(f"the model of {cell.key!r} has batch norm and dropout swapped.",
                       "batch_norm=cell.batch_norm and dropout from cell.dropout.")
        if has_bn != cell.batch_norm:
            state = "has BatchNormalization layers" if has_bn else "has no BatchNormalization"
            raise Fail(f"the model of {cell.key!r} {state}, but its batch_norm switch is "
                       f"{'off' if has_bn else 'on'}.",
                       "follow the cell's switch: baseline_cnn(batch_norm=cell.batch_norm, ...).")
        if has_dropout != cell.dropout:
            state = "has Dropout layers" if has_dropout else "has no Dropout layer"
            raise Fail(f"the model of {cell.key!r} {state}, but its dropout switch is "
                       f"{'off' if has_dropout else 'on'}.", _DROPOUT_HINT)
        if has_dropout:
            first = float(kinds["dropout"][0].rate)
            if not np.isclose(first, DROPOUT_RATE):
                raise Fail(f"the first dropout layer of {cell.key!r} drops {first:g} of its "
                           f"inputs; the ablation uses {DROPOUT_RATE:g}.", _DROPOUT_HINT)
        if (model.count_params() != reference.count_params()
                or len(model.layers) != len(reference.layers)):
            raise Fail(f"the model of {cell.key!r} has {model.count_params():,} parameters in "
                       f"{len(model.layers)} layers; the ablation's has "
                       f"{reference.count_params():,} in {len(reference.layers)}.",
                       "build it with baseline_cnn and change nothing but the two switches: "
                       "the skeleton must be the same in every cell.")
    return Pass("all eight cells: batch norm and dropout exactly where their switches are on, "
                "augmentation left to the input pipeline, one skeleton for all.")


# --------------------------------------------------------------------------- task 2

def _labels(y: object) -> np.ndarray:
    return np.asarray(y).reshape(-1).astype(int)


def _as_count(value: object, name: str) -> float:
    array = as_float_array(value, name)
    if array.size != 1:
        raise Fail(f"`{name}` is {describe(value)}; expected one number, a count of images.",
                   "sum a boolean array: np.sum(...) or (...).sum().")
    return float(array.reshape(()))


@check("Task 2, discordant pairs")
def check_discordant_pairs(b: object, c: object, y_true: np.ndarray, pred_a: np.ndarray,
                           pred_b: np.ndarray) -> Pass:
    """Check ``b`` (A right, B wrong) and ``c`` (A wrong, B right) on the same test images."""
    require_value(b, "b")
    require_value(c, "c")
    b_, c_ = _as_count(b, "b"), _as_count(c, "c")
    y, pa, pb = _labels(y_true), _labels(pred_a), _labels(pred_b)
    ref = mcnemar_test(y, pa, pb)
    right_a, right_b = pa == y, pb == y
    if (b_, c_) == (ref.b, ref.c):
        return Pass(f"b = {ref.b}, c = {ref.c}: of {ref.n:,} images, only these "
                    f"{ref.b + ref.c:,} carry evidence about which model is better.")
    if (b_, c_) == (ref.c, ref.b):
        raise Fail("`b` and `c` are swapped.", "b = images A gets right and B gets wrong; "
                                           "c = images A gets wrong and B gets right.")
    agreements = {float(np.sum(right_a & right_b)), float(np.sum(~right_a & ~right_b))}
    if {b_, c_} == agreements or (b_ in agreements and c_ in agreements):
        raise Fail("these are the agreements: images both models get right, or both wrong.",
                   "McNemar counts the DISAGREEMENTS about correctness: b = np.sum(right_a & "
                   "~right_b), c = np.sum(~right_a & right_b).")
    different = float(np.sum(pa != pb))
    if different != ref.b + ref.c and different in (b_, c_, b_ + c_):
        raise Fail("you count images where the two predictions differ; two different WRONG "
                   "answers are a disagreement of labels, not of correctness.",
                   "compare each prediction with y_true first: right_a = pred_a == y_true, "
                   "right_b = pred_b == y_true.")
    if b_ == float(right_a.sum()) or c_ == float(right_b.sum()):
        raise Fail("that is the number of images each model gets right.",
                   "count the images where exactly one of them is right: "
                   "right_a & ~right_b, and ~right_a & right_b.")
    raise Fail(f"expected b = {ref.b} and c = {ref.c}, got b = {b_:g} and c = {c_:g}.",
               "right_a = pred_a == y_true; b = np.sum(right_a & ~right_b); "
               "c = np.sum(~right_a & right_b).")


# --------------------------------------------------------------------------- task 3

def _pair(b: int, c: int, both_right: int, n: int = 1000) -> tuple[np.ndarray, ...]:
    """Labels and two models' predictions with the given discordant counts."""
    y = np.arange(n) % 10
    wrong = (y + 1) % 10
    pred_a, pred_b = wrong.copy(), wrong.copy()
    pred_a[:both_right] = pred_b[:both_right] = y[:both_right]
    pred_a[both_right:both_right + b] = y[both_right:both_right + b]
    pred_b[both_right + b:both_right + b + c] = y[both_right + b:both_right + b + c]
    return y, pred_a, pred_b


# (b, c, both right) of the made-up pairs the function is tried on.
_MCNEMAR_CASES = ((5, 40, 600), (45, 55, 500), (0, 10, 800), (130, 100, 300), (12, 12, 700),
                  (0, 0, 900))


def _diagnose_p(p: float, b: int, c: int, n_images: int) -> Fail:
    n = b + c
    ref = 1.0 if n == 0 else float(stats.binomtest(min(b, c), n, 0.5).pvalue)
    if n == 0:
        return Fail(f"with no discordant pair (b = c = 0) the p-value should be 1, got {p:.4g}.",
                    "return 1.0 when b + c is 0: nothing distinguishes the two models.")
    if np.isclose(p, ref / 2, rtol=1e-6) or any(
            np.isclose(p, float(stats.binomtest(min(b, c), n, 0.5, alternative=alt).pvalue),
                       rtol=1e-6) for alt in ("less", "greater")):
        return Fail(f"for b = {b}, c = {c} the p-value is one-sided ({p:.4g}; two-sided: "
                    f"{ref:.4g}).", "we do not know in advance which model is better: use the "
                                    "two-sided test (alternative='two-sided'), which doubles "
                                    "the tail.")
    if any(np.isclose(p, float(stats.binomtest(k, n_images, 0.5).pvalue), rtol=1e-6)
           for k in (b, c, min(b, c))):
        return Fail(f"for b = {b}, c = {c} the test uses all {n_images:,} images as trials.",
                    "only the discordant images carry evidence: the number of trials is "
                    "b + c, not the number of images.")
    chi2 = [(abs(b - c) - 1) ** 2 / n, (b - c) ** 2 / n]
    if any(np.isclose(p, float(stats.chi2.sf(v, 1)), rtol=1e-3) for v in chi2):
        return Fail(f"for b = {b}, c = {c} that is the chi-squared approximation.",
                    "use the exact test: stats.binomtest(min(b, c), b + c, 0.5).pvalue.")
    return Fail(f"for b = {b}, c = {c} the p-value should be {ref:.4g}, got {p:.4g}.",
                "stats.binomtest(min(b, c), b + c, 0.5, alternative='two-sided').pvalue, and "
                "1.0 when b + c is 0.")


def _run_mcnemar(function: object, y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray,
                 hint: str) -> tuple[float, float, float]:
    result = call_learner(function, y, pred_a, pred_b, name="mcnemar", hint=hint)
    if not isinstance(result, tuple) or len(result) != 3:
        raise Fail(f"`mcnemar` returned {describe(result)}; expected a tuple (b, c, p_value).",
                   "end it with `return b, c, p_value`.")
    return tuple(float(as_float_array(v, n).reshape(-1)[0])
                 for v, n in zip(result, ("b", "c", "p_value")))  # type: ignore[return-value]


@check("Task 3, McNemar's exact test as a function")
def check_mcnemar_function(mcnemar: object, y_true: np.ndarray, pred_a: np.ndarray,
                           pred_b: np.ndarray) -> Pass:
    """Check ``mcnemar(y_true, pred_a, pred_b) -> (b, c, p_value)``.

    It is tried on made-up pairs (a clear gain, a draw within luck, no discordant
    pair at all, ...) and on the pair of predictions given.
    """
    cases = [_pair(*case) for case in _MCNEMAR_CASES]
    cases.append((_labels(y_true), _labels(pred_a), _labels(pred_b)))
    for y, pa, pb in cases:
        ref = mcnemar_test(y, pa, pb)
        hint = ("with no discordant pair (b + c = 0) binomtest cannot run: return p_value = 1.0 "
                "then." if ref.b + ref.c == 0 else
                "run your function on the pair of task 2 in a cell of its own and read the "
                "traceback.")
        b, c, p = _run_mcnemar(mcnemar, y, pa, pb, hint)
        if (b, c) == (ref.c, ref.b) and ref.b != ref.c:
            raise Fail(f"for a pair with b = {ref.b}, c = {ref.c} your function returns them "
                       "swapped.", "b = A right and B wrong; c = A wrong and B right.")
        if (b, c) != (ref.b, ref.c):
            raise Fail(f"for a pair with b = {ref.b}, c = {ref.c} your function returns b = "
                       f"{b:g}, c = {c:g}.", "compute them as in task 2, from y_true, pred_a "
                                             "and pred_b.")
        if not np.isclose(p, ref.p_value, rtol=1e-6, atol=1e-12):
            raise _diagnose_p(p, ref.b, ref.c, ref.n)
    return Pass(f"the same b, c and exact two-sided p-value as cifar_edu.evaluation.mcnemar_test "
                f"on {len(cases)} pairs, including one without any discordant image.")


# --------------------------------------------------------------------------- task 4

def _grid(pairs: dict[tuple[str, str], Sequence[tuple[int, int]]], base: str = "plain",
          n: int = 1000, base_right: int = 600) -> AblationResults:
    """A made-up grid: ``base`` right on ``base_right`` images in every seed, and each other
    cell derived from the first cell of its pair with the given (b, c) per seed."""
    y = np.arange(n) % 10
    seeds = len(next(iter(pairs.values())))
    right = {base: [np.arange(n) < base_right for _ in range(seeds)]}
    for (without, with_), counts in pairs.items():
        right[with_] = []
        for seed, (b, c) in enumerate(counts):
            before = right[without][seed]
            after = before.copy()
            after[np.flatnonzero(before)[:b]] = False
            after[np.flatnonzero(~before)[:c]] = True
            right[with_].append(after)
    arrays = {"y_test": y.astype(np.uint8), "exact_test_index": np.arange(n)}
    runs = []
    for cell, per_seed in right.items():
        flags = AblationCell.from_key(cell)
        for seed, ok in enumerate(per_seed):
            arrays[f"{cell}/seed{seed}"] = np.where(ok, y, (y + 1) % 10).astype(np.uint8)
            runs.append({"cell": cell, "augmentation": flags.augmentation,
                         "batch_norm": flags.batch_norm, "dropout": flags.dropout, "seed": seed,
                         "test_accuracy": float(ok.mean()),
                         "test_accuracy_full": float(ok.mean())})
    protocol = {"cells": list(right), "seeds": list(range(seeds)), "num_epochs": 1,
                "train_images": 0, "val_images": 0, "test_images": n, "exact_test_images": n}
    return AblationResults({"protocol": protocol, "runs": runs, "provenance": {}}, arrays,
                           Path("made-up grid"))


# Made-up contexts, chosen so that each usual mistake gives a wrong verdict somewhere.
_TOY_PAIRS = {
    ("plain", "aug"): ((5, 40), (8, 35)),       # a gain in both seeds
    ("plain", "bn"): ((5, 40), (20, 28)),       # significant in one seed only
    ("plain", "drop"): ((40, 5), (35, 8)),      # a loss in both seeds
    ("aug", "aug+bn"): ((45, 55), (44, 56)),    # higher accuracy, within luck
    ("bn", "bn+drop"): ((5, 40), (40, 5)),      # significant, in opposite directions
}


def _expected(results: AblationResults, without: str, with_: str) -> str:
    tests = [results.mcnemar(without, with_, seed, "full") for seed in results.seeds]
    if all(t.p_value < ALPHA and t.c > t.b for t in tests):
        return "gain"
    if all(t.p_value < ALPHA and t.b > t.c for t in tests):
        return "loss"
    return "not decided"


def _verdict(function: object, results: AblationResults, without: str, with_: str) -> str:
    value = call_learner(function, results, without, with_, name="factor_verdict",
                         hint="factor_verdict(results, without, with_) takes the grid and two "
                              "cell keys, e.g. (results, 'aug+bn', 'aug+bn+drop').")
    if value not in VERDICTS:
        raise Fail(f"`factor_verdict` returned {value!r}; it must return one of "
                   f"{list(VERDICTS)}.", "return one of the three strings exactly.")
    return value


@check("Task 4, a switch's verdict over seeds")
def check_factor_verdict(factor_verdict: object, results: AblationResults) -> Pass:
    """Check ``factor_verdict(results, without, with_)`` on a made-up grid, then on ``results``.

    The verdict is ``"gain"`` when every seed's McNemar test (whole test set) is
    significant at 5% with the cell ``with_`` right alone more often, ``"loss"``
    when every seed is significant the other way, ``"not decided"`` otherwise.
    """
    toy = _grid(_TOY_PAIRS)
    got = {pair: _verdict(factor_verdict, toy, *pair) for pair in _TOY_PAIRS}
    if got[("plain", "aug")] == "loss" and got[("plain", "drop")] == "gain":
        raise Fail("gains come out as losses and losses as gains.",
                   "B is the cell WITH the factor: c (A wrong, B right) > b means a gain.")
    if got[("plain", "drop")] == "gain":
        raise Fail("a factor that makes the model significantly WORSE in every seed is called "
                   "a gain: the direction is ignored.",
                   "a small p-value says the cells differ, not which is better: a gain also "
                   "needs c > b (the cell with the factor right alone more often).")
    if got[("aug", "aug+bn")] == "gain":
        raise Fail("a higher mean accuracy that is well within luck (p > 0.05 in every seed) "
                   "is called a gain.", "decide from McNemar's test in every seed, not from "
                                        "the difference of accuracies.")
    if got[("plain", "bn")] == "gain" or got[("bn", "bn+drop")] == "gain":
        raise Fail("a factor that is significant in one seed only (or in opposite directions "
                   "in two seeds) is called a gain.",
                   "a gain must show in EVERY seed: with one run per seed, one significant "
                   "seed may be the luck of that seed. Use all(...) over the seeds.")
    for pair, verdict in got.items():
        expected = _expected(toy, *pair)
        if verdict != expected:
            tests = [toy.mcnemar(*pair, seed) for seed in toy.seeds]
            detail = "; ".join(f"seed {s}: b = {t.b}, c = {t.c}, p = {t.p_value:.2g}"
                               for s, t in zip(toy.seeds, tests))
            raise Fail(f"on a made-up grid, {pair[0]} -> {pair[1]} ({detail}) should be "
                       f"{expected!r}, not {verdict!r}.",
                       "'gain' if every seed has p < 0.05 and c > b, 'loss' if every seed has "
                       "p < 0.05 and b > c, otherwise 'not decided'.")
    effects = results.effects("full")
    counts = dict.fromkeys(VERDICTS, 0)
    for effect in effects:
        expected = ("gain" if effect["significant_gain"] else
                    "loss" if effect["significant_loss"] else "not decided")
        verdict = _verdict(factor_verdict, results, effect["without"], effect["with"])
        if verdict != expected:
            raise Fail(f"right on a made-up grid, but on the ablation {effect['without']} -> "
                       f"{effect['with']} should be {expected!r}, not {verdict!r}.",
                       "use the whole test set (results.y_test and results.predictions(cell, "
                       "seed)) and every seed in results.seeds.")
        counts[expected] += 1
    return Pass(f"right on a made-up grid and on all {len(effects)} contexts of the ablation: "
                f"{counts['gain']} gains, {counts['loss']} losses, {counts['not decided']} "
                "not decided.")


# --------------------------------------------------------------------------- task 5

def holm_reference(p_values: Sequence[float], alpha: float = ALPHA) -> np.ndarray:
    """Holm's step-down procedure: which hypotheses are rejected, in the input's order."""
    return holm_rejections(p_values, alpha)


def _variants(p_values: Sequence[float], alpha: float) -> dict[str, np.ndarray]:
    """The usual wrong answers of the Holm task, by name."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    holm = holm_reference(p, alpha)
    thresholds = alpha / (m - np.arange(m))
    no_stop = np.zeros(m, dtype=bool)
    no_stop[order] = p[order] <= thresholds
    step_up = np.zeros(m, dtype=bool)
    passing = np.flatnonzero(p[order] <= thresholds)
    if passing.size:
        step_up[order[:passing.max() + 1]] = True
    # Checked in this order: an answer that matches two variants gets the first one's hint.
    return {"sorted": holm[order], "bonferroni": p <= alpha / m, "no_stop": no_stop,
            "step_up": step_up, "alpha_ignored": holm_reference(p, ALPHA),
            "uncorrected": p <= alpha}


_HOLM_HINTS = {
    "uncorrected": ("these are the tests with p < alpha, uncorrected: with many tests, some "
                    "pass by luck.", "Holm compares the smallest p-value with alpha / m, the "
                                     "next with alpha / (m - 1), and so on."),
    "bonferroni": ("that is Bonferroni's correction (every p-value against alpha / m): "
                   "right, but more cautious than Holm.",
                   "Holm relaxes the threshold step by step: the k-th smallest p-value (k = 0, "
                   "1, ...) is compared with alpha / (m - k)."),
    "sorted": ("the answers are in the order of the sorted p-values, not of the input.",
               "return one True/False per p-value in the order they were given: put each "
               "decision back at its index (np.argsort gives the indices)."),
    "no_stop": ("a p-value above its threshold does not stop your procedure.",
                "Holm steps down and STOPS at the first sorted p-value above its threshold: "
                "that one and all larger ones are not rejected."),
    "step_up": ("a p-value above its threshold does not stop your procedure (that is closer "
                "to Hochberg's step-up method).",
                "Holm steps down and STOPS at the first sorted p-value above its threshold: "
                "that one and all larger ones are not rejected."),
    "alpha_ignored": ("the `alpha` argument is ignored.",
                      "use the alpha your function is given, not a fixed 0.05."),
}

# (p-values, alpha), ordered so that each wrong variant is caught with its own hint.
_HOLM_CASES = (
    ([0.02, 0.5, 0.001, 0.011], 0.05),
    ([0.03, 0.04, 0.2], 0.05),
    ([0.04, 0.001, 0.034, 0.03], 0.05),
    ([0.04, 0.06], 0.1),
    ([0.03], 0.05),
)


@check("Task 5, Holm's correction")
def check_holm(holm: object) -> Pass:
    """Check ``holm(p_values, alpha)``: one boolean per p-value (rejected or not), in order."""
    rng = np.random.default_rng(4)
    random_cases = [(list(np.round(rng.uniform(0, 0.06, size=12) ** 1.5, 6)), 0.05)
                    for _ in range(3)]
    for p_values, alpha in (*_HOLM_CASES, *random_cases):
        value = call_learner(holm, list(p_values), alpha, name="holm",
                             hint="holm(p_values, alpha) takes a list of p-values and a level.")
        array = np.asarray(value)
        if array.shape != (len(p_values),):
            raise Fail(f"for {len(p_values)} p-values `holm` returned {describe(value)}.",
                       "return one True/False per p-value, in the order given.")
        if array.dtype != bool and not np.isin(array, (0, 1)).all():
            raise Fail("`holm` returned numbers that are not True/False (adjusted p-values?).",
                       "return whether each hypothesis is rejected: an array of booleans.")
        array = array.astype(bool)
        expected = holm_reference(p_values, alpha)
        if np.array_equal(array, expected):
            continue
        for name, variant in _variants(p_values, alpha).items():
            if np.array_equal(array, variant) and not np.array_equal(variant, expected):
                text, hint = _HOLM_HINTS[name]
                raise Fail(f"for p-values {p_values} at alpha = {alpha:g}: {text}", hint)
        raise Fail(f"for p-values {p_values} at alpha = {alpha:g} the rejections should be "
                   f"{expected.tolist()}, got {array.tolist()}.",
                   "sort the p-values; reject the k-th smallest (k = 0, 1, ...) while it is at "
                   "most alpha / (m - k); stop at the first that is not.")
    return Pass("the same rejections as Holm's step-down procedure on every list tried.")
