"""Recipes, schedules, the fast loader, callbacks and train()'s run folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from cifar_edu.errors import CifarEduError
from cifar_edu.models import BUILDERS
from cifar_edu.training import (RECIPES, BiasBoostSGD, WarmupLinearDecay, airbench_sgd,
                                get_recipe, list_recipes, one_cycle, run_status, train)
from cifar_edu.training import Muon, orthogonalize
from cifar_edu.training.loader import make_epoch_dataset


# --- recipes ---------------------------------------------------------------------------

def test_recipe_registry():
    names = list_recipes()
    assert names[:2] == ["baseline", "regularized"]
    assert {"fast90", "fast94", "best"} <= set(names)
    assert "tiny" not in names and "tiny" in list_recipes(include_hidden=True)
    for recipe in RECIPES.values():
        assert recipe.model in BUILDERS
        assert recipe.tta in (0, 1, 2) and 0 < recipe.val_fraction < 0.5
        json.dumps(recipe.to_dict())  # provenance must be JSON
    regularized, baseline = get_recipe("regularized"), get_recipe("baseline")
    assert regularized.model_kwargs["batch_norm"] and regularized.model_kwargs["dropout"] > 0
    assert regularized.augment is not None and baseline.augment is None
    assert get_recipe(baseline) is baseline
    assert baseline.replace(num_epochs=1).num_epochs == 1 and baseline.num_epochs > 1


def test_unknown_recipe_lists_the_names():
    with pytest.raises(CifarEduError, match="baseline, regularized, fast90"):
        get_recipe("fastest")


def test_airbench_hyperparameters():
    lr, wd = airbench_sgd(11.5, 0.0153, 0.85, batch_size=1024)
    assert lr == pytest.approx(1.5, rel=0.01)  # 11.5 / (1024 * 7.67) * 1024
    assert wd == pytest.approx(0.0153 / (11.5 * 0.15))
    lr512, _ = airbench_sgd(11.5, 0.0153, 0.85, batch_size=512)
    assert lr512 == pytest.approx(lr / 2)


# --- schedules and optimizer -------------------------------------------------------------

def test_warmup_linear_decay_shape():
    sched = WarmupLinearDecay(2.0, total_steps=100, warmup_fraction=0.25, start_factor=0.2,
                              end_factor=0.05)
    values = np.array([float(sched(s)) for s in range(0, 101)])
    assert values[0] == pytest.approx(0.4)
    assert values.argmax() == 25 and values.max() == pytest.approx(2.0)
    assert values[100] == pytest.approx(0.1)
    assert float(sched(500)) == pytest.approx(0.1)  # later steps keep the end value
    assert np.all(np.diff(values[:26]) > 0) and np.all(np.diff(values[25:]) < 0)
    again = WarmupLinearDecay.from_config(sched.get_config())
    assert float(again(60)) == pytest.approx(float(sched(60)))
    cycle = one_cycle(1.0, 10)
    assert float(cycle(3)) == pytest.approx(1.0) and float(cycle(10)) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        WarmupLinearDecay(1.0, total_steps=0)


def test_bias_boost_sgd_scales_beta_updates():
    beta = keras.Variable(np.zeros(3, "float32"), name="beta")
    kernel = keras.Variable(np.zeros(3, "float32"), name="kernel")
    opt = BiasBoostSGD(learning_rate=0.1, momentum=0.0, bias_lr_scale=64.0)
    ones = np.ones(3, "float32")
    opt.apply([ones, ones], [beta, kernel])
    np.testing.assert_allclose(np.asarray(kernel), -0.1, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(beta), -6.4, rtol=1e-6)
    assert BiasBoostSGD.from_config(opt.get_config()).bias_lr_scale == 64.0


@pytest.mark.parametrize("shape", [(64, 288), (288, 64)])
def test_orthogonalize_flattens_the_singular_values(shape):
    rng = np.random.default_rng(0)
    # A badly conditioned matrix: singular values spread over two orders of magnitude.
    u, _ = np.linalg.qr(rng.normal(size=(shape[0], min(shape))))
    v, _ = np.linalg.qr(rng.normal(size=(shape[1], min(shape))))
    matrix = (u * np.logspace(0, -2, min(shape))) @ v.T
    out = np.asarray(orthogonalize(keras.ops.convert_to_tensor(matrix.astype("float32")), 5))
    assert out.shape == shape
    singular = np.linalg.svd(out, compute_uv=False)
    assert singular.min() > 0.5 and singular.max() < 1.5  # all alike, none dominant
    # Orthogonalising keeps the directions: the sign of the projection on each one.
    assert np.all(np.einsum("ik,ij,jk->k", u, out, v) > 0)


def test_muon_steps_kernels_by_orthogonal_updates_and_the_rest_by_sgd():
    rng = np.random.default_rng(1)
    start = rng.normal(size=(3, 3, 4, 8)).astype("float32")
    kernel = keras.Variable(start, name="kernel")
    beta = keras.Variable(np.zeros(8, "float32"), name="beta")
    head = keras.Variable(np.ones((8, 2), "float32"), name="kernel")
    opt = Muon(0.1, peak_lr=0.1, momentum=0.0, ns_steps=5, bias_lr=0.01, head_lr=0.02,
               sgd_momentum=0.0, weight_decay=0.0, batch_size=10)
    grad = rng.normal(size=(3, 3, 4, 8)).astype("float32")
    opt.apply([grad, np.ones(8, "float32"), np.ones((8, 2), "float32")], [kernel, beta, head])
    # The kernel is rescaled to norm sqrt(filters), then moved by the orthogonalised
    # gradient of its (3 * 3 * 4, 8) matrix.
    update = np.asarray(orthogonalize(keras.ops.convert_to_tensor(grad.reshape(-1, 8)), 5))
    expected = start * np.sqrt(8) / np.linalg.norm(start) - 0.1 * update.reshape(start.shape)
    np.testing.assert_allclose(np.asarray(kernel), expected, atol=1e-5)
    # The SGD groups' rates are per example of a summed loss: rate x batch x mean gradient.
    np.testing.assert_allclose(np.asarray(beta), -0.01 * 10, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(head), 1 - 0.02 * 10, rtol=1e-5)
    again = Muon.from_config(opt.get_config())
    assert (again.head_lr, again.batch_size, again.ns_steps) == (0.02, 10, 5)


# --- the fast loader ---------------------------------------------------------------------

def _batches(ds, n):
    return [(np.asarray(x), np.asarray(y)) for x, y in ds.take(n)]


def test_epoch_loader_shapes_determinism_and_alternating_flip(sample):
    x, y = sample.x_train[:200], sample.y_train[:200]
    no_shift = get_recipe("tiny").augment.__class__(flip=True, translate=0)
    ds, steps = make_epoch_dataset(x, y, batch_size=64, num_epochs=2, seed=3, augment=no_shift)
    assert steps == 3
    batches = _batches(ds, 6)
    assert len(list(ds)) == 6
    images, labels = batches[0]
    assert images.shape == (64, 32, 32, 3) and images.dtype == np.float32
    assert labels.shape == (64, 10) and np.all(labels.sum(1) == 1)
    again = _batches(make_epoch_dataset(x, y, batch_size=64, num_epochs=2, seed=3,
                                        augment=no_shift)[0], 6)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(batches, again))
    # Every image is seen mirrored one way in epoch 0 and the other way in epoch 1.
    def by_image(parts):
        out = {}
        for imgs, _ in parts:
            for img in imgs:
                key = min(img.tobytes(), img[:, ::-1].tobytes())
                out[key] = img
        return out
    first, second = by_image(batches[:3]), by_image(batches[3:])
    common = set(first) & set(second)
    assert len(common) > 100
    assert all(np.array_equal(first[k], second[k][:, ::-1]) for k in common)
    # Resuming at epoch 1 gives exactly the batches of epoch 1.
    resumed = _batches(make_epoch_dataset(x, y, batch_size=64, num_epochs=2, seed=3,
                                          initial_epoch=1, augment=no_shift)[0], 3)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(resumed, batches[3:]))


def test_epoch_loader_translate_and_cutout(sample):
    x, y = sample.x_train[:64], sample.y_train[:64]
    cfg = get_recipe("tiny").augment.__class__(flip=False, translate=2, cutout=8)
    (images, _), = _batches(make_epoch_dataset(x, y, batch_size=64, num_epochs=1,
                                               augment=cfg)[0], 1)
    assert images.min() >= 0 and images.max() <= 255
    assert np.all((images == 0).all(axis=-1).sum(axis=(1, 2)) >= 8 * 8 - 8)  # the blank square
    with pytest.raises(ValueError, match="larger"):
        make_epoch_dataset(x, y, batch_size=100, num_epochs=1)


# --- train() and the run folder ------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, sample):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    return train("tiny", out, data=sample, seed=0, verbose=0, command=["pytest"])


def test_train_writes_the_run_folder(tiny_run):
    out = tiny_run.out_dir
    for name in ("model.keras", "history.json", "metrics.json", "provenance.json",
                 "history.csv"):
        assert (out / name).is_file(), name
    assert not (out / "checkpoint.keras").exists() and not (out / "state.json").exists()
    assert run_status(out) == "finished"
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1]
    assert {"loss", "accuracy", "val_accuracy", "epoch_time_s", "elapsed_s",
            "timestamp", "learning_rate"} <= set(history[0])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["recipe"] == "tiny" and metrics["tta"] == "flip_translate"
    for block in ("test_full", "test_exact"):
        assert {"n", "accuracy", "accuracy_flip", "accuracy_flip_translate",
                "per_class_accuracy"} <= set(metrics[block])
        assert 0.0 <= metrics[block]["accuracy"] <= 1.0
    assert metrics["test_full"]["n"] == 500  # the sample's test images
    assert metrics["test_accuracy"] == metrics["test_exact"]["accuracy_flip_translate"]
    assert 0.0 <= metrics["val_accuracy"] <= 1.0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["command"] == ["pytest"] and prov["seed"] == 0
    assert prov["recipe"]["name"] == "tiny"
    assert prov["data"]["kind"] == "sample" and len(prov["data"]["sha256"]) == 1
    assert prov["precision"]["policy"] in ("float32", "mixed_bfloat16", "mixed_float16")
    assert {"tensorflow", "keras", "numpy"} <= set(prov["versions"])
    assert "cpu" in prov["hardware"] and "git_commit" in prov
    assert {"inter_op_threads", "serial"} <= set(prov["op_scheduling"])
    assert len(prov["timing"]["epoch_times_s"]) == 1 and prov["timing"]["total_s"] > 0


def test_saved_model_is_portable_float32(tiny_run, sample):
    from cifar_edu.model_store import load_model

    model = load_model(tiny_run.out_dir)
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    prob = np.asarray(model(sample.x_test[:5].astype("float32")))
    np.testing.assert_allclose(prob.sum(1), 1.0, atol=1e-5)


def test_finished_run_is_never_overwritten(tiny_run, sample):
    before = (tiny_run.out_dir / "model.keras").stat().st_mtime_ns
    with pytest.raises(CifarEduError, match="finished run"):
        train("tiny", tiny_run.out_dir, data=sample, verbose=0)
    with pytest.raises(CifarEduError, match="finished run"):
        train("tiny", tiny_run.out_dir, data=sample, verbose=0, resume=True)
    assert (tiny_run.out_dir / "model.keras").stat().st_mtime_ns == before


def test_bad_arguments(tmp_path, sample):
    with pytest.raises(CifarEduError, match="at least 1"):
        train("tiny", tmp_path / "a", data=sample, num_epochs=0)
    with pytest.raises(CifarEduError, match="unknown recipe"):
        train("nope", tmp_path / "b", data=sample)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "notes.txt").write_text("mine")
    with pytest.raises(CifarEduError, match="not a run folder"):
        train("tiny", tmp_path / "c", data=sample)


class _Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise RuntimeError("simulated crash")


def test_interrupted_run_leaves_no_model_and_resumes(tmp_path, sample):
    out = tmp_path / "run"
    recipe = get_recipe("tiny").replace(num_epochs=2)
    with pytest.raises(RuntimeError, match="simulated"):
        train(recipe, out, data=sample, verbose=0, callbacks=[_Crash()])
    assert not (out / "model.keras").exists()
    assert not list(out.glob(".*"))  # no temporary files left behind
    state = json.loads((out / "state.json").read_text())
    assert state["epochs_completed"] == 1
    with pytest.raises(CifarEduError, match="--resume"):
        train(recipe, out, data=sample, verbose=0)
    with pytest.raises(CifarEduError, match="seed"):
        train(recipe, out, data=sample, verbose=0, seed=5, resume=True)
    result = train(recipe, out, data=sample, verbose=0, resume=True)
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert result.provenance["timing"]["resumed_at_epoch"] == 1
    assert (out / "model.keras").is_file() and not (out / "checkpoint.keras").exists()


def test_muon_recipe_trains_and_resumes(tmp_path, sample):
    # muon94's method at a tiny width: Muon's momentum buffers survive the checkpoint.
    recipe = get_recipe("muon94").replace(model_kwargs={"widths": (8, 16, 16)}, num_epochs=2,
                                          batch_size=256)
    out = tmp_path / "muon"
    with pytest.raises(RuntimeError, match="simulated"):
        train(recipe, out, data=sample, verbose=0, callbacks=[_Crash()])
    result = train(recipe, out, data=sample, verbose=0, resume=True)
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert all(np.isfinite(h["loss"]) for h in result.history)
    assert result.metrics["val_accuracy"] > 0.15  # it learns (chance is 0.10)


def test_keras_pipeline_recipe_with_early_stopping(tmp_path, sample):
    recipe = get_recipe("regularized").replace(
        model_kwargs={"batch_norm": True, "dropout": 0.2, "filters": (4, 8), "dense_units": 8},
        num_epochs=1, batch_size=256)
    result = train(recipe, tmp_path / "reg", data=sample, verbose=0, precision="float32")
    assert result.metrics["tta"] == "flip" and "accuracy_flip_translate" not in \
        result.metrics["test_full"]
    assert result.provenance["precision"]["policy"] == "float32"


def test_same_recipe_and_seed_give_the_same_result(tiny_run, tmp_path, sample):
    # The target: same recipe, seed and machine -> test accuracy within 0.3%.
    again = train("tiny", tmp_path / "again", data=sample, seed=0, verbose=0)
    for key in ("test_accuracy", "test_accuracy_full", "val_accuracy"):
        assert again.metrics[key] == pytest.approx(tiny_run.metrics[key], abs=0.003)
    first = [h["val_accuracy"] for h in tiny_run.history]
    assert [h["val_accuracy"] for h in again.history] == pytest.approx(first, abs=0.003)


# fast90's network and training step on the sample repeated to 10,240 images: one epoch
# of 20 steps. Without one op at a time, two bfloat16 runs of this drifted apart (max weight
# difference about 0.01, and not every time), while train() on the plain sample did not.
_REPEAT_SCRIPT = """
import sys
import numpy as np
import keras
from cifar_edu.data import load_dataset
from cifar_edu.precision import precision_scope
from cifar_edu.training import get_recipe
from cifar_edu.training.callbacks import Lookahead
from cifar_edu.training.loader import make_epoch_dataset
from cifar_edu.training.run import build_compiled_model
sample = load_dataset("sample")
x, y = np.tile(sample.x_train, (11, 1, 1, 1))[:10240], np.tile(sample.y_train, (11, 1))[:10240]
recipe = get_recipe("fast90")
keras.utils.set_random_seed(0)
with precision_scope(sys.argv[2]):
    ds, steps = make_epoch_dataset(x, y, batch_size=512, num_epochs=1, augment=recipe.augment)
    model = build_compiled_model(recipe, steps, whitening_images=x)
    model.fit(ds, epochs=1, steps_per_epoch=steps, callbacks=[Lookahead(steps, every=10)],
              verbose=0)
    model.save(sys.argv[1])
