"""``cifar-edu benchmark``: training time and accuracy of recipes, prediction speed of models."""

from __future__ import annotations

import argparse

from cifar_edu.cli.common import (PRECISION_CHOICES, CommandResult, add_common_options,
                                   add_data_option)
from cifar_edu.errors import CifarEduError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``benchmark`` command."""
    parser = subparsers.add_parser(
        "benchmark", help="time recipes from a cold start (accuracy, time to 90%%/94%%, "
                          "throughput, latency, memory), or a saved model's prediction speed",
        description="Train each recipe once per seed, each run in a fresh process, and report "
                    "wall time, final accuracy (byte-exact test rows and whole test set, mean "
                    "and spread over seeds), time to 90% and 94% validation accuracy, training "
                    "and inference throughput, single-image latency and peak memory. "
                    "`cifar-edu benchmark inference --model M` measures a saved model only: "
                    "images per second at each of --batch-sizes and the latency of one image, "
                    "for each --precision.")
    parser.add_argument("mode", nargs="?", choices=("train", "inference"), default="train",
                        help="train (default): train and measure recipes; inference: measure "
                             "the prediction speed of --model only")
    parser.add_argument("--recipe", nargs="+", default=None, metavar="NAME",
                        help="recipes to benchmark (default: fast90)")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="runs per recipe, seeds 0..N-1 (default 1; 3 for a mean and spread)")
    add_data_option(parser)
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help="override the recipes' epochs (smoke tests only)")
    parser.add_argument("--precision", nargs="+", choices=PRECISION_CHOICES, default=["auto"],
                        metavar="POLICY",
                        help="numeric precision: auto (default), float32, mixed_bfloat16 or "
                             "mixed_float16; `inference` takes several and measures each")
    parser.add_argument("--model", default=None, metavar="PATH|pretrained",
                        help="with `inference`: 'pretrained', a .keras file or a run folder")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None, metavar="N",
                        help="with `inference`: also measure images per second at these batch "
                             "sizes, e.g. 1 8 32 128 512 1000")
    parser.add_argument("--batch-size", type=int, default=1000, metavar="N",
                        help="with `inference`: batch of the headline throughput (default 1000)")
    parser.add_argument("--latency-runs", type=int, default=200, metavar="N",
                        help="with `inference`: timed single-image calls (default 200)")
    parser.add_argument("--min-time", type=float, default=2.0, metavar="SECONDS",
                        help="with `inference`: time each throughput figure for at least this "
                             "long (default 2)")
    parser.add_argument("--jit-compile", action="store_true",
                        help="with `inference`: compile the forward pass with XLA")
    parser.add_argument("--runs-dir", default=None, metavar="DIR",
                        help="keep the run folders here (default: a temporary folder)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="also write the JSON result to FILE")
    add_common_options(parser)
    parser.set_defaults(handler=run_benchmark_command)


def _command_line(args: argparse.Namespace, inference: bool) -> list[str]:
    """The canonical command line of this benchmark, recorded in its result."""
    command = ["cifar-edu", "benchmark"]
    if inference:
        command += ["inference", "--model", args.model or "pretrained",
                    "--precision", *args.precision]
        if args.batch_sizes:
            command += ["--batch-sizes", *map(str, args.batch_sizes)]
        if args.batch_size != 1000:
            command += ["--batch-size", str(args.batch_size)]
        if args.latency_runs != 200:
            command += ["--latency-runs", str(args.latency_runs)]
        if args.min_time != 2.0:
            command += ["--min-time", f"{args.min_time:g}"]
        if args.jit_compile:
            command.append("--jit-compile")
    else:
        command += ["train", "--recipe", *(args.recipe or ["fast90"]), "--seeds", str(args.seeds),
                    "--data", args.data]
        if args.epochs is not None:
            command += ["--epochs", str(args.epochs)]
        if args.precision != ["auto"]:
            command += ["--precision", *args.precision]
    if args.out:
        command += ["--out", args.out]
    return command


def run_benchmark_command(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu benchmark``."""
    from cifar_edu import benchmark
    from cifar_edu.fileio import atomic_write_json

    if args.model is not None or args.mode == "inference":
        if args.recipe:
            raise CifarEduError("--recipe trains models; for `inference` pass only --model")
        result = benchmark.run_inference_benchmark(
            args.model or "pretrained", precisions=args.precision,
            batch_sizes=args.batch_sizes or (), batch_size=args.batch_size,
            latency_runs=args.latency_runs, jit_compile=args.jit_compile,
            min_time_s=args.min_time, command=_command_line(args, inference=True))
        text = benchmark.format_inference(result)
    else:
        if args.batch_sizes or args.jit_compile:
            raise CifarEduError("--batch-sizes and --jit-compile measure prediction speed; use "
                                "them with `cifar-edu benchmark inference --model ...`")
        if len(args.precision) != 1:
            raise CifarEduError("training takes one --precision (auto, float32, mixed_bfloat16 "
                                "or mixed_float16); several are for `benchmark inference`")
        if args.epochs is not None and args.epochs < 1:
            raise CifarEduError(f"--epochs must be at least 1, got {args.epochs}")
        result = benchmark.run_benchmark(args.recipe or ["fast90"], seeds=args.seeds,
                                         source=args.data, num_epochs=args.epochs,
                                         precision=args.precision[0], runs_dir=args.runs_dir)
        result["command"] = " ".join(_command_line(args, inference=False))
        text = benchmark.format_table(result)
    if args.out:
        atomic_write_json(args.out, result)
        text += f"\n\nWrote {args.out}"
    return CommandResult(data=result, text=text)
