"""The command line, run as a learner runs it: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def cli(*args, env=None, check_rc=None):
    environment = {k: v for k, v in os.environ.items() if k != "CIFAR10_DIR"}
    environment.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "cifar_edu", *args], capture_output=True,
                          text=True, env=environment, timeout=300)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


def test_info_without_data_uses_sample_and_says_so(tmp_path):
    proc = cli("data", "info", env={"CIFAR_EDU_CACHE": str(tmp_path)}, check_rc=0)
    assert "sample shipped with cifar-edu" in proc.stdout and "CIFAR10_DIR" in proc.stdout


def test_info_json(tmp_path):
    proc = cli("data", "info", "--data", "sample", "--json", check_rc=0)
    info = json.loads(proc.stdout)
    assert info["source"]["kind"] == "sample"
    assert info["splits"]["train"]["count"] == 1000 and info["splits"]["test"]["count"] == 500
    assert info["splits"]["val"]["count"] + info["splits"]["train_after_val_split"]["count"] == 1000
    assert set(info["sha256"]) == {"cifar10_sample.npz"}


@pytest.mark.parametrize("args, message", [
    (["data", "info", "--data", "/no/such/folder"], "is not a folder"),
    (["data", "info", "--val-fraction", "2"], "between 0 and 1"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    proc = cli(*args, check_rc=2)
    assert message in proc.stderr and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_fetch_without_network_is_a_clear_error(tmp_path):
    # Point the download at a closed loopback port: same code path as no network.
    code = ("import sys; from cifar_edu.data import download; "
            "download.ARCHIVE_URL = 'http://127.0.0.1:9/x.tar.gz'; "
            "download.fetch.__kwdefaults__['url'] = download.ARCHIVE_URL; "
            "from cifar_edu.cli.main import main; sys.exit(main(['data', 'fetch']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "CIFAR_EDU_CACHE": str(tmp_path)}, timeout=120)
    assert proc.returncode == 2 and "internet connection" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_version_and_help():
    assert "cifar-edu" in cli("--version", check_rc=0).stdout
    assert "data" in cli("--help", check_rc=0).stdout


@pytest.mark.full_data
def test_info_on_full_data():
    info = json.loads(cli("data", "info", "--json", env={"CIFAR10_DIR": os.environ["CIFAR10_DIR"]},
                          check_rc=0).stdout)
    assert info["splits"]["train"]["count"] == 50000 and info["splits"]["test"]["count"] == 10000
    assert set(info["splits"]["train"]["per_class"].values()) == {5000}
    assert set(info["splits"]["test"]["per_class"].values()) == {1000}
