"""Checks of exercise 8 (efficiency): the cost of a convolution, latency percentiles,
throughput, the memory of the weights in each precision, and the agreement of two
models' predictions.

The references are Keras (parameters of real layers), :func:`cifar_edu.benchmark.layer_costs`
(multiply-adds) and the timings of instrumented stand-in functions: a check does not
guess how long a call took, it records it from inside the call, so a busy machine
slows the learner's measurement and the reference alike. Like :mod:`timeit`, the checks
switch Python's garbage collector off while the learner's code times the stand-ins: a
collection between the stand-in's own clock and the learner's would add a pause that only
one of the two sees.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator

import keras
import numpy as np

from cifar_edu.benchmark import layer_costs
from cifar_edu.checks import (Fail, Pass, as_float_array, call_learner, check, describe,
                              require_value)

__all__ = ["DTYPE_BYTES", "check_conv_cost", "check_measure_latency", "check_throughput",
           "check_weight_memory", "check_agreement"]

#: Bytes per stored value of the dtypes of task 4.
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1}

# (height, width, kernel, c_in, c_out, use_bias): 'same' padding, stride 1.
_CONV_CASES = ((32, 32, 3, 3, 16, True), (15, 15, 3, 64, 256, False), (8, 8, 5, 4, 6, True),
               (7, 7, 1, 256, 10, False))


def _close(value: float, expected: float, rtol: float = 1e-6) -> bool:
    return bool(np.isclose(value, expected, rtol=rtol, atol=0))


# --------------------------------------------------------------------------- task 1


def _keras_conv_cost(height: int, width: int, kernel: int, c_in: int, c_out: int,
                     use_bias: bool) -> tuple[int, int]:
    inputs = keras.Input((height, width, c_in))
    outputs = keras.layers.Conv2D(c_out, kernel, padding="same", use_bias=use_bias,
                                  name="conv")(inputs)
    row = next(r for r in layer_costs(keras.Model(inputs, outputs)) if r["name"] == "conv")
    return row["parameters"], row["multiply_adds"]


def _pair(value: object, name: str) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise Fail(f"`{name}` returned {describe(value)}; expected a pair "
                   "(parameters, multiply_adds).", "end it with "
                   "`return parameters, multiply_adds`.")
    first, second = (float(as_float_array(v, n).reshape(-1)[0])
                     for v, n in zip(value, ("parameters", "multiply_adds")))
    return first, second


@check("Task 1, parameters and multiply-adds of a convolution")
def check_conv_cost(conv_cost: object) -> Pass:
    """Check ``conv_cost(height, width, kernel, c_in, c_out, use_bias)`` against Keras.

    The convolution has 'same' padding and stride 1 on a ``(height, width, c_in)``
    input; the function returns ``(parameters, multiply_adds)`` of one image.
    """
    for h, w, k, c_in, c_out, use_bias in _CONV_CASES:
        value = call_learner(conv_cost, h, w, k, c_in, c_out, use_bias, name="conv_cost",
                             hint="conv_cost(height, width, kernel, c_in, c_out, use_bias) "
                                  "takes five integers and a bool.")
        params, macs = _pair(value, "conv_cost")
        ref_params, ref_macs = _keras_conv_cost(h, w, k, c_in, c_out, use_bias)
        case = (f"a {k}x{k} convolution from {c_in} to {c_out} channels on {h}x{w} "
                f"({'with' if use_bias else 'without'} biases)")
        weights = k * k * c_in * c_out
        if params != ref_params:
            if use_bias and params == weights:
                raise Fail(f"for {case} you count {params:,.0f} parameters; Keras counts "
                           f"{ref_params:,}.", "you forgot the biases: with use_bias=True "
                                               "every filter adds one, + c_out.")
            if not use_bias and params == weights + c_out:
                raise Fail(f"for {case} you count {params:,.0f} parameters; Keras counts "
                           f"{ref_params:,}.", "with use_bias=False there are no biases "
                                               "(the batch normalisation after it has an "
                                               "offset instead): k * k * c_in * c_out.")
            if params == (k * k + use_bias) * c_out:
                raise Fail(f"for {case} you count {params:,.0f} parameters; Keras counts "
                           f"{ref_params:,}.", "each filter has one k x k kernel PER INPUT "
                                               "CHANNEL: k * k * c_in weights.")
            raise Fail(f"for {case} you count {params:,.0f} parameters; Keras counts "
                       f"{ref_params:,}.", "k * k * c_in * c_out weights, plus c_out biases "
                                           "when use_bias is True.")
        if macs == ref_macs:
            continue
        wrong = f"for {case} you count {macs:,.0f} multiply-adds; the reference is {ref_macs:,}."
        if macs == 2 * ref_macs:
            raise Fail(wrong, "that is the number of floating-point operations (FLOPs): a "
                              "multiply-add is one multiplication and one addition, but "
                              "counts once here.")
        if macs == ref_macs / (h * w):
            raise Fail(wrong, "that is the cost of ONE output position: the filters slide "
                              "over all height x width positions ('same' padding keeps "
                              "the size).")
        if macs == ref_macs + h * w * c_out:
            raise Fail(wrong, "adding the bias is an addition, not a multiply-add: leave it "
                              "out.")
        if macs == ref_macs / c_in:
            raise Fail(wrong, "each output value sums over the k x k window of EVERY input "
                              "channel: k * k * c_in multiply-adds.")
        if macs == (h - k + 1) * (w - k + 1) * c_out * k * k * c_in:
            raise Fail(wrong, "that is 'valid' padding; with padding='same' and stride 1 "
                              "the output keeps height x width positions.")
        raise Fail(wrong, "multiply-adds = (height * width * c_out) output values x "
                          "(k * k * c_in) multiply-adds each.")
    return Pass("the same parameters as Keras and the same multiply-adds as "
                "cifar_edu.benchmark.layer_costs, with and without biases.")


# --------------------------------------------------------------------------- task 2


class _Probe:
    """A stand-in for a model: sleeps as planned and records its own duration per call."""

    def __init__(self, plan: Callable[[int], float], per_image_s: float = 0.0) -> None:
        self.plan = plan
        self.per_image_s = per_image_s
        self.durations: list[float] = []
        self.sizes: list[int | None] = []
        self.args_ok = True

    def __call__(self, x: object = None) -> object:
        start = time.perf_counter()
        size = len(x) if hasattr(x, "__len__") else None
        self.sizes.append(size)
        pause = self.plan(len(self.durations)) + self.per_image_s * (size or 0)
        deadline = start + pause
        time.sleep(max(pause - 0.0002, 0.0))
        while time.perf_counter() < deadline:  # sleep() may wake early on some systems
            pass
        self.durations.append(time.perf_counter() - start)
        return x


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Garbage collection off inside the block (as timeit does), restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _latency_case(measure: object, probe: _Probe, runs: int, warmup: int
                  ) -> tuple[float, float, np.ndarray]:
    x = np.zeros((1, 32, 32, 3), np.uint8)
    with _no_gc():
        value = call_learner(measure, probe, x, runs=runs, warmup=warmup,
                             name="measure_latency",
                             hint="define it as measure_latency(fn, x, runs=100, warmup=5) "
                                  "and call fn(x) inside.")
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise Fail(f"`measure_latency` returned {describe(value)}; expected a pair "
                   "(p50_ms, p95_ms).", "end it with `return p50_ms, p95_ms`.")
    p50, p95 = (float(as_float_array(v, n).reshape(-1)[0])
                for v, n in zip(value, ("p50_ms", "p95_ms")))
    return p50, p95, 1000 * np.asarray(probe.durations)


def _near(value: float, expected: float) -> bool:
    """Within timing noise of ``expected`` (ms): a busy machine adds time, never removes it."""
    return 0.75 * expected - 0.5 <= value <= 1.5 * expected + 2.0


@check("Task 2, latency percentiles")
def check_measure_latency(measure_latency: object) -> Pass:
    """Check ``measure_latency(fn, x, runs, warmup)`` -> ``(p50_ms, p95_ms)`` on stand-ins.

    Three stand-in functions: one that always takes 5 ms; one that is slow on its
    first three calls (like tracing) and fast after; one that takes 20 ms every
    fourth call and 1 ms otherwise (its mean is far from its median).
    """
    runs, warmup = 20, 3
    # 1. Steady: p50 and p95 in milliseconds, about 5.
    probe = _Probe(lambda i: 0.005)
    p50, p95, ms = _latency_case(measure_latency, probe, runs, warmup)
    if len(ms) < runs:
        raise Fail(f"`fn` was called {len(ms)} times with runs={runs}.",
                   "call fn(x) `warmup` times untimed, then `runs` times timed.")
    timed = ms[-runs:]
    ref50, ref95 = np.percentile(timed, 50), np.percentile(timed, 95)
    if _near(1000 * p50, ref50):
        raise Fail(f"a call that takes about {ref50:.1f} ms gives p50 = {p50:.4f}: that is "
                   "in seconds.", "time.perf_counter() counts seconds: multiply by 1000.")
    if _near(p50 / 1000, ref50):
        raise Fail(f"a call that takes about {ref50:.1f} ms gives p50 = {p50:,.0f}.",
                   "time.perf_counter() counts seconds: multiply by 1000, not 1,000,000.")
    if p50 > p95 + 1e-9:
        raise Fail(f"p50 = {p50:.2f} ms is larger than p95 = {p95:.2f} ms.",
                   "return (p50, p95) in that order: np.percentile(times, 50), then 95.")
    if not (_near(p50, ref50) and _near(p95, ref95)):
        raise Fail(f"for a call of about {ref50:.1f} ms you report p50 = {p50:.2f} ms and "
                   f"p95 = {p95:.2f} ms.", "time each call on its own: t0 = "
                                           "time.perf_counter(); fn(x); times.append("
                                           "time.perf_counter() - t0).")
    # 2. Slow first calls: warm-up must not be timed.
    probe = _Probe(lambda i: 0.060 if i < warmup else 0.002)
    p50, p95, ms = _latency_case(measure_latency, probe, runs, warmup)
    timed = ms[-runs:]
    if len(ms) < runs + warmup or p95 > 0.5 * 60 + 1:
        raise Fail(f"for a function that takes 60 ms on its first {warmup} calls and 2 ms "
                   f"after, you report p95 = {p95:.1f} ms: the warm-up calls were timed.",
                   "first call fn(x) `warmup` times WITHOUT timing (tracing, caches), then "
                   "time `runs` calls.")
    if not (_near(p50, np.percentile(timed, 50)) and _near(p95, np.percentile(timed, 95))):
        raise Fail(f"after the warm-up, calls take about {np.percentile(timed, 50):.1f} ms; "
                   f"you report p50 = {p50:.2f} ms, p95 = {p95:.2f} ms.",
                   "keep only the times of the `runs` timed calls.")
    # 3. A skewed distribution: the median is not the mean.
    probe = _Probe(lambda i: 0.020 if (i - warmup) % 4 == 0 else 0.001)
    p50, p95, ms = _latency_case(measure_latency, probe, runs, warmup)
    timed = ms[-runs:]
    ref50, ref95, mean = (np.percentile(timed, 50), np.percentile(timed, 95), timed.mean())
    if not _near(p50, ref50):
        if _near(p50, mean):
            raise Fail(f"calls take 1 ms, and 20 ms every fourth time: the median is "
                       f"{ref50:.1f} ms, but you report p50 = {p50:.2f} ms, the mean.",
                       "p50 is the median: np.percentile(times, 50) (or np.median), which "
                       "a few slow calls do not move.")
        raise Fail(f"the median of the timed calls is {ref50:.1f} ms; you report "
                   f"p50 = {p50:.2f} ms.", "p50 = np.percentile(times, 50).")
    if not _near(p95, ref95):
        raise Fail(f"the 95th percentile of the timed calls is {ref95:.1f} ms; you report "
                   f"p95 = {p95:.2f} ms.", "p95 = np.percentile(times, 95): 95% of the calls "
                                           "are at least that fast.")
    return Pass("milliseconds, warm-up left out, and the median and 95th percentile of "
                "the timed calls (not the mean).")


# --------------------------------------------------------------------------- task 3


@check("Task 3, throughput")
def check_throughput(images_per_second: object) -> Pass:
    """Check ``images_per_second(predict, images, batch_size, repeats)`` on a stand-in model.

    The stand-in takes 2 ms per call plus 0.1 ms per image, and 60 ms more on its
    first call; the answer must be the images of the timed calls over their time.
    """
    batch_size, repeats = 16, 5
    probe = _Probe(lambda i: 0.062 if i == 0 else 0.002, per_image_s=0.0001)
    images = np.zeros((64, 32, 32, 3), np.uint8)
    with _no_gc():
        value = call_learner(images_per_second, probe, images, batch_size, repeats=repeats,
                             name="images_per_second",
                             hint="define it as images_per_second(predict, images, "
                                  "batch_size, repeats=5).")
    rate = float(as_float_array(value, "images_per_second(...)").reshape(-1)[0])
    sizes = [s for s in probe.sizes]
    if any(s != batch_size for s in sizes):
        raise Fail(f"`predict` got batches of {sorted(set(map(str, sizes)))} images, "
                   f"not {batch_size}.", "time calls on one batch: batch = "
                                         "images[:batch_size]; predict(batch).")
    if len(sizes) < repeats:
        raise Fail(f"`predict` was called {len(sizes)} times with repeats={repeats}.",
                   "call it once untimed (warm-up), then `repeats` times timed.")
    seconds = np.asarray(probe.durations)
    warm_up = ("the first call is slow (tracing, caches): call predict once before you start "
               "the clock, and time only the `repeats` calls after it.")
    if len(sizes) == repeats:
        raise Fail(f"`predict` was called exactly {repeats} times, so its slow first call "
                   f"was timed: you report {rate:,.4g} images per second.", warm_up)
    ref = batch_size * repeats / seconds[-repeats:].sum()
    if np.isclose(rate, ref, rtol=0.25):
        return Pass(f"{rate:,.0f} images per second for about {ref:,.0f}: the images of the "
                    "timed calls over their time, warm-up left out.")
    wrong = f"you report {rate:,.4g}; the timed calls handled about {ref:,.0f} images per second."
    if np.isclose(rate, batch_size * len(sizes) / seconds.sum(), rtol=0.25):
        raise Fail(wrong, warm_up)
    if np.isclose(rate, ref / batch_size, rtol=0.25):
        raise Fail(wrong, "that is calls per second: multiply by the batch size.")
    if np.isclose(rate, 1 / ref, rtol=0.25) or np.isclose(rate, 1000 / ref, rtol=0.25):
        raise Fail(wrong, "that is the time per image: throughput is images / seconds.")
    if np.isclose(rate, ref / 1000, rtol=0.25):
        raise Fail(wrong, "that is images per millisecond: divide by seconds, as "
                          "time.perf_counter() counts them.")
    raise Fail(wrong, "images_per_second = batch_size * repeats / (total seconds of the "
                      "timed calls).")


# --------------------------------------------------------------------------- task 4


@check("Task 4, memory of the weights")
def check_weight_memory(weight_megabytes: object, model: object) -> Pass:
    """Check ``weight_megabytes(model, dtype)`` in MB (10**6 bytes) for each of :data:`DTYPE_BYTES`.

    The reference counts every weight of ``model`` (``count_params``), trained or not.
    """
    require_value(model, "model")
    n = int(model.count_params())
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    for dtype, size in DTYPE_BYTES.items():
        value = call_learner(weight_megabytes, model, dtype, name="weight_megabytes",
                             hint="define it as weight_megabytes(model, dtype) with dtype one "
                                  f"of {list(DTYPE_BYTES)}.")
        mb = float(as_float_array(value, "weight_megabytes(...)").reshape(-1)[0])
        ref = n * size / 1e6
        if _close(mb, ref):
            continue
        wrong = f"in {dtype} you report {mb:,.4g} MB; {n:,} parameters take {ref:,.3f} MB."
        if _close(mb, ref * 8):
            raise Fail(wrong, f"that counts bits: {dtype} takes {size} BYTE"
                              f"{'S' if size > 1 else ''} ({8 * size} bits) per value.")
        if _close(mb, n * size / 2**20):
            raise Fail(wrong, "that is MiB (2**20 bytes); a MB here is 1,000,000 bytes, as "
                              "for file sizes.")
        if _close(mb, n * size):
            raise Fail(wrong, "that is bytes: divide by 1e6 for megabytes.")
        if trainable != n and _close(mb, trainable * size / 1e6):
            raise Fail(wrong, "the model also stores weights that are not trained (batch "
                              "normalisation's moving mean and variance, the frozen "
                              "whitening filters): count all of them, model.count_params().")
        others = {s for d, s in DTYPE_BYTES.items() if d != dtype}
        if any(_close(mb, n * s / 1e6) for s in others):
            raise Fail(wrong, f"{dtype} takes {size} byte{'s' if size > 1 else ''} per value "
                              "(float32: 32 bits = 4 bytes, bfloat16 and float16: 2, int8: 1).")
        raise Fail(wrong, "MB = parameters x bytes per value / 1e6.")
    return Pass(f"{n:,} parameters: {n * 4 / 1e6:.2f} MB in float32, {n * 2 / 1e6:.2f} MB in "
                "bfloat16.")


# --------------------------------------------------------------------------- task 5


def _made_up_predictions(n: int = 200, changed: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Two probability arrays that differ slightly everywhere and in class for ``changed`` rows."""
    rng = np.random.default_rng(8)
    logits = rng.normal(size=(n, 10))
    logits[np.arange(n), rng.integers(0, 10, n)] += 3
    p_a = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p_b = np.clip(p_a + rng.normal(0, 1e-4, p_a.shape), 0, None)
    rows = rng.choice(n, changed, replace=False)
    top = p_b[rows].argmax(axis=1)
    p_b[rows, top] = 0.0  # another class wins on these rows
    p_b /= p_b.sum(axis=1, keepdims=True)
    return p_a.astype(np.float32), p_b.astype(np.float32)


