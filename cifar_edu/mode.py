"""Quick or full: one switch, set outside the notebook, for every lesson.

``CIFAR_EDU_MODE=full`` (the default) uses the whole of CIFAR-10 and the real
numbers of epochs: what the published book shows. ``CIFAR_EDU_MODE=quick`` uses
the small sample shipped with the package and tiny trainings: what CI runs.
The code of a lesson is the same in both modes; it asks this module for the
values that differ.
"""

from __future__ import annotations

import os
from typing import Literal, TypeVar

from cifar_edu.errors import CifarEduError

__all__ = ["MODE_ENV", "Mode", "current_mode", "is_quick", "data_source", "pick"]

MODE_ENV = "CIFAR_EDU_MODE"
Mode = Literal["quick", "full"]
T = TypeVar("T")


def current_mode() -> Mode:
    """The mode from ``$CIFAR_EDU_MODE``: ``"full"`` unless it says ``"quick"``."""
    value = os.environ.get(MODE_ENV, "full").strip().lower() or "full"
    if value not in ("quick", "full"):
        raise CifarEduError(f"{MODE_ENV}={value!r} is not a mode; use 'quick' or 'full'")
    return value  # type: ignore[return-value]


def is_quick() -> bool:
    """True in quick mode."""
    return current_mode() == "quick"


def data_source() -> str:
    """The data source of the current mode: the shipped sample or the whole dataset."""
    return "sample" if is_quick() else "full"


def pick(*, quick: T, full: T) -> T:
    """Return the value for the current mode, e.g. ``num_epochs = pick(quick=1, full=30)``."""
    return quick if is_quick() else full
