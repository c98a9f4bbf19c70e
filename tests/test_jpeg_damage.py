"""Tests of the JPEG study (cifar_edu.jpeg_damage, `cifar-edu jpeg-study`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cifar_edu.cli.main import main
from cifar_edu.errors import CifarEduError
from cifar_edu.jpeg_damage import (CONDITIONS, export_jpeg_study, jpeg_reencode,
                                   load_jpeg_study, original_train_rows, run_jpeg_study)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))


def test_reencoding_smooths_originals_and_keeps_shape_and_type(sample):
    images = sample.x_test[:20]
    damaged = jpeg_reencode(images)
    assert damaged.shape == images.shape and damaged.dtype == np.uint8
    # The rebuild's damage: about 30 dB; clearly changed, clearly the same picture.
    assert 25 < _psnr(images, damaged) < 36
    assert jpeg_reencode(images[0]).shape == (32, 32, 3)  # one image in, one image out
    np.testing.assert_array_equal(jpeg_reencode(images[:3]), damaged[:3])  # deterministic


def test_reencoding_is_nearly_idempotent(sample):
    once = jpeg_reencode(sample.x_test[:20])
    assert _psnr(once, jpeg_reencode(once)) > 45


@pytest.mark.parametrize("images, match", [
    (np.zeros((2, 32, 32, 3), np.float32), "uint8"),
    (np.zeros((2, 32, 32), np.uint8), "uint8 RGB"),
])
def test_bad_images_are_refused(images, match):
    with pytest.raises(CifarEduError, match=match):
        jpeg_reencode(images)


def test_bad_quality_is_refused(sample):
    with pytest.raises(CifarEduError, match="between 1 and 95"):
        jpeg_reencode(sample.x_test[:1], quality=100)


def test_original_rows_are_the_first_1017_of_each_batch():
    rows = original_train_rows(50_000)
    assert len(rows) == 5 * 1017
    assert rows[0] == 0 and rows[1016] == 1016 and rows[1017] == 10_000 and rows[-1] == 41_016
    np.testing.assert_array_equal(original_train_rows(1000), np.arange(1000))


@pytest.mark.full_data
def test_reencoding_reproduces_the_offline_rebuild(full_data):
    """Quality 75 with 4:2:0 chroma is how the rebuild was made: its images barely move."""
    if not full_data.source.offline_rebuild:
        pytest.skip("CIFAR10_DIR is not the offline rebuild")
    damaged = full_data.x_train[2000:2200]  # rows past 1016 come from the JPEG copy

    def unchanged(quality: int) -> float:
        again = jpeg_reencode(damaged, quality=quality)
        return float(np.mean([np.array_equal(a, b) for a, b in zip(damaged, again)]))

    # Most images come back bit for bit at the rebuild's setting (measured: 64%), none at
    # a neighbouring quality.
    assert unchanged(75) > 0.5
    assert unchanged(74) == unchanged(76) == 0
    originals = full_data.x_train[:200]
    assert 28 < _psnr(originals, jpeg_reencode(originals)) < 33  # the README's 30.5 dB


@pytest.fixture(scope="module")
def study(tmp_path_factory, sample):
    out = tmp_path_factory.mktemp("jpeg") / "study"
    lines: list[str] = []
    result = run_jpeg_study(out, data=sample, seeds=(0, 1), recipe="tiny", num_epochs=1,
                            progress=lines.append)
    return out, result, lines


def test_the_study_trains_every_condition_and_seed(study):
    out, result, lines = study
    assert len(lines) == 6 and len(result.summary["runs"]) == 6
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(
        f"{c}-seed{s}" for c in CONDITIONS for s in (0, 1))
    p = result.protocol
    assert p["recipe"] == "tiny" and p["num_epochs"] == 1 and p["seeds"] == [0, 1]
    assert p["original_rows"] == 1000 and p["train_images"] + p["val_images"] == 1000
    assert p["test_images"] == 500 and p["jpeg_quality"] == 75
    assert 0 < p["rebuild_originals"] < 300  # about one in ten stays original
    for run in result.summary["runs"]:
        assert 0 <= run["test_original"] <= 1 and 0 <= run["test_compressed"] <= 1
    assert result.provenance["command"] and result.provenance["hardware"]


def test_costs_are_paired_differences(study):
    _, result, _ = study
    cost = result.cost("compressed")
    expected = np.subtract(result.accuracies("original"), result.accuracies("compressed"))
    np.testing.assert_allclose(cost["per_seed"], expected)
    assert cost["mean"] == pytest.approx(expected.mean())
    assert result.cost("original")["mean"] == 0
    assert [row["condition"] for row in result.table()] == list(CONDITIONS)
    assert "trained on" in result.table_text() and "tiny for 1 epoch," in result.describe()
    with pytest.raises(CifarEduError, match="original, rebuild, compressed"):
        result.accuracies("blurred")


def test_an_interrupted_study_reuses_finished_runs(study, sample):
    out, result, _ = study
    lines: list[str] = []
    again = run_jpeg_study(out, data=sample, seeds=(0, 1), recipe="tiny", num_epochs=1,
                           progress=lines.append)
    assert again.summary["runs"] == result.summary["runs"]
    with pytest.raises(CifarEduError, match="other settings"):
        run_jpeg_study(out, data=sample, seeds=(0,), recipe="tiny", num_epochs=2, progress=None)


def test_a_foreign_folder_is_refused(tmp_path, sample):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CifarEduError, match="not a JPEG study"):
        run_jpeg_study(tmp_path, data=sample, seeds=(0,), recipe="tiny", num_epochs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_export_and_load(study, tmp_path):
    out, result, _ = study
    target = export_jpeg_study(out, dest=tmp_path)
    assert target == tmp_path / "jpeg-study"
    assert load_jpeg_study(target).summary == load_jpeg_study(out).summary
    with pytest.raises(CifarEduError, match="no finished JPEG study"):
        export_jpeg_study(tmp_path / "nothing", dest=tmp_path)
    (target / "jpeg_study.json").write_text("{broken")
    with pytest.raises(CifarEduError, match="cannot read"):
        load_jpeg_study(target)


def test_the_shipped_study_loads_and_favours_original_images():
    study = load_jpeg_study()
    assert study.protocol["original_rows"] == 5085 and len(study.protocol["seeds"]) >= 3
    # Trained and tested on originals beats trained on compressed, tested on originals.
    assert study.cost("compressed")["mean"] > 0


def test_cli_show_and_export(study, tmp_path, capsys, monkeypatch):
    out, _, _ = study
    assert main(["jpeg-study", "show", str(out)]) == 0
    assert "costs" in capsys.readouterr().out
    monkeypatch.setenv("CIFAR_EDU_RESULTS_DIR", str(tmp_path))
    assert main(["jpeg-study", "export", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["path"] == str(tmp_path / "jpeg-study")
    assert main(["jpeg-study", "show", str(tmp_path / "nothing")]) == 2
    assert "no finished JPEG study" in capsys.readouterr().err
    assert main(["jpeg-study", "run", "--out", str(tmp_path / "x"), "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err
