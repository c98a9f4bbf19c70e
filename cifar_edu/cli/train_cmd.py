"""``cifar-edu train``: train a named recipe into a run folder."""

from __future__ import annotations

import argparse
import sys

from cifar_edu.cli.common import (PRECISION_CHOICES, CommandResult, add_common_options,
                                   add_data_option)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` command."""
    parser = subparsers.add_parser(
        "train", help="train a recipe (baseline, regularized, fast90, fast94, muon94, student94, "
                      "best, best96) into a run folder",
        description="Train a named recipe and write the run folder: model.keras, history.json, "
                    "metrics.json (validation and test accuracy, with and without test-time "
                    "augmentation) and provenance.json. Validation images come from the "
                    "training set; the test set is only used for the final figures.")
    parser.add_argument("--recipe", required=True, metavar="NAME",
                        help="baseline, regularized, fast90, fast94, muon94, student94 (with "
                             "--teacher), best or best96")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="run folder to create (a finished run is never overwritten)")
    add_data_option(parser)
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed (default 0); the same seed on the same machine "
                             "repeats the run bit for bit")
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help="override the recipe's number of epochs")
    parser.add_argument("--quick", action="store_true",
                        help="train one epoch only: a smoke test of the whole path")
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                        help="numeric precision: auto (default: bfloat16 on CPUs that have it, "
                             "float16 on GPUs, else float32) or a Keras policy name")
    parser.add_argument("--teacher", metavar="RUN|pretrained", default=None,
                        help="distil a finished run or ensemble (its folder), or the shipped "
                             "model ('pretrained'): learn its probabilities instead of "
                             "smoothed labels; it must have been trained with the same "
                             "validation images")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in --out from its last epoch")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                        help="0 silent, 1 progress bar, 2 one line per epoch (default: 1 in a "
                             "terminal, else 2; 0 with --json)")
    add_common_options(parser)
    parser.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu train``."""
    # Imported here: TensorFlow takes seconds to load, and other commands must not pay for it.
    from cifar_edu.training import get_recipe, train

    recipe = get_recipe(args.recipe)  # an unknown name fails before any data is read
    verbose = args.verbose if args.verbose is not None else (0 if args.json else "auto")
    try:
        result = train(recipe, args.out, source=args.data, seed=args.seed,
                       num_epochs=args.epochs, quick=args.quick, precision=args.precision,
                       resume=args.resume, teacher=args.teacher,
                       verbose=verbose, command=["cifar-edu", *sys.argv[1:]])
    except KeyboardInterrupt:
        print(f"cifar-edu: training stopped; continue it with the same command and --resume "
              f"(the last finished epoch is in {args.out})", file=sys.stderr)
        raise
    m, prov = result.metrics, result.provenance
    data = {"out": str(result.out_dir), "recipe": recipe.name, "seed": args.seed,
            "teacher": m.get("teacher"),
            "precision": prov["precision"]["policy"], "metrics": m,
            "timing": prov["timing"]}
    tta = m["tta"].replace("_", " + ")

    def accuracies(plain: float, with_tta: float) -> str:
        if m["tta"] == "none":  # the recipe uses no test-time augmentation
            return f"{plain:.2%} (no TTA)"
        return f"{plain:.2%} without TTA, {with_tta:.2%} with {tta} TTA"

    text = "\n".join([
        f"Trained {recipe.name} (seed {args.seed}"
        + (f", distilled from {m['teacher']}" if m.get("teacher") else "")
        + f") for {m['epochs_completed']} epochs in "
        f"{prov['timing']['total_s']:.0f} s with {prov['precision']['policy']} "
        f"({prov['precision']['reason']}).",
        f"Data: {m['data']}.",
        f"Validation accuracy (best epoch {m['best_epoch']}): {m['val_accuracy']:.2%}",
        f"Test accuracy, byte-exact rows (n={m['test_exact']['n']:,}): "
        + accuracies(m["test_exact"]["accuracy"], m["test_accuracy"]),
        f"Test accuracy, whole test set (n={m['test_full']['n']:,}): "
        + accuracies(m["test_full"]["accuracy"], m["test_accuracy_full"]),
        f"Run folder: {result.out_dir}",
    ])
    return CommandResult(data=data, text=text)
