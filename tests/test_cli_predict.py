"""``cifar-edu predict``: output, partial failures, Grad-CAM file, bad options."""

from __future__ import annotations

import json
import warnings

import pytest
from PIL import Image

from cifar_edu.cli.main import main


@pytest.fixture(scope="module")
def model_file(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    tiny_model.save(path)
    return path


@pytest.fixture()
def images(tmp_path, sample):
    good = tmp_path / "frog.png"
    Image.fromarray(sample.x_test[0]).resize((96, 96)).save(good)
    other = tmp_path / "photo.jpg"
    Image.fromarray(sample.x_test[1]).save(other)
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    return good, other, bad


def test_predict_prints_top_k(model_file, images, capsys):
    good, other, _ = images
    code = main(["predict", str(good), str(other), "--model", str(model_file), "--top-k", "4"])
    out = capsys.readouterr().out
    assert code == 0
    assert str(good) in out and str(other) in out
    assert out.count("  1. ") == 2 and out.count("  4. ") == 2 and "  5. " not in out


def test_predict_json_reports_good_and_bad_files(model_file, images, capsys):
    good, _, bad = images
    code = main(["predict", str(good), str(bad), "--model", str(model_file), "--json",
                 "--unsure-threshold", "1.0"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert code == 1  # one file failed, but the good one is still reported
    assert [p["source"] for p in data["predictions"]] == [str(good)]
    (prediction,) = data["predictions"]
    assert len(prediction["top_k"]) == 3 and prediction["unsure"] is True
    assert len(data["errors"]) == 1 and "not an image" in data["errors"][0]
    err_lines = [line for line in captured.err.splitlines() if line.startswith("cifar-edu:")]
    assert len(err_lines) == 1 and str(bad) in err_lines[0]
    assert "Traceback" not in captured.err


def test_only_bad_files(model_file, tmp_path, capsys):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    code = main(["predict", str(empty), str(tmp_path / "missing.png"), str(tmp_path),
                 "--model", str(model_file)])
    err = capsys.readouterr().err
    assert code == 1
    assert "empty" in err and "no such file" in err and "folder" in err
    assert "Traceback" not in err


# The CLI always loads its model from a .keras file: Grad-CAM must work on loaded models.
def test_gradcam_overlay_is_written(model_file, images, tmp_path, capsys):
    pytest.importorskip("cifar_edu.explain")
    good, other, _ = images
    out = tmp_path / "cam" / "overlay.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny model: no 8x8 layer, says which
        code = main(["predict", str(good), str(other), "--model", str(model_file),
                     "--gradcam", str(out)])
    assert code == 0
    assert Image.open(out).size == (256, 256)
    assert str(out) in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["overlay.png"]


def test_missing_model_is_one_line(images, tmp_path, capsys):
    good, _, _ = images
    code = main(["predict", str(good), "--model", str(tmp_path / "nothing.keras")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("cifar-edu: error: no model at")
    assert len(err.strip().splitlines()) == 1


def test_missing_pretrained_model_says_what_to_do(images, tmp_path, monkeypatch, capsys):
    import cifar_edu.model_store as model_store

    monkeypatch.setattr(model_store, "pretrained_dir", lambda: tmp_path)
    code = main(["predict", str(images[0])])
    err = capsys.readouterr().err
    assert code == 2 and "shipped model" in err and "cifar-edu train" in err


@pytest.mark.parametrize("option", [["--top-k", "0"], ["--top-k", "x"],
                                    ["--unsure-threshold", "2"]])
def test_bad_options_are_usage_errors(images, option, capsys):
    with pytest.raises(SystemExit) as info:
        main(["predict", str(images[0]), *option])
    assert info.value.code == 2
    assert "must be between" in capsys.readouterr().err or option[1] == "x"
