"""``cifar-edu ablation run|export|show``: the augmentation x BN x dropout grid of lesson 4."""

from __future__ import annotations

import argparse
import sys

from cifar_edu.cli.common import (PRECISION_CHOICES, CommandResult, add_common_options,
                                   add_data_option)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ablation`` command group."""
    group = subparsers.add_parser(
        "ablation", help="train the augmentation x batch-norm x dropout grid (lesson 4)",
        description="Train the baseline CNN with every combination of augmentation, batch "
                    "normalisation and dropout, once per seed, and decide each switch with "
                    "McNemar's test and the seed spread.")
    sub = group.add_subparsers(dest="ablation_command", metavar="SUBCOMMAND")
    sub.required = True

    run = sub.add_parser("run", help="train the grid into a folder (resumes an interrupted one)")
    run.add_argument("--out", required=True, metavar="DIR", help="folder of the grid")
    add_data_option(run)
    run.add_argument("--seeds", type=int, default=2, metavar="N",
                     help="runs per cell, seeds 0..N-1 (default 2)")
    run.add_argument("--epochs", type=int, default=15, metavar="N",
                     help="epochs of every run (default 15)")
    run.add_argument("--train-images", type=int, default=None, metavar="N",
                     help="use a stratified subset of N training images (10%% of them for "
                          "validation); default: all")
    run.add_argument("--cells", nargs="+", default=None, metavar="CELL",
                     help="only these cells, e.g. plain aug+bn+drop (default: all eight)")
    run.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                     help="numeric precision (default auto)")
    add_common_options(run)
    run.set_defaults(handler=run_grid)

    export = sub.add_parser("export", help="ship a finished grid as the lessons' saved result")
    export.add_argument("ablation_dir", metavar="DIR", help="folder written by `ablation run`")
    export.add_argument("--results-dir", default=None, metavar="DIR",
                        help="results folder (default: the package's assets/results, or "
                             "$CIFAR_EDU_RESULTS_DIR)")
    add_common_options(export)
    export.set_defaults(handler=run_export)

    show = sub.add_parser("show", help="print a grid's table and the test of each switch")
    show.add_argument("ablation_dir", nargs="?", default=None, metavar="DIR",
                      help="folder written by `ablation run` (default: the shipped result)")
    add_common_options(show)
    show.set_defaults(handler=run_show)


def _report(results) -> CommandResult:
    effects = results.effects()
    lines = [results.table_text(), "",
             "Each switch turned on (whole test set, McNemar exact test per seed):"]
    for e in effects:
        verdict = ("gain" if e["significant_gain"] else
                   "loss" if e["significant_loss"] else "not decided")
        ps = ", ".join(f"{p:.2g}" for p in e["p_values"])
        lines.append(f"  {e['factor']:<13} {e['without']:>12} -> {e['with']:<12} "
                     f"{e['difference']:+.1%}  p = {ps}  {verdict}")
    lines += ["", results.describe()]
    return CommandResult(data={"path": str(results.path), "table": results.table(),
                               "effects": effects, **results.summary},
                         text="\n".join(lines))


def run_grid(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu ablation run``."""
    from cifar_edu.ablation import AblationCell, run_ablation

    if args.seeds < 1:
        from cifar_edu.errors import CifarEduError
        raise CifarEduError(f"--seeds must be at least 1, got {args.seeds}")
    cells = [AblationCell.from_key(c) for c in args.cells] if args.cells else None
    results = run_ablation(args.out, args.data, seeds=range(args.seeds), num_epochs=args.epochs,
                           train_images=args.train_images, cells=cells,
                           precision=args.precision, verbose=0,
                           command=["cifar-edu", *sys.argv[1:]],
                           progress=None if args.json else print)
    return _report(results)


def run_export(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu ablation export``."""
    from cifar_edu.ablation import export_ablation, load_ablation

    target = export_ablation(args.ablation_dir, dest=args.results_dir)
    results = load_ablation(target)
    return CommandResult(data={"path": str(target)},
                         text=f"Exported {args.ablation_dir} to {target}.\n{results.describe()}")


def run_show(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu ablation show``."""
    from cifar_edu.ablation import load_ablation

    return _report(load_ablation(args.ablation_dir))
