"""Evaluating models with statistics: metrics, calibration and model comparison.

>>> from cifar_edu.evaluation import evaluate_model, mcnemar_test
>>> report = evaluate_model(model, x_test, y_test)            # doctest: +SKIP
>>> print(report.summary())                                   # doctest: +SKIP

Metrics come from scikit-learn; this package adds what a course needs around
them: confidence intervals, calibration, the most confident mistakes, and
tests that say whether one model is really better than another.
"""

from __future__ import annotations

from cifar_edu.evaluation.calibration import (ReliabilityBins, expected_calibration_error,
                                              reliability_bins)
from cifar_edu.evaluation.comparison import (McNemarResult, SeedComparison, compare_over_seeds,
                                             holm_rejections, mcnemar_test, seed_summary)
from cifar_edu.evaluation.inference import predict_proba
from cifar_edu.evaluation.metrics import (ClassificationTable, bootstrap_accuracy_ci,
                                          classification_table, confusion_matrices,
                                          most_confident_mistakes, roc_curves)
from cifar_edu.evaluation.report import (SPLITS, EvaluationReport, evaluate_model,
                                         evaluate_on_data, evaluate_predictions, split_arrays)
from cifar_edu.evaluation.export import write_report
from cifar_edu.evaluation.tta import TTA_LEVELS, accuracy_key, predict_levels, tta_level

__all__ = [
    "predict_proba", "predict_levels", "TTA_LEVELS", "tta_level", "accuracy_key",
    "evaluate_model", "evaluate_predictions", "evaluate_on_data",
    "split_arrays", "SPLITS", "EvaluationReport", "write_report",
    "bootstrap_accuracy_ci", "classification_table", "ClassificationTable",
    "confusion_matrices", "roc_curves", "most_confident_mistakes",
    "expected_calibration_error", "reliability_bins", "ReliabilityBins",
    "mcnemar_test", "McNemarResult", "seed_summary", "compare_over_seeds", "SeedComparison",
    "holm_rejections",
]
