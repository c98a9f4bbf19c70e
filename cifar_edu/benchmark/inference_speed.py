"""How fast a trained model predicts: images per second by batch size and the
latency of one image, per precision policy.

A Keras model is called through a traced ``tf.function`` rather than ``model.predict``,
whose per-call overhead would dominate for one image; a TensorFlow Lite model
(:class:`cifar_edu.quantization.LiteModel`) through its interpreter."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cifar_edu.benchmark.compute import conv_rate, layer_costs
from cifar_edu.benchmark.measure import peak_rss_mb, time_calls
from cifar_edu.errors import CifarEduError

__all__ = ["DEFAULT_BATCH_SIZES", "benchmark_inference", "run_inference_benchmark"]

#: Batch sizes of an inference sweep: from one image (latency-bound) to 1,000 (throughput).
DEFAULT_BATCH_SIZES = (1, 8, 32, 128, 512, 1000)


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
    """The model file behind a spec ("pretrained", "pretrained-int8", a file or a run folder)."""
    if not isinstance(model, (str, os.PathLike)):
        raise CifarEduError(f"model must be a keras.Model, 'pretrained', 'pretrained-int8', a "
                            f".keras or .tflite file or a run folder, not {type(model).__name__}")
    from cifar_edu.model_store import resolve_model_path

    return resolve_model_path(model)


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

    from cifar_edu.model_store import load_predictor
    from cifar_edu.precision import cast_model, detect_precision
    from cifar_edu.quantization import LiteModel

    path = None if isinstance(model, (keras.Model, LiteModel)) else _model_file(model)
    if path is not None:
        model = load_predictor(path)
    if images is None:
        images = np.random.default_rng(0).integers(0, 256, (max(sizes), 32, 32, 3), np.uint8)
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3) or len(images) == 0:
        raise CifarEduError(f"images must have shape (N, 32, 32, 3), got {images.shape}")

    if isinstance(model, LiteModel):
        if jit_compile:
            raise CifarEduError("--jit-compile compiles Keras models with XLA; a TensorFlow "
                                "Lite model is already compiled")
        policy, reason = model.precision, "the precision the TensorFlow Lite file was made in"
        parameters, macs = model.parameters, model.multiply_adds

        def run(batch: np.ndarray) -> np.ndarray:
            return model.predict_on_batch(batch)

        def batch_of(n: int) -> np.ndarray:
            return np.resize(images, (n, 32, 32, 3)).astype(np.uint8)
    else:
        choice = detect_precision(precision)
        policy, reason = choice.policy, choice.reason
        model = cast_model(model, choice.policy)
        parameters = int(model.count_params())
        macs = sum(row["multiply_adds"] for row in layer_costs(model))

        @tf.function(input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32)],
                     jit_compile=bool(jit_compile))
        def forward(x):
            return model(x, training=False)

        def run(batch: tf.Tensor) -> np.ndarray:
            return forward(batch).numpy()

        def batch_of(n: int) -> tf.Tensor:
            return tf.constant(np.resize(images, (n, 32, 32, 3)), tf.float32)

    headline = batch_of(batch_size)
    t0 = time.perf_counter()
    run(headline)  # traces (and compiles) the function, or allocates the interpreter
    first_call_s = time.perf_counter() - t0
    sweep = []
    for size in sizes:
        batch = headline if size == batch_size else batch_of(size)
        for _ in range(2):  # warm-up: a new shape can build new kernels (and XLA programs)
            run(batch)
        times = time_calls(lambda: run(batch), min_time_s, 3)
        median = float(np.median(times))
        sweep.append({"batch_size": size, "images_per_s": size / median,
                      "ms_per_batch": 1000 * median, "calls": len(times)})
        del batch
    one = batch_of(1)
    for _ in range(10):
        run(one)
    latencies = time_calls(lambda: run(one), 0.0, latency_runs)
    main = next(r for r in sweep if r["batch_size"] == batch_size)
    return {
        "images_per_s": main["images_per_s"],
        "batch_size": batch_size,
        "multiply_adds": macs,
        "gmacs_per_s": main["images_per_s"] * macs / 1e9 if macs else None,
        "latency_ms_p50": 1000 * float(np.percentile(latencies, 50)),
        "latency_ms_p95": 1000 * float(np.percentile(latencies, 95)),
        "latency_runs": latency_runs,
        "first_call_s": first_call_s,
        "precision": policy,
        "precision_reason": reason,
        "jit_compile": bool(jit_compile),
        "parameters": parameters,
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

    from cifar_edu.model_store import load_predictor
    from cifar_edu.precision import detect_precision
    from cifar_edu.quantization import LiteModel
    from cifar_edu.training.provenance import hardware, package_versions, utc_now

    if not precisions:
        raise CifarEduError("give at least one precision, e.g. --precision float32 "
                            "mixed_bfloat16")
    choices = [detect_precision(p) for p in precisions]  # fail early on an unknown one
    sizes = _check_batch_sizes([*batch_sizes, batch_size])
    path = None if isinstance(model, (keras.Model, LiteModel)) else _model_file(model)
    loaded = load_predictor(path) if path is not None else model
    lite = isinstance(loaded, LiteModel)
    runs = []
    for choice in choices[:1] if lite else choices:  # a .tflite file has one precision
        run = benchmark_inference(loaded, precision=choice.policy, batch_size=batch_size,
                                  latency_runs=latency_runs, batch_sizes=sizes,
                                  jit_compile=jit_compile, min_time_s=min_time_s)
        if not lite:
            run["precision_reason"] = choice.reason
        run["model_bytes"] = path.stat().st_size if path is not None else None
        run["conv_gmacs_per_s"] = (None if lite else
                                   conv_rate(choice.policy, min_time_s=min(1.0, min_time_s)))
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
