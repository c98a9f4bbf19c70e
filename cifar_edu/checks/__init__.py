"""Automatic checks for the exercises: one call per task, a friendly verdict, never a traceback.

Every check takes the learner's object (a number, an array, a function, a model),
compares it with what the package computes, prints one verdict and returns a
:class:`CheckResult`::

    ✅ Task 2, per-channel statistics: passed. ...
    ❌ Task 2, per-channel statistics: not yet. Your standard deviations are about 255
       times too small.
       Hint: compute them on the raw 0-255 pixels ...
    ⏳ Task 2, per-channel statistics: not done yet. `channel_mean` is still None: ...

A wrong answer is never an exception: the learner reads what is wrong and a hint
aimed at the usual mistake. An untouched exercise (the answer still ``None`` or
``...``, a function that returns ``None`` or raises ``NotImplementedError``)
reports "not done yet". Only a solution notebook run by CI should stop at a
failed check: with ``CIFAR_EDU_CHECKS_STRICT=1`` a check that does not pass raises
:class:`CheckFailedError`.

Writing a check
---------------
Decorate a function with :func:`check` and give the task's title; inside, return
or raise :class:`Pass`, :class:`Fail` (with a hint) or :class:`NotDone`. Helpers
such as :func:`require_value` and :func:`call_learner` raise them for the common
cases, and any unexpected error while checking becomes a :class:`Fail`.
The exercise modules (``ex01_dataset``, ...) hold one check per task.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

__all__ = ["CheckResult", "CheckFailedError", "Pass", "Fail", "NotDone", "check",
           "STRICT_ENV", "PASSED", "FAILED", "NOT_DONE", "is_missing", "require_value",
           "call_learner", "as_float_array", "describe"]

#: Set to 1 to make a check that does not pass raise (CI runs the solutions so).
STRICT_ENV = "CIFAR_EDU_CHECKS_STRICT"

PASSED, FAILED, NOT_DONE = "passed", "failed", "not done"
_SYMBOLS = {PASSED: "✅", FAILED: "❌", NOT_DONE: "⏳"}
_STARTS_WITH_NAME = re.compile(r"^[a-z_]\w* =")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CheckResult:
    """The verdict of one check.

    Attributes
    ----------
    passed : bool
        True when the answer is right.
    message : str
        The verdict as printed (symbol, task, what is wrong, hint).
    status : str
        ``"passed"``, ``"failed"`` or ``"not done"``.
    task : str
        Title of the task.
    hint : str
        The hint of a failed check ("" otherwise).
    """

    passed: bool
    message: str
    status: str = PASSED
    task: str = ""
    hint: str = ""
    # The check already printed the message: a notebook shows the result only once.
    printed: bool = field(default=False, repr=False, compare=False)

    @property
    def done(self) -> bool:
        """False while the task is still untouched."""
        return self.status != NOT_DONE

    def _ipython_display_(self) -> None:
        if not self.printed:
            print(self.message)


class CheckFailedError(AssertionError):
    """Raised in strict mode (``CIFAR_EDU_CHECKS_STRICT=1``) when a check does not pass."""


class _Outcome(Exception):
    """What a check decided; raised or returned by the check's body."""

    status = PASSED

    def __init__(self, text: str = "", hint: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.hint = hint


class Pass(_Outcome):
    """The answer is right; ``text`` says what was compared."""

    status = PASSED


class Fail(_Outcome):
    """The answer is wrong: ``text`` says what is wrong, ``hint`` what to do."""

    status = FAILED


class NotDone(_Outcome):
    """The task is still untouched; ``text`` says what to fill in."""

    status = NOT_DONE


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes")


def _format(task: str, outcome: _Outcome) -> str:
    label = {PASSED: "passed.", FAILED: "not yet.", NOT_DONE: "not done yet."}[outcome.status]
    text = outcome.text
    if not _STARTS_WITH_NAME.match(text):  # "b = 6 ..." names a variable: keep its case
        text = text[:1].upper() + text[1:]
    lines = [f"{_SYMBOLS[outcome.status]} {task}: {label}" + (f" {text}" if text else "")]
    if outcome.hint:
        lines.append(f"   Hint: {outcome.hint}")
    return "\n".join(lines)


def _report(task: str, outcome: _Outcome) -> CheckResult:
    result = CheckResult(passed=outcome.status == PASSED, message=_format(task, outcome),
                         status=outcome.status, task=task, hint=outcome.hint, printed=True)
    print(result.message)
    sys.stdout.flush()
    if _strict() and not result.passed:
        raise CheckFailedError(result.message)
    return result


def check(task: str) -> Callable[[F], F]:
    """Turn a function that returns or raises an outcome into a check that prints its verdict.

    Parameters
    ----------
    task : str
        Title shown in the verdict, e.g. ``"Task 2, per-channel statistics"``.

    Returns
    -------
    callable
        A decorator; the decorated function returns a :class:`CheckResult` and never
        raises for a wrong answer (except in strict mode).
    """
    def decorate(body: F) -> F:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> CheckResult:
            try:
                outcome = body(*args, **kwargs)
                if not isinstance(outcome, _Outcome):
                    outcome = Pass()
            except _Outcome as raised:
                outcome = raised
            except Exception as exc:  # noqa: BLE001 - a learner's object can fail anyhow
                outcome = Fail(f"the check could not use your answer ({type(exc).__name__}: "
                               f"{exc}).", "compare the type and shape of your answer with "
                               "what the task asks for.")
            return _report(task, outcome)

        run.task = task  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return decorate


# --------------------------------------------------------------------------- helpers


def is_missing(value: object) -> bool:
    """True for the placeholders of an untouched task: ``None`` and ``...``."""
    return value is None or value is Ellipsis


def require_value(value: object, name: str) -> object:
    """Return ``value``, or raise :class:`NotDone` if it is still a placeholder."""
    if is_missing(value):
        raise NotDone(f"`{name}` is still {'None' if value is None else '...'}: write your "
                      "code in place of `# Your code here`, then run that cell and this one "
                      "again.")
    return value


def call_learner(function: object, *args: Any, name: str, hint: str = "", **kwargs: Any
                 ) -> Any:
    """Call the learner's function; turn placeholders, errors and ``None`` into verdicts.

    Parameters
    ----------
    function : callable
        The learner's function (``None`` while untouched).
    *args, **kwargs
        What to call it with.
    name : str
        How to call the function in the verdict, e.g. ``"precision_recall_f1"``.
    hint : str
        Hint shown when the function raises an error.

    Returns
    -------
    object
        What the function returned.
    """
    require_value(function, name)
    if not callable(function):
        raise Fail(f"`{name}` should be a function, but it is a {type(function).__name__}.",
                   f"define it with `def {name}(...):` and pass the function itself, without "
                   "calling it.")
    try:
        value = function(*args, **kwargs)
    except NotImplementedError:
        raise NotDone(f"`{name}` raises NotImplementedError: write its body.") from None
    except Exception as exc:  # noqa: BLE001 - any error of the learner's code is a verdict
        raise Fail(f"calling `{name}` raised {type(exc).__name__}: {exc}",
                   hint or "run your function on a small input in a cell of its own and read "
                           "the traceback.") from None
    if value is None:
        raise NotDone(f"`{name}` returned None: its body is still `# Your code here`, or it "
                      "has no `return` statement.")
    return value


def as_float_array(value: object, name: str) -> np.ndarray:
    """The learner's value as a float64 array, or a :class:`Fail` that says why not."""
    value = require_value(value, name)
    if hasattr(value, "numpy") and callable(value.numpy):  # a TensorFlow tensor
        value = value.numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Fail(f"`{name}` should hold numbers, but it is {describe(value)}.",
                   "make it a number or a numpy array.") from None
    return array


def describe(value: object) -> str:
    """A short description of a value for a verdict: its type, shape and dtype."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"a {type(value).__name__} of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__} ({value!r:.60})"
