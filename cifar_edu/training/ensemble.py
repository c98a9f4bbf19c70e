"""Ensembles: average the class probabilities of several finished runs of one recipe.

Networks trained from different seeds make partly different mistakes, so the mean of
their probabilities is usually more accurate than any one of them, at the price of
one forward pass per member. :func:`ensemble_runs` combines run folders into a new
run folder (``model.keras``, ``metrics.json``, ``provenance.json``) that the rest of
the package reads like any other run::

    cifar-edu ensemble runs/best runs/best-s1 runs/best-s2 --out runs/best-ensemble

The members are chosen before looking at the test set; the ensemble's validation
accuracy is measured on the same held-out images as its members'.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cifar_edu.data import CifarData, load_dataset, train_val_split
from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation.tta import predict_levels
from cifar_edu.fileio import atomic_write_json
from cifar_edu.model_store import load_model
from cifar_edu.precision import cast_model, detect_precision
from cifar_edu.training.callbacks import save_model_atomic
from cifar_edu.training.provenance import collect_provenance, utc_now
from cifar_edu.training.run import (SPLIT_SEED, RunResult, evaluate_run_model, read_run,
                                    run_status)

__all__ = ["build_ensemble", "ensemble_runs"]


def build_ensemble(members: Sequence[keras.Model], name: str = "ensemble") -> keras.Model:
    """A model whose output is the mean of the members' class probabilities.

    Parameters
    ----------
    members : sequence of keras.Model
        Models with one image input and one ``(N, K)`` probability output each.
    name : str
        Name of the combined model.

    Returns
    -------
    keras.Model
        Takes the members' input and returns ``(N, K)`` probabilities; each member
        is a sub-model called ``member_0``, ``member_1``, ...
    """
    if len(members) < 2:
        raise CifarEduError(f"an ensemble needs at least two models, got {len(members)}")
    image = keras.Input(shape=members[0].inputs[0].shape[1:], name="image")
    # Re-wrapped under distinct names: runs of one recipe share their model's name.
    outputs = [keras.Model(m.inputs[0], m.outputs[0], name=f"member_{k}")(image)
               for k, m in enumerate(members)]
    mean = keras.layers.Average(name="mean_probabilities", dtype="float32")(outputs)
    return keras.Model(image, mean, name=name)


# Settings that do not change what a run computes.
_WORDING = ("name", "description", "hidden")


def _member_records(run_dirs: Sequence[Path]
                    ) -> tuple[dict[str, Any], Any, list[dict[str, Any]]]:
    """Check the runs belong together.

    Returns their recipe settings, the checksums of their data and one record per run.
    """
    if len(run_dirs) < 2:
        raise CifarEduError(f"an ensemble needs at least two run folders, got {len(run_dirs)}")
    if len({d.resolve() for d in run_dirs}) < len(run_dirs):
        raise CifarEduError("a run folder is named twice; give each member once")
    runs = [read_run(run_dir) for run_dir in run_dirs]
    records = [{"run": str(run_dir), "recipe": metrics.get("recipe"), "seed": prov.get("seed"),
                "val_accuracy": metrics.get("val_accuracy"),
                "test_exact": metrics.get("test_accuracy"),
                "test_full": metrics.get("test_accuracy_full"),
                "git_commit": prov.get("git_commit"),
                "wall_time_s": prov.get("timing", {}).get("total_s")}
               for run_dir, (metrics, prov) in zip(run_dirs, runs)]
    checks = [{"recipe": metrics.get("recipe"),
               "recipe settings": {k: v for k, v in (prov.get("recipe") or {}).items()
                                   if k not in _WORDING},
               "data": (prov.get("data") or {}).get("sha256")} for metrics, prov in runs]
    for rec, check in zip(records[1:], checks[1:]):
        for key, value in check.items():
            if value != checks[0][key]:
                raise CifarEduError(f"{rec['run']} differs from {records[0]['run']} in its "
                                    f"{key}; an ensemble combines runs of one recipe on one "
                                    "dataset")
    seeds = [rec["seed"] for rec in records]
    if len(set(seeds)) < len(seeds):
        raise CifarEduError(f"two runs share a seed ({seeds}); seeds must differ, or the "
                            "members are the same network")
    return dict(runs[0][1].get("recipe") or {}), checks[0]["data"], records


def ensemble_runs(run_dirs: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                  source: str | os.PathLike[str] = "auto", *, precision: str = "auto",
                  command: list[str] | None = None, data: CifarData | None = None
                  ) -> RunResult:
    """Combine finished runs of one recipe into an ensemble and write its run folder.

    Parameters
    ----------
    run_dirs : sequence of path-like
        Two or more finished run folders of the same recipe and data, with different seeds.
    out_dir : path-like
        The ensemble's run folder; it must not exist or be empty.
    source : str or path-like
        Data to measure on: the members' validation images and the test set
        (see :func:`cifar_edu.data.load_dataset`). Use the members' own data.
    precision : str
        Precision of the evaluation (``"auto"`` or a policy name); the saved model is float32.
    command : list of str, optional
        The command line to record (default: ``sys.argv``).
    data : CifarData, optional
        Already loaded data (then ``source`` is ignored).

    Returns
    -------
    RunResult
        ``metrics`` holds the ensemble's accuracies with the recipe's test-time
        augmentation, and ``members`` the figures of each member.

    Raises
    ------
    CifarEduError
        Fewer than two runs, an unfinished run, runs of different recipes or data,
        repeated seeds, or an ``out_dir`` that is not empty.
    """
    t_start = time.perf_counter()
    run_dirs = [Path(d).expanduser() for d in run_dirs]
    out_dir = Path(out_dir).expanduser()
    recipe, data_sha256, members = _member_records(run_dirs)
    if run_status(out_dir) not in ("missing", "empty"):
        raise CifarEduError(f"{out_dir} is not empty; choose a new --out for the ensemble")
    tta, val_fraction = int(recipe.get("tta", 1)), float(recipe.get("val_fraction", 0.1))
    choice = detect_precision(precision)
    data = data if data is not None else load_dataset(source)
    provenance = collect_provenance(
        recipe=recipe, data=data, seed=None, precision=choice.to_dict(),
        command=command if command is not None else [os.path.basename(sys.argv[0]),
                                                     *sys.argv[1:]],
        extra={"seeds": [rec["seed"] for rec in members], "members": members})
    if provenance["data"].get("sha256") != data_sha256:
        raise CifarEduError(f"the members were trained on other data than "
                            f"{data.source.description}; pass their data source with --data")
    _, (x_val, y_val) = train_val_split(data.x_train, data.y_train, val_fraction,
                                        seed=SPLIT_SEED)

    loaded = [load_model(d) for d in run_dirs]
    portable = build_ensemble(loaded)
    fast = (portable if choice.policy == "float32"
            else build_ensemble([cast_model(m, choice.policy) for m in loaded]))
    # Validation without TTA, as training measures it, so members and ensemble compare.
    val_probs = predict_levels(fast, x_val, max_level=0)[0]
    val_accuracy = float(np.mean(val_probs.argmax(1) == np.asarray(y_val).reshape(-1)))
    metrics = {
        "recipe": members[0]["recipe"],
        "ensemble_of": len(members),
        "data": data.source.description,
        "offline_rebuild": data.source.offline_rebuild,
        "val_accuracy": val_accuracy,
        "evaluation_precision": choice.policy,
        **evaluate_run_model(fast, data, tta),
        "members": [{k: rec[k] for k in ("run", "seed", "val_accuracy", "test_exact",
                                         "test_full")} for rec in members],
    }
    provenance["val_images"] = int(len(x_val))
    provenance["timing"] = {"total_s": time.perf_counter() - t_start}
    provenance["finished"] = utc_now()
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / "metrics.json", metrics)
    atomic_write_json(out_dir / "provenance.json", provenance)
    save_model_atomic(portable, out_dir / "model.keras")  # last: marks the folder finished
    return RunResult(out_dir, portable, metrics, provenance)
