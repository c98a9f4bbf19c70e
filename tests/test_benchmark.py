"""The benchmark: it runs on the sample and reports every figure (speed goals live elsewhere)."""

from __future__ import annotations

import pytest

pytest.importorskip("keras")

from cifar_edu.benchmark import (benchmark_inference, benchmark_recipe, format_inference,
                                 format_table, peak_rss_mb)
from cifar_edu.errors import CifarEduError


def test_inference_benchmark_reports_speed(tiny_model, sample):
    result = benchmark_inference(tiny_model, batch_size=200, latency_runs=20,
                                 images=sample.x_test[:50])
    assert result["images_per_s"] > 0 and result["batch_size"] == 200
    assert 0 < result["latency_ms_p50"] <= result["latency_ms_p95"]
    assert result["parameters"] == tiny_model.count_params()
    assert "images/s" in format_inference({"model": "tiny", **result})


def test_recipe_benchmark_on_the_sample(tmp_path):
    result = benchmark_recipe("tiny", seeds=1, source="sample", num_epochs=1,
                              runs_dir=tmp_path / "runs")
    run = result["runs"][0]
    for key in ("wall_time_s", "train_s", "test_accuracy_exact", "test_accuracy_full",
                "time_to_val_90_s", "time_to_val_94_s", "train_images_per_s", "peak_rss_mb",
                "precision"):
        assert key in run, key
    assert run["wall_time_s"] > run["train_s"] > 0  # cold start includes the imports
    assert 0 <= run["test_accuracy_exact"] <= 1 and run["train_images_per_s"] > 0
    assert run["peak_rss_mb"] is None or run["peak_rss_mb"] > 50
    summary = result["summary"]
    assert summary["test_accuracy_exact"]["mean"] == pytest.approx(run["test_accuracy_exact"])
    assert summary["time_to_val_94_s"]["reached"] in (0, 1)
    assert {"images_per_s", "latency_ms_p50", "latency_ms_p95"} <= set(result["inference"])
    assert (tmp_path / "runs" / "tiny-seed0" / "model.keras").is_file()
    table = format_table({"data": "sample", "machine": {"cpu": "x", "cpu_count": 2, "gpus": []},
                          "recipes": [result]})
    assert "tiny" in table and "exact acc" in table
    assert peak_rss_mb() > 0


def test_recipe_benchmark_rejects_bad_input():
    with pytest.raises(CifarEduError, match="unknown recipe"):
        benchmark_recipe("nope", source="sample")
    with pytest.raises(CifarEduError, match="seeds"):
        benchmark_recipe("tiny", seeds=0, source="sample")
