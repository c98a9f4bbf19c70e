"""Keras callbacks of a training run: timing, history, checkpoints and weight averaging.

All files are written atomically: a run stopped at any moment leaves either the
previous complete file or the new complete file, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cifar_edu.fileio import atomic_write_json

__all__ = ["save_model_atomic", "EpochClock", "JsonHistory", "BestCheckpoint",
           "ResumeCheckpoint", "Lookahead"]


def save_model_atomic(model: keras.Model, target: str | os.PathLike[str]) -> Path:
    """``model.save(target)`` (or ``model.save_weights`` for ``*.weights.h5``), atomically.

    ``target`` is afterwards either the complete new file or untouched. Keras picks
    the format from the file name, so the file is written under its own name in a
    temporary folder next to the target, then renamed onto it.
    """
    target = Path(target)
    weights_only = target.name.endswith(".weights.h5")
    if not weights_only and target.suffix != ".keras":
        raise ValueError(f"model files end in .keras (weights in .weights.h5), got {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        tmp = tmp_dir / target.name
        if weights_only:
            model.save_weights(tmp)
        else:
            model.save(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return target


class EpochClock(keras.callbacks.Callback):
    """Measure each epoch: wall-clock times and the learning rate.

    After every epoch :attr:`latest` holds ``learning_rate`` (at the end of the
    epoch), ``epoch_time_s`` (training and validation), ``val_time_s``
    (validation only), ``elapsed_s`` (since training began, plus
    ``elapsed_offset`` when resuming) and ``timestamp`` (Unix time), so the
    history says when validation accuracy first reached a given level. They are
    kept out of Keras' logs, which the progress bar prints.
    """

    def __init__(self, elapsed_offset: float = 0.0) -> None:
        super().__init__()
        self.elapsed_offset = elapsed_offset
        self.latest: dict[str, float] = {}
        self._start = self._epoch_start = self._test_start = 0.0
        self._val_time = 0.0

    def on_train_begin(self, logs=None):  # noqa: D102 - Keras API
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):  # noqa: D102 - Keras API
        self._epoch_start = time.perf_counter()
        self._val_time = 0.0

    def on_test_begin(self, logs=None):  # noqa: D102 - Keras API
        self._test_start = time.perf_counter()

    def on_test_end(self, logs=None):  # noqa: D102 - Keras API
        self._val_time += time.perf_counter() - self._test_start

    def on_epoch_end(self, epoch, logs=None):  # noqa: D102 - Keras API
        now = time.perf_counter()
        self.latest = {"epoch_time_s": now - self._epoch_start, "val_time_s": self._val_time,
                       "elapsed_s": self.elapsed_offset + now - self._start,
                       "timestamp": time.time()}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            self.latest["learning_rate"] = float(
                keras.ops.convert_to_numpy(optimizer.learning_rate))


class JsonHistory(keras.callbacks.Callback):
    """Write every epoch's logs to a JSON file (a list of dicts), rewritten atomically.

    Parameters
    ----------
    path : path-like
        The ``history.json`` file.
    previous : list of dict, optional
        Epochs already recorded (when resuming).
    clock : EpochClock, optional
        Its measurements are added to each record (it must come earlier in the
        list of callbacks).
    """

    def __init__(self, path: str | os.PathLike[str], previous: list[dict] | None = None,
                 clock: EpochClock | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.epochs: list[dict[str, Any]] = list(previous or [])
        self.clock = clock

    def on_epoch_end(self, epoch, logs=None):  # noqa: D102 - Keras API
        record = {"epoch": epoch + 1, **{k: _plain(v) for k, v in (logs or {}).items()}}
        if self.clock is not None:
            record.update(self.clock.latest)
        self.epochs.append(record)
        atomic_write_json(self.path, self.epochs)


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model (or its weights, for ``*.weights.h5``) when validation accuracy is best.

    Like ``keras.callbacks.ModelCheckpoint(save_best_only=True)``, but the file is
    written to a temporary name and renamed, and the best score can be passed in
    so a resumed run compares with it.
    """

    def __init__(self, path: str | os.PathLike[str], monitor: str = "val_accuracy",
                 best: float = -np.inf, best_epoch: int = 0) -> None:
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.best = best
        self.best_epoch = best_epoch

    def on_epoch_end(self, epoch, logs=None):  # noqa: D102 - Keras API
        value = (logs or {}).get(self.monitor)
        # ">=": on a tie the later epoch wins, it has seen more of the schedule.
        if value is not None and float(value) >= self.best:
            self.best, self.best_epoch = float(value), epoch + 1
            save_model_atomic(self.model, self.path)


