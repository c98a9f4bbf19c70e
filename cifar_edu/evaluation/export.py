"""Writing evaluation reports to a folder: metrics.json, a text summary and the figures."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cifar_edu import plots
from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation.report import EvaluationReport
from cifar_edu.fileio import atomic_open, atomic_write_json

__all__ = ["write_report"]


def write_report(reports: EvaluationReport | Mapping[str, EvaluationReport],
                 directory: str | os.PathLike[str], *,
                 images: np.ndarray | Mapping[str, np.ndarray] | None = None,
                 extra: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write ``metrics.json``, ``summary.txt`` and PNG figures of one or more reports.

    Every file is written atomically. Figures are named after the report, e.g.
    ``confusion_matrix_test.png``, ``roc_curves_exact.png``,
    ``reliability_test.png`` and, when the images are given,
    ``mistakes_test.png``.

    Parameters
    ----------
    reports : EvaluationReport or mapping of str to EvaluationReport
        One report, or several keyed by name (as :func:`evaluate_on_data` returns).
    directory : path-like
        Created if missing; existing files of the same names are replaced.
    images : ndarray or mapping of str to ndarray, optional
        The evaluated images (one array, or one per report name) for the gallery
        of the most confident mistakes.
    extra : mapping, optional
        More JSON-safe entries for ``metrics.json`` (model, data source ...).

    Returns
    -------
    dict of str to pathlib.Path
        What was written, keyed by a short label.
    """
    if isinstance(reports, EvaluationReport):
        reports = {reports.name: reports}
    if not reports:
        raise CifarEduError("there is no report to write; evaluate a model first")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise CifarEduError(f"{directory} exists and is not a folder; choose another report "
                            "folder")
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    metrics = dict(extra or {})
    metrics["reports"] = {name: report.to_dict() for name, report in reports.items()}
    written["metrics"] = directory / "metrics.json"
    atomic_write_json(written["metrics"], metrics)
    written["summary"] = directory / "summary.txt"
    with atomic_open(written["summary"]) as fh:
        fh.write("\n\n".join(report.summary() for report in reports.values()) + "\n")

    for name, report in reports.items():
        label = report.description or name
        figures = {
            f"confusion_matrix_{name}": plots.confusion_matrix(
                report.confusion_counts, report.class_names,
                title=f"Confusion matrix, {name} (% of true class)"),
            f"roc_curves_{name}": plots.roc_curves(report.roc, title=f"ROC curves, {name}"),
            f"reliability_{name}": plots.reliability_diagram(
                report.reliability, title=f"Reliability, {name}"),
        }
        x = images.get(name) if isinstance(images, Mapping) else images
        if x is not None:
            if len(x) != report.n:
                raise CifarEduError(f"{len(x):,} images for the report {name!r} of "
                                    f"{report.n:,} images; pass the evaluated images")
            figures[f"mistakes_{name}"] = plots.misclassification_gallery(
                x, report.y_true, report.y_prob, report.mistakes, report.class_names,
                title=f"Most confident mistakes, {name}")
        for key, fig in figures.items():
            # Say which image set the figure is about: the exact and full test sets differ.
            fig.text_alternative = f"{label}. {plots.describe_figure(fig)}"
            written[key] = plots.save_figure(fig, directory / f"{key}.png")
    return written

