"""The model shipped with cifar-edu, and its model card.

>>> from cifar_edu import pretrained
>>> model = pretrained.load()                                      # doctest: +SKIP
>>> probabilities = model(x_test[:8])    # raw 0-255 images in, (8, 10) out  # doctest: +SKIP
>>> pretrained.model_card()["accuracy"]["test_exact"]["accuracy"]  # doctest: +SKIP

The model was trained by ``cifar-edu train --recipe best`` on the training
split only; :func:`write_model_card` turns that run folder into the shipped
``model.keras`` + ``model_card.json`` + ``MODEL_CARD.md``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from cifar_edu import __version__
from cifar_edu.data import CLASS_NAMES
from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation.tta import accuracy_key
from cifar_edu.fileio import atomic_open, atomic_path, atomic_write_json, sha256_file
from cifar_edu.model_store import PRETRAINED_ENV, load_model, pretrained_dir
from cifar_edu.training.run import read_run

if TYPE_CHECKING:
    from cifar_edu.quantization import LiteModel

__all__ = ["load", "load_int8", "int8_record", "model_card", "write_model_card",
           "render_model_card", "CARD_JSON", "CARD_MD"]

CARD_JSON = "model_card.json"
CARD_MD = "MODEL_CARD.md"


def load(precision: str | None = None) -> keras.Model:
    """Load the shipped model.

    Parameters
    ----------
    precision : str, optional
        ``None`` keeps the saved float32 model, which runs anywhere; ``"auto"``
        or a policy name (see :mod:`cifar_edu.precision`) returns a copy that
        computes in that precision (faster on CPUs with bfloat16 units).

    Returns
    -------
    keras.Model
        Takes raw images ``(N, 32, 32, 3)`` with values 0-255 and returns class
        probabilities ``(N, 10)``.
    """
    model = load_model("pretrained")
    if precision is None:
        return model
    from cifar_edu.precision import cast_model, detect_precision

    return cast_model(model, detect_precision(precision).policy)


def load_int8() -> LiteModel:
    """Load the shipped model quantised to 8-bit integers (a TensorFlow Lite file).

    It predicts like :func:`load` (raw images in, probabilities out) through
    ``predict_on_batch``, a quarter of the size and faster on most CPUs; it cannot
    be trained or explained. :func:`int8_record` says how it was made and how
    accurate it is.
    """
    from cifar_edu.model_store import PRETRAINED_INT8, load_predictor

    return load_predictor(PRETRAINED_INT8)


def int8_record() -> dict[str, Any]:
    """How the shipped int8 copy was made and its accuracy (``model_int8.json``), or ``{}``."""
    from cifar_edu.model_store import INT8_FILE
    from cifar_edu.quantization import read_metadata

    return read_metadata(pretrained_dir() / INT8_FILE)


def model_card() -> dict[str, Any]:
    """The shipped model card as a dict (architecture, training, accuracy, limitations).

    With ``$CIFAR_EDU_PRETRAINED`` set, the card beside that model file is read.
    """
    override = os.environ.get(PRETRAINED_ENV)
    path = (Path(override).expanduser().parent if override else pretrained_dir()) / CARD_JSON
    if not path.is_file():
        raise CifarEduError(f"the model card {path} is missing; reinstall cifar-edu")
    return json.loads(path.read_text(encoding="utf-8"))


def _layers(model: keras.Model) -> list[dict[str, Any]]:
    rows = []
    for layer in model.layers:
        try:
            shape = list(layer.output.shape)
        except (AttributeError, ValueError):
            shape = None
        rows.append({"name": layer.name, "type": type(layer).__name__, "output_shape": shape,
                     "parameters": int(layer.count_params())})
    return rows


def _limitations(offline_rebuild: bool) -> list[str]:
    items = [
        "Knows only the ten CIFAR-10 classes and 32x32 images; anything else (a person, a "
        "large photo shrunk to 32x32) still gets one of the ten labels, often with high "
        "confidence.",
        "Probabilities are not calibrated for images unlike CIFAR-10; treat them as scores.",
        "CIFAR-10 photos were collected from the web around 2008; accuracy on other "
        "cameras, styles or times may be lower.",
        "Accuracy varies by class: cats, dogs and birds are confused most often.",
    ]
    if offline_rebuild:
        items.append(
            "Trained and measured on the offline rebuild of CIFAR-10, in which most images "
            "were JPEG re-encoded (quality about 75). The byte-exact test rows estimate "
            "accuracy on the real test set; the whole rebuilt test set gives a lower bound.")
    return items


def _other_seeds(run_dirs: Sequence[str | os.PathLike[str]], recipe: str | None
                 ) -> list[dict[str, Any]]:
    """Headline figures of other runs of the same recipe (the seed-to-seed spread)."""
    rows = []
    for run_dir in map(Path, run_dirs):
        metrics, prov = read_run(run_dir)
        if metrics.get("recipe") != recipe:
            raise CifarEduError(f"{run_dir} is a run of recipe {metrics.get('recipe')!r}, not "
                                f"{recipe!r}; other seeds must come from the same recipe")
        rows.append({"seed": prov.get("seed"), "run": run_dir.name,
                     "distilled": bool(prov.get("teacher")),
                     "val_accuracy": metrics.get("val_accuracy"),
                     "test_exact": metrics.get("test_accuracy"),
                     "test_full": metrics.get("test_accuracy_full"),
                     "wall_time_s": prov.get("timing", {}).get("total_s")})
    return rows


def write_model_card(run_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None
                     = None, *, name: str = "cifar-edu CIFAR-10 classifier",
                     other_runs: Sequence[str | os.PathLike[str]] = ()) -> dict[str, Any]:
    """Ship a finished run: copy its model and write ``model_card.json`` and ``MODEL_CARD.md``.

    Parameters
    ----------
    run_dir : path-like
        A finished run folder of ``cifar-edu train`` (model.keras, metrics.json,
        provenance.json).
    out_dir : path-like, optional
        Where to write; defaults to the package's ``assets/pretrained`` folder.
    name : str
        Name of the model in the card.
    other_runs : sequence of path-like
        Finished runs of the same recipe with other seeds. The card lists their
        figures, so readers see how much of the shipped figure is luck of the seed.

    Returns
    -------
    dict
        The card. It also records the saved model's accuracy on the shipped
        sample (measured here, in float32), which the tests re-measure.
    """
    run_dir = Path(run_dir)
    metrics, prov = read_run(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else pretrained_dir()
    other_seeds = _other_seeds(other_runs, metrics.get("recipe"))
    model = load_model(run_dir)

    from cifar_edu.data import load_dataset
    from cifar_edu.evaluation.tta import TTA_LEVELS, predict_levels

    sample = load_dataset("sample")
    probs = predict_levels(model, sample.x_test, max_level=1)
    y = sample.y_test.reshape(-1)
    sample_acc = {"n": int(len(y)), "accuracy": float(np.mean(probs[0].argmax(1) == y)),
                  "accuracy_flip": float(np.mean(probs[1].argmax(1) == y)),
                  "precision": "float32"}

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "model.keras"
    if target.resolve() != (run_dir / "model.keras").resolve():
        with atomic_path(target) as tmp:
            shutil.copyfile(run_dir / "model.keras", tmp)
    recipe = prov.get("recipe", {})
    card: dict[str, Any] = {
        "name": name,
        "cifar_edu_version": __version__,
        "model": {
            "file": "model.keras",
            "sha256": sha256_file(target),
            "size_bytes": target.stat().st_size,
            "parameters": int(model.count_params()),
            "trainable_parameters": int(sum(np.prod(v.shape) for v in model.trainable_weights)),
            "builder": recipe.get("model"),
            "builder_kwargs": recipe.get("model_kwargs"),
            "input": "raw RGB images (N, 32, 32, 3), uint8 or float with values 0-255; "
                     "normalisation is inside the model",
            "output": "class probabilities (N, 10), softmax",
            "class_names": list(CLASS_NAMES),
            "dtype": "float32",
            "layers": _layers(model),
        },
        "training": {
            "recipe": metrics.get("recipe"),
            "recipe_settings": recipe,
            "command": " ".join(prov.get("command", [])),
            "seed": prov.get("seed"),
            "epochs": metrics.get("epochs_completed"),
            "train_images": prov.get("train_images"),
            "val_images": prov.get("val_images"),
            "precision": prov.get("precision"),
            "wall_time_s": prov.get("timing", {}).get("total_s"),
            "epoch_times_s": prov.get("timing", {}).get("epoch_times_s"),
            "hardware": prov.get("hardware"),
            "git_commit": prov.get("git_commit"),
            "versions": prov.get("versions"),
            "data": prov.get("data"),
            "finished": prov.get("finished"),
            "teacher": prov.get("teacher"),
            "other_seeds": other_seeds,
        },
        "accuracy": {
            "tta": metrics.get("tta"),
            "tta_levels": list(TTA_LEVELS.values()),
            "evaluation_precision": metrics.get("evaluation_precision"),
            "val_accuracy": metrics.get("val_accuracy"),
            "test_exact": metrics.get("test_exact"),
            "test_full": metrics.get("test_full"),
            "sample_test": sample_acc,
        },
        "limitations": _limitations(bool(metrics.get("offline_rebuild"))),
    }
    atomic_write_json(out_dir / CARD_JSON, card)
    with atomic_open(out_dir / CARD_MD) as fh:
        fh.write(render_model_card(card))  # an int8 copy of an older model does not carry over
    return card


def _int8_section(int8: dict[str, Any]) -> list[str]:
    acc = int8.get("accuracy") or {}
    source = int8.get("source_model") or {}
    lines = ["", "## 8-bit integer copy", "",
             f"`{int8.get('file')}` ({(int8.get('size_bytes') or 0) / 1e6:.1f} MB, from "
             f"{(source.get('size_bytes') or 0) / 1e6:.1f} MB) is this model with every weight "
             "and activation quantised to 8-bit integers by TensorFlow Lite, calibrated on "
             f"{(int8.get('calibration') or {}).get('images')} training images; load it with "
             "`cifar_edu.pretrained.load_int8()` or pass `--model pretrained-int8` to "
             "`cifar-edu evaluate` and `cifar-edu benchmark inference`. Made by "
             f"`{int8.get('command')}`; SHA-256 `{int8.get('sha256')}`.", "",
             "| test images | n | no TTA | mirror TTA | mirror + translate TTA |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for label, key in (("byte-exact test rows", "test_exact"), ("whole test set", "test_full")):
        lines.append(_accuracy_row(label, acc.get(key) or {}, translate=True))
    return lines


def _accuracy_row(label: str, block: dict[str, Any], translate: bool) -> str:
    # One row of an accuracy table: n, then no TTA, mirror and (optionally) mirror + translate.
    row = (f"| {label} | {block.get('n', '-')} | {_pct(block.get('accuracy'))} | "
           f"{_pct(block.get('accuracy_flip'))} |")
    return row + (f" {_pct(block.get('accuracy_flip_translate'))} |" if translate else "")


def _pct(value: Any) -> str:
    return f"{100 * value:.2f}%" if isinstance(value, (int, float)) else "-"


def render_model_card(card: dict[str, Any], int8: dict[str, Any] | None = None) -> str:
    """The model card as Markdown, with a section on the int8 copy when ``int8`` is given.

    Parameters
    ----------
    card : dict
        The card (:func:`model_card`).
    int8 : dict, optional
        The int8 copy's record (:func:`int8_record`), if one was made of this model.
    """
    m, t, a = card["model"], card["training"], card["accuracy"]
    exact, full = a.get("test_exact") or {}, a.get("test_full") or {}
    data = t.get("data") or {}
    hw = t.get("hardware") or {}
    tta = a.get("tta") or "none"
    tta_key = accuracy_key(tta)
    precision = a.get("evaluation_precision") or "float32"
    lines = [
        f"# Model card: {card['name']}", "",
        f"A `{m['builder']}` network ({m['parameters']:,} parameters, "
        f"{m['size_bytes'] / 1e6:.1f} MB, float32) that classifies 32x32 colour images into "
        "the ten CIFAR-10 classes. It takes raw RGB images with values 0-255 and returns class "
        "probabilities; load it with `cifar_edu.pretrained.load()`.", "",
        "## Accuracy", "",
        "| test images | n | no TTA | mirror TTA | " + ("mirror + translate TTA |"
                                                     if "accuracy_flip_translate" in exact
                                                     else "|"),
        "| --- | ---: | ---: | ---: |" + (" ---: |" if "accuracy_flip_translate" in exact else ""),
    ]
    for label, block in (("byte-exact test rows (estimate of real accuracy)", exact),
                         ("whole test set" + (" (offline rebuild: lower bound)"
                                              if data.get("offline_rebuild") else ""), full)):
        lines.append(_accuracy_row(label, block, "accuracy_flip_translate" in exact))
    sample = a.get("sample_test") or {}
    lines += ["", f"Validation accuracy (images held out of the training set, no TTA): "
              f"{_pct(a.get('val_accuracy'))}. On the sample shipped with "
              f"the package ({sample.get('n', '-')} test images): {_pct(sample.get('accuracy'))}. "
              f"The recipe's headline uses {tta.replace('_', ' + ')} test-time augmentation, "
              f"computed in {precision}; `cifar-edu evaluate --model pretrained --data DIR "
              f"--tta {tta} --precision {precision}` measures it again"
              + ("" if precision == "float32" else
                 " (in float32 a test image or two may be classified differently)") + ".", "",
              "### Per class (byte-exact rows, recipe's TTA)", "",
              "| class | accuracy |", "| --- | ---: |"]
    for cls, acc in (exact.get("per_class_accuracy") or {}).items():
        lines.append(f"| {cls} | {_pct(acc)} |")
    lines += ["", "## Training", "",
              f"- Recipe `{t.get('recipe')}`, seed {t.get('seed')}, {t.get('epochs')} epochs, "
              f"command `{t.get('command')}`",
              f"- Data: {data.get('description', '-')}; {t.get('train_images')} training and "
              f"{t.get('val_images')} validation images (the test set was never used for "
              "training or selection)",
              f"- Precision: {(t.get('precision') or {}).get('policy', '-')}; wall time "
              f"{(t.get('wall_time_s') or 0) / 60:.1f} min on {hw.get('cpu', '?')} "
              f"({hw.get('cpu_count', '?')} CPUs, GPUs: "
              f"{', '.join(hw.get('gpus') or []) or 'none'})",
              f"- Code: cifar-edu {card.get('cifar_edu_version')}, git commit "
              f"{t.get('git_commit') or 'unknown'}; "
              + ", ".join(f"{k} {v}" for k, v in (t.get("versions") or {}).items() if v),
              "- Data checksums (SHA-256):"]
    for fname, digest in (data.get("sha256") or {}).items():
        lines.append(f"  - `{fname}`: `{digest}`")
    teacher = t.get("teacher")
    if teacher:
        seeds = ", ".join(str(seed) for seed in teacher.get("seeds") or [])
        lines += [
            f"- Distilled (Hinton et al., 2015) from `{teacher.get('run')}`, "
            + (f"an ensemble of {teacher.get('ensemble_of')} `{teacher.get('recipe')}` runs "
               f"(seeds {seeds})" if (teacher.get("ensemble_of") or 1) > 1
               else f"a `{teacher.get('recipe')}` run (seed {seeds})")
            + f": validation {_pct(teacher.get('val_accuracy'))}, byte-exact rows "
            f"{_pct(teacher.get('test_exact'))}, whole test set {_pct(teacher.get('test_full'))}. "
            "Instead of smoothed labels, this network learnt the teacher's probabilities for "
            "each training image and its mirror image. The teacher was trained on the same "
            "training images, so the validation and test images stayed unseen. The wall "
            "time above includes the teacher's predictions, not its own training; teacher "
            f"model SHA-256 `{teacher.get('model_sha256')}`."]
    others = t.get("other_seeds") or []
    if others:
        lines += ["", "### Other seeds of the same recipe", "",
                  "How much of the figures above is the luck of the seed "
                  "(test accuracy with the recipe's TTA):", "",
                  "| seed | validation | byte-exact rows | whole test set | wall time |",
                  "| ---: | ---: | ---: | ---: | ---: |"]
        for row in [{"seed": t.get("seed"), "val_accuracy": a.get("val_accuracy"),
                     "test_exact": exact.get(tta_key), "test_full": full.get(tta_key),
                     "wall_time_s": t.get("wall_time_s"), "shipped": True,
                     "distilled": bool(teacher)}, *others]:
            minutes = f"{row['wall_time_s'] / 60:.1f} min" if row.get("wall_time_s") else "-"
            label = (f"{row['seed']}{', distilled' if row.get('distilled') else ''}"
                     f"{' (shipped)' if row.get('shipped') else ''}")
            lines.append(f"| {label} | "
                         f"{_pct(row['val_accuracy'])} | {_pct(row['test_exact'])} | "
                         f"{_pct(row['test_full'])} | {minutes} |")
        vals = [row.get("val_accuracy") or 0.0 for row in others]
        if (a.get("val_accuracy") or 0.0) >= max(vals):
            lines += ["", "No other seed reached a higher validation accuracy than the "
                      "shipped run; test accuracy played no part in the choice."]
    if int8:
        lines += _int8_section(int8)
    lines += ["", "## Architecture", "", "| layer | type | output | parameters |",
              "| --- | --- | --- | ---: |"]
    for layer in m.get("layers", []):
        lines.append(f"| {layer['name']} | {layer['type']} | {layer['output_shape']} | "
                     f"{layer['parameters']:,} |")
    lines += ["", "## Known limitations", ""]
    lines += [f"- {item}" for item in card.get("limitations", [])]
    lines += ["", f"Model file `model.keras`, SHA-256 `{m['sha256']}`.", ""]
    return "\n".join(lines)
