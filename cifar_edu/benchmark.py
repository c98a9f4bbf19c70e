"""Benchmarks: how fast recipes train and how fast models predict, on this machine.

:func:`benchmark_recipe` trains a recipe once per seed, each run in a fresh
Python process: a *cold start*, so importing TensorFlow, loading the data and
building and tracing the model count, as they do for a learner. It reads the run
folder back: final accuracy on the byte-exact test rows and on the whole test
set, when validation accuracy first reached 90% and 94%, training throughput
and the process' peak memory. :func:`benchmark_inference` measures a trained
model: images per second at batch 1,000 (and, on request, at other batch
sizes), and the latency of one image (p50/p95, warm). It calls the model
through a traced function rather than ``model.predict``, whose per-call
overhead would dominate for one image. :func:`run_inference_benchmark` repeats
that for several precision policies and records the machine.

:func:`layer_costs` counts parameters and multiply-adds layer by layer, and
:func:`conv_rate` measures how many multiply-adds per second this machine
reaches in one large convolution: about the ceiling for a CNN's convolutions.
Benchmarks of record ship in ``assets/results/benchmarks/`` (see
:data:`BENCHMARK_COMMANDS` for the commands that make them) and
:func:`load_benchmark` reads them without importing TensorFlow.

``cifar-edu benchmark`` prints the result as a table or as JSON.
"""

from __future__ import annotations

import json
import os
import platform
import re
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

__all__ = ["VAL_THRESHOLDS", "DEFAULT_BATCH_SIZES", "BENCHMARKS_FOLDER", "BENCHMARK_COMMANDS",
           "benchmark_recipe", "benchmark_inference", "run_inference_benchmark", "run_benchmark",
           "layer_costs", "conv_rate", "format_table", "format_inference", "peak_rss_mb",
           "benchmarks_dir", "list_benchmarks", "load_benchmark", "describe_benchmark"]

#: Validation accuracies whose first crossing time is reported.
VAL_THRESHOLDS = (0.90, 0.94)
#: Batch sizes of an inference sweep: from one image (latency-bound) to 1,000 (throughput).
DEFAULT_BATCH_SIZES = (1, 8, 32, 128, 512, 1000)
#: Sub-folder of the results folder holding benchmark files (``<name>.json``).
BENCHMARKS_FOLDER = "benchmarks"
#: The commands that make the shipped benchmark files (``{out}`` is the file to write).
BENCHMARK_COMMANDS = {
    "train_fast90": "cifar-edu benchmark train --recipe fast90 --seeds 3 --data full --out {out}",
    "inference_pretrained": "cifar-edu benchmark inference --model pretrained --precision "
                            "float32 mixed_bfloat16 --batch-sizes "
                            + " ".join(str(b) for b in DEFAULT_BATCH_SIZES) + " --out {out}",
}


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
        "val_curve": _val_curve(history, start),
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


def _check_batch_sizes(batch_sizes: Sequence[int], name: str = "batch sizes") -> list[int]:
    """The batch sizes as sorted unique ints, or a :class:`CifarEduError` saying what to pass."""
    values = list(batch_sizes)
    bad = [b for b in values if isinstance(b, bool) or not isinstance(b, (int, np.integer))
           or b < 1]
    if not values or bad:
        raise CifarEduError(f"{name} must be whole numbers of at least 1, got "
                            f"{values if values else 'none'}; pass for example "
                            "--batch-sizes 1 8 32 128 512 1000")
    return sorted({int(b) for b in values})


def _model_file(model: Any) -> Path:
    """The ``.keras`` file behind a model spec ("pretrained", a file or a run folder)."""
    if not isinstance(model, (str, os.PathLike)):
        raise CifarEduError(f"model must be a keras.Model, 'pretrained', a .keras file or a run "
                            f"folder, not {type(model).__name__}")
    from cifar_edu.model_store import resolve_model_path

    return resolve_model_path(model)


def _time_calls(call: Any, min_time_s: float, min_calls: int) -> list[float]:
    """Seconds of repeated ``call()``s: at least ``min_calls`` and ``min_time_s`` in all."""
    times: list[float] = []
    while len(times) < min_calls or sum(times) < min_time_s:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return times


