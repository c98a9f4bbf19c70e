"""Checks of exercise 8 (efficiency): the solution's answers pass, untouched answers are "not
done yet", and typical wrong answers get their specific hint."""

from __future__ import annotations

import time

import keras
import numpy as np
import pytest

from cifar_edu.checks import ex08_efficiency as ex08
from tests.check_helpers import _failed, _lenient, _not_done, _passed  # noqa: F401


# -- task 1: parameters and multiply-adds ---------------------------------------------------

def _conv_cost(height, width, kernel, c_in, c_out, use_bias=True):  # the solution's answer
    parameters = kernel * kernel * c_in * c_out + (c_out if use_bias else 0)
    multiply_adds = height * width * c_out * kernel * kernel * c_in
    return parameters, multiply_adds


def test_ex08_conv_cost():
    _passed(ex08.check_conv_cost(_conv_cost))
    _not_done(ex08.check_conv_cost(None))
    _not_done(ex08.check_conv_cost(lambda *args: None))
    _failed(ex08.check_conv_cost(lambda h, w, k, ci, co, b: (k * k * ci * co,
                                                             h * w * co * k * k * ci)),
            "forgot the biases")
    _failed(ex08.check_conv_cost(lambda h, w, k, ci, co, b: (k * k * ci * co + co,
                                                             h * w * co * k * k * ci)),
            "use_bias=False")
    _failed(ex08.check_conv_cost(lambda h, w, k, ci, co, b: (_conv_cost(h, w, k, ci, co, b)[0],
                                                             2 * h * w * co * k * k * ci)),
            "FLOPs")
    _failed(ex08.check_conv_cost(lambda h, w, k, ci, co, b: (_conv_cost(h, w, k, ci, co, b)[0],
                                                             co * k * k * ci)),
            "one output position")
    _failed(ex08.check_conv_cost(lambda h, w, k, ci, co, b: (_conv_cost(h, w, k, ci, co, b)[0],
                                                             h * w * co * k * k)),
            "every input channel")
    _failed(ex08.check_conv_cost(lambda h, w, k, ci, co, b: _conv_cost(h, w, k, ci, co, b)[0]),
            "pair")


# -- task 2: latency -----------------------------------------------------------------------

