"""Figures of speed benchmarks: latency distributions, throughput by batch size, training runs.

They draw the results of :mod:`cifar_edu.benchmark` (live ones, or saved ones
read by :func:`cifar_edu.benchmark.load_benchmark`) and follow the conventions
of :mod:`cifar_edu.plots`: each function returns its
:class:`~matplotlib.figure.Figure`, sets ``fig.text_alternative`` (a plain-text
description, see :func:`cifar_edu.plots.describe_figure`), and tells lines apart
by colour (Okabe-Ito), line style, marker and text together. Importing this
module does not import TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

from cifar_edu.errors import CifarEduError
from cifar_edu.plots import OKABE_ITO

__all__ = ["latency_histogram", "throughput_by_batch_size", "training_benchmark"]

_LINESTYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P")
_TARGET = "0.35"  # grey of the target lines, always labelled


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _finish(fig: Figure, alt: str) -> Figure:
    fig.text_alternative = alt
    return fig


def latency_histogram(latencies_ms: Sequence[float] | np.ndarray, *,
                      title: str = "Latency of one call") -> Figure:
    """Histogram of repeated timings with their median (p50), p95 and mean.

    Parameters
    ----------
    latencies_ms : sequence of float
        Times of single calls, in milliseconds (warm-up calls excluded).
    title : str
        Title of the figure.

    Returns
    -------
    Figure
    """
    times = np.asarray(latencies_ms, dtype=np.float64).reshape(-1)
    if times.size == 0 or not np.all(np.isfinite(times)):
        raise CifarEduError("latencies_ms must hold at least one finite time in milliseconds")
    p50, p95, mean = np.percentile(times, 50), np.percentile(times, 95), times.mean()
    fig = _figure(6.5, 3.2)
    ax = fig.subplots()
    ax.hist(times, bins=min(40, max(5, times.size // 4)), color=OKABE_ITO[0], alpha=0.8)
    for value, label, colour, style in ((p50, "p50 (median)", OKABE_ITO[1], "-"),
                                        (p95, "p95", OKABE_ITO[3], "--"),
                                        (mean, "mean", OKABE_ITO[6], ":")):
        ax.axvline(value, color=colour, linestyle=style, linewidth=2,
                   label=f"{label}: {value:.2f} ms")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("milliseconds per call")
    ax.set_ylabel("calls")
    ax.set_title(title)
    ax.legend(frameon=False)
    return _finish(fig, f"{title}: histogram of {times.size} timed calls; median {p50:.2f} ms, "
                        f"95th percentile {p95:.2f} ms, mean {mean:.2f} ms, slowest "
                        f"{times.max():.2f} ms.")


def _sweeps(result: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The runs of an inference benchmark, each with a ``sweep``."""
    if isinstance(result, Mapping):
        runs = result["runs"] if "runs" in result else [result]
    else:
        runs = list(result)
    runs = [run for run in runs if run.get("sweep")]
    if not runs:
        raise CifarEduError("no throughput sweep to plot: measure one with "
                            "benchmark_inference(..., batch_sizes=(1, 8, 32, 128)) or "
                            "`cifar-edu benchmark inference --batch-sizes 1 8 32 128 512 1000`")
    return runs


def _run_label(run: Mapping[str, Any]) -> str:
    return str(run.get("precision", "?")) + (" + XLA" if run.get("jit_compile") else "")


