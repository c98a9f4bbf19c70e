"""A dataset folder must not be able to run code through pickle."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest

from cifar_edu.data import load_dataset, sources
from cifar_edu.data.safe_pickle import safe_load
from cifar_edu.errors import DataError, UnsafePickleError
from tests.cifar_files import write_cifar_dir


class _Payload:
    """Unpickling this with plain ``pickle`` would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _malicious(path, marker, inside_batch=True):
    payload = _Payload(marker)
    obj = {b"data": payload, b"labels": [0]} if inside_batch else payload
    path.write_bytes(pickle.dumps(obj, protocol=2))


def test_plain_pickle_would_run_the_payload(tmp_path):
    # Shows the threat is real: the same bytes run a command under pickle.load.
    marker = tmp_path / "pwned"
    _malicious(tmp_path / "evil", marker)
    pickle.loads((tmp_path / "evil").read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("inside_batch", [True, False])
def test_safe_load_refuses_payload_and_never_runs_it(tmp_path, inside_batch):
    marker = tmp_path / "pwned"
    _malicious(tmp_path / "evil", marker, inside_batch)
    with pytest.raises(UnsafePickleError, match="os|posix|system"):
        safe_load(tmp_path / "evil")
    assert not marker.exists()


def test_malicious_dataset_folder_is_refused(tmp_path, sample, monkeypatch):
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    sources._load.cache_clear()
    folder = write_cifar_dir(tmp_path / "d", sample.x_train, sample.y_train, sample.x_test,
                             sample.y_test)
    marker = tmp_path / "pwned"
    _malicious(folder / "data_batch_2", marker)
    with pytest.raises(UnsafePickleError) as info:
        load_dataset(folder)
    assert isinstance(info.value, DataError)
    assert "data_batch_2" in str(info.value) and "cifar-edu data fetch" in str(info.value)
    assert not marker.exists()


def test_cli_reports_malicious_file_in_one_line(tmp_path, sample):
    folder = write_cifar_dir(tmp_path / "d", sample.x_train, sample.y_train, sample.x_test,
                             sample.y_test)
    marker = tmp_path / "pwned"
    _malicious(folder / "test_batch", marker)
    proc = subprocess.run([sys.executable, "-m", "cifar_edu", "data", "info", "--data", str(folder)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "refused to load" in proc.stderr
    assert "Traceback" not in proc.stderr and not marker.exists()


def test_other_codecs_refused(tmp_path):
    import _codecs

    class Codec:
        def __reduce__(self):
            return (_codecs.encode, ("x", "rot13"))

    (tmp_path / "c").write_bytes(pickle.dumps(Codec(), protocol=2))
    with pytest.raises(UnsafePickleError, match="codec"):
        safe_load(tmp_path / "c")


def test_real_batch_files_load(tmp_path):
    import numpy as np

    from tests.cifar_files import write_batch

    images = np.zeros((2, 32, 32, 3), np.uint8)
    write_batch(tmp_path / "b", images, np.array([1, 2]))
    loaded = safe_load(tmp_path / "b")
    assert loaded[b"labels"] == [1, 2] and loaded[b"data"].shape == (2, 3072)
