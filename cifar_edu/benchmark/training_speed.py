"""How fast a recipe trains: each seed from a cold start in a fresh Python process,
so importing TensorFlow, loading the data and tracing the model count, as they do for a
learner; the run folder is read back for accuracy, the time to 90% and 94% validation
accuracy, training throughput and peak memory."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cifar_edu.benchmark.inference_speed import benchmark_inference
from cifar_edu.benchmark.measure import peak_rss_mb, rss_mb, summarise
from cifar_edu.errors import CifarEduError

__all__ = ["VAL_THRESHOLDS", "benchmark_recipe", "run_benchmark"]

#: Validation accuracies whose first crossing time is reported.
VAL_THRESHOLDS = (0.90, 0.94)


def _time_to(history: list[dict[str, Any]], threshold: float, start: float) -> float | None:
    """Seconds from ``start`` (a Unix time) to the first epoch with val accuracy >= threshold."""
    for record in history:
        value = record.get("val_accuracy")
        if value is not None and value >= threshold and "timestamp" in record:
            return float(record["timestamp"]) - start
    return None


def _val_curve(history: list[dict[str, Any]], start: float) -> list[dict[str, float]]:
    """Validation accuracy after each epoch against seconds from ``start`` (a Unix time)."""
    return [{"time_s": float(r["timestamp"]) - start, "val_accuracy": float(r["val_accuracy"])}
            for r in history if r.get("val_accuracy") is not None and "timestamp" in r]


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
                peak = rss_mb(usage.ru_maxrss)
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
        "val_curve": _val_curve(history, start),
        "train_images_per_s": (per_epoch * len(fit_times) / sum(fit_times)
                               if per_epoch and fit_times and sum(fit_times) > 0 else None),
        "peak_rss_mb": peak,
        "precision": provenance.get("precision", {}).get("policy"),
        "tta": metrics.get("tta"),
        "run_dir": str(run_dir),
    }


def _headline_key(metrics: dict[str, Any]) -> str:
    # cifar_edu.evaluation.tta.accuracy_key, repeated: importing it would load TensorFlow.
    tta = metrics.get("tta", "none")
    return "accuracy" if tta == "none" else f"accuracy_{tta}"


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
        summary: dict[str, Any] = {key: summarise([r[key] for r in runs]) for key in keys}
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
