"""Data loading: every source, the split, the error paths, the offline rebuild."""

from __future__ import annotations

import numpy as np
import pytest

from cifar_edu.data import CLASS_NAMES, load_cifar10, load_dataset, train_val_split
from cifar_edu.data import sources
from cifar_edu.data.sample import EXACT_ROWS, SAMPLE_TEST_PER_CLASS, SAMPLE_TRAIN_PER_CLASS
from cifar_edu.errors import DataError
from tests.cifar_files import write_cifar_dir


@pytest.fixture()
def small_dir(tmp_path, sample):
    return write_cifar_dir(tmp_path / "cifar-10-batches-py", sample.x_train, sample.y_train,
                           sample.x_test, sample.y_test)


@pytest.fixture(autouse=True)
def no_env(monkeypatch, tmp_path):
    """Each test starts with no CIFAR10_DIR and an empty download cache."""
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setenv("CIFAR_EDU_CACHE", str(tmp_path / "cache"))
    sources._load.cache_clear()


def test_class_names_in_label_order():
    assert CLASS_NAMES[3] == "cat" and len(CLASS_NAMES) == 10 and CLASS_NAMES[-1] == "truck"


def test_sample_matches_keras_contract(capsys):
    (x_train, y_train), (x_test, y_test) = load_cifar10("sample")
    assert x_train.dtype == np.uint8 and x_train.shape == (10 * SAMPLE_TRAIN_PER_CLASS, 32, 32, 3)
    assert y_train.shape == (len(x_train), 1) and y_test.shape == (len(x_test), 1)
    assert x_test.shape == (10 * SAMPLE_TEST_PER_CLASS, 32, 32, 3)
    assert np.bincount(y_train.ravel()).tolist() == [SAMPLE_TRAIN_PER_CLASS] * 10
    assert "sample" in capsys.readouterr().out


def test_sample_records_its_byte_exact_origin():
    from cifar_edu.data import load_sample

    arrays = load_sample()
    assert arrays["train_origin"].shape == (len(arrays["x_train"]), 2)
    assert (arrays["train_origin"][:, 1] < EXACT_ROWS).all()
    assert (arrays["test_origin"][:, 0] == 5).all() and (arrays["test_origin"][:, 1] < EXACT_ROWS).all()


def test_auto_without_anything_uses_sample_and_says_so(capsys):
    data = load_dataset("auto")
    assert data.source.kind == "sample"
    load_cifar10()
    assert "sample shipped with cifar-edu" in capsys.readouterr().out


def test_directory_source_round_trips(small_dir, sample):
    data = load_dataset(small_dir)
    assert data.source.kind == "directory" and not data.source.offline_rebuild
    np.testing.assert_array_equal(data.x_train, sample.x_train)
    np.testing.assert_array_equal(data.y_test, sample.y_test)
    assert len(data.exact_test_index) == len(data.y_test)  # real data: every row exact


def test_env_var_wins_over_sample_for_auto(small_dir, monkeypatch):
    monkeypatch.setenv("CIFAR10_DIR", str(small_dir))
    assert load_dataset("auto").source.kind == "directory"


def test_offline_rebuild_detected_from_placeholder_names(tmp_path, sample):
    folder = write_cifar_dir(tmp_path / "rebuild", sample.x_train, sample.y_train,
                             np.concatenate([sample.x_test] * 3), np.concatenate([sample.y_test] * 3),
                             prefix="proxy_test_batch")
    data = load_dataset(folder)
    assert data.source.offline_rebuild
    assert len(data.exact_test()[1]) == EXACT_ROWS
    assert "offline rebuild" in data.source.description


def test_cache_used_by_auto_when_fetched(tmp_path, sample, monkeypatch):
    write_cifar_dir(tmp_path / "cache" / "cifar-10-batches-py", sample.x_train, sample.y_train,
                    sample.x_test, sample.y_test)
    assert load_dataset("auto").source.kind == "cache"
    assert load_dataset("full").source.kind == "cache"


def test_arrays_are_read_only(sample):
    with pytest.raises(ValueError):
        sample.x_train[0, 0, 0, 0] = 1


@pytest.mark.parametrize("source", ["", "/definitely/not/here"])
def test_missing_directory(source):
    with pytest.raises(DataError, match="cifar-edu data fetch|empty data source"):
        load_dataset(source)


def test_bad_env_var_is_an_error_not_a_silent_fallback(monkeypatch, tmp_path):
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "nope"))
    with pytest.raises(DataError, match="CIFAR10_DIR"):
        load_dataset("auto")


def test_missing_file_is_named(small_dir):
    (small_dir / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3"):
        load_dataset(small_dir)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_files(small_dir, damage):
    path = small_dir / "test_batch"
    raw = path.read_bytes()
    path.write_bytes({"truncate": raw[: len(raw) // 2], "garbage": b"not a pickle at all",
                      "empty": b""}[damage])
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_dataset(small_dir)


def test_wrong_content_is_refused(small_dir):
    import pickle

    (small_dir / "data_batch_1").write_bytes(pickle.dumps({b"data": [1, 2, 3]}, protocol=2))
    with pytest.raises(DataError, match="not a CIFAR-10 batch|'data' is not"):
        load_dataset(small_dir)


def test_split_is_stratified_deterministic_and_disjoint(sample):
    (x_tr, y_tr), (x_val, y_val) = train_val_split(sample.x_train, sample.y_train, 0.1, seed=0)
    (_, y_tr2), (_, y_val2) = train_val_split(sample.x_train, sample.y_train, 0.1, seed=0)
    assert len(y_val) == 100 and len(y_tr) == 900
    assert np.bincount(y_val.ravel()).tolist() == [10] * 10
    np.testing.assert_array_equal(y_val, y_val2)
    from cifar_edu.data import train_val_indices

    tr, val = train_val_indices(sample.y_train, 0.1, seed=0)
    assert not set(tr) & set(val) and len(set(tr) | set(val)) == len(sample.y_train)
    _, val_other = train_val_indices(sample.y_train, 0.1, seed=1)
    assert not np.array_equal(val, val_other)


def test_split_rejects_bad_fraction(sample):
    with pytest.raises(ValueError):
        train_val_split(sample.x_train, sample.y_train, 1.5)


@pytest.mark.full_data
def test_full_dataset_counts(full_data):
    assert full_data.x_train.shape == (50000, 32, 32, 3)
    assert full_data.x_test.shape == (10000, 32, 32, 3)
    assert np.bincount(full_data.y_train.ravel()).tolist() == [5000] * 10
    assert np.bincount(full_data.y_test.ravel()).tolist() == [1000] * 10


@pytest.mark.full_data
def test_sample_is_byte_exact_cut_of_full_data(full_data):
    from cifar_edu.data import load_sample

    arrays = load_sample()
    for split, x_key, y_key in (("train", "x_train", "y_train"), ("test", "x_test", "y_test")):
        origin = arrays[f"{split}_origin"]
        rows = origin[:, 0] * 10000 + origin[:, 1] if split == "train" else origin[:, 1]
        x_full = full_data.x_train if split == "train" else full_data.x_test
        y_full = full_data.y_train if split == "train" else full_data.y_test
        np.testing.assert_array_equal(arrays[x_key], x_full[rows])
        np.testing.assert_array_equal(arrays[y_key], y_full[rows])
