"""The shipped model: it loads, predicts probabilities and still reaches its model card's accuracy.

With ``CIFAR10_DIR`` set, the whole test set is re-measured; otherwise the
shipped sample. Before the model is shipped the tests check ``write_model_card``
on a tiny run instead.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

pytest.importorskip("keras")

from cifar_edu import pretrained
from cifar_edu.errors import CifarEduError
from cifar_edu.model_store import pretrained_dir
from cifar_edu.evaluation.tta import predict_levels

shipped = pytest.mark.skipif(not (pretrained_dir() / "model.keras").is_file(),
                             reason="no shipped model yet (cifar_edu/assets/pretrained)")


@shipped
def test_pretrained_loads_and_predicts(sample):
    model = pretrained.load()
    prob = np.asarray(model(sample.x_test[:8].astype("float32")))
    assert prob.shape == (8, 10)
    np.testing.assert_allclose(prob.sum(1), 1.0, atol=1e-4)
    card = pretrained.model_card()
    assert card["model"]["parameters"] == model.count_params()
    assert card["accuracy"]["test_exact"]["n"] > 0 and card["limitations"]


@shipped
def test_pretrained_reaches_its_card_accuracy(sample):
    card = pretrained.model_card()
    model = pretrained.load()
    if os.environ.get("CIFAR10_DIR"):
        from cifar_edu.data import load_dataset

        data = load_dataset(os.environ["CIFAR10_DIR"])
        x, y, claimed, tol = data.x_test, data.y_test, card["accuracy"]["test_full"], 0.005
    else:
        x, y, claimed, tol = sample.x_test, sample.y_test, card["accuracy"]["sample_test"], 0.01
    plain = predict_levels(model, x, max_level=0)[0]
    accuracy = float(np.mean(plain.argmax(1) == y.reshape(-1)))
    assert accuracy >= claimed["accuracy"] - tol


def test_write_model_card_from_a_run(tmp_path, sample):
    from cifar_edu.training import train

    run = train("tiny", tmp_path / "run", data=sample, verbose=0)
    card = pretrained.write_model_card(run.out_dir, tmp_path / "shipped",
                                       other_runs=[run.out_dir])
    for name in ("model.keras", "model_card.json", "MODEL_CARD.md"):
        assert (tmp_path / "shipped" / name).is_file()
    stored = json.loads((tmp_path / "shipped" / "model_card.json").read_text())
    assert stored["model"]["sha256"] == card["model"]["sha256"]
    assert stored["training"]["recipe"] == "tiny" and stored["training"]["data"]["sha256"]
    assert stored["accuracy"]["sample_test"]["n"] == 500
    assert stored["accuracy"]["test_exact"]["accuracy"] == run.metrics["test_exact"]["accuracy"]
    text = (tmp_path / "shipped" / "MODEL_CARD.md").read_text()
    assert "byte-exact" in text and "Known limitations" in text and "airplane" in text
    # Other seeds are listed (here the same run stands in for one).
    assert stored["training"]["other_seeds"][0]["test_exact"] == run.metrics["test_accuracy"]
    assert "Other seeds of the same recipe" in text and "played no part" in text


def test_model_card_rejects_other_seeds_of_another_recipe(tmp_path):
    def fake_run(name: str, recipe: str):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "model.keras").write_bytes(b"")
        (folder / "metrics.json").write_text(json.dumps({"recipe": recipe}))
        (folder / "provenance.json").write_text(json.dumps({"seed": 1}))
        return folder

    shipped, other = fake_run("run", "tiny"), fake_run("other", "best")
    with pytest.raises(CifarEduError, match="same recipe"):
        pretrained.write_model_card(shipped, tmp_path / "shipped", other_runs=[other])
    assert not (tmp_path / "shipped").exists()  # nothing half-written
    with pytest.raises(CifarEduError, match="not a finished run"):
        pretrained.write_model_card(shipped, tmp_path / "shipped",
                                    other_runs=[tmp_path / "missing"])
    (other / "metrics.json").write_text("{")  # a half-written file
    with pytest.raises(CifarEduError, match="unreadable"):
        pretrained.write_model_card(shipped, tmp_path / "shipped", other_runs=[other])
    assert not (tmp_path / "shipped").exists()


@shipped
def test_pretrained_recognises_a_real_cat_photo():
    # A real photograph (Chelsea the cat, CC0; cifar_edu/assets/photos/CREDITS.md) at
    # 320x213, not a CIFAR image: the shipped model must have "cat" in its top 3.
    from importlib import resources

    from cifar_edu.predict import predict_image

    photo = resources.files("cifar_edu") / "assets" / "photos" / "cat_chelsea.jpg"
    prediction = predict_image(pretrained.load(), photo.read_bytes(), top_k=3)
    assert "cat" in [name for name, _ in prediction.top_k]