def conv_rate(precision: str = "auto", *, batch: int = 64, size: int = 16,
              channels: int = 384, min_time_s: float = 1.0) -> float:
    """Billions of multiply-adds per second in one large 3x3 convolution on this machine.

    A CNN's time goes into convolutions like this one; here there is a single
    large one, with nothing else in the way, so its rate is about the most the
    network's convolutions can reach. A network that already runs near it gets
    faster only by doing fewer multiply-adds.

    Parameters
    ----------
    precision : str
        ``"auto"`` or a policy name; the convolution uses the policy's compute dtype.
    batch, size, channels : int
        Input ``(batch, size, size, channels)``, ``channels`` filters, "same" padding.
    min_time_s : float
        Time at least this many seconds of calls (and at least three).

    Returns
    -------
    float
        Multiply-adds of one call over the median time of a call, in billions.
    """
    import keras
    import tensorflow as tf

    from cifar_edu.precision import detect_precision

    dtype = keras.mixed_precision.Policy(detect_precision(precision).policy).compute_dtype
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((batch, size, size, channels)), dtype)
    kernel = tf.constant(0.01 * rng.standard_normal((3, 3, channels, channels)), dtype)

    @tf.function
    def convolve():
        return tf.nn.conv2d(x, kernel, 1, "SAME")[0, 0, 0, 0]  # fetch one value, not all

    for _ in range(2):
        convolve().numpy()
    median = float(np.median(_time_calls(lambda: convolve().numpy(), min_time_s, 3)))
    return batch * size * size * channels * 9 * channels / median / 1e9


