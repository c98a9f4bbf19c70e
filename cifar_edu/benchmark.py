"""Benchmarks: how fast recipes train and how fast models predict, on this machine.

:func:`benchmark_recipe` trains a recipe once per seed, each run in a fresh
Python process: a *cold start*, so importing TensorFlow, loading the data and
building and tracing the model count, as they do for a learner. It reads the run
folder back: final accuracy on the byte-exact test rows and on the whole test
set, when validation accuracy first reached 90% and 94%, training throughput
and the process' peak memory. :func:`benchmark_inference` measures a trained
model: images per second at batch 1,000 and the latency of one image (p50/p95,
warm). It calls the model through a traced function rather than
``model.predict``, whose per-call overhead would dominate for one image.

``cifar-edu benchmark`` prints the result as a table or as JSON.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cifar_edu.errors import CifarEduError

__all__ = ["VAL_THRESHOLDS", "benchmark_recipe", "benchmark_inference", "run_benchmark",
           "format_table", "format_inference", "peak_rss_mb"]

#: Validation accuracies whose first crossing time is reported.
VAL_THRESHOLDS = (0.90, 0.94)


def _rss_mb(maxrss: int) -> float:
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024  # bytes vs KiB


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return _rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _summary(values: Sequence[float | None]) -> dict[str, float | None]:
    clean = [float(v) for v in values if v is not None]
    if not clean:
        return {"mean": None, "std": None, "min": None, "max": None}
    arr = np.asarray(clean)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
            "min": float(arr.min()), "max": float(arr.max())}


def _time_to(history: list[dict[str, Any]], threshold: float, start: float) -> float | None:
    """Seconds from ``start`` (a Unix time) to the first epoch with val accuracy >= threshold."""
    for record in history:
        value = record.get("val_accuracy")
        if value is not None and value >= threshold and "timestamp" in record:
            return float(record["timestamp"]) - start
    return None


def _run_child(cmd: list[str]) -> tuple[int, float | None, str, str]:
    """Run ``cmd``; return exit code, its peak RSS in MB (where the OS tells), stdout, stderr."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        try:
            if hasattr(os, "wait4"):
                # wait4 reports this child's own peak memory, not that of all children.
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                peak = _rss_mb(usage.ru_maxrss)
            else:  # pragma: no cover - Windows
                proc.wait()
                peak = None
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        out.seek(0)
        err.seek(0)
        return (proc.returncode, peak, out.read().decode(errors="replace"),
                err.read().decode(errors="replace"))


