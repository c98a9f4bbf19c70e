"""Tests of ``cifar-edu evaluate``: a real run on the sample, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cifar_edu.cli.main import main


@pytest.fixture(scope="module")
def model_path(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.keras"
    tiny_model.save(path)
    return path


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "cifar_edu", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def _error_lines(stderr: str) -> list[str]:
    # TensorFlow writes a few start-up log lines that no setting silences; ours start so.
    return [line for line in stderr.splitlines() if line.startswith("cifar-edu")]


def test_evaluate_writes_json_and_report(model_path, tmp_path, tiny_model, sample):
    report_dir = tmp_path / "report"
    done = _run("evaluate", "--model", str(model_path), "--data", "sample", "--n-boot", "200",
                "--json", "--report", str(report_dir))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert list(result["reports"]) == ["test"]
    test = result["reports"]["test"]
    assert test["n"] == 500
    assert test["accuracy_ci"]["low"] <= test["accuracy"] <= test["accuracy_ci"]["high"]
    assert len(test["per_class"]) == 10
    # The saved model gives the same accuracy as the one in memory.
    prob = tiny_model.predict(sample.x_test.astype("float32"), verbose=0)
    expected = np.mean(prob.argmax(axis=1) == sample.y_test[:, 0])
    assert test["accuracy"] == pytest.approx(expected, abs=0.005)
    names = sorted(p.name for p in report_dir.iterdir())
    assert names == ["confusion_matrix_test.png", "metrics.json", "mistakes_test.png",
                     "reliability_test.png", "roc_curves_test.png", "summary.txt"]
    saved = json.loads((report_dir / "metrics.json").read_text())
    assert saved["reports"]["test"]["accuracy"] == pytest.approx(test["accuracy"])
    assert saved["model"] == str(model_path)


def test_missing_model_is_one_line_exit_2(tmp_path):
    done = _run("evaluate", "--model", str(tmp_path / "nope.keras"), "--data", "sample")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = _error_lines(done.stderr)
    assert len(lines) == 1 and lines[0].startswith("cifar-edu: error: no model at")
    assert done.stdout == ""


def test_text_output_and_exact_split(model_path, capsys):
    assert main(["evaluate", "--model", str(model_path), "--data", "sample", "--split", "exact",
                 "--n-boot", "50"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "macro avg" in out and "airplane" in out


def test_tta_level_option(model_path, capsys, tiny_model, sample):
    from cifar_edu.evaluation import predict_levels

    levels = predict_levels(tiny_model, sample.x_test, max_level=2)
    for argv, name in ((["--tta"], "flip_translate"), (["--tta", "flip"], "flip"), ([], "none")):
        assert main(["evaluate", "--model", str(model_path), "--data", "sample", "--n-boot",
                     "20", "--json", *argv]) == 0
        result = json.loads(capsys.readouterr().out)
        test = result["reports"]["test"]
        assert result["tta"] == test["tta"] == name
        expected = levels[["none", "flip", "flip_translate"].index(name)].argmax(1)
        assert test["accuracy"] == pytest.approx(np.mean(expected == sample.y_test[:, 0]))
    assert main(["evaluate", "--model", str(model_path), "--data", "sample", "--n-boot", "20",
                 "--tta", "flip_translate"]) == 0
    assert "with flip + translate TTA" in capsys.readouterr().out


def test_tta_choices_match_the_levels():
    # Repeated in the command so that building the parser does not import TensorFlow.
    from cifar_edu.cli.evaluate_cmd import _TTA
    from cifar_edu.evaluation.tta import TTA_LEVELS

    assert _TTA == tuple(TTA_LEVELS.values())


def test_precision_option_casts_the_model(model_path, capsys):
    accuracies = {}
    for precision in ("float32", "mixed_bfloat16"):
        assert main(["evaluate", "--model", str(model_path), "--data", "sample", "--n-boot",
                     "20", "--precision", precision, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["precision"] == precision
        accuracies[precision] = result["reports"]["test"]["accuracy"]
    # bfloat16 rounds the activations, so an image or two may change its class.
    assert accuracies["mixed_bfloat16"] == pytest.approx(accuracies["float32"], abs=0.02)


@pytest.mark.parametrize("argv, message", [
    (["--n-boot", "0"], "--n-boot"),
    (["--data", "/no/such/folder"], "not a folder"),
])
def test_bad_options_give_one_line(model_path, capsys, argv, message):
    assert main(["evaluate", "--model", str(model_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cifar-edu: error:") and message in err
    assert err.count("\n") == 1


def test_unknown_split_is_rejected_by_the_parser(model_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--model", str(model_path), "--split", "training"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.full_data
def test_offline_rebuild_reports_exact_rows_and_lower_bound(model_path):
    done = _run("evaluate", "--model", str(model_path), "--data", os.environ["CIFAR10_DIR"],
                "--n-boot", "100", "--json")
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)["reports"]
    if json.loads(done.stdout)["offline_rebuild"]:
        assert list(reports) == ["exact", "test"]
        assert reports["exact"]["n"] == 1017 and reports["test"]["n"] == 10_000
    else:
        assert list(reports) == ["test"]
