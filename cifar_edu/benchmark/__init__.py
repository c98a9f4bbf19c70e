"""Benchmarks: how fast recipes train and how fast models predict, on this machine.

- :mod:`~cifar_edu.benchmark.training_speed`: :func:`benchmark_recipe` trains a recipe
  once per seed, each run in a fresh Python process (a *cold start*), and reads the run
  folder back: final accuracy on the byte-exact test rows and on the whole test set,
  when validation accuracy first reached 90% and 94%, training throughput and peak
  memory.
- :mod:`~cifar_edu.benchmark.inference_speed`: :func:`benchmark_inference` measures a
  trained model's images per second at batch 1,000 (and other batch sizes) and the
  latency of one image (p50/p95, warm); :func:`run_inference_benchmark` repeats that
  for several precision policies and records the machine.
- :mod:`~cifar_edu.benchmark.compute`: :func:`layer_costs` counts parameters and
  multiply-adds layer by layer, and :func:`conv_rate` measures how many multiply-adds
  per second this machine reaches in one large convolution: about the ceiling for a
  CNN's convolutions.
- :mod:`~cifar_edu.benchmark.saved`: benchmarks of record ship in
  ``assets/results/benchmarks/`` (:data:`BENCHMARK_COMMANDS` are the commands that make
  them) and :func:`load_benchmark` reads them without importing TensorFlow.
- :mod:`~cifar_edu.benchmark.tables`: the results as text, as ``cifar-edu benchmark``
  prints them (or as JSON with ``--json``).

Nothing here imports TensorFlow until a measurement starts.
"""

from __future__ import annotations

from cifar_edu.benchmark.compute import conv_rate, layer_costs
from cifar_edu.benchmark.inference_speed import (DEFAULT_BATCH_SIZES, benchmark_inference,
                                                 run_inference_benchmark)
from cifar_edu.benchmark.measure import peak_rss_mb
from cifar_edu.benchmark.saved import (BENCHMARK_COMMANDS, BENCHMARKS_FOLDER, benchmarks_dir,
                                       describe_benchmark, list_benchmarks, load_benchmark)
from cifar_edu.benchmark.tables import format_inference, format_table
from cifar_edu.benchmark.training_speed import VAL_THRESHOLDS, benchmark_recipe, run_benchmark

__all__ = ["VAL_THRESHOLDS", "DEFAULT_BATCH_SIZES", "BENCHMARKS_FOLDER", "BENCHMARK_COMMANDS",
           "benchmark_recipe", "benchmark_inference", "run_inference_benchmark", "run_benchmark",
           "layer_costs", "conv_rate", "format_table", "format_inference", "peak_rss_mb",
           "benchmarks_dir", "list_benchmarks", "load_benchmark", "describe_benchmark"]

