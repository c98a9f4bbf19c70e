"""``cifar-edu ensemble``: average several finished runs of one recipe into one model."""

from __future__ import annotations

import argparse
import sys

from cifar_edu.cli.common import (PRECISION_CHOICES, CommandResult, add_common_options,
                                   add_data_option)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ensemble`` command."""
    parser = subparsers.add_parser(
        "ensemble", help="combine finished runs of one recipe (different seeds) into an "
                         "ensemble run folder",
        description="Average the class probabilities of two or more finished runs of the same "
                    "recipe and data, trained with different seeds, and write a run folder "
                    "for the ensemble: model.keras (one model, one forward pass per member), "
                    "metrics.json (validation and test accuracy with the recipe's test-time "
                    "augmentation, and each member's figures) and provenance.json. Choose the "
                    "members before looking at test accuracy.")
    parser.add_argument("runs", nargs="+", metavar="RUN",
                        help="finished run folders of `cifar-edu train`")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="run folder to create for the ensemble (must not exist or be empty)")
    add_data_option(parser)
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                        help="numeric precision of the evaluation (the saved model is float32)")
    add_common_options(parser)
    parser.set_defaults(handler=run_ensemble)


def run_ensemble(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu ensemble``."""
    # Imported here: TensorFlow takes seconds to load, and other commands must not pay for it.
    from cifar_edu.training.ensemble import ensemble_runs

    result = ensemble_runs(args.runs, args.out, source=args.data, precision=args.precision,
                           command=["cifar-edu", *sys.argv[1:]])
    m = result.metrics

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.2%}"

    lines = [f"Ensemble of {m['ensemble_of']} runs of recipe {m['recipe']} "
             f"({m['evaluation_precision']}; TTA: {m['tta'].replace('_', ' + ')}).",
             f"{'':<24}{'validation':>11}{'exact rows':>12}{'whole test':>12}"]
    for member in m["members"]:
        lines.append(f"{'seed ' + str(member['seed']):<24}{pct(member['val_accuracy']):>11}"
                     f"{pct(member['test_exact']):>12}{pct(member['test_full']):>12}")
    lines += [f"{'ensemble':<24}{pct(m['val_accuracy']):>11}{pct(m['test_accuracy']):>12}"
              f"{pct(m['test_accuracy_full']):>12}",
              f"Exact rows: n={m['test_exact']['n']:,}; whole test set: n={m['test_full']['n']:,}.",
              f"Run folder: {result.out_dir}"]
    return CommandResult({"out": str(result.out_dir), "metrics": m}, "\n".join(lines))