def _reference_agreement(p_a: np.ndarray, p_b: np.ndarray) -> float:
    return float(np.mean(p_a.argmax(axis=1) == p_b.argmax(axis=1)))


@check("Task 5, agreement of two precisions")
def check_agreement(agreement: object, probs_a: np.ndarray, probs_b: np.ndarray) -> Pass:
    """Check ``agreement(probs_a, probs_b)``: the share of images with the same predicted class.

    It is tried on made-up probabilities (80% agreement, every probability slightly
    different) and on the two arrays passed (float32 and bfloat16 predictions).
    """
    made_a, made_b = _made_up_predictions()
    for a, b, what in ((made_a, made_b, "two made-up arrays of 200 predictions"),
                       (np.asarray(probs_a), np.asarray(probs_b),
                        f"your {len(probs_a):,} float32 and bfloat16 predictions")):
        value = call_learner(agreement, a.copy(), b.copy(), name="agreement",
                             hint="agreement(probs_a, probs_b) takes two (N, 10) arrays of "
                                  "probabilities and returns one number.")
        share = as_float_array(value, "agreement(...)")
        if share.size != 1:
            raise Fail(f"`agreement` returned {describe(value)}; expected one number.",
                       "average over the images: np.mean(...).")
        share = float(share.reshape(-1)[0])
        ref = _reference_agreement(a, b)
        if np.isclose(share, ref, atol=1e-9):
            continue
        wrong = f"on {what} you report {share:.4g}; the predicted classes agree on {ref:.1%}."
        if np.isclose(share, 100 * ref):
            raise Fail(wrong, "return a share between 0 and 1, not a percentage.")
        if np.isclose(share, 1 - ref):
            raise Fail(wrong, "that is the share where they DISAGREE.")
        if np.isclose(share, ref * len(a)):
            raise Fail(wrong, "that is a count: divide by the number of images (np.mean).")
        if np.isclose(share, float(np.mean(a == b))):
            raise Fail(wrong, "compare the predicted CLASSES (argmax over the classes, "
                              "axis=1), not the probabilities: those differ in the last "
                              "digits even when the answer is the same.")
        if np.isclose(share, float(np.mean(a.argmax(axis=0) == b.argmax(axis=0)))):
            raise Fail(wrong, "argmax over axis=1, the classes; axis=0 runs over the images.")
        raise Fail(wrong, "np.mean(probs_a.argmax(axis=1) == probs_b.argmax(axis=1)).")
    return Pass(f"the same answers as the reference; here the two precisions agree on "
                f"{_reference_agreement(np.asarray(probs_a), np.asarray(probs_b)):.2%} of the "
                "images.")