def _train_once(recipe: str, seed: int, source: str, num_epochs: int | None, precision: str,
                run_dir: Path) -> dict[str, Any]:
    """Train in a fresh process with ``python -m cifar_edu train``; return one seed's record."""
    cmd = [sys.executable, "-m", "cifar_edu", "train", "--recipe", recipe, "--out", str(run_dir),
           "--seed", str(seed), "--data", str(source), "--precision", precision,
           "--verbose", "0", "--json"]
    if num_epochs is not None:
        cmd += ["--epochs", str(num_epochs)]
    start = time.time()
    t0 = time.perf_counter()
    code, peak, _, err = _run_child(cmd)
    wall = time.perf_counter() - t0
    if code != 0:
        tail = " / ".join(err.strip().splitlines()[-3:])
        raise CifarEduError(f"training {recipe!r} with seed {seed} failed (exit code {code}): "
                            f"{tail}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = json.loads((run_dir / "history.json").read_text())
    provenance = json.loads((run_dir / "provenance.json").read_text())
    timing = provenance.get("timing", {})
    # Training throughput: images per second of the epochs, validation excluded.
    fit_times = [e - (v or 0.0) for e, v in zip(timing.get("epoch_times_s", []),
                                                timing.get("val_times_s", [])) if e is not None]
    per_epoch = (provenance.get("steps_per_epoch") or 0) * (provenance.get("batch_size") or 0)
    return {
        "seed": seed,
        "wall_time_s": wall,
        "train_s": timing.get("train_s"),
        "evaluate_s": timing.get("evaluate_s"),
        "epochs": metrics.get("epochs_completed"),
        "test_accuracy_exact": metrics["test_exact"].get(_headline_key(metrics)),
        "test_accuracy_full": metrics["test_full"].get(_headline_key(metrics)),
        "test_accuracy_exact_no_tta": metrics["test_exact"]["accuracy"],
        "test_accuracy_full_no_tta": metrics["test_full"]["accuracy"],
        "val_accuracy": metrics.get("val_accuracy"),
        **{f"time_to_val_{round(100 * t)}_s": _time_to(history, t, start)
           for t in VAL_THRESHOLDS},
        "train_images_per_s": (per_epoch * len(fit_times) / sum(fit_times)
                               if per_epoch and fit_times and sum(fit_times) > 0 else None),
        "peak_rss_mb": peak,
        "precision": provenance.get("precision", {}).get("policy"),
        "tta": metrics.get("tta"),
        "run_dir": str(run_dir),
    }


def _headline_key(metrics: dict[str, Any]) -> str:
    tta = metrics.get("tta", "none")
    return "accuracy" if tta == "none" else f"accuracy_{tta}"


def benchmark_inference(model: Any = "pretrained", *, precision: str = "auto",
                        batch_size: int = 1000, latency_runs: int = 200,
                        images: np.ndarray | None = None) -> dict[str, Any]:
    """Measure a model's prediction speed on this machine.

    Parameters
    ----------
    model : keras.Model, str or path-like
        A model, or ``"pretrained"`` / a ``.keras`` file / a run folder.
    precision : str
        Compute precision for the measurement (``"auto"`` picks this machine's
        fastest); the model is cast to it with its weights unchanged.
    batch_size : int
        Images per call for the throughput figure.
    latency_runs : int
        Timed single-image calls (after warm-up calls).
    images : ndarray of uint8, shape (N, 32, 32, 3), optional
        Images to feed; random ones by default (speed does not depend on content).

    Returns
    -------
    dict
        ``images_per_s`` (batch ``batch_size``), ``latency_ms_p50``, ``latency_ms_p95``,
        ``precision``, ``parameters``.
    """
    import keras
    import tensorflow as tf

    from cifar_edu.model_store import load_model
    from cifar_edu.precision import cast_model, detect_precision

    if batch_size < 1 or latency_runs < 1:
        raise CifarEduError("batch_size and latency_runs must be at least 1")
    if not isinstance(model, keras.Model):
        model = load_model(model)
    choice = detect_precision(precision)
    model = cast_model(model, choice.policy)
    if images is None:
        images = np.random.default_rng(0).integers(0, 256, (batch_size, 32, 32, 3), np.uint8)
    batch = tf.constant(np.resize(np.asarray(images), (batch_size, 32, 32, 3)), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32)])
    def forward(x):
        return model(x, training=False)

    forward(batch).numpy()  # trace and warm up
    repeats, elapsed = 0, 0.0
    while elapsed < 2.0 or repeats < 2:  # at least two batches and two seconds
        t0 = time.perf_counter()
        forward(batch).numpy()
        elapsed += time.perf_counter() - t0
        repeats += 1
    one = batch[:1]
    for _ in range(10):
        forward(one).numpy()
    latencies = []
    for _ in range(latency_runs):
        t0 = time.perf_counter()
        forward(one).numpy()
        latencies.append(time.perf_counter() - t0)
    return {
        "images_per_s": repeats * batch_size / elapsed,
        "batch_size": batch_size,
        "latency_ms_p50": 1000 * float(np.percentile(latencies, 50)),
        "latency_ms_p95": 1000 * float(np.percentile(latencies, 95)),
        "precision": choice.policy,
        "parameters": int(model.count_params()),
    }


def benchmark_recipe(recipe: str, *, seeds: int = 1, source: str = "auto",
                     num_epochs: int | None = None, precision: str = "auto",
                     runs_dir: str | os.PathLike[str] | None = None,
                     inference: bool = True) -> dict[str, Any]:
    """Train ``recipe`` from a cold start with seeds ``0 .. seeds-1`` and summarise.

    Parameters
    ----------
    recipe : str
        Recipe name.
    seeds : int
        Number of runs (seeds 0, 1, ...).
    source : str
        Data source of the runs.
    num_epochs : int, optional
        Override the recipe's epochs (tests); benchmarks of record use the recipe's own.
    precision : str
        Precision of the runs (``"auto"`` = this machine's best).
    runs_dir : path-like, optional
        Keep the run folders here (``<recipe>-seed<k>``); by default they go to a
        temporary folder that is removed afterwards.
    inference : bool
        Also measure prediction speed of the first seed's model.

    Returns
    -------
    dict
        ``runs`` (one record per seed) and ``summary``: mean/std/min/max over
        seeds of wall time, accuracies, time to 90%/94% validation accuracy,
        training throughput and peak memory, plus ``inference``.
    """
    from cifar_edu.training.recipes import get_recipe

    get_recipe(recipe)  # fail early, with the list of recipes
    if seeds < 1:
        raise CifarEduError(f"--seeds must be at least 1, got {seeds}")
    keep = runs_dir is not None
    base = Path(runs_dir) if keep else Path(tempfile.mkdtemp(prefix="cifar-edu-bench-"))
    try:
        runs = []
        for seed in range(seeds):
            run_dir = base / f"{recipe}-seed{seed}"
            if run_dir.exists():
                raise CifarEduError(f"{run_dir} already exists; choose another --runs-dir")
            runs.append(_train_once(recipe, seed, source, num_epochs, precision, run_dir))
        keys = ["wall_time_s", "train_s", "test_accuracy_exact", "test_accuracy_full",
                "test_accuracy_exact_no_tta", "test_accuracy_full_no_tta", "val_accuracy",
                *[f"time_to_val_{round(100 * t)}_s" for t in VAL_THRESHOLDS],
                "train_images_per_s", "peak_rss_mb"]
        summary: dict[str, Any] = {key: _summary([r[key] for r in runs]) for key in keys}
        for t in VAL_THRESHOLDS:
            key = f"time_to_val_{round(100 * t)}_s"
            summary[key]["reached"] = sum(r[key] is not None for r in runs)
        result: dict[str, Any] = {"recipe": recipe, "seeds": seeds, "num_epochs": num_epochs,
                                  "precision": runs[0]["precision"], "tta": runs[0]["tta"],
                                  "summary": summary, "runs": runs}
        if inference:
            result["inference"] = benchmark_inference(Path(runs[0]["run_dir"]),
                                                      precision=precision)
        return result
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


