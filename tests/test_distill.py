"""Distillation: a student learns a teacher's probabilities, and only from a fair teacher."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("keras")

from cifar_edu.augment import AugmentConfig
from cifar_edu.cli.main import main
from cifar_edu.errors import CifarEduError
from cifar_edu.model_store import load_model
from cifar_edu.pretrained import write_model_card
from cifar_edu.training import ensemble_runs, get_recipe, train
from cifar_edu.data import CifarData, DataSource
from cifar_edu.data.cifar_format import ALL_FILES
from cifar_edu.pretrained import model_card
from cifar_edu.training.distill import (TEACHER_TARGETS, check_teacher, load_or_compute_targets,
                                        read_teacher, teacher_networks, teacher_targets)
from cifar_edu.training.loader import make_epoch_dataset


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, sample):
    """An ensemble of two tiny runs."""
    root = tmp_path_factory.mktemp("teacher")
    members = [train("tiny", root / f"s{seed}", data=sample, seed=seed, verbose=0).out_dir
               for seed in (0, 1)]
    return ensemble_runs(members, root / "ensemble", data=sample, precision="float32").out_dir


def test_loader_gives_each_view_its_own_targets():
    # Each image says which image it is: pixel value i on the left, 100 + i on the right.
    n = 8
    x = np.zeros((n, 32, 32, 3), np.uint8)
    for i in range(n):
        x[i, :, :16], x[i, :, 16:] = i, 100 + i
    plain = np.eye(10, dtype=np.float32)[np.arange(n) % 10]
    mirrored = np.roll(plain, 1, axis=1)
    ds, steps = make_epoch_dataset(x, np.zeros(n), batch_size=n, num_epochs=2,
                                   augment=AugmentConfig(flip=True, translate=0),
                                   soft_targets=(plain, mirrored))
    seen_flipped = set()
    for images, targets in ds:
        for image, target in zip(images.numpy(), targets.numpy()):
            left = int(image[0, 0, 0])
            flipped = left >= 100
            index = left - 100 if flipped else left
            np.testing.assert_array_equal(target, (mirrored if flipped else plain)[index])
            seen_flipped.add(flipped)
    assert seen_flipped == {True, False}
    with pytest.raises(ValueError, match="soft_targets"):
        make_epoch_dataset(x, np.zeros(n), batch_size=n, num_epochs=1,
                           soft_targets=(plain[:3], mirrored))


def test_teacher_targets_are_the_members_mean(sample, teacher):
    ensemble = load_model(teacher)
    networks = teacher_networks(ensemble)
    assert [net.name for net in networks] == ["member_0", "member_1"]
    x = sample.x_train[:12]
    plain, mirrored = teacher_targets(networks, x)
    np.testing.assert_allclose(plain, np.asarray(ensemble(x.astype("float32"))), atol=1e-5)
    np.testing.assert_allclose(mirrored, np.asarray(ensemble(x[:, :, ::-1].astype("float32"))),
                               atol=1e-5)
    single = load_model(teacher.parent / "s0")
    assert teacher_networks(single) == [single]


def test_distilled_run_records_its_teacher(tmp_path, sample, teacher):
    result = train("tiny", tmp_path / "student", data=sample, seed=3, verbose=0,
                   teacher=teacher)
    assert result.metrics["teacher"] == str(teacher)
    record = result.provenance["teacher"]
    assert record["seeds"] == [0, 1] and record["ensemble_of"] == 2
    assert len(record["model_sha256"]) == 64
    saved = json.loads((tmp_path / "student" / "provenance.json").read_text())
    assert saved["teacher"] == record
    # The teacher's probabilities are a cache for resuming, not part of a finished run.
    assert not (tmp_path / "student" / TEACHER_TARGETS).exists()
    # The model card names the teacher and tells the distilled run from plain seeds.
    card = write_model_card(result.out_dir, tmp_path / "shipped",
                            other_runs=[teacher.parent / "s0"])
    assert card["training"]["teacher"] == record
    text = (tmp_path / "shipped" / "MODEL_CARD.md").read_text()
    assert "Distilled (Hinton et al., 2015)" in text and "seeds 0, 1" in text
    assert "| 3, distilled (shipped) |" in text and "| 0 |" in text


def test_cached_targets_are_reused_only_for_the_same_teacher(tmp_path, sample, teacher):
    record = {"run": str(teacher), "model_sha256": "a" * 64}
    x = sample.x_train[:5]
    first = load_or_compute_targets(tmp_path, record, "float32", x)
    with np.load(tmp_path / TEACHER_TARGETS) as cached:
        np.testing.assert_array_equal(cached["plain"], first[0])
    again = load_or_compute_targets(tmp_path, record, "float32", x)
    np.testing.assert_array_equal(again[1], first[1])
    np.savez(tmp_path / TEACHER_TARGETS, plain=np.zeros((5, 10)), mirrored=np.zeros((5, 10)),
             teacher_sha256=np.array("b" * 64))
    recomputed = load_or_compute_targets(tmp_path, record, "float32", x)
    np.testing.assert_allclose(recomputed[0], first[0], atol=1e-6)


def test_unfair_teachers_are_refused(tmp_path, sample, teacher):
    other_split = get_recipe("tiny").replace(val_fraction=0.2)
    with pytest.raises(CifarEduError, match="validation images"):
        train(other_split, tmp_path / "a", data=sample, verbose=0, teacher=teacher)
    with pytest.raises(CifarEduError, match="epoch loader"):
        train("baseline", tmp_path / "b", data=sample, verbose=0, teacher=teacher)
    with pytest.raises(CifarEduError, match="not a finished run"):
        train("tiny", tmp_path / "c", data=sample, verbose=0, teacher=tmp_path)
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("model.keras", "metrics.json", "provenance.json"):
        (copy / name).write_bytes((teacher / name).read_bytes())
    prov = json.loads((copy / "provenance.json").read_text())
    prov["data"]["sha256"] = {"sample": "0" * 64}
    (copy / "provenance.json").write_text(json.dumps(prov))
    with pytest.raises(CifarEduError, match="other data"):
        train("tiny", tmp_path / "d", data=sample, verbose=0, teacher=copy)
    assert not any((tmp_path / n).exists() for n in "abcd")


def test_cli_trains_with_a_teacher(tmp_path, capsys, teacher):
    code = main(["train", "--recipe", "tiny", "--out", str(tmp_path / "run"), "--data",
                 "sample", "--teacher", str(teacher), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["teacher"] == str(teacher)
    code = main(["train", "--recipe", "tiny", "--out", str(tmp_path / "bad"), "--data",
                 "sample", "--teacher", str(tmp_path / "missing")])
    assert code == 2
    assert "not a finished run folder" in capsys.readouterr().err


def test_the_shipped_model_can_teach_only_its_own_training_images(tmp_path, sample):
    metrics, provenance = read_teacher("pretrained")
    card = model_card()
    assert metrics["recipe"] == card["training"]["recipe"] == "best"
    assert provenance["recipe"]["val_fraction"] == get_recipe("best").val_fraction
    # The sample's validation images are training images of the shipped model.
    with pytest.raises(CifarEduError, match="other data"):
        train("tiny", tmp_path / "run", data=sample, verbose=0, teacher="pretrained")
    assert not (tmp_path / "run").exists()
    # The official archive holds the rebuild's images in the same order (other checksums).
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in ALL_FILES:
        (folder / name).write_bytes(name.encode())
    x = np.zeros((50_000, 32, 32, 3), np.uint8)
    official = CifarData(x, np.zeros((50_000, 1), np.uint8), x[:10], np.zeros((10, 1), np.uint8),
                         DataSource("directory", str(folder)), np.arange(10))
    record = check_teacher("pretrained", metrics, provenance, 0.04, official)
    assert record["run"] == "pretrained"
    assert record["model_sha256"] == card["model"]["sha256"]
    assert record["test_exact"] == pytest.approx(0.942, abs=0.01)
    with pytest.raises(CifarEduError, match="validation images"):
        check_teacher("pretrained", metrics, provenance, 0.1, official)
