"""Saved results of long trainings, shipped with the package so that lessons can show them.

A lesson cannot train for an hour, so long runs are made by ``cifar-edu`` commands
and their JSON files are shipped in ``cifar_edu/assets/results/<name>/``:

``history.json``     one record per epoch (losses, accuracies, learning rate, wall times)
``metrics.json``     validation and test accuracy (byte-exact rows and whole test set)
``provenance.json``  command, recipe, data and checksums, seed, versions, hardware, timings

The model file is not copied: results are for reading, the shipped model is
:mod:`cifar_edu.pretrained`. Workflow::

    cifar-edu train --recipe baseline --out runs/baseline
    cifar-edu results export runs/baseline baseline     # -> assets/results/baseline/
    cifar-edu results list

and in a lesson ``run = load_run("baseline")``; ``run.history`` feeds
:func:`cifar_edu.plots.learning_curves` and ``run.describe()`` says how it was made.
The environment variable ``CIFAR_EDU_RESULTS_DIR`` points every function at another
results folder (for developing lessons before the real results exist).

This module does not import TensorFlow (only :func:`export_run` does, to check the run).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from cifar_edu.errors import CifarEduError
from cifar_edu.fileio import replace_folder

__all__ = ["RESULTS_ENV", "RESULT_FILES", "SavedRun", "results_dir", "export_run", "load_run",
           "list_runs"]

#: Environment variable that overrides the results folder.
RESULTS_ENV = "CIFAR_EDU_RESULTS_DIR"
#: Files of a saved result (a run folder without its model).
RESULT_FILES = ("history.json", "metrics.json", "provenance.json")
# Per-epoch bookkeeping of history.json that is not a learning curve.
_NOT_CURVES = {"epoch", "epoch_time_s", "val_time_s", "elapsed_s", "timestamp"}
# A result name becomes a folder name: keep it to one plain path component.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def results_dir() -> Path:
    """The folder of saved results: ``$CIFAR_EDU_RESULTS_DIR`` if set, else the package's."""
    override = os.environ.get(RESULTS_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(str(resources.files("cifar_edu") / "assets" / "results"))


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
        raise CifarEduError(f"{name!r} is not a valid result name; use letters, digits, '_', "
                            "'-' or '.' (for example 'baseline' or 'fast94')")
    return name


def _known_recipes() -> list[str]:
    try:  # the recipes module loads Keras: only on the error path, never to load a result
        from cifar_edu.training.recipes import list_recipes
    except ImportError:  # pragma: no cover - a broken installation
        return []
    return list_recipes()


def _train_command(name: str) -> str:
    recipe = name if name in _known_recipes() else "RECIPE"
    return f"cifar-edu train --recipe {recipe} --out runs/{name}"


@dataclass
class SavedRun:
    """A finished training run as shipped in the results folder (no model).

    Attributes
    ----------
    name : str
        The result's name (its folder name).
    path : Path
        Its folder.
    history : dict of str to list
        Per-epoch curves in the shape of ``model.fit(...).history``
        (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``learning_rate``),
        ready for :func:`cifar_edu.plots.learning_curves`.
    metrics : dict
        The contents of ``metrics.json``: ``test_accuracy`` (byte-exact test rows, with
        the recipe's test-time augmentation), ``test_accuracy_full`` (whole test set),
        ``test_exact`` / ``test_full`` blocks, ``val_accuracy``, ``best_epoch`` ...
    provenance : dict
        The contents of ``provenance.json``: command, recipe, data, seed, versions,
        hardware, precision and timing.
    records : list of dict
        The raw ``history.json`` (one dict per epoch, with wall times).
    """

    name: str
    path: Path
    history: dict[str, list]
    metrics: dict[str, Any]
    provenance: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def recipe(self) -> str:
        """Name of the recipe that was trained."""
        return str(self.metrics.get("recipe") or self.provenance.get("recipe", {}).get("name"))

    @property
    def test_accuracy(self) -> float | None:
        """Headline accuracy on the byte-exact test rows (the estimate of real accuracy)."""
        return self.metrics.get("test_accuracy")

    @property
    def test_accuracy_full(self) -> float | None:
        """Headline accuracy on the whole test set (a lower bound on the offline rebuild)."""
        return self.metrics.get("test_accuracy_full")

    @property
    def epoch_times_s(self) -> list[float]:
        """Wall time of every epoch (training and validation), in seconds."""
        times = self.provenance.get("timing", {}).get("epoch_times_s") or [
            r.get("epoch_time_s") for r in self.records]
        return [float(t) for t in times if t is not None]

    @property
    def data_name(self) -> str:
        """What it was trained on, e.g. "45,000 training images of CIFAR-10 (offline rebuild)"."""
        data = self.provenance.get("data") or {}
        if data.get("kind") == "sample":
            name = "the CIFAR-10 sample shipped with cifar-edu"
        elif data.get("kind"):
            name = "CIFAR-10 (offline rebuild)" if data.get("offline_rebuild") else "CIFAR-10"
        else:
            name = str(self.metrics.get("data") or "unrecorded data")
        n_train = self.provenance.get("train_images")
        return f"{n_train:,} training images of {name}" if isinstance(n_train, int) else name

    @property
    def wall_time_s(self) -> float | None:
        """Wall time of the whole run (setup, training, evaluation), in seconds."""
        total = self.provenance.get("timing", {}).get("total_s")
        return float(total) if total is not None else None

    @property
    def train_command(self) -> str:
        """The ``cifar-edu train`` command that produced the run (reconstructed if needed)."""
        command = [str(part) for part in self.provenance.get("command") or []]
        if len(command) >= 2 and Path(command[0]).name == "cifar-edu" and command[1] == "train":
            return " ".join(["cifar-edu", *command[1:]])
        # Trained from Python (a notebook, a test): rebuild the equivalent command line.
        data_kind = (self.provenance.get("data") or {}).get("kind")
        parts = ["cifar-edu", "train", "--recipe", self.recipe, "--out", f"runs/{self.name}",
                 "--data", "sample" if data_kind == "sample" else "full",
                 "--seed", str(self.provenance.get("seed", 0))]
        num_epochs = self.metrics.get("num_epochs")
        if num_epochs is not None:
            parts += ["--epochs", str(num_epochs)]
        return " ".join(parts)

    @property
    def export_command(self) -> str:
        """The ``cifar-edu results export`` command that ships the run under this name."""
        command = self.train_command.split()
        out = f"runs/{self.name}"
        for i, part in enumerate(command):
            if part == "--out" and i + 1 < len(command):
                out = command[i + 1]
            elif part.startswith("--out="):
                out = part.split("=", 1)[1]
        return f"cifar-edu results export {out} {self.name}"

    def describe(self) -> str:
        """One sentence of provenance: recipe, data, seed, machine, precision, time, date, command.

        Returns
        -------
        str
            For example "Recipe fast94 (10 epochs, seed 0) was trained on 45,000
            training images of CIFAR-10 (offline rebuild) on AMD EPYC (2 CPUs, no GPU)
            in mixed_bfloat16 precision in 21.3 minutes, finished on 2026-11-24;
            regenerate it with `cifar-edu train ...` then `cifar-edu results export ...`."
        """
        prov, metrics = self.provenance, self.metrics
        hardware = prov.get("hardware") or {}
        cpus = hardware.get("cpus_usable") or hardware.get("cpu_count")
        gpus = ", ".join(hardware.get("gpus") or []) or "no GPU"
        machine = f"{hardware.get('cpu', 'an unknown CPU')} ({cpus or '?'} CPUs, {gpus})"
        precision = (prov.get("precision") or {}).get("policy", "an unrecorded")
        wall = self.wall_time_s
        wall_text = f"in {wall / 60:.1f} minutes" if wall is not None else "in an unrecorded time"
        date = str(prov.get("finished") or prov.get("created") or "an unrecorded date")[:10]
        epochs = metrics.get("epochs_completed", len(self.records))
        return (f"Recipe {self.recipe} ({epochs} epoch{'' if epochs == 1 else 's'}, seed "
                f"{prov.get('seed', '?')}) was trained on {self.data_name} on {machine} in "
                f"{precision} precision {wall_text}, finished on {date}; regenerate it with "
                f"`{self.train_command}` then `{self.export_command}`.")


def _read_json(path: Path, name: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CifarEduError(
            f"the saved result {name!r} has an unreadable {path.name} ({exc}); export it again "
            f"with `{_train_command(name)}` then `cifar-edu results export runs/{name} {name}`"
        ) from None


def _curves(records: list[dict[str, Any]]) -> dict[str, list]:
    """Turn history.json's records into ``{"loss": [...], ...}`` like Keras' History."""
    history: dict[str, list] = {}
    for record in records:
        for key, value in record.items():
            if key not in _NOT_CURVES and isinstance(value, (int, float)):
                history.setdefault(key, []).append(float(value))
    return history


def load_run(name: str, *, directory: str | os.PathLike[str] | None = None) -> SavedRun:
    """Load a saved result by name.

    Parameters
    ----------
    name : str
        Its name, e.g. ``"baseline"`` or ``"fast94"`` (see :func:`list_runs`).
    directory : path-like, optional
        The results folder; default :func:`results_dir`.

    Returns
    -------
    SavedRun

    Raises
    ------
    CifarEduError
        No result of that name (the message names the commands that make it), or
        its files are incomplete or unreadable.
    """
    _check_name(name)
    folder = Path(directory) if directory is not None else results_dir()
    path = folder / name
    missing = [f for f in RESULT_FILES if not (path / f).is_file()]
    if missing:
        saved = list_runs(directory=folder)
        what = "no saved result" if len(missing) == len(RESULT_FILES) else \
            f"an incomplete saved result (missing {', '.join(missing)})"
        raise CifarEduError(
            f"{what} {name!r} in {folder}; make it with `{_train_command(name)}` then "
            f"`cifar-edu results export runs/{name} {name}`"
            + (f" (saved results: {', '.join(saved)})" if saved else ""))
    records = _read_json(path / "history.json", name)
    metrics = _read_json(path / "metrics.json", name)
    provenance = _read_json(path / "provenance.json", name)
    if not (isinstance(records, list) and isinstance(metrics, dict)
            and isinstance(provenance, dict)):
        raise CifarEduError(f"the saved result {name!r} in {path} is not a run's files; export "
                            f"it again with `cifar-edu results export runs/{name} {name}`")
    return SavedRun(name=name, path=path, history=_curves(records), metrics=metrics,
                    provenance=provenance, records=records)


def list_runs(*, directory: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the saved results (folders holding every file of :data:`RESULT_FILES`), sorted."""
    folder = Path(directory) if directory is not None else results_dir()
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_dir() and _NAME.match(p.name)
                  and all((p / f).is_file() for f in RESULT_FILES))


def export_run(run_dir: str | os.PathLike[str], name: str, *,
               dest: str | os.PathLike[str] | None = None) -> Path:
    """Copy a finished run's JSON files (not its model) into ``<results folder>/<name>/``.

    The folder is replaced as a whole: it is assembled next to its final place and
    renamed into it, so a reader never sees a mix of old and new files.

    Parameters
    ----------
    run_dir : path-like
        A finished run folder of ``cifar-edu train`` / :func:`cifar_edu.training.train`.
    name : str
        Name of the result (its folder name), e.g. ``"baseline"``.
    dest : path-like, optional
        The results folder; default :func:`results_dir` (the package's
        ``assets/results``, or ``$CIFAR_EDU_RESULTS_DIR``).

    Returns
    -------
    Path
        The result's folder.

    Raises
    ------
    CifarEduError
        The run folder is missing, unfinished or lacks one of the files, or the name
        is not a plain folder name.
    """
    from cifar_edu.training.run import run_status  # loads TensorFlow; only needed here

    _check_name(name)
    run_dir = Path(run_dir).expanduser()
    status = run_status(run_dir)
    if status == "missing":
        raise CifarEduError(f"no run folder at {run_dir}; train one with "
                            f"`cifar-edu train --recipe RECIPE --out {run_dir}`")
    if status != "finished":
        hint = {"interrupted": f"finish it with `cifar-edu train ... --out {run_dir} --resume`",
                "empty": "train into it with `cifar-edu train`"}.get(
                    status, "pass the folder that `cifar-edu train --out` wrote")
        raise CifarEduError(f"{run_dir} is not a finished run ({status}: it has no model.keras); "
                            f"{hint}, then export it")
    missing = [f for f in RESULT_FILES if not (run_dir / f).is_file()]
    if missing:
        raise CifarEduError(f"{run_dir} lacks {', '.join(missing)}; it was not written by "
                            "`cifar-edu train`: train the recipe again into a new folder")
    contents = {}
    for filename in RESULT_FILES:
        raw = (run_dir / filename).read_bytes()
        try:
            json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise CifarEduError(f"{run_dir / filename} is not valid JSON; train the recipe "
                                "again into a new folder") from None
        contents[filename] = raw

    root = Path(dest).expanduser() if dest is not None else results_dir()
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    if target.exists() and not target.is_dir():
        raise CifarEduError(f"{target} exists and is not a folder; remove it or choose "
                            "another name")
    replace_folder(target, contents)
    return target
