"""Tests of cifar_edu.benchmark_plots: labelled figures with text alternatives from benchmark
results (made-up ones and the shipped files)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cifar_edu import benchmark_plots as bp
from cifar_edu.benchmark import load_benchmark
from cifar_edu.errors import CifarEduError
from cifar_edu.plots import describe_figure
from cifar_edu.results import RESULTS_ENV


def _check(fig: object, data_axes: int) -> Figure:
    """A Figure that renders, with a title, a text alternative and labelled data axes."""
    assert isinstance(fig, Figure)
    FigureCanvasAgg(fig).draw()
    title = fig._suptitle.get_text() if fig._suptitle is not None else fig.axes[0].get_title()
    assert title.strip() and len(describe_figure(fig)) > 20
    for ax in fig.axes[:data_axes]:
        assert ax.get_xlabel() and ax.get_ylabel(), ax.get_title()
    return fig


def _sweep(precision, rates, jit=False):
    sizes = (1, 8, 64)
    return {"precision": precision, "jit_compile": jit,
            "sweep": [{"batch_size": b, "images_per_s": r} for b, r in zip(sizes, rates)]}


def _run(seed, wall, exact, full, curve=True):
    run = {"seed": seed, "wall_time_s": wall, "train_s": wall - 30, "test_accuracy_exact": exact,
           "test_accuracy_full": full, "time_to_val_90_s": 200.0 if exact > 0.9 else None}
    if curve:
        run["val_curve"] = [{"time_s": 60.0 * k, "val_accuracy": 0.6 + 0.06 * k}
                            for k in range(1, 6)]
    return run


def test_latency_histogram_marks_median_p95_and_mean():
    times = np.r_[np.full(90, 2.0), np.full(10, 12.0)]
    fig = _check(bp.latency_histogram(times, title="One image"), 1)
    text = describe_figure(fig)
    assert "100 timed calls" in text and "median 2.00 ms" in text and "mean 3.00 ms" in text
    with pytest.raises(CifarEduError, match="at least one finite"):
        bp.latency_histogram([])


def test_throughput_by_batch_size_from_a_document_a_run_or_a_list():
    document = {"runs": [_sweep("float32", (100, 500, 800)),
                         _sweep("mixed_bfloat16", (120, 900, 1500), jit=True)]}
    fig = _check(bp.throughput_by_batch_size(document, target=1000, target_batch=64), 2)
    text = describe_figure(fig)
    assert "mixed_bfloat16 + XLA: 120 images/s at batch 1" in text
    assert "target 1,000 images/s at batch 64" in text
    assert len(fig.axes[0].get_lines()) >= 2 and fig.axes[1].get_yscale() == "log"
    _check(bp.throughput_by_batch_size(document["runs"][0]), 2)
    _check(bp.throughput_by_batch_size(document["runs"]), 2)
    with pytest.raises(CifarEduError, match="batch-sizes"):
        bp.throughput_by_batch_size({"runs": [{"precision": "float32"}]})


def test_training_benchmark_with_and_without_validation_curves():
    result = {"recipes": [{"recipe": "fast90", "seeds": 2, "summary": {},
                           "runs": [_run(0, 400, 0.91, 0.88), _run(1, 520, 0.89, 0.87)]}]}
    fig = _check(bp.training_benchmark(result), 3)
    text = describe_figure(fig)
    assert "fast90: 2 seeds" in text and "6.7, 8.7 minutes" in text
    assert "target 8 minutes" in text and "1 of 2 seeds reached 90%" in text
    assert "91.0%, 89.0%" in text
    bare = {"recipes": [{"recipe": "fast90", "seeds": 1, "summary": {},
                         "runs": [_run(0, 300, 0.85, 0.84, curve=False)]}]}
    fig = _check(bp.training_benchmark(bare, "fast90", time_target_s=None), 2)
    assert "no seed reached 90%" in describe_figure(fig)
    assert not fig.axes[2].axison
    with pytest.raises(CifarEduError, match="no recipe 'fast94'"):
        bp.training_benchmark(result, "fast94")


def test_the_shipped_benchmarks_plot(monkeypatch):
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    _check(bp.training_benchmark(load_benchmark("train_fast90")), 2)
    _check(bp.throughput_by_batch_size(load_benchmark("inference_pretrained"), target=1000,
                                       target_batch=1000), 2)


def test_importing_the_module_does_not_load_tensorflow():
    import subprocess
    import sys

    code = "import sys, cifar_edu.benchmark_plots; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-1000:]
