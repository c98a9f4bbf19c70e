"""The regularisation ablation: augmentation x batch normalisation x dropout.

Lesson 4 asks which of three regularisers helps the baseline CNN. Every one of
the 2 x 2 x 2 = 8 combinations trains on the same skeleton
(:func:`cifar_edu.models.baseline_cnn`), optimizer, schedule, epochs and images,
once per seed, so any difference comes from the switches alone. Each run keeps
its predictions on the test set, so that two combinations can be compared image
by image with McNemar's test, and over seeds with Welch's test.

:func:`run_ablation` trains the grid into a folder (resumable: finished runs are
kept) and writes

``ablation.json``     protocol, provenance and every run's accuracies
``predictions.npz``   every run's predicted test labels, the labels, the exact rows

``cifar-edu ablation run --out runs/ablation --data full`` does the same from a
shell; ``cifar-edu ablation export runs/ablation`` copies the two files into the
package's saved results, where :func:`load_ablation` reads them (no training,
no model: the statistics need only the saved predictions).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cifar_edu.errors import CifarEduError
from cifar_edu.evaluation.comparison import (McNemarResult, SeedComparison, compare_over_seeds,
                                             mcnemar_test, seed_summary)
from cifar_edu.fileio import atomic_open, atomic_write_json, check_output_folder, replace_folder

__all__ = ["FACTORS", "AblationCell", "ALL_CELLS", "ablation_recipe", "run_ablation",
           "AblationResults", "load_ablation", "export_ablation", "ABLATION_FILES"]

#: The three switches, in the order of a cell's key.
FACTORS = ("augmentation", "batch_norm", "dropout")
#: Files of a finished ablation folder.
ABLATION_FILES = ("ablation.json", "predictions.npz")
#: Name of the shipped ablation in the saved results.
RESULT_NAME = "ablation"
_SHORT = {"augmentation": "aug", "batch_norm": "bn", "dropout": "drop"}
# Drawn from the training images (after the validation split) when the grid uses a subset.
_SUBSET_SEED = 0


@dataclass(frozen=True)
class AblationCell:
    """One combination of the three switches.

    Attributes
    ----------
    augmentation, batch_norm, dropout : bool
        Random flip + 2-pixel translation; BatchNormalization after every layer;
        dropout (0.2 growing with depth, see :func:`cifar_edu.models.baseline_cnn`).
    """

    augmentation: bool
    batch_norm: bool
    dropout: bool

    @property
    def key(self) -> str:
        """Short name used in files, e.g. ``"aug+bn"``; ``"plain"`` when all are off."""
        on = [_SHORT[f] for f in FACTORS if getattr(self, f)]
        return "+".join(on) if on else "plain"

    def with_factor(self, factor: str, value: bool) -> AblationCell:
        """The same cell with one switch set to ``value``."""
        if factor not in FACTORS:
            raise CifarEduError(f"unknown factor {factor!r}; choose one of {', '.join(FACTORS)}")
        return dataclasses.replace(self, **{factor: value})

    @classmethod
    def from_key(cls, key: str) -> AblationCell:
        """Parse a key such as ``"aug+drop"`` or ``"plain"``."""
        parts = set() if key == "plain" else set(key.split("+"))
        unknown = parts - set(_SHORT.values())
        if unknown or not key:
            raise CifarEduError(f"{key!r} is not an ablation cell; use 'plain' or a '+'-joined "
                                "subset of aug, bn, drop (e.g. 'aug+bn')")
        return cls(*(_SHORT[f] in parts for f in FACTORS))


#: The eight cells, from "plain" to "aug+bn+drop" (one switch added at a time).
ALL_CELLS: tuple[AblationCell, ...] = tuple(
    sorted((AblationCell(*bits) for bits in itertools.product((False, True), repeat=3)),
           key=lambda c: (sum((c.augmentation, c.batch_norm, c.dropout)),
                          [not getattr(c, f) for f in FACTORS])))


def ablation_recipe(cell: AblationCell, num_epochs: int = 15):
    """The training recipe of one cell: the ``baseline`` recipe with the cell's switches.

    Adam at a constant learning rate of 1e-3, batch 128, a fixed number of epochs
    (no early stopping, so every cell gets the same budget; the best epoch by
    validation accuracy is kept), no test-time augmentation. Augmented cells read
    their batches through the fast whole-epoch loader, the others through
    :func:`cifar_edu.pipeline.make_dataset`; both shuffle every epoch, so only the
    random order of the images differs between the two paths.
    """
    from cifar_edu.augment import AugmentConfig
    from cifar_edu.training.recipes import get_recipe

    return get_recipe("baseline").replace(
        name=f"ablation:{cell.key}",
        description=f"baseline CNN, ablation cell {cell.key}",
        model_kwargs={"batch_norm": cell.batch_norm, "dropout": 0.2 if cell.dropout else 0.0},
        augment=AugmentConfig(flip=True, translate=2) if cell.augmentation else None,
        # The fast whole-epoch loader does flip + translate in a few gathers.
        alternating_flip=cell.augmentation,
        num_epochs=int(num_epochs), early_stopping_patience=None, tta=0)


def _subset(data, train_images: int | None):
    """``data`` with a stratified subset of ``train_images`` of its training images."""
    if train_images is None:
        return data
    from cifar_edu.data.split import train_val_indices

    n = len(data.y_train)
    if not 100 <= train_images <= n:
        raise CifarEduError(f"--train-images must be between 100 and {n:,} (the training images "
                            f"of this data), got {train_images:,}")
    if train_images < n:
        _, keep = train_val_indices(data.y_train, train_images / n, seed=_SUBSET_SEED)
        data = dataclasses.replace(data, x_train=data.x_train[keep], y_train=data.y_train[keep])
    return data


def run_ablation(out_dir: str | os.PathLike[str], source: str | os.PathLike[str] = "auto", *,
                 seeds: Sequence[int] = (0, 1), num_epochs: int = 15,
                 train_images: int | None = None,
                 cells: Iterable[AblationCell | str] | None = None,
                 precision: str = "auto", verbose: int | str = 0,
                 command: list[str] | None = None, data=None,
                 progress: Callable[[str], None] | None = print) -> AblationResults:
    """Train every cell of the grid once per seed and write the ablation folder.

    Parameters
    ----------
    out_dir : path-like
        Folder of the grid. Each run goes to ``runs/<cell>-seed<k>/`` inside it; a
        finished run is reused, so an interrupted grid continues where it stopped.
    source : str or path-like
        Data source (see :func:`cifar_edu.data.load_dataset`).
    seeds : sequence of int
        One run per cell and seed (two or more give a seed spread).
    num_epochs : int
        Epochs of every run.
    train_images : int, optional
        Use a stratified subset of this many training images, 10% of which are held
        out for validation as usual; ``None`` uses all 50,000. Fewer images mean
        more over-fitting, so regularisers matter more, and a faster grid.
    cells : iterable of AblationCell or str, optional
        A part of the grid (default: all eight cells), e.g. ``["plain", "aug+bn+drop"]``.
    precision : str
        ``"auto"`` or a Keras policy name.
    verbose : int or "auto"
        Keras' verbosity for each run.
    command : list of str, optional
        The command line to record.
    data : CifarData, optional
        Already loaded data (then ``source`` is ignored).
    progress : callable, optional
        Called with one line per run (default ``print``; ``None`` = silent).

    Returns
    -------
    AblationResults
    """
    import keras

    from cifar_edu.data import load_dataset
    from cifar_edu.training.provenance import collect_provenance, utc_now
    from cifar_edu.training.run import run_status, train
    from cifar_edu.evaluation.inference import predict_proba
    from cifar_edu.model_store import load_model

    chosen = [c if isinstance(c, AblationCell) else AblationCell.from_key(c)
              for c in (cells if cells is not None else ALL_CELLS)]
    seeds = [int(s) for s in seeds]
    if not chosen or not seeds:
        raise CifarEduError("the grid needs at least one cell and one seed")
    if int(num_epochs) < 1:
        raise CifarEduError(f"the number of epochs must be at least 1, got {num_epochs}")
    out_dir = check_output_folder(out_dir, {"runs", *ABLATION_FILES}, "an ablation's")
    data = data if data is not None else load_dataset(source)
    grid_data = _subset(data, train_images)
    started, t0 = utc_now(), time.perf_counter()
    records, predictions = [], {}
    first_precision = None  # the policy the runs used, as their provenance records it
    for seed in seeds:
        for cell in chosen:
            run_dir = out_dir / "runs" / f"{cell.key}-seed{seed}"
            recipe = ablation_recipe(cell, num_epochs)
            status = run_status(run_dir)
            if status == "finished":
                model = load_model(run_dir)
                metrics = json.loads((run_dir / "metrics.json").read_text())
                prov = json.loads((run_dir / "provenance.json").read_text())
                if metrics.get("num_epochs") != recipe.num_epochs or prov.get("seed") != seed:
                    raise CifarEduError(f"{run_dir} holds a run with other settings; use a new "
                                        "--out for a different protocol")
                reused = True
            else:
                result = train(recipe, run_dir, seed=seed, precision=precision,
                               resume=status == "interrupted", verbose=verbose,
                               command=command, data=grid_data)
                model, metrics, prov = result.model, result.metrics, result.provenance
                reused = False
            first_precision = first_precision or prov.get("precision")
            predicted = predict_proba(model, data.x_test, batch_size=500).argmax(1)
            predictions[f"{cell.key}/seed{seed}"] = predicted.astype(np.uint8)
            records.append({
                "cell": cell.key, **{f: getattr(cell, f) for f in FACTORS}, "seed": seed,
                "test_accuracy": metrics["test_accuracy"],
                "test_accuracy_full": metrics["test_accuracy_full"],
                "val_accuracy": metrics.get("val_accuracy"),
                "best_epoch": metrics.get("best_epoch"),
                "train_s": prov.get("timing", {}).get("train_s"),
                "train_images": prov.get("train_images"),
            })
            if progress is not None:
                progress(f"{cell.key:<12} seed {seed}: {metrics['test_accuracy']:.2%} on the "
                         f"exact test rows, {metrics['test_accuracy_full']:.2%} on all "
                         f"({'reused' if reused else 'trained'})")
            del model
            keras.backend.clear_session()

    provenance = collect_provenance(recipe=ablation_recipe(chosen[0], num_epochs).to_dict(),
                                    data=data, seed=seeds[0], precision=first_precision,
                                    command=command)
    provenance.pop("seed")
    for key in ("name", "description"):
        provenance["recipe"].pop(key)
    provenance["recipe"]["model_kwargs"] = "set by each cell"
    protocol = {
        "cells": [c.key for c in chosen], "seeds": seeds, "num_epochs": int(num_epochs),
        "train_images": records[0]["train_images"],
        "val_images": int(len(grid_data.y_train) - records[0]["train_images"]),
        "test_images": int(len(data.y_test)), "exact_test_images": int(len(data.exact_test_index)),
    }
    summary = {"protocol": protocol, "runs": records, "provenance": {
        **provenance, "started": started, "finished": utc_now(),
        "wall_time_s": time.perf_counter() - t0}}
    arrays = {"y_test": np.asarray(data.y_test).reshape(-1).astype(np.uint8),
              "exact_test_index": np.asarray(data.exact_test_index), **predictions}
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(out_dir / "predictions.npz", "wb") as fh:
        # npz member names cannot hold "/": store "cell/seedK" as "cell__seedK".
        np.savez_compressed(fh, **{k.replace("/", "__"): v for k, v in arrays.items()})
    atomic_write_json(out_dir / "ablation.json", summary)  # last: marks the grid finished
    return AblationResults(summary, arrays, out_dir)


class AblationResults:
    """A finished ablation grid: accuracies, predictions and the statistics that decide it.

    Attributes
    ----------
    summary : dict
        The contents of ``ablation.json`` (``protocol``, ``runs``, ``provenance``).
    path : Path
        The folder it was read from.
    """

    def __init__(self, summary: dict[str, Any], arrays: dict[str, np.ndarray], path: Path):
        self.summary = summary
        self.path = Path(path)
        self._arrays = arrays
        self.y_test = np.asarray(arrays["y_test"]).reshape(-1)
        self.exact_test_index = np.asarray(arrays["exact_test_index"])

    @property
    def protocol(self) -> dict[str, Any]:
        """Cells, seeds, epochs and image counts of the grid."""
        return self.summary["protocol"]

    @property
    def provenance(self) -> dict[str, Any]:
        """Command, data and checksums, versions, hardware and times of the grid."""
        return self.summary["provenance"]

    @property
    def cells(self) -> list[str]:
        """Keys of the cells in the grid, in training order."""
        return list(self.protocol["cells"])

    @property
    def seeds(self) -> list[int]:
        """The seeds every cell was trained with."""
        return list(self.protocol["seeds"])

    def accuracies(self, cell: str, which: str = "exact") -> list[float]:
        """Test accuracy of ``cell`` for each seed, on the ``"exact"`` rows or ``"full"`` set."""
        key = {"exact": "test_accuracy", "full": "test_accuracy_full"}.get(which)
        if key is None:
            raise CifarEduError(f"which must be 'exact' or 'full', not {which!r}")
        self._check_cell(cell)
        return [r[key] for r in self.summary["runs"] if r["cell"] == cell]

    def predictions(self, cell: str, seed: int | None = None) -> np.ndarray:
        """Predicted test labels of ``cell`` (seed: the first one unless given)."""
        self._check_cell(cell)
        seed = self.seeds[0] if seed is None else int(seed)
        try:
            return self._arrays[f"{cell}/seed{seed}"]
        except KeyError:
            raise CifarEduError(f"no run of {cell!r} with seed {seed}; seeds: {self.seeds}") \
                from None

    def _check_cell(self, cell: str) -> None:
        if cell not in self.cells:
            raise CifarEduError(f"{cell!r} is not in this grid; cells: {', '.join(self.cells)}")

    def table(self) -> list[dict[str, Any]]:
        """One row per cell: switches, mean and sd over seeds of both test figures."""
        rows = []
        for key in self.cells:
            cell = AblationCell.from_key(key)
            exact_mean, exact_sd, n = seed_summary(self.accuracies(key, "exact"))
            full_mean, full_sd, _ = seed_summary(self.accuracies(key, "full"))
            rows.append({"cell": key, **{f: getattr(cell, f) for f in FACTORS}, "seeds": n,
                         "exact_mean": exact_mean, "exact_sd": exact_sd,
                         "full_mean": full_mean, "full_sd": full_sd})
        return rows

    def table_text(self) -> str:
        """:meth:`table` as aligned text (percent)."""
        lines = [f"{'cell':<13}{'aug':>4}{'bn':>4}{'drop':>5}  {'exact rows':>16}  "
                 f"{'full test set':>16}"]
        for r in self.table():
            def fmt(mean: float, sd: float) -> str:
                return f"{mean:.1%} ± {sd:.1%}" if np.isfinite(sd) else f"{mean:.1%}"
            lines.append(f"{r['cell']:<13}{'x' if r['augmentation'] else '':>4}"
                         f"{'x' if r['batch_norm'] else '':>4}{'x' if r['dropout'] else '':>5}  "
                         f"{fmt(r['exact_mean'], r['exact_sd']):>16}  "
                         f"{fmt(r['full_mean'], r['full_sd']):>16}")
        return "\n".join(lines)

    def mcnemar(self, cell_a: str, cell_b: str, seed: int | None = None,
                which: str = "full") -> McNemarResult:
        """McNemar's exact test of two cells' predictions on the same test images."""
        rows = self.exact_test_index if which == "exact" else slice(None)
        return mcnemar_test(self.y_test[rows], self.predictions(cell_a, seed)[rows],
                            self.predictions(cell_b, seed)[rows])

    def over_seeds(self, cell_a: str, cell_b: str, which: str = "full") -> SeedComparison:
        """Welch's comparison of two cells' accuracies over seeds (B minus A)."""
        return compare_over_seeds(self.accuracies(cell_a, which), self.accuracies(cell_b, which))

    def effects(self, which: str = "full") -> list[dict[str, Any]]:
        """Each factor switched on, in every context where the grid has both cells.

        Returns
        -------
        list of dict
            One row per (factor, context): the cells without and with the factor,
            the mean difference in accuracy over seeds, the McNemar p-value of
            every seed and whether all seeds agree on a significant gain (p < 0.05).
        """
        rows = []
        for factor in FACTORS:
            for key in self.cells:
                cell = AblationCell.from_key(key)
                if getattr(cell, factor):
                    continue
                with_it = cell.with_factor(factor, True).key
                if with_it not in self.cells:
                    continue
                tests = [self.mcnemar(key, with_it, s, which) for s in self.seeds]
                diff = float(np.mean(self.accuracies(with_it, which))
                             - np.mean(self.accuracies(key, which)))
                rows.append({
                    "factor": factor, "without": key, "with": with_it, "difference": diff,
                    "p_values": [t.p_value for t in tests],
                    "significant_gain": all(t.p_value < 0.05 and t.c > t.b for t in tests),
                    "significant_loss": all(t.p_value < 0.05 and t.b > t.c for t in tests),
                })
        return rows

    def describe(self) -> str:
        """How the grid was made: command, data, protocol, machine, wall time."""
        p, prov = self.protocol, self.provenance
        command = " ".join(prov.get("command") or []) or "(unknown)"
        hw = prov.get("hardware", {})
        wall = prov.get("wall_time_s")
        return (f"{len(p['cells'])} cells x {len(p['seeds'])} seeds, {p['num_epochs']} epochs "
                f"on {p['train_images']:,} training images ({p['val_images']:,} for "
                f"validation); data: {prov.get('data', {}).get('description', '?')}; "
                f"made by `{command}` on {hw.get('cpu', '?')} ({hw.get('cpu_count', '?')} "
                f"cores) in {wall / 60:.0f} min, finished {prov.get('finished', '?')}"
                if wall is not None else f"made by `{command}`")


def _read(folder: Path) -> AblationResults:
    missing = [f for f in ABLATION_FILES if not (folder / f).is_file()]
    if missing:
        raise CifarEduError(f"{folder} holds no finished ablation (missing "
                            f"{', '.join(missing)}); make one with `cifar-edu ablation run "
                            f"--out {folder}`")
    try:
        summary = json.loads((folder / "ablation.json").read_text())
        with np.load(folder / "predictions.npz") as npz:
            arrays = {k.replace("__", "/"): npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise CifarEduError(f"cannot read the ablation in {folder} ({exc}); make it again with "
                            "`cifar-edu ablation run`") from None
    return AblationResults(summary, arrays, folder)


def load_ablation(path: str | os.PathLike[str] | None = None) -> AblationResults:
    """Read a finished ablation: a folder, or by default the shipped one.

    The shipped one lives in the saved results (:func:`cifar_edu.results.results_dir`,
    which ``CIFAR_EDU_RESULTS_DIR`` overrides) under ``ablation/``.
    """
    from cifar_edu.results import results_dir

    folder = Path(path).expanduser() if path is not None else results_dir() / RESULT_NAME
    return _read(folder)


def export_ablation(ablation_dir: str | os.PathLike[str],
                    dest: str | os.PathLike[str] | None = None) -> Path:
    """Copy a finished grid's two files into ``<results folder>/ablation/`` (atomically)."""
    from cifar_edu.results import results_dir

    source = Path(ablation_dir).expanduser()
    _read(source)  # refuse an unfinished or damaged grid before touching the target
    root = Path(dest).expanduser() if dest is not None else results_dir()
    return replace_folder(root / RESULT_NAME,
                          {name: (source / name).read_bytes() for name in ABLATION_FILES})
