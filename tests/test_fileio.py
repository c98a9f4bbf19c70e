"""Atomic writes: complete new content or the old file untouched."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest

from cifar_edu.errors import CifarEduError
from cifar_edu.fileio import (atomic_open, atomic_path, atomic_write_json, check_output_folder,
                              sha256_file)


def test_json_written_with_numpy_values(tmp_path):
    target = tmp_path / "sub" / "m.json"
    atomic_write_json(target, {"acc": np.float32(0.5), "cm": np.eye(2, dtype=int)})
    assert json.loads(target.read_text()) == {"acc": 0.5, "cm": [[1, 0], [0, 1]]}
    assert list(target.parent.iterdir()) == [target]
    assert stat.S_IMODE(target.stat().st_mode) & 0o044  # readable like a normal file


def test_failure_keeps_old_content_and_leaves_no_temp(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("half of the new")
            raise RuntimeError("crash in the middle")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_path_for_writers_that_need_a_name(tmp_path):
    target = tmp_path / "x.bin"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".tmp" and tmp.parent == tmp_path
        tmp.write_bytes(b"abc")
        assert not target.exists()
    assert target.read_bytes() == b"abc"
    assert sha256_file(target) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_replace_folder_swaps_the_whole_folder(tmp_path):
    from cifar_edu.fileio import replace_folder

    target = tmp_path / "results" / "grid"
    assert replace_folder(target, {"a.json": b"1", "b.npz": b"2"}) == target
    replace_folder(target, {"a.json": b"3"})
    assert sorted(p.name for p in target.iterdir()) == ["a.json"]
    assert (target / "a.json").read_bytes() == b"3"
    assert oct(target.stat().st_mode & 0o777) == "0o755"
    assert [p.name for p in target.parent.iterdir()] == ["grid"]  # nothing left behind


def test_an_output_folder_may_hold_only_its_own_files(tmp_path):
    assert check_output_folder(tmp_path / "new", {"runs"}, "a study's") == tmp_path / "new"
    (tmp_path / "runs").mkdir()
    assert check_output_folder(tmp_path, {"runs", "a.json"}, "a study's") == tmp_path
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CifarEduError, match="not a study's \\(notes.txt\\); choose a new --out"):
        check_output_folder(tmp_path, {"runs"}, "a study's")
    with pytest.raises(CifarEduError, match="is a file"):
        check_output_folder(tmp_path / "notes.txt", {"runs"}, "a study's")
    assert (tmp_path / "notes.txt").read_text() == "mine"