class ResumeCheckpoint(keras.callbacks.Callback):
    """After every epoch save the model with its optimizer state, then ``state.json``.

    The state file is written after the checkpoint, so it never points at an
    epoch the checkpoint does not hold. ``state`` holds what a resumed run must
    check (recipe, seed ...); the callback adds ``epochs_completed`` and the best score.
    """

    def __init__(self, checkpoint: str | os.PathLike[str], state_path: str | os.PathLike[str],
                 state: dict[str, Any], best: BestCheckpoint | None = None) -> None:
        super().__init__()
        self.checkpoint = Path(checkpoint)
        self.state_path = Path(state_path)
        self.state = dict(state)
        self.best = best

    def on_epoch_end(self, epoch, logs=None):  # noqa: D102 - Keras API
        save_model_atomic(self.model, self.checkpoint)
        self.state["epochs_completed"] = epoch + 1
        if self.best is not None:
            self.state["best_val_accuracy"] = self.best.best
            self.state["best_epoch"] = self.best.best_epoch
        atomic_write_json(self.state_path, self.state)


class Lookahead(keras.callbacks.Callback):
    """Keep an exponential moving average of the weights and pull the model onto it.

    Every ``every`` steps the average moves toward the current weights by
    ``1 - decay`` and the weights are replaced by the average (Lookahead, Zhang et
    al. 2019, in airbench's form). The decay grows as ``decay_base * progress**3``:
    no averaging early, when the model must move fast, strong averaging at the
    end. BatchNorm statistics are averaged too. There is also an update after the
    last step of every epoch, so validation and checkpoints use the average.

    Parameters
    ----------
    total_steps : int
        Optimizer steps of the whole run.
    every : int
        Steps between updates.
    decay_base : float
        Largest decay per update (``0.95 ** 5`` in airbench, every 5 steps of 1,024 images).
    power : float
        Exponent of the decay's growth.
    """

    def __init__(self, total_steps: int, every: int = 5, decay_base: float = 0.95**5,
                 power: float = 3.0) -> None:
        super().__init__()
        self.total_steps = max(int(total_steps), 1)
        self.every = max(int(every), 1)
        self.decay_base = decay_base
        self.power = power
        self._average: list[np.ndarray] | None = None
        self._variables: list = []

    def on_train_begin(self, logs=None):  # noqa: D102 - Keras API
        self._variables = [v for v in self.model.weights
                           if "float" in str(v.dtype) and v.trainable or _is_bn_stat(v)]
        self._average = [keras.ops.convert_to_numpy(v) for v in self._variables]

    def _step(self) -> int:
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_batch_end(self, batch, logs=None):  # noqa: D102 - Keras API
        if self._average is None:
            return
        step = self._step()
        last_of_epoch = batch + 1 >= ((self.params or {}).get("steps") or np.inf)
        # Also at the end of each epoch, so validation and checkpoints see the average.
        if step % self.every == 0 or last_of_epoch:
            decay = self.decay_base * min(step / self.total_steps, 1.0) ** self.power
            for i, variable in enumerate(self._variables):
                current = keras.ops.convert_to_numpy(variable)
                self._average[i] += (1.0 - decay) * (current - self._average[i])
                variable.assign(self._average[i])


def _is_bn_stat(variable) -> bool:
    return variable.name in ("moving_mean", "moving_variance")


def _plain(value: Any) -> Any:
    with contextlib.suppress(TypeError, ValueError):
        return float(value)
    return value
