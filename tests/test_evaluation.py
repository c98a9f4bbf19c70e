"""Tests of cifar_edu.evaluation: metrics against scikit-learn, statistics against
hand-worked examples and simulations, and running real (tiny) models."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from cifar_edu.data import CLASS_NAMES, CifarData, DataSource
from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation import (EvaluationReport, bootstrap_accuracy_ci, classification_table,
                                  compare_over_seeds, confusion_matrices, evaluate_model,
                                  evaluate_on_data, evaluate_predictions,
                                  expected_calibration_error, mcnemar_test,
                                  most_confident_mistakes, predict_levels, predict_proba,
                                  reliability_bins, roc_curves, seed_summary, split_arrays)
from cifar_edu.evaluation.tta import TTA_LEVELS, accuracy_key, tta_level


@pytest.fixture()
def predictions(rng):
    """300 labels and probabilities of a moderately good fake classifier (~60% accurate)."""
    n, k = 300, 10
    y_true = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y_true] += 1.8
    y_prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y_true, y_prob


# --------------------------------------------------------------------- against scikit-learn

def test_classification_table_matches_sklearn(predictions):
    y_true, y_prob = predictions
    y_pred = y_prob.argmax(axis=1)
    table = classification_table(y_true.reshape(-1, 1), y_prob, CLASS_NAMES)  # Keras-style labels
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    np.testing.assert_allclose(table.precision, p)
    np.testing.assert_allclose(table.recall, r)
    np.testing.assert_allclose(table.f1, f)
    np.testing.assert_array_equal(table.support, s)
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, average=average,
                                                         zero_division=0)
        got = getattr(table, average)
        assert got["precision"] == pytest.approx(p)
        assert got["recall"] == pytest.approx(r)
        assert got["f1"] == pytest.approx(f)
    assert table.accuracy == pytest.approx(skm.accuracy_score(y_true, y_pred))
    # Labels or probabilities give the same table.
    assert classification_table(y_true, y_pred).to_dict() == table.to_dict()
    assert "airplane" in str(table) and "macro avg" in str(table)


def test_class_never_predicted_has_zero_precision():
    table = classification_table([0, 1, 1], [0, 0, 0], ["a", "b"])
    assert table.precision[1] == 0.0
    assert table.recall[1] == 0.0
    assert table.support.tolist() == [1, 2]


def test_confusion_matrices_match_sklearn(predictions):
    y_true, y_prob = predictions
    counts, normalized = confusion_matrices(y_true, y_prob)
    np.testing.assert_array_equal(counts, skm.confusion_matrix(y_true, y_prob.argmax(axis=1)))
    np.testing.assert_allclose(normalized.sum(axis=1), 1.0)
    recall = skm.recall_score(y_true, y_prob.argmax(axis=1), average=None)
    np.testing.assert_allclose(np.diag(normalized), recall)


def test_roc_curves_match_sklearn(predictions):
    y_true, y_prob = predictions
    roc = roc_curves(y_true, y_prob)
    assert roc["class_names"] == list(CLASS_NAMES)
    for k in range(10):
        assert roc["auc"][k] == pytest.approx(skm.roc_auc_score(y_true == k, y_prob[:, k]))
        fpr, tpr, _ = skm.roc_curve(y_true == k, y_prob[:, k])
        np.testing.assert_allclose(roc["fpr"][k], fpr)
        np.testing.assert_allclose(roc["tpr"][k], tpr)
    assert roc["macro_auc"] == pytest.approx(
        skm.roc_auc_score(y_true, y_prob, multi_class="ovr", average="macro"))


def test_roc_auc_of_absent_class_is_undefined(predictions):
    y_true, y_prob = predictions
    keep = y_true != 3
    roc = roc_curves(y_true[keep], y_prob[keep])
    assert np.isnan(roc["auc"][3])
    assert roc["macro_auc"] == pytest.approx(np.mean([a for k, a in enumerate(roc["auc"])
                                                      if k != 3]))


def test_report_matches_sklearn_and_is_json_safe(predictions):
    y_true, y_prob = predictions
    report = evaluate_predictions(y_true, y_prob, n_boot=200)
    assert report.accuracy == pytest.approx(skm.accuracy_score(y_true, y_prob.argmax(axis=1)))
    assert report.log_loss == pytest.approx(skm.log_loss(y_true, y_prob), rel=1e-5)
    low, high = report.accuracy_ci
    assert low <= report.accuracy <= high
    as_json = json.dumps(report.to_dict(), allow_nan=False)  # strict JSON: no NaN
    again = json.loads(as_json)
    assert set(again["per_class"]) == set(CLASS_NAMES)
    assert again["per_class"]["cat"]["roc_auc"] == pytest.approx(report.roc["auc"][3])
    assert len(again["most_confident_mistakes"]) == 16
    text = report.summary()
    assert all(name in text for name in CLASS_NAMES)
    assert "macro avg" in text and "ECE" in text


# --------------------------------------------------------------------- bootstrap

def test_bootstrap_is_reproducible_and_brackets_accuracy():
    y_true = np.arange(100) % 10
    y_pred = np.where(np.arange(100) < 80, y_true, (y_true + 1) % 10)  # 80% right
    acc, low, high = bootstrap_accuracy_ci(y_true, y_pred, n_boot=500, seed=1)
    assert acc == pytest.approx(0.8)
    assert low < 0.8 < high
    assert (acc, low, high) == bootstrap_accuracy_ci(y_true, y_pred, n_boot=500, seed=1)
    # About +-1.96 * sqrt(0.8 * 0.2 / 100) = +-0.078 around 0.8.
    assert high - low == pytest.approx(0.157, abs=0.03)


def test_binomial_shortcut_equals_resampling_indices(rng):
    """The shortcut in bootstrap_accuracy_ci has the distribution of real index resampling."""
    n, n_boot = 200, 4000
    correct = rng.random(n) < 0.7
    resampled = correct[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    y_true = np.zeros(n, int)
    y_pred = np.where(correct, 0, 1)
    acc, low, high = bootstrap_accuracy_ci(y_true, y_pred, n_boot=n_boot, seed=2)
    assert acc == pytest.approx(correct.mean())
    ref_low, ref_high = np.quantile(resampled, [0.025, 0.975])
    assert low == pytest.approx(ref_low, abs=0.011)
    assert high == pytest.approx(ref_high, abs=0.011)


def test_bootstrap_ci_covers_true_accuracy_about_95_percent():
    """Simulation: a model with true accuracy 0.85 is tested on 200 fresh images, 200 times."""
    true_acc, n, repeats = 0.85, 200, 200
    rng = np.random.default_rng(123)
    covered = 0
    for r in range(repeats):
        correct = rng.random(n) < true_acc
        _, low, high = bootstrap_accuracy_ci(np.zeros(n, int), np.where(correct, 0, 1),
                                             n_boot=200, seed=r)
        covered += low <= true_acc <= high
    # Binomial spread of the coverage over 200 repeats is about +-1.5 points.
    assert 0.90 <= covered / repeats <= 0.99


# --------------------------------------------------------------------- calibration

def test_ece_of_perfectly_calibrated_predictions_is_near_zero(rng):
    n, k = 20_000, 10
    confidence = rng.uniform(0.15, 1.0, n)
    y_pred = rng.integers(0, k, n)
    y_prob = np.tile(((1 - confidence) / (k - 1))[:, None], (1, k))
    y_prob[np.arange(n), y_pred] = confidence
    # Right exactly with probability `confidence`: calibrated by construction.
    right = rng.random(n) < confidence
    y_true = np.where(right, y_pred, (y_pred + rng.integers(1, k, n)) % k)
    assert expected_calibration_error(y_true, y_prob) < 0.015


def test_ece_of_overconfident_predictions(rng):
    n = 5_000
    y_prob = np.full((n, 10), 0.1 / 9)
    y_prob[:, 0] = 0.9                        # always 90% sure of class 0 ...
    y_true = np.where(rng.random(n) < 0.6, 0, 1)  # ... but right 60% of the time
    bins = reliability_bins(y_true, y_prob, n_bins=10)
    assert bins.count.sum() == n
    assert bins.ece == pytest.approx(0.3, abs=0.03)
    assert np.isnan(bins.accuracy[0])  # empty bins are NaN, not 0
    assert json.dumps(bins.to_dict(), allow_nan=False)


def test_reliability_bins_by_hand():
    # confidences 0.5, 0.5, 1.0, 1.0 with 3 bins (0, 1/3], (1/3, 2/3], (2/3, 1]
    y_prob = np.array([[0.5, 0.5], [0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])
    y_true = np.array([0, 1, 0, 0])            # right, wrong, right, wrong
    bins = reliability_bins(y_true, y_prob, n_bins=3)
    assert bins.count.tolist() == [0, 2, 2]
    np.testing.assert_allclose(bins.accuracy[1:], [0.5, 0.5])
    np.testing.assert_allclose(bins.confidence[1:], [0.5, 1.0])
    # ECE = 2/4 * |0.5 - 0.5| + 2/4 * |0.5 - 1.0| = 0.25
    assert bins.ece == pytest.approx(0.25)


# --------------------------------------------------------------------- mistakes

def test_most_confident_mistakes_by_hand():
    y_prob = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.95, 0.05]])
    y_true = np.array([0, 0, 1, 1, 1])  # wrong: 1 (0.8), 2 (0.6), 4 (0.95)
    assert most_confident_mistakes(y_true, y_prob, k=2).tolist() == [4, 1]
    assert most_confident_mistakes(y_true, y_prob, k=10).tolist() == [4, 1, 2]
    assert most_confident_mistakes(y_prob.argmax(axis=1), y_prob).size == 0  # no mistakes


# --------------------------------------------------------------------- comparing models

def test_mcnemar_matches_hand_worked_example():
    # 20 test images. Both right on 6, both wrong on 4, only A right on b = 2,
    # only B right on c = 8. Under "same error rate" each of the 10 discordant
    # images goes to A or B with probability 1/2, so the exact two-sided p-value is
    #   2 * P(X <= 2), X ~ Binomial(10, 1/2)
    #   = 2 * (C(10,0) + C(10,1) + C(10,2)) / 2**10 = 2 * (1 + 10 + 45) / 1024
    #   = 112 / 1024 = 0.109375
    y_true = np.zeros(20, int)
    a_right = np.array([1] * 6 + [0] * 4 + [1] * 2 + [0] * 8, bool)
    b_right = np.array([1] * 6 + [0] * 4 + [0] * 2 + [1] * 8, bool)
    pred_a, pred_b = np.where(a_right, 0, 1), np.where(b_right, 0, 2)
    result = mcnemar_test(y_true, pred_a, pred_b)
    assert (result.b, result.c, result.statistic) == (2, 8, 2)
    assert result.p_value == pytest.approx(112 / 1024)
    assert result.n == 20
    assert result.accuracy_a == pytest.approx(0.4) and result.accuracy_b == pytest.approx(0.7)
    swapped = mcnemar_test(y_true, pred_b, pred_a)  # the test is symmetric
    assert (swapped.b, swapped.c) == (8, 2)
    assert swapped.p_value == pytest.approx(result.p_value)
    assert "no evidence" in result.summary()


def test_mcnemar_second_example_and_no_discordant_pairs():
    # b = 0, c = 6: p = 2 * P(X = 0) = 2 / 2**6 = 0.03125
    y_true = np.zeros(10, int)
    pred_a = np.array([0] * 4 + [1] * 6)
    pred_b = np.zeros(10, int)
    result = mcnemar_test(y_true, pred_a, pred_b)
    assert (result.b, result.c) == (0, 6)
    assert result.p_value == pytest.approx(0.03125)
    assert "a real difference" in result.summary()
    same = mcnemar_test(y_true, pred_a, pred_a)
    assert (same.b, same.c, same.p_value) == (0, 0, 1.0)


def test_seed_summary_by_hand():
    mean, sd, n = seed_summary([0.90, 0.92, 0.94])
    # deviations -0.02, 0, +0.02: variance (0.0004 + 0 + 0.0004) / (3 - 1) = 0.0004
    assert mean == pytest.approx(0.92)
    assert sd == pytest.approx(0.02)
    assert n == 3
    mean, sd, n = seed_summary([0.9])
    assert np.isnan(sd) and n == 1
    with pytest.raises(CifarEduError):
        seed_summary([])


def test_compare_over_seeds():
    acc_a, acc_b = [0.900, 0.905, 0.910], [0.920, 0.925, 0.928, 0.922]
    comparison = compare_over_seeds(acc_a, acc_b)
    assert comparison.mean_a == pytest.approx(0.905)
    assert comparison.difference == pytest.approx(np.mean(acc_b) - 0.905)
    welch = stats.ttest_ind(acc_b, acc_a, equal_var=False)
    assert comparison.p_value == pytest.approx(welch.pvalue)
    assert comparison.ci_low < comparison.difference < comparison.ci_high
    assert "+-" in comparison.summary("baseline", "augmented")
    single = compare_over_seeds([0.9], [0.92])
    assert np.isnan(single.p_value) and single.difference == pytest.approx(0.02)
    assert json.dumps(single.to_dict(), allow_nan=False)


# --------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call", [
    lambda: classification_table([0, 1, 2], [0, 1]),                       # lengths differ
    lambda: roc_curves([0, 1], np.array([[3.0, -1.0], [0.5, 2.0]])),       # logits
    lambda: roc_curves([0, 1], np.array([[0.5, 0.5], [np.nan, 0.5]])),     # NaN
    lambda: classification_table(np.zeros((3, 2)), [0, 1, 1]),             # one-hot labels
    lambda: classification_table([0, 12], [0, 1]),                          # label out of range
    lambda: bootstrap_accuracy_ci([0, 1], [0, 1], confidence=95),
    lambda: bootstrap_accuracy_ci([], []),
    lambda: evaluate_predictions([0, 1], np.eye(2), class_names=CLASS_NAMES),
])
def test_bad_input_raises_cifar_edu_error(call):
    with pytest.raises(CifarEduError):
        call()


# --------------------------------------------------------------------- with a model

def test_predict_proba_batches_and_tta(tiny_model, sample):
    x = sample.x_test[:37]
    reference = tiny_model.predict(x.astype("float32"), verbose=0)
    prob = predict_proba(tiny_model, x, batch_size=10)
    assert prob.shape == (37, 10) and prob.dtype == np.float32
    np.testing.assert_allclose(prob, reference, atol=1e-5)
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, atol=1e-5)
    flipped = tiny_model.predict(x[:, :, ::-1].astype("float32"), verbose=0)
    np.testing.assert_allclose(predict_proba(tiny_model, x, batch_size=500, tta=True),
                               (reference + flipped) / 2, atol=1e-5)
    assert predict_proba(tiny_model, x[0]).shape == (1, 10)  # one image is fine too


def test_tta_levels_average_mirrored_and_shifted_views(tiny_model, sample):
    x = sample.x_test[:20]
    plain, mirror, full = predict_levels(tiny_model, x, max_level=2, batch_size=8)
    direct = np.asarray(tiny_model(x.astype("float32")))
    flipped = np.asarray(tiny_model(x[:, :, ::-1].astype("float32")))
    np.testing.assert_allclose(plain, direct, atol=1e-5)
    np.testing.assert_allclose(mirror, (direct + flipped) / 2, atol=1e-5)
    # Level 2 by hand: the mirrored pair shifted one pixel up-left and down-right.
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect").astype("float32")
    shifted = [np.asarray(tiny_model(v)) + np.asarray(tiny_model(v[:, :, ::-1]))
               for v in (padded[:, :32, :32], padded[:, 2:, 2:])]
    np.testing.assert_allclose(full, 0.5 * mirror + 0.125 * (shifted[0] + shifted[1]),
                               atol=1e-5)
    # predict_proba gives the same levels, by number, name or bool.
    for level, name in TTA_LEVELS.items():
        expected = (plain, mirror, full)[level]
        np.testing.assert_allclose(predict_proba(tiny_model, x, tta=name), expected, atol=1e-5)
        np.testing.assert_allclose(predict_proba(tiny_model, x, tta=level), expected, atol=1e-5)
    np.testing.assert_allclose(predict_proba(tiny_model, x, tta=True), mirror, atol=1e-5)


def test_tta_settings_and_their_metrics_keys():
    assert [tta_level(v) for v in (False, True, 0, 1, 2, "none", "flip", "flip_translate")] == \
        [0, 1, 0, 1, 2, 0, 1, 2]
    assert [accuracy_key(level) for level in TTA_LEVELS] == \
        [accuracy_key(name) for name in TTA_LEVELS.values()] == \
        ["accuracy", "accuracy_flip", "accuracy_flip_translate"]
    for bad in (3, "mirror", None, 1.5):
        with pytest.raises(CifarEduError, match="flip_translate"):
            tta_level(bad)


def test_predict_proba_rejects_bad_images_and_logit_models(tiny_model, sample):
    with pytest.raises(CifarEduError, match="32, 32, 3"):
        predict_proba(tiny_model, np.zeros((2, 28, 28, 3), np.uint8))
    logits_model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                                     keras.layers.Dense(10)])
    with pytest.raises(CifarEduError, match="softmax"):
        predict_proba(logits_model, sample.x_test[:4])


def test_evaluate_model_on_the_sample(tiny_model, sample):
    report = evaluate_model(tiny_model, sample.x_test[:200], sample.y_test[:200], n_boot=100)
    assert isinstance(report, EvaluationReport)
    prob = tiny_model.predict(sample.x_test[:200].astype("float32"), verbose=0)
    expected = np.mean(prob.argmax(axis=1) == sample.y_test[:200, 0])
    assert report.accuracy == pytest.approx(expected, abs=0.011)  # ties may flip 1-2 images
    assert report.n == 200 and report.confusion_counts.sum() == 200
    assert json.dumps(report.to_dict(include_curves=True), allow_nan=False)


def test_evaluate_on_offline_rebuild_reports_exact_rows_too(tiny_model, sample):
    """On the offline rebuild the byte-exact rows come first, and the model runs once."""
    rebuild = CifarData(sample.x_train, sample.y_train, sample.x_test, sample.y_test,
                        DataSource("directory", "/nowhere", offline_rebuild=True),
                        np.arange(120))
    reports = evaluate_on_data(tiny_model, rebuild, "test", n_boot=50)
    assert list(reports) == ["exact", "test"]
    assert reports["exact"].n == 120 and reports["test"].n == 500
    assert "estimate of real test accuracy" in reports["exact"].description
    assert "lower bound" in reports["test"].description
    np.testing.assert_allclose(reports["exact"].y_prob, reports["test"].y_prob[:120])
    only_sample = evaluate_on_data(tiny_model, sample, "exact", n_boot=50)
    assert list(only_sample) == ["exact"]


def test_split_arrays(sample):
    x_val, y_val = split_arrays(sample, "val")
    assert len(x_val) == len(y_val) == 100  # 10% of the 1,000 training images
    assert split_arrays(sample, "test")[0] is sample.x_test
    with pytest.raises(CifarEduError, match="unknown split"):
        split_arrays(sample, "training")


def test_holm_rejections_step_down_and_stop():
    from cifar_edu.evaluation import holm_rejections

    # Sorted: 0.001 <= 0.05/4, 0.011 <= 0.05/3, 0.02 <= 0.05/2, 0.5 > 0.05/1.
    assert holm_rejections([0.02, 0.5, 0.001, 0.011]).tolist() == [True, False, True, True]
    # 0.03 > 0.05/3 stops the procedure, although 0.034 and 0.04 are below 0.05.
    assert holm_rejections([0.04, 0.001, 0.034, 0.03]).tolist() == [False, True, False, False]
    assert holm_rejections([]).tolist() == []
