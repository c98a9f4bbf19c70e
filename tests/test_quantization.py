"""Integer quantisation with TensorFlow Lite: the conversion, running the file like a
Keras model, ``cifar-edu quantize`` and the shipped int8 copy of the model."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from cifar_edu.cli.main import main
from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation import predict_proba
from cifar_edu.fileio import sha256_file
from cifar_edu.model_store import (INT8_FILE, PRETRAINED_INT8, load_model, load_predictor,
                                   pretrained_dir)
from cifar_edu.quantization import LiteModel, calibration_images, quantize_int8, read_metadata

pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def lite_file(tiny_model, sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("lite") / "tiny_int8.tflite"
    return quantize_int8(tiny_model, calibration_images(sample.x_train, 100), out)


def test_int8_model_predicts_like_the_float_model(lite_file, tiny_model, sample):
    lite = LiteModel(lite_file, num_threads=1)
    assert lite.precision == "int8" and lite.input_dtype == np.uint8
    x = sample.x_test[:200]
    expected = np.asarray(tiny_model(x.astype("float32")))
    got = lite.predict_on_batch(x)
    assert got.shape == (200, 10) and got.dtype == np.float32
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-3)
    # 8-bit rounding moves the probabilities a little; the class changes only where the
    # top two were nearly tied, which is often for this barely trained model (the shipped
    # model's int8 copy keeps its accuracy: see the last test).
    assert np.mean(np.abs(got - expected)) < 0.02
    assert np.mean(got.argmax(1) == expected.argmax(1)) >= 0.8
    # It runs through the evaluation functions like a keras.Model, TTA and float input too.
    np.testing.assert_allclose(predict_proba(lite, x.astype("float32")), got, atol=1e-6)
    assert predict_proba(lite, x, tta="flip_translate").shape == (200, 10)


def test_calibration_and_conversion_errors(tiny_model, sample, tmp_path):
    assert len(calibration_images(sample.x_train, 50, seed=1)) == 50
    with pytest.raises(CifarEduError, match="at least 1"):
        calibration_images(sample.x_train, 0)
    with pytest.raises(CifarEduError, match=".tflite"):
        quantize_int8(tiny_model, sample.x_train[:4], tmp_path / "model.keras")
    with pytest.raises(CifarEduError, match="32, 32, 3"):
        quantize_int8(tiny_model, np.zeros((4, 28, 28, 3), np.uint8), tmp_path / "m.tflite")
    assert not list(tmp_path.iterdir())
    (tmp_path / "junk.tflite").write_bytes(b"not a model")
    with pytest.raises(CifarEduError, match="not a TensorFlow Lite model"):
        LiteModel(tmp_path / "junk.tflite")
    with pytest.raises(CifarEduError, match="no TensorFlow Lite model"):
        LiteModel(tmp_path / "missing.tflite")


def test_tflite_files_predict_but_do_not_load_as_keras(lite_file):
    assert isinstance(load_predictor(lite_file), LiteModel)
    with pytest.raises(CifarEduError, match="TensorFlow Lite model"):
        load_model(lite_file)


def test_quantize_command_writes_the_file_and_its_provenance(tiny_model, tmp_path, capsys):
    model_path = tmp_path / "tiny.keras"
    tiny_model.save(model_path)
    out = tmp_path / "q" / "tiny_int8.tflite"
    assert main(["quantize", "--model", str(model_path), "--data", "sample", "--out", str(out),
                 "--calibration", "64", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny_int8.json", "tiny_int8.tflite"]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta == printed
    assert meta["sha256"] == sha256_file(out) and meta["calibration"]["images"] == 64
    assert meta["source_model"]["sha256"] == sha256_file(model_path)
    assert meta["source_model"]["multiply_adds"] > 0 and meta["command"].startswith("cifar-edu")
    assert {"accuracy", "accuracy_flip", "accuracy_flip_translate"} <= set(
        meta["accuracy"]["test_full"])
    # The file evaluates like any model, with its metadata attached (only to its own file).
    assert LiteModel(out).parameters == tiny_model.count_params()
    stale = out.with_name("other.tflite")
    stale.write_bytes(out.read_bytes()[:-1] + b"x")
    out.with_suffix(".json").replace(stale.with_suffix(".json"))
    assert read_metadata(stale) == {}
    stale.with_suffix(".json").replace(out.with_suffix(".json"))
    stale.unlink()
    assert main(["evaluate", "--model", str(out), "--data", "sample", "--n-boot", "10",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["precision"] == "int8"
    assert result["reports"]["test"]["accuracy"] == pytest.approx(
        meta["accuracy"]["test_full"]["accuracy"])
    # --precision casts Keras models only.
    assert main(["evaluate", "--model", str(out), "--data", "sample",
                 "--precision", "mixed_bfloat16"]) == 2
    assert "TensorFlow Lite" in capsys.readouterr().err
    assert main(["quantize", "--model", str(model_path), "--out", str(tmp_path / "x.keras"),
                 "--data", "sample"]) == 2
    assert ".tflite" in capsys.readouterr().err


def test_benchmark_measures_a_tflite_model(lite_file):
    from cifar_edu.benchmark import benchmark_inference, run_inference_benchmark

    result = benchmark_inference(LiteModel(lite_file), batch_size=16, batch_sizes=[1, 16],
                                 latency_runs=3, min_time_s=0.0)
    assert result["precision"] == "int8" and result["images_per_s"] > 0
    assert [r["batch_size"] for r in result["sweep"]] == [1, 16]
    sweep = run_inference_benchmark(lite_file, precisions=["float32", "mixed_bfloat16"],
                                    batch_sizes=[4], batch_size=4, latency_runs=2,
                                    min_time_s=0.0)
    assert [run["precision"] for run in sweep["runs"]] == ["int8"]  # one precision per file
    assert sweep["model_bytes"] == lite_file.stat().st_size


shipped_int8 = pytest.mark.skipif(not (pretrained_dir() / INT8_FILE).is_file(),
                                  reason="no shipped int8 model")


@shipped_int8
def test_shipped_int8_model_matches_its_record(sample):
    path = pretrained_dir() / INT8_FILE
    lite = load_predictor(PRETRAINED_INT8)
    meta = lite.metadata
    assert meta["sha256"] == sha256_file(path)
    assert meta["source_model"]["sha256"] == sha256_file(pretrained_dir() / "model.keras")
    if os.environ.get("CIFAR10_DIR"):
        from cifar_edu.data import load_dataset

        data = load_dataset(os.environ["CIFAR10_DIR"])
        x, y, claimed = data.x_test, data.y_test, meta["accuracy"]["test_full"]["accuracy"]
    else:
        x, y, claimed = sample.x_test, sample.y_test, meta["accuracy"]["sample_test"]["accuracy"]
    accuracy = float(np.mean(predict_proba(lite, x).argmax(1) == y.reshape(-1)))
    assert accuracy >= claimed - 0.005


@shipped_int8
def test_shipped_model_card_describes_the_int8_copy():
    from cifar_edu import pretrained

    record = pretrained.int8_record()
    text = (pretrained_dir() / pretrained.CARD_MD).read_text(encoding="utf-8")
    assert text == pretrained.render_model_card(pretrained.model_card(), record)
    assert "## 8-bit integer copy" in text and record["sha256"] in text
