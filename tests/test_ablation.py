"""Tests of the regularisation ablation (cifar_edu.ablation, `cifar-edu ablation`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cifar_edu.ablation import (ALL_CELLS, FACTORS, AblationCell, ablation_recipe,
                                export_ablation, load_ablation, run_ablation)
from cifar_edu.cli.main import main
from cifar_edu.errors import CifarEduError


def test_the_grid_has_eight_cells_from_plain_to_everything():
    keys = [c.key for c in ALL_CELLS]
    assert len(set(keys)) == 8
    assert keys[0] == "plain" and keys[-1] == "aug+bn+drop"
    assert keys[1:4] == ["aug", "bn", "drop"]
    for cell in ALL_CELLS:
        assert AblationCell.from_key(cell.key) == cell


@pytest.mark.parametrize("key", ["", "aug+aug2", "bn+", "dropout"])
def test_a_bad_cell_key_names_the_valid_ones(key):
    with pytest.raises(CifarEduError, match="plain"):
        AblationCell.from_key(key)


def test_with_factor_switches_one_thing():
    cell = AblationCell.from_key("aug+bn")
    assert cell.with_factor("dropout", True).key == "aug+bn+drop"
    assert cell.with_factor("augmentation", False).key == "bn"
    with pytest.raises(CifarEduError, match="augmentation"):
        cell.with_factor("weight_decay", True)


def test_recipe_of_a_cell_changes_only_the_switches():
    plain, full = (ablation_recipe(AblationCell.from_key(k), 7) for k in ("plain", "aug+bn+drop"))
    assert plain.augment is None and not plain.alternating_flip
    assert plain.model_kwargs == {"batch_norm": False, "dropout": 0.0}
    assert full.augment.flip and full.augment.translate == 2 and full.alternating_flip
    assert full.model_kwargs == {"batch_norm": True, "dropout": 0.2}
    for recipe in (plain, full):
        assert recipe.num_epochs == 7 and recipe.early_stopping_patience is None
        assert recipe.tta == 0
    same = ("optimizer", "lr", "schedule", "batch_size", "label_smoothing", "weight_decay")
    assert all(getattr(plain, f) == getattr(full, f) for f in same)


@pytest.fixture(scope="module")
def grid(tmp_path_factory, sample):
    out = tmp_path_factory.mktemp("ablation") / "grid"
    lines: list[str] = []
    results = run_ablation(out, data=sample, seeds=(0, 1), num_epochs=1, train_images=300,
                           cells=["plain", "bn"], progress=lines.append)
    return out, results, lines


def test_run_writes_the_grid_with_provenance(grid, sample):
    out, results, lines = grid
    assert sorted(p.name for p in out.iterdir()) == ["ablation.json", "predictions.npz", "runs"]
    assert len(lines) == 4 and all("trained" in line for line in lines)
    assert results.cells == ["plain", "bn"] and results.seeds == [0, 1]
    protocol = results.protocol
    assert protocol["train_images"] + protocol["val_images"] == 300
    assert protocol["test_images"] == len(sample.y_test)
    assert results.provenance["command"] and results.provenance["data"]["sha256"]
    assert "2 cells x 2 seeds, 1 epochs on 270 training images" in results.describe()
    for cell in results.cells:
        for seed in results.seeds:
            pred = results.predictions(cell, seed)
            assert pred.shape == (len(sample.y_test),) and pred.max() < 10
            exact = float(np.mean(pred[results.exact_test_index]
                                  == results.y_test[results.exact_test_index]))
            recorded = results.accuracies(cell, "exact")[results.seeds.index(seed)]
            assert exact == pytest.approx(recorded, abs=0.01)  # TF vs Keras predict paths


def test_statistics_of_the_grid(grid):
    _, results, _ = grid
    rows = results.table()
    assert [r["cell"] for r in rows] == ["plain", "bn"] and rows[1]["batch_norm"]
    assert all(r["seeds"] == 2 and np.isfinite(r["exact_sd"]) for r in rows)
    test = results.mcnemar("plain", "bn", seed=1)
    assert test.n == len(results.y_test) and 0 <= test.p_value <= 1
    effects = results.effects()
    assert [(e["factor"], e["without"], e["with"]) for e in effects] == [
        ("batch_norm", "plain", "bn")]
    assert len(effects[0]["p_values"]) == 2
    assert results.over_seeds("plain", "bn").n_a == 2
    assert "plain" in results.table_text() and "%" in results.table_text()
    with pytest.raises(CifarEduError, match="not in this grid"):
        results.accuracies("aug")
    with pytest.raises(CifarEduError, match="seed 5"):
        results.predictions("bn", 5)


def test_a_finished_grid_is_reused(grid, sample):
    out, results, _ = grid
    lines: list[str] = []
    again = run_ablation(out, data=sample, seeds=(0, 1), num_epochs=1, train_images=300,
                         cells=["plain", "bn"], progress=lines.append)
    assert all("reused" in line for line in lines)
    assert again.accuracies("bn") == results.accuracies("bn")


def test_a_grid_with_other_settings_is_refused(grid, sample):
    out, _, _ = grid
    with pytest.raises(CifarEduError, match="other settings"):
        run_ablation(out, data=sample, seeds=(0,), num_epochs=2, train_images=300,
                     cells=["plain"], progress=None)


def test_bad_arguments_are_clear_errors(tmp_path, sample):
    with pytest.raises(CifarEduError, match="between 100 and 1,000"):
        run_ablation(tmp_path / "a", data=sample, train_images=5, progress=None)
    with pytest.raises(CifarEduError, match="at least 1"):
        run_ablation(tmp_path / "a", data=sample, num_epochs=0, progress=None)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(CifarEduError, match="not an ablation"):
        run_ablation(tmp_path / "b", data=sample, progress=None)


def test_export_and_load(grid, tmp_path, monkeypatch):
    out, results, _ = grid
    target = export_ablation(out, dest=tmp_path / "results")
    assert target == tmp_path / "results" / "ablation"
    assert sorted(p.name for p in target.iterdir()) == ["ablation.json", "predictions.npz"]
    export_ablation(out, dest=tmp_path / "results")  # replacing an older export
    monkeypatch.setenv("CIFAR_EDU_RESULTS_DIR", str(tmp_path / "results"))
    loaded = load_ablation()
    assert loaded.summary == json.loads((out / "ablation.json").read_text())
    np.testing.assert_array_equal(loaded.predictions("bn", 1), results.predictions("bn", 1))


def test_missing_or_broken_grid_is_a_clear_error(tmp_path):
    with pytest.raises(CifarEduError, match="cifar-edu ablation run"):
        load_ablation(tmp_path)
    (tmp_path / "ablation.json").write_text("{not json")
    (tmp_path / "predictions.npz").write_bytes(b"junk")
    with pytest.raises(CifarEduError, match="cannot read"):
        load_ablation(tmp_path)
    with pytest.raises(CifarEduError, match="no finished ablation"):
        export_ablation(tmp_path / "nothing", dest=tmp_path / "results")


def test_shipped_grid_loads_when_present():
    try:
        results = load_ablation()
    except CifarEduError:
        pytest.skip("no ablation shipped yet")
    assert len(results.cells) == 8 and len(results.seeds) >= 2
    assert {e["factor"] for e in results.effects()} == set(FACTORS)


def test_cli_show_and_errors(grid, capsys):
    out, _, _ = grid
    assert main(["ablation", "show", str(out)]) == 0
    text = capsys.readouterr().out
    assert "batch_norm" in text and "McNemar" in text
    assert main(["ablation", "show", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["protocol"]["cells"] == ["plain", "bn"]
    assert main(["ablation", "run", "--out", str(out), "--cells", "dropout"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cifar-edu: error:") and "aug+bn" in err and "Traceback" not in err
