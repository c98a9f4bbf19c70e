"""One TensorFlow operation at a time, so that runs repeat (cifar_edu.reproducibility)."""

from __future__ import annotations

import os

from cifar_edu.reproducibility import ENV_INTEROP, op_scheduling, serial_ops_by_default


def test_serial_ops_is_the_default_and_a_users_choice_is_kept(monkeypatch):
    monkeypatch.delenv(ENV_INTEROP, raising=False)
    serial_ops_by_default()
    assert os.environ[ENV_INTEROP] == "1"
    monkeypatch.setenv(ENV_INTEROP, "4")
    serial_ops_by_default()
    assert os.environ[ENV_INTEROP] == "4"


def test_importing_the_package_asks_for_serial_ops():
    # conftest and the test modules import cifar_edu before TensorFlow runs anything.
    assert os.environ.get(ENV_INTEROP)


def test_op_scheduling_reports_the_setting():
    record = op_scheduling()
    assert set(record) == {"inter_op_threads", "source", "serial"}
    assert record["serial"] == (record["inter_op_threads"] == 1)
