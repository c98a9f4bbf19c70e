"""``cifar-edu benchmark``: training time and accuracy of recipes, prediction speed of models."""

from __future__ import annotations

import argparse

from cifar_edu.cli.common import CommandResult, add_common_options, add_data_option
from cifar_edu.errors import CifarEduError

_PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``benchmark`` command."""
    parser = subparsers.add_parser(
        "benchmark", help="time recipes from a cold start (accuracy, time to 90%%/94%%, "
                          "throughput, latency, memory), or a saved model's prediction speed",
        description="Train each recipe once per seed, each run in a fresh process, and report "
                    "wall time, final accuracy (byte-exact test rows and whole test set, mean "
                    "and spread over seeds), time to 90% and 94% validation accuracy, training "
                    "and inference throughput, single-image latency and peak memory. "
                    "`cifar-edu benchmark inference --model M` measures a saved model only.")
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
    parser.add_argument("--precision", choices=_PRECISIONS, default="auto",
                        help="numeric precision (default auto)")
    parser.add_argument("--model", default=None, metavar="PATH|pretrained",
                        help="with `inference`: 'pretrained', a .keras file or a run folder")
    parser.add_argument("--runs-dir", default=None, metavar="DIR",
                        help="keep the run folders here (default: a temporary folder)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="also write the JSON result to FILE")
    add_common_options(parser)
    parser.set_defaults(handler=run_benchmark_command)


def run_benchmark_command(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu benchmark``."""
    from cifar_edu import benchmark
    from cifar_edu.fileio import atomic_write_json

    if args.model is not None or args.mode == "inference":
        if args.recipe:
            raise CifarEduError("--recipe trains models; for `inference` pass only --model")
        spec = args.model or "pretrained"
        result = {"model": spec, **benchmark.benchmark_inference(spec, precision=args.precision)}
        text = benchmark.format_inference(result)
    else:
        if args.epochs is not None and args.epochs < 1:
            raise CifarEduError(f"--epochs must be at least 1, got {args.epochs}")
        result = benchmark.run_benchmark(args.recipe or ["fast90"], seeds=args.seeds,
                                         source=args.data, num_epochs=args.epochs,
                                         precision=args.precision, runs_dir=args.runs_dir)
        text = benchmark.format_table(result)
    if args.out:
        atomic_write_json(args.out, result)
        text += f"\n\nWrote {args.out}"
    return CommandResult(data=result, text=text)
