"""``cifar-edu results export`` and ``cifar-edu results list``: the saved results lessons show."""

from __future__ import annotations

import argparse

from cifar_edu.cli.common import CommandResult, add_common_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``results`` command group."""
    results = subparsers.add_parser(
        "results", help="ship a finished run's results for the lessons, or list saved results",
        description="Saved results are the JSON files of a finished run (history, metrics, "
                    "provenance; not the model), shipped in the package so that lessons can "
                    "show long trainings they cannot run.")
    sub = results.add_subparsers(dest="results_command", metavar="SUBCOMMAND")
    sub.required = True
    folder_help = ("results folder (default: the package's assets/results, or "
                   "$CIFAR_EDU_RESULTS_DIR if set)")

    export = sub.add_parser("export", help="copy a finished run's JSON files into the results "
                                           "folder under NAME (replacing an older export)")
    export.add_argument("run_dir", metavar="RUN_DIR", help="run folder written by cifar-edu train")
    export.add_argument("name", metavar="NAME", help="name of the result, e.g. baseline")
    export.add_argument("--results-dir", default=None, metavar="DIR", help=folder_help)
    add_common_options(export)
    export.set_defaults(handler=run_export)

    listing = sub.add_parser("list", help="list the saved results with their accuracy")
    listing.add_argument("--results-dir", default=None, metavar="DIR", help=folder_help)
    add_common_options(listing)
    listing.set_defaults(handler=run_list)


def _summary(run) -> dict:
    m = run.metrics
    return {"name": run.name, "path": str(run.path), "recipe": run.recipe,
            "epochs": m.get("epochs_completed"), "data": m.get("data"),
            "test_accuracy": run.test_accuracy, "test_accuracy_full": run.test_accuracy_full,
            "tta": m.get("tta"), "wall_time_s": run.wall_time_s,
            "finished": run.provenance.get("finished"), "describe": run.describe()}


def _pct(value) -> str:
    return f"{value:.2%}" if isinstance(value, (int, float)) else "-"


def run_export(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu results export``."""
    from cifar_edu.results import export_run, load_run

    target = export_run(args.run_dir, args.name, dest=args.results_dir)
    run = load_run(args.name, directory=target.parent)
    return CommandResult(data=_summary(run),
                         text=f"Exported {args.run_dir} as {args.name!r} to {target}.\n"
                              f"{run.describe()}")


def run_list(args: argparse.Namespace) -> CommandResult:
    """Handler of ``cifar-edu results list``."""
    from cifar_edu.results import list_runs, load_run, results_dir

    folder = args.results_dir or str(results_dir())
    runs = [_summary(load_run(name, directory=folder)) for name in list_runs(directory=folder)]
    if not runs:
        return CommandResult(data={"results_dir": folder, "results": []},
                             text=f"No saved results in {folder}; make one with `cifar-edu "
                                  "train --recipe NAME --out runs/NAME` then `cifar-edu results "
                                  "export runs/NAME NAME`.")
    width = max(4, *(len(r["name"]) for r in runs))
    lines = [f"Saved results in {folder}:", "",
             f"{'name':<{width}}  {'recipe':<11} {'epochs':>6}  {'test exact':>10}  "
             f"{'test full':>10}  {'minutes':>7}  finished"]
    for r in runs:
        minutes = f"{r['wall_time_s'] / 60:.1f}" if r["wall_time_s"] is not None else "-"
        lines.append(f"{r['name']:<{width}}  {r['recipe']:<11} {r['epochs'] or '-':>6}  "
                     f"{_pct(r['test_accuracy']):>10}  {_pct(r['test_accuracy_full']):>10}  "
                     f"{minutes:>7}  {(r['finished'] or '-')[:10]}")
    return CommandResult(data={"results_dir": folder, "results": runs}, text="\n".join(lines))