def run_benchmark(recipes: Sequence[str] = ("fast90",), *, seeds: int = 1,
                  source: str = "auto", num_epochs: int | None = None,
                  precision: str = "auto", runs_dir: str | os.PathLike[str] | None = None
                  ) -> dict[str, Any]:
    """Benchmark several recipes; the result also describes the data and the machine."""
    from cifar_edu.data import load_dataset
    from cifar_edu.training.provenance import hardware, package_versions, utc_now

    data = load_dataset(source)  # fail early on a bad source, and name it in the result
    results = [benchmark_recipe(name, seeds=seeds, source=source, num_epochs=num_epochs,
                                precision=precision, runs_dir=runs_dir) for name in recipes]
    return {"data": data.source.description, "offline_rebuild": data.source.offline_rebuild,
            "machine": {**hardware(), "python": platform.python_version()},
            "versions": package_versions(), "created": utc_now(),
            "benchmark_peak_rss_mb": peak_rss_mb(), "recipes": results}


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{100 * value:.2f}%"
    if kind == "s":
        return f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"
    if kind == "ms":
        return f"{value:.1f}ms"
    return f"{value:,.0f}"


def format_table(result: dict[str, Any]) -> str:
    """The benchmark result as a plain-text table (one row per recipe)."""
    columns = [("recipe", 12), ("seeds", 5), ("wall", 6), ("train", 6), ("exact acc", 13),
               ("full acc", 13),
               ("t->90%", 7), ("t->94%", 7), ("train img/s", 11), ("infer img/s", 11),
               ("p50", 7), ("p95", 7), ("peak RSS", 9), ("precision", 14)]
    lines = [f"CIFAR-10 benchmark on {result.get('data', '?')}",
             f"machine: {result.get('machine', {}).get('cpu', '?')}, "
             f"{result.get('machine', {}).get('cpu_count', '?')} CPUs, "
             f"GPUs: {', '.join(result.get('machine', {}).get('gpus', [])) or 'none'}", ""]
    lines.append("  ".join(f"{name:>{width}}" for name, width in columns))
    for rec in result["recipes"]:
        s, inf = rec["summary"], rec.get("inference", {})

        def pm(key: str) -> str:
            mean, std = s[key]["mean"], s[key]["std"]
            if mean is None:
                return "-"
            return f"{100 * mean:.2f}" + (f"±{100 * std:.2f}%" if rec["seeds"] > 1 else "%")

        cells = [rec["recipe"], str(rec["seeds"]), _fmt(s["wall_time_s"]["mean"], "s"),
                 _fmt(s["train_s"]["mean"], "s"),
                 pm("test_accuracy_exact"), pm("test_accuracy_full"),
                 _fmt(s["time_to_val_90_s"]["mean"], "s"), _fmt(s["time_to_val_94_s"]["mean"], "s"),
                 _fmt(s["train_images_per_s"]["mean"], "n"), _fmt(inf.get("images_per_s"), "n"),
                 _fmt(inf.get("latency_ms_p50"), "ms"), _fmt(inf.get("latency_ms_p95"), "ms"),
                 _fmt(s["peak_rss_mb"]["mean"], "n") + "MB" if s["peak_rss_mb"]["mean"] else "-",
                 str(rec.get("precision"))]
        lines.append("  ".join(f"{c:>{w}}" for c, (_, w) in zip(cells, columns)))
    lines.append("")
    lines.append("wall: cold start to finished run folder (mean over seeds); train: the "
                 "epochs alone; acc: final test "
                 "accuracy with the recipe's test-time augmentation, mean±std over seeds; exact: "
                 "byte-exact test rows (estimate of real accuracy), full: whole test set; "
                 "t->90%/94%: first epoch whose validation accuracy reached it (time from cold "
                 "start); p50/p95: latency of one image, warm.")
    return "\n".join(lines)


def format_inference(result: dict[str, Any]) -> str:
    """An inference-only benchmark as text."""
    return (f"model {result.get('model', '?')} ({result['parameters']:,} parameters, "
            f"{result['precision']}): {result['images_per_s']:,.0f} images/s at batch "
            f"{result['batch_size']:,}; one image {result['latency_ms_p50']:.1f} ms p50, "
            f"{result['latency_ms_p95']:.1f} ms p95 (warm)")
