"""Assertions shared by the tests of the exercise checks (tests/test_checks*.py)."""

from __future__ import annotations

import pytest

from cifar_edu import checks
from cifar_edu.checks import CheckResult


def _passed(result: CheckResult) -> None:
    assert result.passed and result.status == checks.PASSED, result.message
    assert result.message.startswith("✅")


def _not_done(result: CheckResult) -> None:
    assert not result.passed and result.status == checks.NOT_DONE, result.message
    assert result.message.startswith("⏳") and not result.done


def _failed(result: CheckResult, *words: str) -> None:
    """A failed check whose message (problem and hint) mentions all ``words``."""
    assert not result.passed and result.status == checks.FAILED, result.message
    assert result.message.startswith("❌") and "Hint:" in result.message
    for word in words:
        assert word.lower() in result.message.lower(), (word, result.message)


@pytest.fixture(autouse=True)
def _lenient(monkeypatch):
    """Checks report instead of raising, whatever CIFAR_EDU_CHECKS_STRICT says outside."""
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)
