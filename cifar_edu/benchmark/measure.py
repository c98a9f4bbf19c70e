"""Measuring helpers shared by the benchmarks: repeated timings, peak memory and
summaries over seeds."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["rss_mb", "peak_rss_mb", "time_calls", "summarise"]


def rss_mb(maxrss: int) -> float:
    """A ``ru_maxrss`` figure in MB (macOS gives bytes, Linux KiB)."""
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def summarise(values: Sequence[float | None]) -> dict[str, float | None]:
    """Mean, sample standard deviation, min and max of the values that are not None."""
    clean = [float(v) for v in values if v is not None]
    if not clean:
        return {"mean": None, "std": None, "min": None, "max": None}
    arr = np.asarray(clean)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
            "min": float(arr.min()), "max": float(arr.max())}


def time_calls(call: Any, min_time_s: float, min_calls: int) -> list[float]:
    """Seconds of repeated ``call()``s: at least ``min_calls`` and ``min_time_s`` in all."""
    times: list[float] = []
    while len(times) < min_calls or sum(times) < min_time_s:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return times