def throughput_by_batch_size(result: Mapping[str, Any] | Sequence[Mapping[str, Any]], *,
                             target: float | None = None, target_batch: int | None = None,
                             title: str = "Prediction speed by batch size") -> Figure:
    """Images per second and time per call against the batch size, one line per precision.

    Parameters
    ----------
    result : dict or list of dict
        An inference benchmark (:func:`cifar_edu.benchmark.run_inference_benchmark`,
        with ``runs``), one :func:`cifar_edu.benchmark.benchmark_inference` result
        (with ``sweep``), or a list of such results.
    target : float, optional
        Draw a target throughput (images per second) as a labelled dashed line.
    target_batch : int, optional
        The batch size the target is meant for (marked on the line).
    title : str
        Title of the figure.

    Returns
    -------
    Figure
        Left: images per second (higher is better); right: milliseconds per call
        (log-log), which stays nearly flat while a call is dominated by its fixed
        overhead and grows in proportion to the batch once the arithmetic dominates.
    """
    runs = _sweeps(result)
    fig = _figure(9.5, 3.6)
    ax_rate, ax_time = fig.subplots(1, 2)
    alt = []
    for i, run in enumerate(runs):
        records = sorted(run["sweep"], key=lambda r: r["batch_size"])
        sizes = np.array([r["batch_size"] for r in records])
        rates = np.array([r["images_per_s"] for r in records], dtype=float)
        label = _run_label(run)
        style = dict(color=OKABE_ITO[i % len(OKABE_ITO)], linestyle=_LINESTYLES[i % 4],
                     marker=_MARKERS[i % len(_MARKERS)], label=label)
        ax_rate.plot(sizes, rates, **style)
        ax_time.plot(sizes, 1000 * sizes / rates, **style)
        alt.append(f"{label}: " + ", ".join(f"{r:,.0f} images/s at batch {b:,}"
                                            for b, r in zip(sizes, rates)))
    if target is not None:
        where = f" at batch {target_batch:,}" if target_batch else ""
        ax_rate.axhline(target, color=_TARGET, linestyle="--", linewidth=1)
        ax_rate.annotate(f"target {target:,.0f} images/s{where}", (0.02, target),
                         xycoords=("axes fraction", "data"), va="bottom", fontsize=8,
                         color=_TARGET)
        if target_batch:
            ax_rate.plot([target_batch], [target], marker="*", markersize=12,
                         color=_TARGET, linestyle="none")
        alt.append(f"target {target:,.0f} images/s{where}")
    sizes = sorted({r["batch_size"] for run in runs for r in run["sweep"]})
    for ax in (ax_rate, ax_time):
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{b:,}" for b in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("batch size (images per call)")
        ax.grid(True, which="major", alpha=0.3)
    top = max(max(r["images_per_s"] for run in runs for r in run["sweep"]), target or 0)
    ax_rate.set_ylim(0, 1.15 * top)
    ax_rate.set_ylabel("images per second")
    ax_rate.set_title("throughput (higher is faster)")
    ax_time.set_yscale("log")
    ax_time.set_ylabel("milliseconds per call")
    ax_time.set_title("time of one call")
    ax_rate.legend(frameon=False, fontsize=8)
    fig.suptitle(title)
    return _finish(fig, f"{title}. " + "; ".join(alt) + ".")


def _recipe(result: Mapping[str, Any], recipe: str | None) -> Mapping[str, Any]:
    if "runs" in result and "summary" in result:  # one recipe's record already
        return result
    recipes = result.get("recipes") or []
    for record in recipes:
        if recipe is None or record.get("recipe") == recipe:
            return record
    names = ", ".join(str(r.get("recipe")) for r in recipes) or "none"
    raise CifarEduError(f"the benchmark has no recipe {recipe!r} (it has: {names})")


