"""Running a recipe: :func:`train` trains a model and writes its run folder.

A run folder holds

``model.keras``       the selected model (best validation accuracy), float32, written last:
                      its presence marks a finished run
``history.json``      one record per epoch: losses, accuracies, learning rate, wall times
``history.csv``       the same as a table (Keras' CSVLogger)
``metrics.json``      validation and test accuracy, with and without test-time augmentation,
                      on the whole test set and on its byte-exact rows
``provenance.json``   command, recipe, data and checksums, seed, versions, hardware, timings,
                      and the teacher of a distilled run

and, while the run is unfinished, ``checkpoint.keras`` + ``state.json`` (the last
epoch, with the optimizer state, to resume from) and ``best.weights.h5``; a distilled
run also keeps its teacher's probabilities (``teacher_targets.npz``).
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cifar_edu.augment import build_augmentation
from cifar_edu.data import CLASS_NAMES, CifarData, load_dataset, train_val_split
from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation.tta import TTA_LEVELS, accuracy_key, predict_levels
from cifar_edu.fileio import atomic_write_json
from cifar_edu.models import BUILDERS
from cifar_edu.pipeline import make_dataset
from cifar_edu.precision import (PrecisionChoice, cast_model, detect_precision, precision_scope,
                                 uncompiled)
from cifar_edu.training.callbacks import (BestCheckpoint, EpochClock, JsonHistory, Lookahead,
                                          ResumeCheckpoint, save_model_atomic)
from cifar_edu.training.distill import (TEACHER_TARGETS, check_teacher, load_or_compute_targets,
                                        read_teacher, student_recipes)
from cifar_edu.training.loader import make_epoch_dataset
from cifar_edu.training.optimizers import BiasBoostSGD, Muon
from cifar_edu.training.provenance import collect_provenance, utc_now
from cifar_edu.training.recipes import Recipe, get_recipe
from cifar_edu.training.schedules import WarmupLinearDecay, one_cycle

__all__ = ["RUN_FILES", "RunResult", "train", "build_compiled_model", "run_status",
           "read_run", "evaluate_run_model", "SPLIT_SEED"]

#: Files of a finished run folder.
RUN_FILES = ("model.keras", "history.json", "metrics.json", "provenance.json")
_CHECKPOINT, _STATE, _BEST = "checkpoint.keras", "state.json", "best.weights.h5"
_OURS = {*RUN_FILES, "history.csv", _CHECKPOINT, _STATE, _BEST, TEACHER_TARGETS}
#: The validation split is part of the data, not of the run: the same for every seed.
SPLIT_SEED = 0


@dataclass
class RunResult:
    """What :func:`train` returns.

    Attributes
    ----------
    out_dir : Path
        The run folder.
    model : keras.Model
        The selected model (float32, as saved in ``model.keras``).
    metrics, provenance : dict
        The contents of ``metrics.json`` and ``provenance.json``.
    history : list of dict
        The contents of ``history.json``.
    """

    out_dir: Path
    model: keras.Model
    metrics: dict[str, Any]
    provenance: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)


def run_status(out_dir: str | Path) -> str:
    """State of a run folder.

    Returns
    -------
    str
        ``"missing"``, ``"empty"``, ``"finished"`` (it has ``model.keras``),
        ``"interrupted"`` or ``"foreign"`` (it holds files that are not a run's).
    """
    out_dir = Path(out_dir)
    if not out_dir.exists():
        return "missing"
    if not out_dir.is_dir():
        return "foreign"
    names = {p.name for p in out_dir.iterdir() if not p.name.startswith(".")}
    if not names:
        return "empty"
    if "model.keras" in names:
        return "finished"
    if names & {_STATE, _CHECKPOINT, "history.json"}:
        return "interrupted"
    return "interrupted" if names <= _OURS else "foreign"


def read_run(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``metrics.json`` and ``provenance.json`` of a finished run folder.

    Raises
    ------
    CifarEduError
        The folder lacks a file of a finished run, or a file cannot be read.
    """
    run_dir = Path(run_dir)
    missing = [n for n in ("model.keras", "metrics.json", "provenance.json")
               if not (run_dir / n).is_file()]
    if missing:
        raise CifarEduError(f"{run_dir} is not a finished run folder (missing "
                            f"{', '.join(missing)}); train one with `cifar-edu train`")
    try:
        return (json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")),
                json.loads((run_dir / "provenance.json").read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CifarEduError(f"{run_dir} has an unreadable metrics.json or provenance.json "
                            f"({exc}); train the run again with `cifar-edu train`") from None


def _check_out_dir(out_dir: Path, resume: bool) -> bool:
    """Return whether to resume; refuse to overwrite a finished run or someone else's files."""
    status = run_status(out_dir)
    if status == "finished":
        raise CifarEduError(f"{out_dir} already holds a finished run (model.keras); delete the "
                            "folder or choose a new --out")
    if status == "foreign":
        raise CifarEduError(f"{out_dir} is not empty and is not a run folder; choose a new --out")
    if status == "interrupted":
        if not resume:
            raise CifarEduError(f"{out_dir} holds an unfinished run; continue it with --resume, "
                                "or delete the folder or choose a new --out")
        return (out_dir / _STATE).is_file() and (out_dir / _CHECKPOINT).is_file()
    return False


def _make_schedule(recipe: Recipe, total_steps: int):
    if recipe.schedule == "constant":
        return recipe.lr
    if recipe.schedule == "one_cycle":
        return one_cycle(recipe.lr, total_steps, recipe.warmup_fraction)
    return WarmupLinearDecay(recipe.lr, total_steps, recipe.warmup_fraction,
                             recipe.start_factor, recipe.end_factor)


def _make_optimizer(recipe: Recipe, total_steps: int) -> keras.optimizers.Optimizer:
    schedule = _make_schedule(recipe, total_steps)
    weight_decay = recipe.weight_decay or None
    if recipe.optimizer == "muon":
        return Muon(schedule, peak_lr=recipe.lr, momentum=recipe.momentum,
                    batch_size=recipe.batch_size, **recipe.optimizer_options)
    if recipe.optimizer == "adam":
        return keras.optimizers.Adam(schedule, weight_decay=weight_decay)
    if recipe.bias_lr_scale != 1.0:
        return BiasBoostSGD(schedule, momentum=recipe.momentum, nesterov=True,
                            weight_decay=weight_decay, bias_lr_scale=recipe.bias_lr_scale)
    return keras.optimizers.SGD(schedule, momentum=recipe.momentum, nesterov=True,
                                weight_decay=weight_decay)


def build_compiled_model(recipe: Recipe | str, total_steps: int,
                         whitening_images: np.ndarray | None = None,
                         label_smoothing: float | None = None) -> keras.Model:
    """Build and compile the recipe's model (under the current dtype policy).

    Under ``mixed_bfloat16`` its activation layers compute in float32
    (:func:`cifar_edu.precision.layer_dtype`).

    Parameters
    ----------
    recipe : Recipe or str
        The recipe.
    total_steps : int
        Optimizer steps of the whole run (the schedule's length).
    whitening_images : ndarray, optional
        Training images for builders with a data-dependent first layer.
    label_smoothing : float, optional
        Override the recipe's label smoothing (0 for a teacher's soft targets).
    """
    recipe = get_recipe(recipe)
    builder = BUILDERS[recipe.model]
    kwargs = dict(recipe.model_kwargs)
    if whitening_images is not None and "whitening_images" in inspect.signature(builder).parameters:
        kwargs["whitening_images"] = whitening_images
    model = builder(**kwargs)
    policy = keras.mixed_precision.global_policy().name
    if policy == "mixed_bfloat16":  # activations in float32: faster on a CPU (layer_dtype)
        model = cast_model(model, policy)
    model.compile(
        optimizer=_make_optimizer(recipe, total_steps),
        loss=keras.losses.CategoricalCrossentropy(
            label_smoothing=recipe.label_smoothing if label_smoothing is None else label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    return model


def _datasets(recipe: Recipe, x_tr, y_tr, x_val, y_val, seed: int, initial_epoch: int,
              soft_targets=None):
    batch_size = recipe.batch_size  # train() caps it at the number of training images
    if recipe.alternating_flip:
        train_ds, steps = make_epoch_dataset(
            x_tr, y_tr, batch_size=batch_size, num_epochs=recipe.num_epochs, seed=seed,
            initial_epoch=initial_epoch, augment=recipe.augment, alternating_flip=True,
            soft_targets=soft_targets)
    else:
        augment = build_augmentation(recipe.augment, seed=seed) if recipe.augment else None
        train_ds = make_dataset(x_tr, y_tr, batch_size=batch_size, shuffle=True, seed=seed,
                                augment=augment, one_hot=True, drop_remainder=True)
        steps = len(x_tr) // batch_size
    val_ds = make_dataset(x_val, y_val, batch_size=1000, one_hot=True)
    return train_ds, val_ds, steps


def _verbosity(verbose: int | str) -> int:
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)


def evaluate_run_model(model: keras.Model, data: CifarData, tta: int) -> dict[str, Any]:
    """Test accuracies of a trained model, as stored in ``metrics.json``.

    Accuracy is given on the whole test set and on its byte-exact rows (the same
    images unless the source is the offline rebuild), each without TTA, with
    mirror TTA and, for ``tta == 2``, with mirror + translate TTA; per-class
    accuracy uses the recipe's level ``tta``. One set of forward passes serves all.
    """
    max_level = max(tta, 1)
    exact_index = data.exact_test_index

    def block(probs: list[np.ndarray], y: np.ndarray, rows=None) -> dict[str, Any]:
        y = np.asarray(y).reshape(-1)
        out: dict[str, Any] = {"n": int(len(y) if rows is None else len(rows))}
        for level, prob in enumerate(probs):
            p = prob if rows is None else prob[rows]
            t = y if rows is None else y[rows]
            out[accuracy_key(level)] = float(np.mean(p.argmax(1) == t))
        p = probs[tta] if rows is None else probs[tta][rows]
        t = y if rows is None else y[rows]
        predicted = p.argmax(1)
        out["per_class_accuracy"] = {
            name: float(np.mean(predicted[t == k] == k)) if np.any(t == k) else None
            for k, name in enumerate(CLASS_NAMES)}
        return out

    test_probs = predict_levels(model, data.x_test, max_level)
    headline_key = accuracy_key(tta)
    full = block(test_probs, data.y_test)
    exact = block(test_probs, data.y_test, exact_index)
    return {
        "tta": TTA_LEVELS[tta],
        "test_accuracy": exact[headline_key],
        "test_accuracy_full": full[headline_key],
        "test_full": full,
        "test_exact": exact,
    }


def train(recipe: Recipe | str, out_dir: str | Path, source: str | Path = "auto", seed: int = 0,
          num_epochs: int | None = None, *, precision: str = "auto", resume: bool = False,
          quick: bool = False, verbose: int | str = "auto", command: list[str] | None = None,
          callbacks: list[keras.callbacks.Callback] | None = None,
          data: CifarData | None = None, teacher: str | Path | None = None) -> RunResult:
    """Train a recipe and write its run folder.

    Parameters
    ----------
    recipe : str or Recipe
        A name from :func:`cifar_edu.training.list_recipes` or a :class:`Recipe`.
    out_dir : path-like
        The run folder; created if needed. A folder that holds a finished run is
        never overwritten.
    source : str or path-like
        Data source (see :func:`cifar_edu.data.load_dataset`). Validation images are
        carved out of the training images; the test set is only used at the end.
    seed : int
        Seed of the initialisation, the order of the images and the augmentation.
    num_epochs : int, optional
        Override the recipe's number of epochs (the schedule is stretched or squeezed).
    precision : str
        ``"auto"`` (see :func:`cifar_edu.precision.detect_precision`) or a policy name.
        Runs with the same seed on the same machine repeat bit for bit in float32
        and bfloat16 (see :mod:`cifar_edu.reproducibility`).
    resume : bool
        Continue an interrupted run in ``out_dir`` from its last completed epoch.
    quick : bool
        Train one epoch only (a smoke test of the whole path); ``num_epochs`` wins if given.
    verbose : int or "auto"
        Keras' verbosity: 0 silent, 1 progress bar, 2 one line per epoch; ``"auto"``
        picks 1 in a terminal and 2 otherwise.
    command : list of str, optional
        The command line to record (default: ``sys.argv``).
    callbacks : list of keras.callbacks.Callback, optional
        Extra callbacks (e.g. a live plot in a notebook).
    data : CifarData, optional
        Already loaded data (then ``source`` is ignored).
    teacher : path-like, optional
        A finished run folder (one run or an ensemble), or ``"pretrained"`` for the
        shipped model, to distil: the student learns
        the teacher's probabilities instead of the recipe's smoothed labels (see
        :mod:`cifar_edu.training.distill`). Needs a recipe with the epoch loader.

    Returns
    -------
    RunResult

    Raises
    ------
    CifarEduError
        An unknown recipe or precision, a bad ``num_epochs``, a folder holding a
        finished run, a resumed run that does not match, or a teacher that has seen
        the student's validation images.
    """
    t_start = time.perf_counter()
    recipe = get_recipe(recipe)
    if num_epochs is None and quick:
        num_epochs = 1
    if num_epochs is not None:
        if int(num_epochs) < 1:
            raise CifarEduError(f"the number of epochs must be at least 1, got {num_epochs}")
        recipe = recipe.replace(num_epochs=int(num_epochs))
    out_dir = Path(out_dir).expanduser()
    if teacher is not None and not recipe.alternating_flip:
        raise CifarEduError(f"recipe {recipe.name} does not use the epoch loader; distil into "
                            f"a recipe that does ({', '.join(student_recipes())})")
    teacher_files = read_teacher(teacher) if teacher is not None else None
    resuming = _check_out_dir(out_dir, resume)
    choice: PrecisionChoice = detect_precision(precision)
    data = data if data is not None else load_dataset(source)
    (x_tr, y_tr), (x_val, y_val) = train_val_split(data.x_train, data.y_train,
                                                   recipe.val_fraction, seed=SPLIT_SEED)
    if recipe.batch_size > len(x_tr):  # a small data source: one batch per epoch
        recipe = recipe.replace(batch_size=len(x_tr))
    teacher_record = (check_teacher(teacher, *teacher_files, recipe.val_fraction, data)
                      if teacher_files is not None else None)
    state_record = {"recipe": recipe.name, "num_epochs": recipe.num_epochs, "seed": seed,
                    "data": data.source.description, "precision": choice.policy,
                    "teacher": teacher_record and teacher_record["model_sha256"]}
    initial_epoch, best, best_epoch, previous_history = 0, -np.inf, 0, []
    if resuming:
        initial_epoch, best, best_epoch, previous_history = _load_resume_state(
            out_dir, state_record)
    out_dir.mkdir(parents=True, exist_ok=True)
    provenance = collect_provenance(recipe=recipe.to_dict(), data=data, seed=seed,
                                    precision=choice.to_dict(), command=command,
                                    extra={"teacher": teacher_record} if teacher_record else None)
    soft_targets = None
    if teacher_record is not None:
        soft_targets = load_or_compute_targets(out_dir, teacher_record, choice.policy, x_tr)

    keras.utils.set_random_seed(seed)
    with precision_scope(choice.policy):
        train_ds, val_ds, steps = _datasets(recipe, x_tr, y_tr, x_val, y_val, seed,
                                            initial_epoch, soft_targets)
        total_steps = steps * recipe.num_epochs
        # A teacher's probabilities are already soft: they replace label smoothing.
        model = build_compiled_model(recipe, total_steps, whitening_images=x_tr,
                                     label_smoothing=0.0 if soft_targets is not None else None)
        if resuming:
            model.optimizer.build(model.trainable_variables)
            model.load_weights(out_dir / _CHECKPOINT)
        best_cb = BestCheckpoint(out_dir / _BEST, best=best, best_epoch=best_epoch)
        clock = EpochClock(elapsed_offset=_elapsed(previous_history))
        history_cb = JsonHistory(out_dir / "history.json", previous_history, clock=clock)
        run_callbacks: list[keras.callbacks.Callback] = [
            clock,
            best_cb,
            ResumeCheckpoint(out_dir / _CHECKPOINT, out_dir / _STATE, state_record, best_cb),
            history_cb,
            keras.callbacks.CSVLogger(str(out_dir / "history.csv"), append=resuming),
            keras.callbacks.TerminateOnNaN(),
        ]
        if recipe.lookahead:
            # airbench averages every 5 steps of 1,024 images; keep the images per update.
            every = max(1, round(5 * 1024 / recipe.batch_size))
            run_callbacks.insert(1, Lookahead(total_steps, every=every))
        if recipe.early_stopping_patience:
            run_callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_accuracy", mode="max", patience=recipe.early_stopping_patience))
        t_setup = time.perf_counter()
        if initial_epoch < recipe.num_epochs:
            model.fit(train_ds, validation_data=val_ds, epochs=recipe.num_epochs,
                      initial_epoch=initial_epoch, steps_per_epoch=steps, shuffle=False,
                      callbacks=run_callbacks + list(callbacks or []),
                      verbose=_verbosity(verbose))
        t_trained = time.perf_counter()
        if np.isfinite(best_cb.best) and (out_dir / _BEST).is_file():
            model.load_weights(out_dir / _BEST)  # model selection by validation accuracy
        metrics = evaluate_run_model(model, data, recipe.tta)
    t_evaluated = time.perf_counter()

    history = history_cb.epochs
    metrics = {
        "recipe": recipe.name,
        **({"teacher": teacher_record["run"]} if teacher_record else {}),
        "data": data.source.description,
        "offline_rebuild": data.source.offline_rebuild,
        "epochs_completed": len(history),
        "num_epochs": recipe.num_epochs,
        "best_epoch": best_cb.best_epoch,
        "val_accuracy": best_cb.best if np.isfinite(best_cb.best) else None,
        "evaluation_precision": choice.policy,
        **metrics,
    }
    provenance["train_images"] = int(len(x_tr))
    provenance["val_images"] = int(len(x_val))
    provenance["steps_per_epoch"] = steps
    provenance["batch_size"] = recipe.batch_size
    provenance["timing"] = {
        "setup_s": t_setup - t_start,
        "train_s": t_trained - t_setup,
        "evaluate_s": t_evaluated - t_trained,
        "total_s": time.perf_counter() - t_start,
        "epoch_times_s": [h.get("epoch_time_s") for h in history],
        "val_times_s": [h.get("val_time_s") for h in history],
        "resumed_at_epoch": initial_epoch if resuming else None,
    }
    provenance["finished"] = utc_now()
    atomic_write_json(out_dir / "metrics.json", metrics)
    atomic_write_json(out_dir / "provenance.json", provenance)
    # The saved model computes in float32, so it runs anywhere; cast it back for speed.
    portable = uncompiled(model) if choice.policy == "float32" else cast_model(model, "float32")
    save_model_atomic(portable, out_dir / "model.keras")  # last: marks the run finished
    for name in (_CHECKPOINT, _STATE, _BEST, TEACHER_TARGETS):
        (out_dir / name).unlink(missing_ok=True)
    return RunResult(out_dir, portable, metrics, provenance, history)


def _elapsed(history: list[dict[str, Any]]) -> float:
    return float(history[-1].get("elapsed_s", 0.0)) if history else 0.0


def _load_resume_state(out_dir: Path, expected: dict[str, Any]):
    state = json.loads((out_dir / _STATE).read_text())
    for key in ("recipe", "num_epochs", "seed", "teacher"):
        if state.get(key) != expected[key]:
            raise CifarEduError(
                f"{out_dir} holds an unfinished run with {key}={state.get(key)!r}, not "
                f"{expected[key]!r}; resume it with the same settings or choose a new --out")
    history_path = out_dir / "history.json"
    history = json.loads(history_path.read_text()) if history_path.is_file() else []
    done = int(state.get("epochs_completed", 0))
    history = [h for h in history if int(h.get("epoch", 0)) <= done]
    best = state.get("best_val_accuracy")
    return (done, float(best) if best is not None else -np.inf, int(state.get("best_epoch", 0)),
            history)
