"""Knowledge distillation: train one network on the class probabilities of a better teacher.

An ensemble of three ``best`` networks is about a point more accurate than each of
them, but it is three times the size and the time. Distillation (Hinton, Vinyals
and Dean, 2015) hands most of that gain to a single network: instead of smoothed
one-hot labels, the student learns the teacher's probabilities, which say *how*
cat-like a dog looks. It is label smoothing that knows the images::

    cifar-edu train --recipe best --teacher runs/best-ensemble --out runs/best-distilled

The teacher's probabilities are computed once, before training, for every training
image and for its mirror image (the loader picks the one that matches the view it
shows); small translations are left to the teacher's own invariance. They are kept
in the run folder (``teacher_targets.npz``) so an interrupted run resumes without
recomputing them.

The teacher must have been trained on the student's training images only: its
recipe must hold out the same validation images, from the same data, or the
student's validation accuracy would be measured on images the teacher has learnt.
The official archive and the offline rebuild hold the same images in the same
order, so a teacher trained on one may teach a student on the other. The shipped
model can teach too (``--teacher pretrained``): it was trained with ``best``'s
validation images held out, so it teaches the recipes that hold out the same.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cifar_edu.data import CifarData, source_checksums
from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation.inference import predict_proba
from cifar_edu.evaluation.tta import accuracy_key
from cifar_edu.fileio import atomic_write_bytes, sha256_file
from cifar_edu.model_store import load_model, resolve_model_path
from cifar_edu.precision import cast_model
from cifar_edu.training.recipes import get_recipe, list_recipes

__all__ = ["TEACHER_TARGETS", "student_recipes", "read_teacher", "check_teacher",
           "teacher_networks", "teacher_targets", "load_or_compute_targets"]

#: File of the teacher's probabilities in the student's run folder.
TEACHER_TARGETS = "teacher_targets.npz"


#: Training images in the official CIFAR-10 archive (and in its offline rebuild).
_CIFAR10_TRAIN_IMAGES = 50_000


def read_teacher(teacher: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The metrics and provenance of a teacher: a finished run folder or ``"pretrained"``.

    For the shipped model they come from its model card.

    Raises
    ------
    CifarEduError
        The folder is not a finished run, or the shipped model is missing.
    """
    if str(teacher) != "pretrained":
        from cifar_edu.training.run import read_run  # run imports this module

        return read_run(Path(teacher).expanduser())
    from cifar_edu.pretrained import model_card  # pretrained builds on training

    card = model_card()
    training, accuracy = card["training"], card["accuracy"]
    key = accuracy_key(accuracy.get("tta") or "none")
    metrics = {"recipe": training.get("recipe"), "val_accuracy": accuracy.get("val_accuracy"),
               "test_accuracy": (accuracy.get("test_exact") or {}).get(key),
               "test_accuracy_full": (accuracy.get("test_full") or {}).get(key)}
    provenance = {"recipe": training.get("recipe_settings"), "seed": training.get("seed"),
                  "data": training.get("data")}
    return metrics, provenance


def student_recipes(val_fraction: float | None = None) -> list[str]:
    """Recipes that can learn from a teacher: those with the epoch loader, which carries
    the teacher's probabilities, and (if given) that hold out ``val_fraction``."""
    return [name for name in list_recipes()
            if get_recipe(name).alternating_flip
            and (val_fraction is None or get_recipe(name).val_fraction == val_fraction)]


def _same_training_images(teacher_data: dict[str, Any], data: CifarData) -> bool:
    """Whether the teacher's data holds the student's training images, in the same order."""
    if teacher_data.get("sha256") == source_checksums(data.source):
        return True
    # The official archive and the offline rebuild: the same images, in the same order.
    return (teacher_data.get("kind") != "sample" and data.source.kind != "sample"
            and teacher_data.get("num_train") == len(data.y_train) == _CIFAR10_TRAIN_IMAGES)