def _timings(fn, x, runs, warmup, with_warmup=True):
    for _ in range(warmup if with_warmup else 0):
        fn(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return np.array(times)


def _measure_latency(fn, x, runs=100, warmup=5):  # the solution's answer
    times_ms = 1000 * _timings(fn, x, runs, warmup)
    return np.percentile(times_ms, 50), np.percentile(times_ms, 95)


def test_ex08_measure_latency():
    _passed(ex08.check_measure_latency(_measure_latency))
    _not_done(ex08.check_measure_latency(None))

    def in_seconds(fn, x, runs=100, warmup=5):
        t = _timings(fn, x, runs, warmup)
        return np.percentile(t, 50), np.percentile(t, 95)

    def no_warmup(fn, x, runs=100, warmup=5):
        t = 1000 * _timings(fn, x, runs, warmup, with_warmup=False)
        return np.percentile(t, 50), np.percentile(t, 95)

    def mean(fn, x, runs=100, warmup=5):
        t = 1000 * _timings(fn, x, runs, warmup)
        return t.mean(), np.percentile(t, 95)

    def swapped(fn, x, runs=100, warmup=5):
        t = 1000 * _timings(fn, x, runs, warmup)
        return np.percentile(t, 95), np.percentile(t, 50)

    _failed(ex08.check_measure_latency(in_seconds), "seconds", "1000")
    _failed(ex08.check_measure_latency(no_warmup), "warm-up")
    _failed(ex08.check_measure_latency(mean), "median", "mean")
    _failed(ex08.check_measure_latency(lambda fn, x, runs=100: (1.0, 2.0)), "warmup=5")


# -- task 3: throughput --------------------------------------------------------------------

def _images_per_second(predict, images, batch_size, repeats=5):  # the solution's answer
    batch = images[:batch_size]
    predict(batch)
    t0 = time.perf_counter()
    for _ in range(repeats):
        predict(batch)
    return batch_size * repeats / (time.perf_counter() - t0)


def test_ex08_throughput():
    _passed(ex08.check_throughput(_images_per_second))
    _not_done(ex08.check_throughput(None))

    def calls_per_second(predict, images, batch_size, repeats=5):
        return _images_per_second(predict, images, batch_size, repeats) / batch_size

    def with_warmup(predict, images, batch_size, repeats=5):
        batch = images[:batch_size]
        t0 = time.perf_counter()
        for _ in range(repeats):
            predict(batch)
        return batch_size * repeats / (time.perf_counter() - t0)

    def whole_array(predict, images, batch_size, repeats=5):
        predict(images)
        t0 = time.perf_counter()
        for _ in range(repeats):
            predict(images)
        return batch_size * repeats / (time.perf_counter() - t0)

    def seconds_per_image(predict, images, batch_size, repeats=5):
        return 1 / _images_per_second(predict, images, batch_size, repeats)

    _failed(ex08.check_throughput(calls_per_second), "batch size")
    _failed(ex08.check_throughput(with_warmup), "before you start the clock")
    _failed(ex08.check_throughput(whole_array), "images[:batch_size]")
    _failed(ex08.check_throughput(seconds_per_image), "time per image")


# -- task 4: memory of the weights --------------------------------------------------------

@pytest.fixture(scope="module")
def bn_model():
    """A small model with weights that are not trained (batch normalisation's statistics)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10)(x))


def _weight_megabytes(model, dtype):  # the solution's answer
    bytes_per_value = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1}[dtype]
    return model.count_params() * bytes_per_value / 1e6


def test_ex08_weight_memory(bn_model):
    _passed(ex08.check_weight_memory(_weight_megabytes, bn_model))
    _not_done(ex08.check_weight_memory(None, bn_model))
    size = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1}
    n = bn_model.count_params()
    trainable = sum(int(np.prod(w.shape)) for w in bn_model.trainable_weights)
    _failed(ex08.check_weight_memory(lambda m, d: n * size[d] * 8 / 1e6, bn_model), "bits")
    _failed(ex08.check_weight_memory(lambda m, d: n * size[d] / 2**20, bn_model), "MiB")
    _failed(ex08.check_weight_memory(lambda m, d: n * size[d], bn_model), "divide by 1e6")
    _failed(ex08.check_weight_memory(lambda m, d: trainable * size[d] / 1e6, bn_model),
            "count_params")
    _failed(ex08.check_weight_memory(lambda m, d: n * 4 / 1e6, bn_model), "bfloat16", "2")


# -- task 5: agreement ---------------------------------------------------------------------

def _agreement(probs_a, probs_b):  # the solution's answer
    return np.mean(probs_a.argmax(axis=1) == probs_b.argmax(axis=1))


@pytest.fixture(scope="module")
def two_precisions():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10), size=50).astype(np.float32)
    q = p + rng.normal(0, 1e-3, p.shape).astype(np.float32)
    return p, q


def test_ex08_agreement(two_precisions):
    p, q = two_precisions
    _passed(ex08.check_agreement(_agreement, p, q))
    _not_done(ex08.check_agreement(None, p, q))
    _failed(ex08.check_agreement(lambda a, b: np.mean(a == b), p, q), "argmax", "classes")
    _failed(ex08.check_agreement(lambda a, b: 100 * _agreement(a, b), p, q), "percentage")
    _failed(ex08.check_agreement(lambda a, b: 1 - _agreement(a, b), p, q), "disagree")
    _failed(ex08.check_agreement(lambda a, b: np.sum(a.argmax(1) == b.argmax(1)), p, q),
            "count")
    _failed(ex08.check_agreement(lambda a, b: np.mean(a.argmax(0) == b.argmax(0)), p, q),
            "axis=1")
    _failed(ex08.check_agreement(lambda a, b: a.argmax(1) == b.argmax(1), p, q), "one number")