def benchmark_inference(model: Any = "pretrained", *, precision: str = "auto",
                        batch_size: int = 1000, latency_runs: int = 200,
                        images: np.ndarray | None = None,
                        batch_sizes: Sequence[int] | None = None, jit_compile: bool = False,
                        min_time_s: float = 2.0) -> dict[str, Any]:
    """Measure a model's prediction speed on this machine.

    The model is called through a traced ``tf.function`` (``model.predict`` adds a
    per-call overhead that would dominate for one image). Every batch size gets
    untimed warm-up calls first, so tracing (and XLA compilation) is not counted;
    the first call's time is reported separately as ``first_call_s``.

    Parameters
    ----------
    model : keras.Model, str or path-like
        A model, or ``"pretrained"`` / a ``.keras`` file / a run folder.
    precision : str
        Compute precision for the measurement (``"auto"`` picks this machine's
        fastest); the model is cast to it with its weights unchanged.
    batch_size : int
        Images per call for the headline throughput ``images_per_s``.
    latency_runs : int
        Timed single-image calls (after warm-up calls).
    images : ndarray of uint8, shape (N, 32, 32, 3), optional
        Images to feed, repeated to fill a batch; random ones by default (speed
        does not depend on content).
    batch_sizes : sequence of int, optional
        Also measure throughput at these batch sizes (``sweep``), e.g.
        ``(1, 8, 32, 128, 512, 1000)``.
    jit_compile : bool
        Compile the forward pass with XLA (``tf.function(jit_compile=True)``).
    min_time_s : float
        Each throughput figure times at least this many seconds of calls (and
        at least three calls).

    Returns
    -------
    dict
        ``images_per_s`` (at ``batch_size``: images in a batch over the median
        time of a call), ``batch_size``, ``latency_ms_p50``, ``latency_ms_p95``
        (one image), ``first_call_s`` (the first call at ``batch_size``,
        tracing included), ``multiply_adds`` (per image, see :func:`layer_costs`)
        and ``gmacs_per_s`` (billions of them per second at ``batch_size``),
        ``precision`` with ``precision_reason``,
        ``jit_compile``, ``parameters``, ``model_bytes`` (size of the ``.keras``
        file; None for a model object) and ``sweep``: one record per batch size
        (``batch_size``, ``images_per_s``, ``ms_per_batch``, ``calls``).

    Raises
    ------
    CifarEduError
        A batch size or ``latency_runs`` below 1, or a model that cannot be loaded.
    """
    _check_batch_sizes([batch_size], "batch_size")
    sizes = _check_batch_sizes([*(batch_sizes or ()), batch_size])
    if isinstance(latency_runs, bool) or not isinstance(latency_runs, (int, np.integer)) \
            or latency_runs < 1:
        raise CifarEduError(f"latency_runs must be a whole number of at least 1, got "
                            f"{latency_runs!r}")
    if not min_time_s >= 0:
        raise CifarEduError(f"min_time_s must be 0 or more seconds, got {min_time_s!r}")

    import keras
    import tensorflow as tf

    from cifar_edu.model_store import load_model
    from cifar_edu.precision import cast_model, detect_precision

    path = None if isinstance(model, keras.Model) else _model_file(model)
    if path is not None:
        model = load_model(path)
    choice = detect_precision(precision)
    model = cast_model(model, choice.policy)
    if images is None:
        images = np.random.default_rng(0).integers(0, 256, (max(sizes), 32, 32, 3), np.uint8)
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3) or len(images) == 0:
        raise CifarEduError(f"images must have shape (N, 32, 32, 3), got {images.shape}")

    @tf.function(input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32)],
                 jit_compile=bool(jit_compile))
    def forward(x):
        return model(x, training=False)

    def batch_of(n: int) -> tf.Tensor:
        return tf.constant(np.resize(images, (n, 32, 32, 3)), tf.float32)

    headline = batch_of(batch_size)
    t0 = time.perf_counter()
    forward(headline).numpy()  # traces (and compiles) the function
    first_call_s = time.perf_counter() - t0
    sweep = []
    for size in sizes:
        batch = headline if size == batch_size else batch_of(size)
        for _ in range(2):  # warm-up: a new shape can build new kernels (and XLA programs)
            forward(batch).numpy()
        times = _time_calls(lambda: forward(batch).numpy(), min_time_s, 3)
        median = float(np.median(times))
        sweep.append({"batch_size": size, "images_per_s": size / median,
                      "ms_per_batch": 1000 * median, "calls": len(times)})
        del batch
    one = batch_of(1)
    for _ in range(10):
        forward(one).numpy()
    latencies = _time_calls(lambda: forward(one).numpy(), 0.0, latency_runs)
    main = next(r for r in sweep if r["batch_size"] == batch_size)
    macs = sum(row["multiply_adds"] for row in layer_costs(model))
    return {
        "images_per_s": main["images_per_s"],
        "batch_size": batch_size,
        "multiply_adds": macs,
        "gmacs_per_s": main["images_per_s"] * macs / 1e9,
        "latency_ms_p50": 1000 * float(np.percentile(latencies, 50)),
        "latency_ms_p95": 1000 * float(np.percentile(latencies, 95)),
        "latency_runs": latency_runs,
        "first_call_s": first_call_s,
        "precision": choice.policy,
        "precision_reason": choice.reason,
        "jit_compile": bool(jit_compile),
        "parameters": int(model.count_params()),
        "model_bytes": path.stat().st_size if path is not None else None,
        "sweep": sweep,
    }


