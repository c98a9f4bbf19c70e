"""Saved results: exporting a finished run, loading it back, listing, and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from cifar_edu import plots
from cifar_edu.cli.main import main
from cifar_edu.errors import CifarEduError
from cifar_edu.results import (RESULT_FILES, RESULTS_ENV, SavedRun, export_run, list_runs,
                               load_run, results_dir)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A finished run folder of the tiny recipe (one epoch on the sample: seconds)."""
    from cifar_edu.training import train

    out = tmp_path_factory.mktemp("results") / "tiny_run"
    train("tiny", out, source="sample", num_epochs=1, verbose=0, seed=0,
          command=["pytest"])
    return out


@pytest.fixture(autouse=True)
def results_folder(tmp_path, monkeypatch) -> Path:
    """Point the default results folder at a temporary one: tests never touch the package."""
    folder = tmp_path / "results"
    monkeypatch.setenv(RESULTS_ENV, str(folder))
    return folder


def test_results_dir_defaults_to_the_package(monkeypatch):
    monkeypatch.delenv(RESULTS_ENV)
    assert results_dir().parts[-3:] == ("cifar_edu", "assets", "results")


def test_export_copies_the_json_files_only(run_dir, results_folder):
    target = export_run(run_dir, "tiny")
    assert target == results_folder / "tiny"
    assert sorted(p.name for p in target.iterdir()) == sorted(RESULT_FILES)
    for name in RESULT_FILES:
        assert (target / name).read_bytes() == (run_dir / name).read_bytes()
    assert [p.name for p in results_folder.iterdir()] == ["tiny"]  # no temporary folders left


def test_load_run_round_trip(run_dir):
    export_run(run_dir, "tiny")
    run = load_run("tiny")
    assert isinstance(run, SavedRun) and run.name == "tiny" and run.recipe == "tiny"
    assert set(run.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert not set(run.history) & {"epoch", "epoch_time_s", "elapsed_s", "timestamp"}
    assert all(len(values) == 1 for values in run.history.values())
    assert run.metrics["epochs_completed"] == 1
    assert 0.0 <= run.test_accuracy <= 1.0 and 0.0 <= run.test_accuracy_full <= 1.0
    assert len(run.epoch_times_s) == 1 and run.epoch_times_s[0] > 0
    assert run.wall_time_s == pytest.approx(run.provenance["timing"]["total_s"])
    fig = plots.learning_curves(run.history)
    assert isinstance(fig, Figure)


def test_describe_is_one_sentence_of_provenance(run_dir):
    export_run(run_dir, "tiny")
    text = load_run("tiny").describe()
    assert text.startswith("Recipe tiny (1 epoch, seed 0)") and text.endswith(".")
    assert "\n" not in text
    run = load_run("tiny")
    for part in ("sample", run.provenance["precision"]["policy"],
                 run.provenance["finished"][:10], run.provenance["hardware"]["cpu"],
                 "minutes", "`cifar-edu train --recipe tiny --out runs/tiny --data sample "
                            "--seed 0 --epochs 1`",
                 "`cifar-edu results export runs/tiny tiny`"):
        assert part in text, part


def test_describe_uses_the_recorded_cli_command(run_dir, tmp_path):
    copy = tmp_path / "cli_run"
    shutil.copytree(run_dir, copy)
    prov = json.loads((copy / "provenance.json").read_text())
    prov["command"] = ["/usr/bin/cifar-edu", "train", "--recipe", "tiny", "--out",
                       "runs/tiny-s3", "--seed", "3"]
    (copy / "provenance.json").write_text(json.dumps(prov))
    export_run(copy, "tiny3")
    run = load_run("tiny3")
    assert run.train_command == "cifar-edu train --recipe tiny --out runs/tiny-s3 --seed 3"
    assert run.export_command == "cifar-edu results export runs/tiny-s3 tiny3"
    run.provenance["command"] = ["cifar-edu", "train", "--recipe", "tiny", "--out=runs/x"]
    assert run.export_command == "cifar-edu results export runs/x tiny3"


def test_export_replaces_an_older_export(run_dir, results_folder):
    target = export_run(run_dir, "tiny")
    (target / "metrics.json").write_text("{}")
    export_run(run_dir, "tiny")
    assert load_run("tiny").metrics["recipe"] == "tiny"
    assert [p.name for p in results_folder.iterdir()] == ["tiny"]


def test_export_to_an_explicit_destination(run_dir, tmp_path, results_folder):
    target = export_run(run_dir, "tiny", dest=tmp_path / "elsewhere")
    assert target == tmp_path / "elsewhere" / "tiny"
    assert not results_folder.exists()
    assert load_run("tiny", directory=tmp_path / "elsewhere").name == "tiny"


def test_list_runs_ignores_incomplete_folders(run_dir, results_folder):
    assert list_runs() == []
    export_run(run_dir, "b_run")
    export_run(run_dir, "a_run")
    (results_folder / "partial").mkdir()
    (results_folder / "partial" / "metrics.json").write_text("{}")
    assert list_runs() == ["a_run", "b_run"]


def test_missing_result_names_the_commands(run_dir):
    export_run(run_dir, "tiny")
    with pytest.raises(CifarEduError) as info:
        load_run("baseline")
    message = str(info.value)
    assert "no saved result 'baseline'" in message
    assert "cifar-edu train --recipe baseline --out runs/baseline" in message
    assert "cifar-edu results export runs/baseline baseline" in message
    assert "saved results: tiny" in message


def test_incomplete_or_corrupt_result_is_a_clear_error(run_dir, results_folder):
    target = export_run(run_dir, "tiny")
    (target / "history.json").write_text("[{not json")
    with pytest.raises(CifarEduError, match="unreadable history.json"):
        load_run("tiny")
    (target / "history.json").unlink()
    with pytest.raises(CifarEduError, match="missing history.json"):
        load_run("tiny")


def test_export_refuses_an_unfinished_run(run_dir, tmp_path):
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run_dir, unfinished)
    (unfinished / "model.keras").unlink()
    (unfinished / "state.json").write_text("{}")
    with pytest.raises(CifarEduError, match="not a finished run.*--resume"):
        export_run(unfinished, "tiny")
    with pytest.raises(CifarEduError, match="no run folder"):
        export_run(tmp_path / "nowhere", "tiny")


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", ".."])
def test_bad_names_are_refused(run_dir, name):
    with pytest.raises(CifarEduError, match="not a valid result name"):
        export_run(run_dir, name)
    with pytest.raises(CifarEduError, match="not a valid result name"):
        load_run(name)


def test_cli_export_and_list(run_dir, tmp_path, capsys):
    folder = tmp_path / "cli_results"
    assert main(["results", "export", str(run_dir), "tiny", "--results-dir", str(folder),
                 "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["name"] == "tiny" and exported["recipe"] == "tiny"
    assert (folder / "tiny" / "metrics.json").is_file()

    assert main(["results", "list", "--results-dir", str(folder), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in listed["results"]] == ["tiny"]

    assert main(["results", "list", "--results-dir", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "tiny" in text and "test exact" in text


def test_cli_list_uses_the_environment_folder(run_dir, capsys):
    assert main(["results", "list"]) == 0
    assert "No saved results" in capsys.readouterr().out
    export_run(run_dir, "tiny")
    assert main(["results", "list", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)["results"]] == ["tiny"]


def test_cli_errors_are_one_line(tmp_path, capsys):
    code = main(["results", "export", str(tmp_path / "missing"), "tiny"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("cifar-edu: error:")
