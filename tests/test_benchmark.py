"""The benchmark: it runs on the sample and reports every figure (speed goals live elsewhere)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("keras")

from cifar_edu.benchmark import (DEFAULT_BATCH_SIZES, benchmark_inference, benchmark_recipe,
                                 benchmarks_dir, describe_benchmark, format_inference,
                                 format_table, layer_costs, list_benchmarks, load_benchmark,
                                 conv_rate, peak_rss_mb, run_inference_benchmark)
from cifar_edu.cli.main import main
from cifar_edu.errors import CifarEduError
from cifar_edu.results import RESULTS_ENV


def test_inference_benchmark_reports_speed(tiny_model, sample):
    result = benchmark_inference(tiny_model, batch_size=200, latency_runs=20,
                                 images=sample.x_test[:50])
    assert result["images_per_s"] > 0 and result["batch_size"] == 200
    assert 0 < result["latency_ms_p50"] <= result["latency_ms_p95"]
    assert result["parameters"] == tiny_model.count_params()
    assert result["multiply_adds"] == sum(r["multiply_adds"] for r in layer_costs(tiny_model))
    assert result["gmacs_per_s"] == pytest.approx(
        result["images_per_s"] * result["multiply_adds"] / 1e9)
    assert "images/s" in format_inference({"model": "tiny", **result})


def test_conv_rate_measures_this_machine():
    assert conv_rate("float32", batch=2, size=8, channels=16, min_time_s=0) > 0
    with pytest.raises(CifarEduError, match="precision"):
        conv_rate("float64", batch=1, size=4, channels=4)


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
    assert len(run["val_curve"]) == run["epochs"]
    assert 0 < run["val_curve"][0]["time_s"] < run["wall_time_s"]
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


# -- inference sweeps, layer costs, saved benchmarks -----------------------------------------

def test_inference_sweep_reports_every_batch_size(tiny_model, sample):
    result = benchmark_inference(tiny_model, precision="float32", batch_size=16,
                                 batch_sizes=(8, 1, 8), latency_runs=5, min_time_s=0,
                                 images=sample.x_test[:10])
    assert [r["batch_size"] for r in result["sweep"]] == [1, 8, 16]  # sorted, unique
    for record in result["sweep"]:
        assert record["images_per_s"] > 0 and record["calls"] >= 3
        assert record["ms_per_batch"] == pytest.approx(
            1000 * record["batch_size"] / record["images_per_s"])
    assert result["images_per_s"] == result["sweep"][-1]["images_per_s"]
    assert result["first_call_s"] > 0 and result["jit_compile"] is False
    assert result["precision"] == "float32" and result["model_bytes"] is None


def test_inference_with_xla_runs(tiny_model):
    result = benchmark_inference(tiny_model, precision="float32", batch_size=4, latency_runs=3,
                                 min_time_s=0, jit_compile=True)
    assert result["jit_compile"] is True and result["images_per_s"] > 0


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size must be whole numbers of at least 1"),
    ({"batch_sizes": (1, 0)}, "--batch-sizes 1 8"),
    ({"batch_sizes": (2.5,)}, "at least 1"),
    ({"latency_runs": 0}, "latency_runs"),
    ({"min_time_s": -1}, "min_time_s"),
])
def test_inference_rejects_bad_input(tiny_model, kwargs, message):
    with pytest.raises(CifarEduError, match=message):
        benchmark_inference(tiny_model, **kwargs)


def test_inference_rejects_what_is_not_a_model():
    with pytest.raises(CifarEduError, match="keras.Model, 'pretrained'"):
        benchmark_inference(42)


def test_sweep_over_precisions_of_a_saved_model(tiny_model, tmp_path):
    path = tmp_path / "tiny.keras"
    tiny_model.save(path)
    result = run_inference_benchmark(str(path), precisions=("float32", "mixed_bfloat16"),
                                     batch_sizes=(1, 8), batch_size=8, latency_runs=3,
                                     min_time_s=0, command=["cifar-edu", "benchmark", "x"])
    assert [r["precision"] for r in result["runs"]] == ["float32", "mixed_bfloat16"]
    assert result["model_bytes"] == path.stat().st_size == result["runs"][1]["model_bytes"]
    assert result["parameters"] == tiny_model.count_params()
    assert result["images_per_s"] == result["runs"][0]["images_per_s"]  # the old keys stay
    assert {"machine", "versions", "created", "auto_precision"} <= set(result)
    assert result["command"] == "cifar-edu benchmark x"
    text = format_inference(result)
    assert "b=1" in text and "b=8" in text and "mixed_bfloat16" in text
    assert all(run["conv_gmacs_per_s"] > 0 for run in result["runs"]) and "GMAC/s" in text
    assert "The prediction speed" in describe_benchmark(result)


def test_layer_costs_count_parameters_and_multiply_adds(tiny_model):
    rows = {r["name"]: r for r in layer_costs(tiny_model)}
    assert rows["conv1"]["output_shape"] == (32, 32, 16)
    assert rows["conv1"]["multiply_adds"] == 32 * 32 * 16 * 3 * 3 * 3
    assert rows["conv2"]["multiply_adds"] == 16 * 16 * 32 * 3 * 3 * 16
    assert rows["predictions"]["multiply_adds"] == 32 * 10
    assert rows["conv1"]["parameters"] == 3 * 3 * 3 * 16 + 16
    assert sum(r["parameters"] for r in rows.values()) == tiny_model.count_params()
    assert all(r["multiply_adds"] == 0 for name, r in rows.items()
               if name not in ("conv1", "conv2", "predictions"))


def test_saved_benchmarks_load_from_the_results_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path))
    assert benchmarks_dir() == tmp_path / "benchmarks" and list_benchmarks() == []
    with pytest.raises(CifarEduError, match="cifar-edu benchmark train --recipe fast90 --seeds 3"):
        load_benchmark("train_fast90")
    with pytest.raises(CifarEduError, match="cifar-edu benchmark inference --model pretrained"):
        load_benchmark("inference_pretrained")
    with pytest.raises(CifarEduError, match="not a benchmark name"):
        load_benchmark("../secrets")
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    record = {"data": "CIFAR-10 (offline rebuild)", "machine": {"cpu": "Test CPU",
                                                              "cpus_usable": 2, "gpus": []},
              "versions": {"tensorflow": "2.0", "keras": "3.0"}, "created": "2026-01-02T03:04",
              "recipes": [{"recipe": "fast90", "seeds": 3}]}
    (folder / "train_x.json").write_text(json.dumps(record))
    (folder / "broken.json").write_text("{")
    (folder / "other.json").write_text("[1, 2]")
    assert list_benchmarks() == ["broken", "other", "train_x"]
    assert load_benchmark("train_x") == record
    with pytest.raises(CifarEduError, match="unreadable"):
        load_benchmark("broken")
    with pytest.raises(CifarEduError, match="not a benchmark result"):
        load_benchmark("other")
    with pytest.raises(CifarEduError, match="saved benchmarks: broken, other, train_x"):
        load_benchmark("missing")
    text = describe_benchmark(record)
    assert "Recipe fast90 (3 seeds" in text and "Test CPU (2 CPUs, no GPU)" in text
    assert "TensorFlow 2.0 and Keras 3.0" in text and "2026-01-02" in text
    assert "`cifar-edu benchmark train --recipe fast90 --seeds 3 --data full`" in text


def test_shipped_benchmarks_load_without_tensorflow():
    code = ("import sys; from cifar_edu.benchmark import load_benchmark, describe_benchmark; "
            "[describe_benchmark(load_benchmark(n)) for n in ('train_fast90', "
            "'inference_pretrained')]; print('tensorflow' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != RESULTS_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"


def test_shipped_benchmarks_have_what_lesson_8_plots(monkeypatch):
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    train = load_benchmark("train_fast90")
    (recipe,) = train["recipes"]
    assert recipe["recipe"] == "fast90" and recipe["seeds"] == len(recipe["runs"]) >= 3
    assert train["offline_rebuild"] in (True, False) and train["machine"]["cpu"]
    inference = load_benchmark("inference_pretrained")
    assert [r["precision"] for r in inference["runs"]] == ["float32", "mixed_bfloat16"]
    for run in inference["runs"]:
        assert [r["batch_size"] for r in run["sweep"]] == list(DEFAULT_BATCH_SIZES)
    assert inference["model"] == "pretrained" and inference["model_bytes"] > 0
    int8 = load_benchmark("inference_pretrained_int8")
    assert [r["precision"] for r in int8["runs"]] == ["int8"]
    assert [r["batch_size"] for r in int8["runs"][0]["sweep"]] == list(DEFAULT_BATCH_SIZES)
    assert int8["model"] == "pretrained-int8" and 0 < int8["model_bytes"] < inference["model_bytes"]


def test_cli_inference_sweep_writes_its_command(tiny_model, tmp_path, capsys):
    path, out = tmp_path / "tiny.keras", tmp_path / "bench.json"
    tiny_model.save(path)
    code = main(["benchmark", "inference", "--model", str(path), "--precision", "float32",
                 "--batch-sizes", "1", "4", "--batch-size", "4", "--latency-runs", "3",
                 "--min-time", "0", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(out.read_text())
    assert json.loads(captured.out)["runs"] == result["runs"]
    assert [r["batch_size"] for r in result["runs"][0]["sweep"]] == [1, 4]
    assert result["command"] == (f"cifar-edu benchmark inference --model {path} --precision "
                                 f"float32 --batch-sizes 1 4 --batch-size 4 --latency-runs 3 "
                                 f"--min-time 0 --out {out}")


@pytest.mark.parametrize("args, message", [
    (["inference", "--batch-sizes", "0"], "at least 1"),
    (["train", "--precision", "float32", "mixed_bfloat16"], "one --precision"),
    (["train", "--batch-sizes", "8"], "--batch-sizes and --jit-compile"),
])
def test_cli_benchmark_bad_input_is_one_line(args, message, capsys):
    code = main(["benchmark", *args, "--data", "sample"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
