"""Tests of the checks of exercise 4 (cifar_edu.checks.ex04_regularisation_experiments): the
solution's answers pass, untouched tasks report "not done yet", and the usual wrong answers
get their specific hints. Fast: made-up grids and predictions, no training."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cifar_edu.augment import build_augmentation
from cifar_edu.checks import ex04_regularisation_experiments as ex04
from cifar_edu.models import baseline_cnn
from tests.check_helpers import _failed, _lenient, _not_done, _passed  # noqa: F401


# -- task 1: the model of a cell --------------------------------------------------------------

def _make_model(cell):
    return baseline_cnn(batch_norm=cell.batch_norm, dropout=0.2 if cell.dropout else 0.0)


def test_ex04_cell_model():
    import keras

    def untouched(cell):
        """Docstring only."""

    def dropout_as_switch(cell):
        return baseline_cnn(batch_norm=cell.batch_norm, dropout=cell.dropout)

    def bn_always(cell):
        return baseline_cnn(batch_norm=True, dropout=0.2 if cell.dropout else 0.0)

    def swapped(cell):
        return baseline_cnn(batch_norm=cell.dropout, dropout=0.2 if cell.batch_norm else 0.0)

    def heavy_dropout(cell):
        return baseline_cnn(batch_norm=cell.batch_norm, dropout=0.5 if cell.dropout else 0.0)

    def augmentation_inside(cell):
        model = _make_model(cell)
        if not cell.augmentation:
            return model
        inputs = keras.Input((32, 32, 3))
        return keras.Model(inputs, model(build_augmentation(flip=True, translate=2)(inputs)))

    _passed(ex04.check_cell_model(_make_model))
    _not_done(ex04.check_cell_model(None))
    _not_done(ex04.check_cell_model(untouched))
    _failed(ex04.check_cell_model(dropout_as_switch), "rate")
    _failed(ex04.check_cell_model(bn_always), "batch_norm switch is off")
    _failed(ex04.check_cell_model(swapped), "swapped")
    _failed(ex04.check_cell_model(heavy_dropout), "0.2")
    _failed(ex04.check_cell_model(augmentation_inside), "input pipeline")
    _failed(ex04.check_cell_model(lambda cell: "model"), "not a keras model")


# -- task 2: discordant pairs -----------------------------------------------------------------

@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, size=500)
    pred_a = np.where(rng.random(500) < 0.6, y, rng.integers(0, 10, size=500))
    pred_b = np.where(rng.random(500) < 0.7, y, rng.integers(0, 10, size=500))
    return y, pred_a, pred_b


def test_ex04_discordant_pairs(pair):
    y, pred_a, pred_b = pair
    right_a, right_b = pred_a == y, pred_b == y
    b, c = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    assert b != c
    both_wrong_apart = np.sum(~right_a & ~right_b & (pred_a != pred_b))
    assert both_wrong_apart > 0  # the pair can tell "labels differ" from "correctness differs"
    _passed(ex04.check_discordant_pairs(b, c, y, pred_a, pred_b))
    _passed(ex04.check_discordant_pairs(np.int64(b), np.array(c), y, pred_a, pred_b))
    _not_done(ex04.check_discordant_pairs(None, None, y, pred_a, pred_b))
    _failed(ex04.check_discordant_pairs(c, b, y, pred_a, pred_b), "swapped")
    _failed(ex04.check_discordant_pairs(np.sum(right_a & right_b), np.sum(~right_a & ~right_b),
                                        y, pred_a, pred_b), "agreements")
    differs = pred_a != pred_b
    _failed(ex04.check_discordant_pairs(np.sum(right_a & differs), np.sum(~right_a & differs),
                                        y, pred_a, pred_b), "y_true")
    _failed(ex04.check_discordant_pairs(right_a.sum(), right_b.sum(), y, pred_a, pred_b),
            "right")
    _failed(ex04.check_discordant_pairs([b, c], c, y, pred_a, pred_b), "one number")


# -- task 3: McNemar as a function ------------------------------------------------------------

def _mcnemar(y, pred_a, pred_b, *, sided="two-sided", trials="discordant", guard=True,
             swap=False):
    right_a, right_b = pred_a == y, pred_b == y
    b, c = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    if guard and b + c == 0:
        return b, c, 1.0
    n = b + c if trials == "discordant" else len(y)
    p = stats.binomtest(min(b, c), n, 0.5, alternative=sided).pvalue
    return (c, b, p) if swap else (b, c, p)


def test_ex04_mcnemar_function(pair):
    y, pred_a, pred_b = pair

    def untouched(y_true, pred_a, pred_b):
        raise NotImplementedError

    def chi_squared(y_true, pred_a, pred_b):
        b, c, _ = _mcnemar(y_true, pred_a, pred_b)
        return b, c, stats.chi2.sf((abs(b - c) - 1) ** 2 / (b + c), 1) if b + c else 1.0

    def p_only(y_true, pred_a, pred_b):
        return _mcnemar(y_true, pred_a, pred_b)[2]

    _passed(ex04.check_mcnemar_function(_mcnemar, y, pred_a, pred_b))
    _not_done(ex04.check_mcnemar_function(None, y, pred_a, pred_b))
    _not_done(ex04.check_mcnemar_function(untouched, y, pred_a, pred_b))
    _failed(ex04.check_mcnemar_function(lambda *a: _mcnemar(*a, sided="less"), y, pred_a,
                                        pred_b), "two-sided")
    _failed(ex04.check_mcnemar_function(lambda *a: _mcnemar(*a, trials="all"), y, pred_a,
                                        pred_b), "b + c")
    _failed(ex04.check_mcnemar_function(chi_squared, y, pred_a, pred_b), "exact")
    _failed(ex04.check_mcnemar_function(lambda *a: _mcnemar(*a, guard=False), y, pred_a,
                                        pred_b), "b + c = 0")
    _failed(ex04.check_mcnemar_function(lambda *a: _mcnemar(*a, swap=True), y, pred_a, pred_b),
            "swapped")
    _failed(ex04.check_mcnemar_function(p_only, y, pred_a, pred_b), "return b, c, p_value")


# -- task 4: a switch's verdict over seeds ----------------------------------------------------

def _verdict_by(results, without, with_, *, every=True, direction=True, by_accuracy=False,
                reverse=False):
    if by_accuracy:
        gap = np.mean(results.accuracies(with_, "full")) - np.mean(
            results.accuracies(without, "full"))
        return "gain" if gap > 0 else "loss"
    y = results.y_test
    gains, losses = [], []
    for seed in results.seeds:
        a, b_ = (with_, without) if reverse else (without, with_)
        b, c, p = _mcnemar(y, results.predictions(a, seed), results.predictions(b_, seed))
        gains.append(p < 0.05 and (c > b or not direction))
        losses.append(p < 0.05 and b > c and direction)
    combine = all if every else any
    if combine(gains):
        return "gain"
    if combine(losses):
        return "loss"
    return "not decided"


@pytest.fixture(scope="module")
def grid():
    """A made-up grid of all eight cells, with gains, losses and undecided contexts."""
    pairs = {("plain", "aug"): ((10, 60), (12, 55)), ("plain", "bn"): ((20, 30), (25, 22)),
             ("plain", "drop"): ((50, 10), (45, 12)), ("aug", "aug+bn"): ((10, 40), (30, 31)),
             ("aug", "aug+drop"): ((30, 35), (40, 38)), ("bn", "bn+drop"): ((5, 30), (6, 33)),
             ("aug+bn", "aug+bn+drop"): ((35, 5), (40, 8))}
    return ex04._grid(pairs)


def test_the_made_up_grids_hold_every_kind_of_verdict(grid):
    verdicts = {ex04._expected(grid, e["without"], e["with"]) for e in grid.effects()}
    assert verdicts == set(ex04.VERDICTS)
    toy = ex04._grid(ex04._TOY_PAIRS)
    assert [ex04._expected(toy, *pair) for pair in ex04._TOY_PAIRS] == [
        "gain", "not decided", "loss", "not decided", "not decided"]
    assert toy.mcnemar("plain", "bn", 0).b == 5 and toy.mcnemar("plain", "bn", 1).c == 28


def test_ex04_factor_verdict(grid):
    def untouched(results, without, with_):
        """Docstring only."""

    _passed(ex04.check_factor_verdict(_verdict_by, grid))
    _not_done(ex04.check_factor_verdict(None, grid))
    _not_done(ex04.check_factor_verdict(untouched, grid))
    _failed(ex04.check_factor_verdict(lambda *a: _verdict_by(*a, every=False), grid),
            "every seed")
    _failed(ex04.check_factor_verdict(lambda *a: _verdict_by(*a, direction=False), grid),
            "direction")
    _failed(ex04.check_factor_verdict(lambda *a: _verdict_by(*a, by_accuracy=True), grid),
            "difference of accuracies")
    _failed(ex04.check_factor_verdict(lambda *a: _verdict_by(*a, reverse=True), grid),
            "the cell with the factor")
    _failed(ex04.check_factor_verdict(lambda *a: "yes", grid), "one of")
    _failed(ex04.check_factor_verdict(lambda *a: "not decided", grid), "should be 'gain'")


# -- task 5: Holm's correction ----------------------------------------------------------------

def _holm(p_values, alpha=0.05, *, stop=True, keep_order=True, fixed_alpha=False):
    alpha = 0.05 if fixed_alpha else alpha
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    order = np.argsort(p)
    rejected = np.zeros(m, dtype=bool)
    for k, i in enumerate(order):
        if p[i] <= alpha / (m - k):
            rejected[i] = True
        elif stop:
            break
    return rejected if keep_order else rejected[order]


def test_holm_reference_on_a_worked_example():
    # m = 4: thresholds 0.0125, 0.0167, 0.025, 0.05 for the sorted p-values.
    assert ex04.holm_reference([0.02, 0.5, 0.001, 0.011]).tolist() == [True, False, True, True]
    assert ex04.holm_reference([0.04, 0.001, 0.034, 0.03]).tolist() == [False, True, False,
                                                                         False]
    assert ex04.holm_reference([]).tolist() == []


def test_ex04_holm():
    def untouched(p_values, alpha=0.05):
        """Docstring only."""

    def adjusted(p_values, alpha=0.05):
        return np.minimum(1.0, np.asarray(p_values) * len(p_values))

    _passed(ex04.check_holm(_holm))
    _passed(ex04.check_holm(lambda p, alpha=0.05: list(_holm(p, alpha))))
    _not_done(ex04.check_holm(None))
    _not_done(ex04.check_holm(untouched))
    _failed(ex04.check_holm(lambda p, alpha=0.05: np.asarray(p) <= alpha / len(p)), "bonferroni")
    _failed(ex04.check_holm(lambda p, alpha=0.05: np.asarray(p) <= alpha), "by luck")
    _failed(ex04.check_holm(lambda *a: _holm(*a, keep_order=False)), "order")
    _failed(ex04.check_holm(lambda *a: _holm(*a, stop=False)), "stop")
    _failed(ex04.check_holm(lambda *a: _holm(*a, fixed_alpha=True)), "alpha")
    _failed(ex04.check_holm(adjusted), "booleans")