def training_benchmark(result: Mapping[str, Any], recipe: str | None = None, *,
                       time_target_s: float | None = 480.0,
                       accuracy_target: float | None = 0.90,
                       title: str | None = None) -> Figure:
    """Wall time, test accuracy and validation accuracy over time of a recipe, seed by seed.

    Parameters
    ----------
    result : dict
        A training benchmark (:func:`cifar_edu.benchmark.run_benchmark`, or
        :func:`cifar_edu.benchmark.load_benchmark` of one), or one recipe's record.
    recipe : str, optional
        Which recipe of the benchmark (default: the first).
    time_target_s : float, optional
        Target wall time in seconds (default 8 minutes), drawn as a dashed line.
    accuracy_target : float, optional
        Target accuracy (default 0.90), drawn as a dashed line.
    title : str, optional
        Title of the figure (default: the recipe and the number of seeds).

    Returns
    -------
    Figure
        Left: wall time of each seed from a cold start (the training epochs
        darker, the rest: start-up, data, evaluation); middle: final test
        accuracy on the byte-exact rows and on the whole test set; right:
        validation accuracy against time from the cold start, when the runs
        recorded it, with the first time each seed reached the target.
    """
    record = _recipe(result, recipe)
    runs = list(record.get("runs") or [])
    if not runs:
        raise CifarEduError("the benchmark has no runs to plot")
    name = record.get("recipe", "recipe")
    title = title or f"{name}: {len(runs)} seed{'s' if len(runs) != 1 else ''} from a cold start"
    fig = _figure(11, 4.0)
    ax_time, ax_acc, ax_curve = fig.subplots(1, 3)
    seeds = [str(r.get("seed", i)) for i, r in enumerate(runs)]
    x = np.arange(len(runs))
    wall = np.array([r["wall_time_s"] for r in runs], dtype=float) / 60
    train = np.array([r.get("train_s") or 0 for r in runs], dtype=float) / 60
    ax_time.bar(x, wall, color=OKABE_ITO[5], label="start-up, data, evaluation")
    ax_time.bar(x, train, color=OKABE_ITO[0], label="training epochs")
    for i, value in enumerate(wall):
        ax_time.annotate(f"{value:.1f}", (i, value), ha="center", va="bottom", fontsize=8)
    alt = [f"wall time per seed {', '.join(f'{w:.1f}' for w in wall)} minutes"]
    if time_target_s is not None:
        ax_time.axhline(time_target_s / 60, color=_TARGET, linestyle="--", linewidth=1,
                        label=f"target {time_target_s / 60:g} min")
        alt.append(f"target {time_target_s / 60:g} minutes")
    ax_time.set_ylim(0, max(wall.max(), (time_target_s or 0) / 60) * 1.25)
    ax_time.set_ylabel("minutes")
    ax_time.set_title("wall time")

    width = 0.38
    for j, (key, label) in enumerate((("test_accuracy_exact", "byte-exact test rows"),
                                      ("test_accuracy_full", "whole test set"))):
        values = np.array([np.nan if r.get(key) is None else r[key] for r in runs], float)
        ax_acc.bar(x + (j - 0.5) * width, 100 * values, width, color=OKABE_ITO[j],
                   hatch=None if j == 0 else "//", edgecolor="white", label=label)
        alt.append(f"{label}: " + ", ".join(f"{100 * v:.1f}%" for v in values))
    if accuracy_target is not None:
        ax_acc.axhline(100 * accuracy_target, color=_TARGET, linestyle="--", linewidth=1,
                       label=f"target {accuracy_target:.0%}")
    ax_acc.set_ylim(70, 100)
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.set_title("final test accuracy")
    for ax in (ax_time, ax_acc):
        ax.set_xticks(x, seeds)
        ax.set_xlabel("seed")
        ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22),
                  ncol=2)

    curves = [r.get("val_curve") or [] for r in runs]
    if any(curves):
        for i, (curve, seed) in enumerate(zip(curves, seeds)):
            if not curve:
                continue
            t = np.array([p["time_s"] for p in curve], dtype=float) / 60
            acc = np.array([p["val_accuracy"] for p in curve], dtype=float)
            ax_curve.plot(t, 100 * acc, color=OKABE_ITO[i % len(OKABE_ITO)],
                          linestyle=_LINESTYLES[i % 4], marker=_MARKERS[i % len(_MARKERS)],
                          markersize=4, label=f"seed {seed}")
        if accuracy_target is not None:
            ax_curve.axhline(100 * accuracy_target, color=_TARGET, linestyle="--", linewidth=1)
        if time_target_s is not None:
            ax_curve.axvline(time_target_s / 60, color=_TARGET, linestyle="--", linewidth=1)
        ax_curve.set_xlabel("minutes from a cold start")
        ax_curve.set_ylabel("validation accuracy (%)")
        ax_curve.legend(frameon=False, fontsize=7, loc="upper center",
                        bbox_to_anchor=(0.5, -0.22), ncol=3)
    else:
        ax_curve.set_axis_off()
    key = f"time_to_val_{round(100 * (accuracy_target or 0.9))}_s"
    reached = [r.get(key) for r in runs if r.get(key) is not None]
    if reached:
        text = (f"{len(reached)} of {len(runs)} seeds reached {accuracy_target or 0.9:.0%} "
                f"after {min(reached) / 60:.1f}-{max(reached) / 60:.1f} min")
    else:
        text = f"no seed reached {accuracy_target or 0.9:.0%} validation accuracy"
    ax_curve.set_title(("validation accuracy\n" if any(curves) else "") + text, fontsize=9)
    alt.append(text)
    fig.suptitle(title)
    return _finish(fig, f"{title}. " + "; ".join(alt) + ".")
