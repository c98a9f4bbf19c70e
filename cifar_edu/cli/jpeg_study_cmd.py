"""``cifar-edu jpeg-study run|export|show``: what JPEG-compressed images cost (lessons 5, 10)."""

from __future__ import annotations

import argparse
import sys

from cifar_edu.cli.common import (PRECISION_CHOICES, CommandResult, add_common_options,
                                   add_data_option)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``jpeg-study`` command group."""
    group = subparsers.add_parser(
        "jpeg-study", help="measure what JPEG-compressed training and test images cost",
        description="Train one recipe on the original training rows, on a copy compressed "
                    "like the offline rebuild (JPEG quality 75, nine images in ten) and on a "
                    "copy compressed throughout, and evaluate each on the original test rows "
                    "and on their compressed copies.")
    sub = group.add_subparsers(dest="jpeg_command", metavar="SUBCOMMAND")
    sub.required = True

    run = sub.add_parser("run", help="train the study into a folder (resumes an interrupted one)")
    run.add_argument("--out", required=True, metavar="DIR", help="folder of the study")
    add_data_option(run)
    run.add_argument("--seeds", type=int, default=3, metavar="N",
                     help="seeds 0..N-1, each training every condition (default 3)")
    run.add_argument("--epochs", type=int, default=40, metavar="N",
                     help="epochs of every run (default 40)")
    run.add_argument("--recipe", default="fast90", metavar="NAME",
                     help="the recipe to train (default fast90)")
    run.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                     help="numeric precision (default auto)")
    add_common_options(run)
    run.set_defaults(handler=run_study)

    export = sub.add_parser("export", help="ship a finished study as the lessons' saved result")
    export.add_argument("study_dir", metavar="DIR", help="folder written by `jpeg-study run`")
    export.add_argument("--results-dir", default=None, metavar="DIR",
                        help="results folder (default: the package's assets/results, or "
                             "$CIFAR_EDU_RESULTS_DIR)")
    add_common_options(export)
    export.set_defaults(handler=run_export)

    show = sub.add_parser("show", help="print a study's table")
    show.add_argument("study_dir", nargs="?", default=None, metavar="DIR",
                      help="folder written by `jpeg-study run` (default: the shipped result)")
    add_common_options(show)
    show.set_defaults(handler=run_show)


def _report(study) -> CommandResult:
    lines = [study.table_text(), ""]
    for condition in ("rebuild", "compressed"):
        cost = study.cost(condition)
        lines.append(f"training on {condition} images instead of the originals costs "
                     f"{cost['mean']:+.1%} (+- {cost['std']:.1%} over seeds) on the original "
                     "test rows")
    lines += ["", study.describe()]
    return CommandResult(data={"path": str(study.path), "table": study.table(), **study.summary},
                         text="\n".join(lines))


def run_study(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu jpeg-study run``."""
    from cifar_edu.errors import CifarEduError
    from cifar_edu.jpeg_damage import run_jpeg_study

    if args.seeds < 1:
        raise CifarEduError(f"--seeds must be at least 1, got {args.seeds}")
    study = run_jpeg_study(args.out, args.data, seeds=range(args.seeds), recipe=args.recipe,
                           num_epochs=args.epochs, precision=args.precision, verbose=0,
                           command=["cifar-edu", *sys.argv[1:]],
                           progress=None if args.json else print)
    return _report(study)


def run_export(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu jpeg-study export``."""
    from cifar_edu.jpeg_damage import export_jpeg_study, load_jpeg_study

    target = export_jpeg_study(args.study_dir, dest=args.results_dir)
    return CommandResult(data={"path": str(target)},
                         text=f"Exported {args.study_dir} to {target}.\n"
                              f"{load_jpeg_study(target).describe()}")


def run_show(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu jpeg-study show``."""
    from cifar_edu.jpeg_damage import load_jpeg_study

    return _report(load_jpeg_study(args.study_dir))