def check_teacher(teacher: str | Path, metrics: dict[str, Any], provenance: dict[str, Any],
                  val_fraction: float, data: CifarData) -> dict[str, Any]:
    """Check a finished run may teach a student, and describe it for the student's records.

    Parameters
    ----------
    teacher : str or Path
        The teacher's run folder (a training run or an ensemble), or ``"pretrained"``.
    metrics, provenance : dict
        Its ``metrics.json`` and ``provenance.json`` (see :func:`read_teacher`).
    val_fraction : float
        The student's share of validation images.
    data : CifarData
        The student's data.

    Returns
    -------
    dict
        The teacher's folder, model checksum, recipe, seeds and accuracies.

    Raises
    ------
    CifarEduError
        The teacher was trained on other data or held out other validation images.
    """
    teacher_recipe = provenance.get("recipe") or {}
    shipped = str(teacher) == "pretrained"
    who = "the shipped model" if shipped else f"the teacher {teacher}"
    if not _same_training_images(provenance.get("data") or {}, data):
        raise CifarEduError(
            f"{who} was trained on other data than {data.source.description}; "
            + ("it teaches on the whole CIFAR-10 training set: pass --data full (with "
               "CIFAR10_DIR set) or download it with `cifar-edu data fetch`" if shipped
               else "pass the teacher's data source with --data"))
    teacher_fraction = float(teacher_recipe.get("val_fraction", -1))
    if teacher_fraction != float(val_fraction):
        students = student_recipes(teacher_fraction)
        raise CifarEduError(
            f"{who} held out {teacher_recipe.get('val_fraction')} of the training images for "
            f"validation and the student {val_fraction}: the teacher would have learnt some "
            "of the student's validation images. Use a teacher trained with the student's "
            "recipe (the same validation images)"
            + (f", or a student recipe that holds out as many ({', '.join(students)})"
               if students else ""))
    seeds = provenance.get("seeds") or [provenance.get("seed")]
    return {
        "run": str(teacher),
        "model_sha256": sha256_file(resolve_model_path(teacher)),
        "recipe": metrics.get("recipe"),
        "ensemble_of": metrics.get("ensemble_of", 1),
        "seeds": seeds,
        "val_accuracy": metrics.get("val_accuracy"),
        "test_exact": metrics.get("test_accuracy"),
        "test_full": metrics.get("test_accuracy_full"),
    }


def teacher_networks(teacher: keras.Model, policy: str = "float32") -> list[keras.Model]:
    """The networks whose mean probability is ``teacher``, computing in ``policy``.

    An ensemble (:func:`cifar_edu.training.build_ensemble`) gives its members, any
    other model gives itself; each is cast separately, as casting is per network.
    """
    members = [layer for layer in teacher.layers
               if isinstance(layer, keras.Model) and layer.name.startswith("member_")]
    networks = members or [teacher]
    return networks if policy == "float32" else [cast_model(m, policy) for m in networks]


def teacher_targets(networks: Sequence[keras.Model], x: np.ndarray, batch_size: int = 1000
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The teacher's mean probabilities for images ``x`` and for their mirror images.

    Parameters
    ----------
    networks : sequence of keras.Model
        The teacher's networks (see :func:`teacher_networks`).
    x : ndarray, shape (N, 32, 32, 3)
        Raw training images.

    Returns
    -------
    plain, mirrored : ndarray of float32, shape (N, K)
    """
    x = np.asarray(x)
    views = (x, x[:, :, ::-1])
    plain, mirrored = (np.mean([predict_proba(net, view, batch_size=batch_size)
                                for net in networks], axis=0, dtype=np.float32)
                       for view in views)
    return plain, mirrored


def load_or_compute_targets(out_dir: Path, teacher: dict[str, Any], policy: str,
                            x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Teacher probabilities for the training images, cached in the run folder.

    Parameters
    ----------
    out_dir : Path
        The student's run folder.
    teacher : dict
        The teacher's record from :func:`check_teacher`.
    policy : str
        Precision of the teacher's forward passes.
    x : ndarray
        The student's training images.

    A cache made by another teacher or for other images is recomputed.
    """
    path = out_dir / TEACHER_TARGETS
    if path.is_file():
        with np.load(path) as cached:
            if (str(cached["teacher_sha256"]) == teacher["model_sha256"]
                    and cached["plain"].shape[0] == len(x)):
                return cached["plain"], cached["mirrored"]
    networks = teacher_networks(load_model(teacher["run"]), policy)
    plain, mirrored = teacher_targets(networks, x)
    buffer = io.BytesIO()
    np.savez(buffer, plain=plain, mirrored=mirrored,
             teacher_sha256=np.array(teacher["model_sha256"]))
    atomic_write_bytes(path, buffer.getvalue())
    return plain, mirrored
