"""Entry point of the ``cifar-edu`` command: builds the parser and runs one command."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from cifar_edu import __version__
from cifar_edu.cli.common import CommandResult
from cifar_edu.errors import CifarEduError

# One module per command group, imported when the parser is built. Each has a
# ``register(subparsers)`` that adds its parser(s) with ``handler=...``.
COMMAND_MODULES = [
    "cifar_edu.cli.data_cmd",
    "cifar_edu.cli.predict_cmd",
    "cifar_edu.cli.evaluate_cmd",
    "cifar_edu.cli.train_cmd",
    "cifar_edu.cli.ensemble_cmd",
    "cifar_edu.cli.benchmark_cmd",
    "cifar_edu.cli.quantize_cmd",
    "cifar_edu.cli.ablation_cmd",
    "cifar_edu.cli.jpeg_study_cmd",
    "cifar_edu.cli.results_cmd",
    "cifar_edu.cli.exercises_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    """Return the full argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="cifar-edu",
        description="Tools of the cifar-edu course: data, training, evaluation, prediction.",
    )
    parser.add_argument("--version", action="version", version=f"cifar-edu {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code.

    Errors caused by the user's input (:class:`~cifar_edu.errors.CifarEduError`)
    are printed as a single line on stderr with exit code 2, never as a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: CommandResult = args.handler(args)
    except CifarEduError as exc:
        print(f"cifar-edu: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cifar-edu: interrupted", file=sys.stderr)
        return 130
    if getattr(args, "json", False):
        print(json.dumps(result.data, indent=2, default=str))
    elif result.text:
        print(result.text)
    return result.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
