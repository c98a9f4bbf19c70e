"""Model builders, precision selection and saving/loading of models."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from cifar_edu.errors import CifarEduError
from cifar_edu.model_store import load_model
from cifar_edu.models import BUILDERS, baseline_cnn, build_model, fast_cnn, init_whitening
from cifar_edu.precision import (cast_model, cpu_flags, detect_precision, precision_scope,
                                 uncompiled)

TINY = (8, 16, 16)


def _probabilities_ok(model, images):
    out = np.asarray(model(images.astype("float32"), training=False))
    assert out.shape == (len(images), 10)
    assert out.dtype == np.float32
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-4)
    return out


@pytest.mark.parametrize("batch_norm,dropout", [(False, 0.0), (True, 0.0), (True, 0.3)])
def test_baseline_outputs_probabilities(sample, batch_norm, dropout):
    model = baseline_cnn(batch_norm=batch_norm, dropout=dropout)
    _probabilities_ok(model, sample.x_test[:4])
    names = [layer.name for layer in model.layers]
    assert "block1_conv1" in names and "predictions" in names
    assert any("bn" in n for n in names) == batch_norm
    assert any("dropout" in n for n in names) == (dropout > 0)
    assert 0.3e6 < model.count_params() < 1.5e6  # the classic small CIFAR CNN
    assert not model.compiled


def test_baseline_rejects_bad_dropout():
    with pytest.raises(ValueError, match="dropout"):
        baseline_cnn(dropout=1.0)


def test_fast_cnn_shapes_and_parameter_counts(sample):
    keras.utils.set_random_seed(0)
    assert 1.9e6 < fast_cnn().count_params() < 2.05e6  # airbench94: about 2.0 M
    model = fast_cnn(TINY, whitening_images=sample.x_train)
    _probabilities_ok(model, sample.x_test[:4])
    assert model.get_layer("whiten").trainable is False
    # Layers by resolution, as explain.py picks them.
    assert model.get_layer("block1_conv1").output.shape[1:3] == (31, 31)
    assert model.get_layer("block2_conv2").output.shape[1:3] == (7, 7)
    assert model.get_layer("predictions").dtype_policy.name == "float32"


def test_fast_cnn_depth3_and_bad_arguments():
    assert "block1_residual" in [layer.name for layer in fast_cnn(TINY, depth=3).layers]
    with pytest.raises(ValueError, match="three"):
        fast_cnn((8, 16))
    with pytest.raises(ValueError, match="depth"):
        fast_cnn(TINY, depth=4)


def test_identity_init_of_first_filters():
    kernel = np.asarray(fast_cnn(TINY).get_layer("block2_conv1").kernel)  # 8 in, 16 out
    np.testing.assert_array_equal(kernel[1, 1, :, :8], np.eye(8))
    assert np.count_nonzero(kernel[:, :, :, :8]) == 8
    assert np.abs(kernel[..., 8:]).max() > 0  # the other filters stay random


def test_whitening_decorrelates_patches(sample):
    model = fast_cnn(TINY)
    init_whitening(model, sample.x_train)
    probe = keras.Model(model.input, model.get_layer("whiten").output)
    out = np.asarray(probe(sample.x_train[:300].astype("float32"))).reshape(-1, 24)[:, :12]
    cov = out.T @ out / len(out)
    # The strongest directions come out with unit variance and no correlation.
    np.testing.assert_allclose(np.diag(cov)[:6], 1.0, atol=0.25)
    assert np.abs(cov - np.diag(np.diag(cov))).max() < 0.3
    with pytest.raises(ValueError, match="whitening"):
        init_whitening(baseline_cnn(), sample.x_train)


def test_build_model_registry():
    assert set(BUILDERS) >= {"baseline_cnn", "fast_cnn"}
    assert build_model("fast_cnn", widths=TINY).name == "fast_cnn"
    with pytest.raises(ValueError, match="unknown model"):
        build_model("resnet1000")


@pytest.mark.parametrize("builder", ["baseline", "fast"])
def test_models_round_trip_with_safe_mode(tmp_path, sample, builder):
    model = (baseline_cnn(batch_norm=True, dropout=0.2, filters=(8, 8, 16), dense_units=16)
             if builder == "baseline" else fast_cnn(TINY, whitening_images=sample.x_train))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = load_model(path)  # safe_mode=True inside
    x = sample.x_test[:6].astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)


def test_mixed_precision_keeps_float32_output(sample):
    with precision_scope("mixed_bfloat16"):
        model = fast_cnn(TINY)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    assert model.get_layer("block1_conv1").dtype_policy.name == "mixed_bfloat16"
    _probabilities_ok(model, sample.x_test[:3])
    as_float = cast_model(model, "float32")
    assert {layer.dtype_policy.name for layer in as_float.layers} == {"float32"}
    x = sample.x_test[:3].astype("float32")
    np.testing.assert_allclose(np.asarray(as_float(x)), np.asarray(model(x)), atol=0.05)
    back = cast_model(as_float, "mixed_bfloat16")
    assert back.get_layer("predictions").dtype_policy.name == "float32"
    assert back.get_layer("block1_conv1").dtype_policy.name == "mixed_bfloat16"
    # GELUs compute in float32 under bfloat16 (faster on a CPU), not under float16.
    assert back.get_layer("block1_act1").dtype_policy.name == "float32"
    assert cast_model(as_float, "mixed_float16").get_layer("block1_act1").dtype_policy.name \
        == "mixed_float16"
    np.testing.assert_allclose(np.asarray(back(x)), np.asarray(model(x)), atol=0.05)


def test_training_model_has_float32_activations_under_bfloat16():
    from cifar_edu.training import build_compiled_model
    from cifar_edu.training.recipes import get_recipe

    with precision_scope("mixed_bfloat16"):
        model = build_compiled_model(get_recipe("tiny"), total_steps=10)
    assert model.compiled
    assert model.get_layer("block1_act1").dtype_policy.name == "float32"
    assert model.get_layer("block1_conv1").dtype_policy.name == "mixed_bfloat16"
    assert not model.get_layer("whiten").trainable
    with precision_scope("float32"):
        plain = build_compiled_model(get_recipe("tiny"), total_steps=10)
    assert {layer.dtype_policy.name for layer in plain.layers} == {"float32"}


def test_uncompiled_drops_the_optimizer():
    model = fast_cnn(TINY)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    plain = uncompiled(model)
    assert not plain.compiled and plain.layers[-1] is model.layers[-1]


@pytest.fixture()
def fake_cpuinfo(tmp_path):
    def make(flags: str):
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nmodel name\t: Fake CPU\nflags\t\t: fpu sse2 {flags}\n\n"
                        f"processor\t: 1\nflags\t\t: fpu sse2 {flags}\n")
        return path
    return make


def test_precision_detection(fake_cpuinfo, monkeypatch):
    monkeypatch.delenv("CIFAR_EDU_PRECISION", raising=False)
    assert "avx512_bf16" in cpu_flags(fake_cpuinfo("avx512f avx512_bf16"))
    bf16 = detect_precision(cpuinfo=fake_cpuinfo("avx512f avx512_bf16"), gpus=[])
    assert bf16.policy == "mixed_bfloat16" and "avx512_bf16" in bf16.reason
    assert detect_precision(cpuinfo=fake_cpuinfo("amx_bf16"), gpus=[]).policy == "mixed_bfloat16"
    assert detect_precision(cpuinfo=fake_cpuinfo("avx2"), gpus=[]).policy == "float32"
    assert detect_precision(cpuinfo=fake_cpuinfo("avx2"), gpus=["GPU:0"]).policy == "mixed_float16"
    assert detect_precision(cpuinfo="/no/such/file", gpus=[]).policy == "float32"
    forced = detect_precision("float32", cpuinfo=fake_cpuinfo("avx512_bf16"), gpus=[])
    assert forced.policy == "float32" and forced.requested == "float32"


def test_precision_override_by_environment(fake_cpuinfo, monkeypatch):
    monkeypatch.setenv("CIFAR_EDU_PRECISION", "float32")
    choice = detect_precision("auto", cpuinfo=fake_cpuinfo("avx512_bf16"), gpus=[])
    assert choice.policy == "float32" and "CIFAR_EDU_PRECISION" in choice.reason
    monkeypatch.setenv("CIFAR_EDU_PRECISION", "float8")
    with pytest.raises(CifarEduError, match="unknown precision"):
        detect_precision("auto", gpus=[])
    with pytest.raises(CifarEduError, match="unknown precision"):
        detect_precision("half", gpus=[])