def run_inference_benchmark(model: Any = "pretrained", *,
                            precisions: Sequence[str] = ("float32", "mixed_bfloat16"),
                            batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
                            batch_size: int = 1000, latency_runs: int = 200,
                            jit_compile: bool = False, min_time_s: float = 2.0,
                            command: Sequence[str] | None = None) -> dict[str, Any]:
    """Sweep a model's prediction speed over batch sizes, for each precision policy.

    Parameters
    ----------
    model : keras.Model, str or path-like
        A model, or ``"pretrained"`` / a ``.keras`` file / a run folder.
    precisions : sequence of str
        Policies to measure, each as in :func:`benchmark_inference` (``"auto"`` allowed).
    batch_sizes, batch_size, latency_runs, jit_compile, min_time_s
        As in :func:`benchmark_inference`.
    command : sequence of str, optional
        The command line that made the result (recorded as its provenance).

    Returns
    -------
    dict
        ``runs``: one :func:`benchmark_inference` result per precision; the
        headline keys of the first run (``images_per_s``, ``batch_size``,
        ``latency_ms_p50``, ``latency_ms_p95``, ``precision``) also at the top
        level; each run also has ``conv_gmacs_per_s`` (:func:`conv_rate` in
        its precision, the ceiling to compare ``gmacs_per_s`` with);
        ``model``, ``parameters``, ``model_bytes``, ``auto_precision``
        (what ``"auto"`` picks here, and why), ``machine``, ``versions``,
        ``created``, ``command`` and ``benchmark_peak_rss_mb``.
    """
    import keras

    from cifar_edu.model_store import load_model
    from cifar_edu.precision import detect_precision
    from cifar_edu.training.provenance import hardware, package_versions, utc_now

    if not precisions:
        raise CifarEduError("give at least one precision, e.g. --precision float32 "
                            "mixed_bfloat16")
    choices = [detect_precision(p) for p in precisions]  # fail early on an unknown one
    sizes = _check_batch_sizes([*batch_sizes, batch_size])
    path = None if isinstance(model, keras.Model) else _model_file(model)
    loaded = load_model(path) if path is not None else model
    runs = []
    for choice in choices:
        run = benchmark_inference(loaded, precision=choice.policy, batch_size=batch_size,
                                  latency_runs=latency_runs, batch_sizes=sizes,
                                  jit_compile=jit_compile, min_time_s=min_time_s)
        run["precision_reason"] = choice.reason
        run["model_bytes"] = path.stat().st_size if path is not None else None
        run["conv_gmacs_per_s"] = conv_rate(choice.policy, min_time_s=min(1.0, min_time_s))
        runs.append(run)
    first = runs[0]
    return {
        "kind": "inference",
        "model": str(model) if path is not None else getattr(model, "name", "model"),
        "model_file": path.name if path is not None else None,
        "parameters": first["parameters"],
        "model_bytes": first["model_bytes"],
        **{key: first[key] for key in ("images_per_s", "batch_size", "latency_ms_p50",
                                       "latency_ms_p95", "precision")},
        "auto_precision": detect_precision("auto").to_dict(),
        "runs": runs,
        "machine": {**hardware(), "python": platform.python_version()},
        "versions": package_versions(),
        "created": utc_now(),
        "command": " ".join(command) if command else None,
        "benchmark_peak_rss_mb": peak_rss_mb(),
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
    """An inference-only benchmark as text: one line, or a table for a sweep over precisions."""
    if "runs" not in result:
        return (f"model {result.get('model', '?')} ({result['parameters']:,} parameters, "
                f"{result['precision']}): {result['images_per_s']:,.0f} images/s at batch "
                f"{result['batch_size']:,}; one image {result['latency_ms_p50']:.1f} ms p50, "
                f"{result['latency_ms_p95']:.1f} ms p95 (warm)")
    size = (f", {result['model_bytes'] / 1e6:.1f} MB file" if result.get("model_bytes")
            else "")
    lines = [f"model {result.get('model', '?')} ({result['parameters']:,} parameters{size}); "
             f"images per second by batch size, latency of one image (warm)", ""]
    sizes = sorted({r["batch_size"] for run in result["runs"] for r in run.get("sweep", [])})
    header = ([f"{'precision':<15}", f"{'XLA':>3}"] + [f"{'b=' + str(b):>8}" for b in sizes]
              + [f"{'p50':>7}", f"{'p95':>7}", f"{'1st call':>8}", f"{'GMAC/s':>7}",
                 f"{'conv':>7}"])
    lines.append("  ".join(header))
    for run in result["runs"]:
        rates = {r["batch_size"]: r["images_per_s"] for r in run.get("sweep", [])}
        cells = ([f"{run['precision']:<15}", f"{'yes' if run.get('jit_compile') else 'no':>3}"]
                 + [f"{_fmt(rates.get(b), 'n'):>8}" for b in sizes]
                 + [f"{_fmt(run['latency_ms_p50'], 'ms'):>7}",
                    f"{_fmt(run['latency_ms_p95'], 'ms'):>7}",
                    f"{_fmt(run.get('first_call_s'), 's'):>8}",
                    f"{_fmt(run.get('gmacs_per_s'), 'n'):>7}",
                    f"{_fmt(run.get('conv_gmacs_per_s'), 'n'):>7}"])
        lines.append("  ".join(cells))
    lines += ["", f"GMAC/s: billions of the model's multiply-adds per second at batch "
              f"{result.get('batch_size', '?')}; conv: the same in one large 3x3 convolution, "
              "about the most the model's convolutions can reach on this machine"]
    auto = result.get("auto_precision") or {}
    if auto:
        lines += ["", f"auto precision here: {auto.get('policy')} ({auto.get('reason')})"]
    return "\n".join(lines)


def layer_costs(model: Any) -> list[dict[str, Any]]:
    """Parameters and multiply-adds of one image's forward pass, layer by layer.

    A ``Conv2D``'s multiply-adds are (output height x output width x output
    channels) x (kernel height x kernel width x input channels / groups); a
    ``Dense`` layer's, inputs x units (at every position, for inputs with more
    than one axis). Element-wise layers (normalisation, batch
    normalisation, activations, pooling) cost a few operations per value and
    are counted as 0; one multiply-add is two floating-point operations (FLOPs).

    Parameters
    ----------
    model : keras.Model
        A built functional or sequential model.

    Returns
    -------
    list of dict
        One per layer: ``name``, ``type``, ``output_shape`` (without the batch
        axis), ``parameters`` and ``multiply_adds``.
    """
    import keras

    rows = []
    for layer in model.layers:
        try:
            shape = tuple(int(d) for d in layer.output.shape[1:])
        except (AttributeError, ValueError, TypeError):
            shape = None
        macs = 0
        if isinstance(layer, keras.layers.Conv2D) and shape is not None:
            kernel = tuple(layer.kernel.shape)  # (kh, kw, c_in / groups, c_out)
            macs = int(np.prod(shape)) * int(np.prod(kernel[:3]))
        elif isinstance(layer, keras.layers.Dense):
            macs = int(np.prod(layer.kernel.shape))
            if shape is not None and len(shape) > 1:  # applied at every position
                macs *= int(np.prod(shape[:-1]))
        rows.append({"name": layer.name, "type": type(layer).__name__, "output_shape": shape,
                     "parameters": int(layer.count_params()), "multiply_adds": macs})
    return rows


# --------------------------------------------------------------------- saved benchmarks


def benchmarks_dir() -> Path:
    """Folder of saved benchmark files: ``benchmarks/`` in :func:`cifar_edu.results.results_dir`.

    ``$CIFAR_EDU_RESULTS_DIR`` moves it along with the other saved results.
    """
    from cifar_edu.results import results_dir

    return results_dir() / BENCHMARKS_FOLDER


def _make_command(name: str) -> str:
    template = BENCHMARK_COMMANDS.get(name)
    if template is None:
        template = ("cifar-edu benchmark inference --model MODEL --batch-sizes 1 8 32 128 512 1000"
                    " --out {out}" if name.startswith("inference") else
                    "cifar-edu benchmark train --recipe RECIPE --seeds 3 --data full --out {out}")
    return template.format(out=f"{benchmarks_dir()}/{name}.json")


def list_benchmarks(*, directory: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the saved benchmarks (``<name>.json`` files), sorted."""
    folder = Path(directory) if directory is not None else benchmarks_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if p.is_file())


def load_benchmark(name: str, *, directory: str | os.PathLike[str] | None = None
                   ) -> dict[str, Any]:
    """Load a saved benchmark result by name (no TensorFlow needed).

    Parameters
    ----------
    name : str
        Its name, e.g. ``"train_fast90"`` (``cifar-edu benchmark train``) or
        ``"inference_pretrained"`` (``cifar-edu benchmark inference``).
    directory : path-like, optional
        Folder of the benchmark files; default :func:`benchmarks_dir`.

    Returns
    -------
    dict
        The JSON written by ``cifar-edu benchmark ... --out``: a training benchmark
        has ``recipes`` (see :func:`run_benchmark`), an inference benchmark ``runs``
        (see :func:`run_inference_benchmark`); both describe the machine.

    Raises
    ------
    CifarEduError
        No such file (the message names the command that makes it), or an
        unreadable one.
    """
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name):
        raise CifarEduError(f"{name!r} is not a benchmark name; use letters, digits, '_', '-' "
                            "or '.' (for example 'train_fast90')")
    folder = Path(directory) if directory is not None else benchmarks_dir()
    path = folder / f"{name}.json"
    if not path.is_file():
        saved = list_benchmarks(directory=folder)
        raise CifarEduError(
            f"no saved benchmark {name!r} in {folder}; make it with `{_make_command(name)}`"
            + (f" (saved benchmarks: {', '.join(saved)})" if saved else ""))
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CifarEduError(f"the saved benchmark {path} is unreadable ({exc}); make it again "
                            f"with `{_make_command(name)}`") from None
    if not isinstance(result, dict) or not ("recipes" in result or "runs" in result):
        raise CifarEduError(f"{path} is not a benchmark result of `cifar-edu benchmark`; make "
                            f"it again with `{_make_command(name)}`")
    return result


def _train_command(result: dict[str, Any]) -> str:
    recipes = [r.get("recipe", "?") for r in result.get("recipes", [])]
    seeds = max((r.get("seeds", 1) for r in result.get("recipes", [])), default=1)
    data = "sample" if "sample" in str(result.get("data", "")) else "full"
    return (f"cifar-edu benchmark train --recipe {' '.join(recipes)} --seeds {seeds} "
            f"--data {data}")


def describe_benchmark(result: dict[str, Any]) -> str:
    """One sentence of provenance: what was measured, on which machine, with what, when, how.

    Parameters
    ----------
    result : dict
        A benchmark result (:func:`load_benchmark`, :func:`run_benchmark` or
        :func:`run_inference_benchmark`).

    Returns
    -------
    str
        For example "Recipe fast90 (3 seeds, each from a cold start) was trained
        on CIFAR-10 (offline rebuild) on AMD EPYC (2 CPUs, no GPU) with Python
        3.11.7, TensorFlow 2.21.0, Keras 3.15.1 and cifar-edu 0.1.0, on
        2026-11-24; regenerate it with `cifar-edu benchmark train ...`." The
        command is the one recorded in the result (reconstructed when missing).
    """
    machine = result.get("machine") or {}
    cpus = machine.get("cpus_usable") or machine.get("cpu_count")
    gpus = ", ".join(machine.get("gpus") or []) or "no GPU"
    where = f"{machine.get('cpu', 'an unrecorded CPU')} ({cpus or '?'} CPUs, {gpus})"
    v = result.get("versions") or {}
    names = (("python", "Python"), ("tensorflow", "TensorFlow"), ("keras", "Keras"),
             ("cifar-edu", "cifar-edu"))
    parts = [f"{label} {v[key]}" for key, label in names if v.get(key)]
    versions = (", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1
                else "".join(parts)) or "unrecorded versions"
    date = str(result.get("created") or "an unrecorded date")[:10]
    command = result.get("command")
    if "recipes" in result:
        recipes = result["recipes"]
        names_text = ", ".join(r.get("recipe", "?") for r in recipes)
        seeds = max((r.get("seeds", 1) for r in recipes), default=1)
        what = (f"Recipe{'s' if len(recipes) > 1 else ''} {names_text} ({seeds} seed"
                f"{'s' if seeds != 1 else ''}, each from a cold start) "
                f"{'were' if len(recipes) > 1 else 'was'} trained on "
                f"{result.get('data', 'unrecorded data')}")
        command = command or _train_command(result)
    else:
        policies = [str(r.get("precision", "?")) + (" with XLA" if r.get("jit_compile") else "")
                    for r in result.get("runs", [])]
        precisions = (", ".join(policies[:-1]) + f" and {policies[-1]}" if len(policies) > 1
                      else "".join(policies)) or "an unrecorded precision"
        model = result.get("model", "?")
        model_text = "the shipped model" if model == "pretrained" else f"the model {model}"
        what = f"The prediction speed of {model_text} was measured in {precisions}"
        command = command or "cifar-edu benchmark inference --model pretrained"
    return (f"{what} on {where} with {versions}, on {date}; regenerate it with "
            f"`{command}`.")
