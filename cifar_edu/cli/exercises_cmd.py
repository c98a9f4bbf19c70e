"""``cifar-edu exercises build``: write the exercises from their solutions (or check them)."""

from __future__ import annotations

import argparse

from cifar_edu.cli.common import CommandResult, add_common_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``exercises`` command group."""
    exercises = subparsers.add_parser("exercises", help="generate the exercise notebooks from "
                                                        "their solutions")
    sub = exercises.add_subparsers(dest="exercises_command", metavar="SUBCOMMAND")
    sub.required = True

    build = sub.add_parser(
        "build", help="write exercises/NN_name.ipynb from solutions/NN_name.ipynb "
                      "(solution parts replaced by placeholders)")
    build.add_argument("names", nargs="*", metavar="NAME",
                       help="only these exercises, e.g. 01_dataset (default: all)")
    build.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 listing exercises that differ from their "
                            "solutions")
    build.add_argument("--solutions", default="solutions", metavar="DIR",
                       help="folder of the solution notebooks (default: solutions)")
    build.add_argument("--out", default="exercises", metavar="DIR",
                       help="folder of the exercises (default: exercises)")
    add_common_options(build)
    build.set_defaults(handler=run_build)


_VERBS = {"unchanged": "up to date", "written": "written", "stale": "STALE (differs)",
          "missing": "MISSING", "orphan": "no solution"}


def run_build(args: argparse.Namespace) -> CommandResult:
    """Build or check the exercises; exit code 1 when ``--check`` finds differences."""
    from cifar_edu.exercises import build_exercises  # needs nbformat: only when used

    report = build_exercises(args.solutions, args.out, check=args.check, only=args.names)
    lines = []
    for item in report.files:
        verb = _VERBS[item.status]
        if item.status == "orphan":
            verb += " (would be removed)" if args.check else " (removed)"
        checks = f", {item.n_checks} checks" if item.solution is not None else ""
        lines.append(f"{item.exercise}: {verb}{checks}")
    if report.check and not report.ok:
        lines.append(f"{len(report.stale)} exercise(s) out of date; run `cifar-edu exercises "
                     "build` and commit the result (edit the solutions, never the exercises)")
    return CommandResult(report.to_dict(), "\n".join(lines), exit_code=0 if report.ok else 1)