"""


def _train_in_subprocess(model_file, precision: str):
    import os
    import subprocess
    import sys

    from cifar_edu.model_store import load_model

    env = {k: v for k, v in os.environ.items() if k != "TF_NUM_INTEROP_THREADS"}
    subprocess.run([sys.executable, "-c", _REPEAT_SCRIPT, str(model_file), precision],
                   check=True, capture_output=True, env=env)
    return load_model(model_file).get_weights()


def _bf16_cpu() -> bool:
    from cifar_edu.precision import detect_precision

    return detect_precision("auto", gpus=[]).policy == "mixed_bfloat16"


@pytest.mark.parametrize("precision", [
    "float32",
    pytest.param("mixed_bfloat16", marks=pytest.mark.skipif(
        not _bf16_cpu(), reason="bfloat16 is emulated (slow) on this CPU")),
])
def test_runs_repeat_bit_for_bit_across_processes(tmp_path, precision):
    # cifar_edu.reproducibility: with one TensorFlow op at a time (the package's default),
    # two processes with the same seed train the same weights, in bfloat16 too.
    first = _train_in_subprocess(tmp_path / "a.keras", precision)
    second = _train_in_subprocess(tmp_path / "b.keras", precision)
    assert len(first) == len(second) > 10
    assert all(np.array_equal(a, b) for a, b in zip(first, second))

