"""Ensembles of runs: the combined model averages its members, and bad inputs are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("keras")

from cifar_edu.cli.main import main
from cifar_edu.errors import CifarEduError
from cifar_edu.model_store import load_model
from cifar_edu.training import train
from cifar_edu.training.ensemble import build_ensemble, ensemble_runs


@pytest.fixture(scope="module")
def member_runs(tmp_path_factory, sample):
    root = tmp_path_factory.mktemp("members")
    return [train("tiny", root / f"s{seed}", data=sample, seed=seed, verbose=0).out_dir
            for seed in (0, 1)]


def test_ensemble_averages_its_members(tmp_path, sample, member_runs):
    result = ensemble_runs(member_runs, tmp_path / "ens", data=sample, precision="float32",
                           command=["test"])
    for name in ("model.keras", "metrics.json", "provenance.json"):
        assert (tmp_path / "ens" / name).is_file()
    x = sample.x_test[:16].astype("float32")
    members = [np.asarray(load_model(d)(x)) for d in member_runs]
    saved = load_model(tmp_path / "ens")
    np.testing.assert_allclose(np.asarray(saved(x)), np.mean(members, axis=0), atol=1e-5)
    metrics = json.loads((tmp_path / "ens" / "metrics.json").read_text())
    assert metrics["ensemble_of"] == 2 and metrics["recipe"] == "tiny"
    assert [m["seed"] for m in metrics["members"]] == [0, 1]
    assert 0.0 <= metrics["val_accuracy"] <= 1.0 and metrics["test_exact"]["n"] == 500
    prov = json.loads((tmp_path / "ens" / "provenance.json").read_text())
    assert prov["seeds"] == [0, 1] and prov["command"] == ["test"] and prov["data"]["sha256"]
    assert result.metrics == metrics


def test_ensemble_refuses_bad_members(tmp_path, sample, member_runs):
    with pytest.raises(CifarEduError, match="at least two"):
        ensemble_runs(member_runs[:1], tmp_path / "a", data=sample)
    with pytest.raises(CifarEduError, match="named twice"):
        ensemble_runs([member_runs[0], member_runs[0]], tmp_path / "b", data=sample)
    with pytest.raises(CifarEduError, match="not a finished run"):
        ensemble_runs([member_runs[0], tmp_path], tmp_path / "c", data=sample)
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("model.keras", "metrics.json", "provenance.json"):
        (copy / name).write_bytes((member_runs[0] / name).read_bytes())
    with pytest.raises(CifarEduError, match="share a seed"):
        ensemble_runs([member_runs[0], copy], tmp_path / "d", data=sample)
    prov = json.loads((copy / "provenance.json").read_text())
    prov["seed"], prov["recipe"]["num_epochs"] = 7, 99
    (copy / "provenance.json").write_text(json.dumps(prov))
    with pytest.raises(CifarEduError, match="recipe settings"):
        ensemble_runs([member_runs[0], copy], tmp_path / "e", data=sample)
    prov["recipe"]["num_epochs"] = 1
    prov["data"]["sha256"] = {"sample": "0" * 64}
    (copy / "provenance.json").write_text(json.dumps(prov))
    with pytest.raises(CifarEduError, match="in its data"):
        ensemble_runs([member_runs[0], copy], tmp_path / "f", data=sample)
    assert not any((tmp_path / n).exists() for n in "abcdef")


def test_ensemble_refuses_an_occupied_folder(tmp_path, sample, member_runs):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(CifarEduError, match="not empty"):
        ensemble_runs(member_runs, tmp_path / "busy", data=sample)
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]


def test_build_ensemble_needs_two_models(member_runs):
    with pytest.raises(CifarEduError, match="at least two"):
        build_ensemble([load_model(member_runs[0])])


def test_ensemble_command(tmp_path, member_runs, capsys):
    code = main(["ensemble", *map(str, member_runs), "--out", str(tmp_path / "ens"),
                 "--data", "sample", "--precision", "float32"])
    out = capsys.readouterr().out
    assert code == 0 and "Ensemble of 2 runs of recipe tiny" in out and "seed 1" in out
    code = main(["ensemble", str(member_runs[0]), "--out", str(tmp_path / "x"),
                 "--data", "sample"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "at least two" in err
