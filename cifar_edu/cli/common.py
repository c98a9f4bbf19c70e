"""Shared plumbing for sub-commands: options every command takes and the result type."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CommandResult", "add_common_options", "add_data_option", "Handler",
           "PRECISION_CHOICES"]

#: Values of ``--precision``: ``auto`` and :data:`cifar_edu.precision.POLICIES`, repeated
#: here so that building the parser does not import TensorFlow (a test keeps them equal).
PRECISION_CHOICES = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


@dataclass
class CommandResult:
    """What a command handler returns.

    Attributes
    ----------
    data : dict
        Machine-readable result, printed as JSON with ``--json``.
    text : str
        Human-readable summary, printed otherwise.
    """

    data: dict[str, Any]
    text: str = ""
    exit_code: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[argparse.Namespace], CommandResult]


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Add the options every command takes (``--json``)."""
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_data_option(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    """Add ``--data SOURCE`` (``auto``, ``sample``, ``full`` or a folder path)."""
    parser.add_argument(
        "--data",
        default=default,
        metavar="SOURCE",
        help="where CIFAR-10 comes from: 'auto' (default), 'sample' (shipped subset), "
        "'full' (CIFAR10_DIR, the download cache, or download it) or a folder in the official "
        "python format",
    )
