"""``cifar-edu train`` and ``cifar-edu benchmark`` from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cifar_edu.cli.main import main


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "cifar_edu", "train", "--recipe", "tiny", "--out", str(out),
         "--data", "sample", "--epochs", "1", "--seed", "1", "--json"],
        capture_output=True, text=True, env=env, timeout=300)
    return out, proc


def test_train_command_writes_a_run(cli_run):
    out, proc = cli_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["recipe"] == "tiny" and result["seed"] == 1
    assert result["metrics"]["epochs_completed"] == 1
    assert {"test_exact", "test_full", "val_accuracy"} <= set(result["metrics"])
    for name in ("model.keras", "history.json", "metrics.json", "provenance.json"):
        assert (out / name).is_file()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["command"][:2] == ["cifar-edu", "train"]


def test_train_refuses_a_finished_run(cli_run, capsys):
    out, _ = cli_run
    code = main(["train", "--recipe", "tiny", "--out", str(out), "--data", "sample"])
    err = capsys.readouterr().err
    assert code == 2 and "finished run" in err and len(err.strip().splitlines()) == 1


def test_unknown_recipe_is_one_line(tmp_path, capsys):
    code = main(["train", "--recipe", "fastest", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("cifar-edu: error:") and "fast90" in err and "best" in err
    assert not (tmp_path / "x").exists()


def test_bad_epochs_is_an_error(tmp_path, capsys):
    code = main(["train", "--recipe", "tiny", "--out", str(tmp_path / "x"), "--data", "sample",
                 "--epochs", "0"])
    assert code == 2 and "at least 1" in capsys.readouterr().err


def test_benchmark_inference_mode(cli_run, capsys):
    out, _ = cli_run
    code = main(["benchmark", "inference", "--model", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["model"] == str(out) and result["images_per_s"] > 0
    assert result["latency_ms_p50"] > 0


def test_benchmark_unknown_recipe(capsys):
    code = main(["benchmark", "--recipe", "nope", "--data", "sample"])
    assert code == 2 and "unknown recipe" in capsys.readouterr().err


def test_precision_choices_match_the_policies():
    from cifar_edu.cli.common import PRECISION_CHOICES
    from cifar_edu.precision import POLICIES

    assert PRECISION_CHOICES == ("auto", *POLICIES)


def test_train_help_names_every_recipe(capsys):
    from cifar_edu.training.recipes import list_recipes

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for name in list_recipes():
        assert name in help_text, f"`cifar-edu train --help` does not list the recipe {name}"
