"""Loading a trained model from a name or a path, safely.

``spec`` is ``"pretrained"`` (the model shipped in the package, or the file named
by ``$CIFAR_EDU_PRETRAINED`` when that is set), a ``.keras``
file, or a run folder written by ``cifar-edu train`` (which holds ``model.keras``).
Models are loaded with ``safe_mode=True``: a ``.keras`` file cannot run code
through ``Lambda`` layers.

:func:`load_predictor` also takes ``"pretrained-int8"`` (the shipped model quantised to
8-bit integers) and other ``.tflite`` files, for the commands that only predict
(``cifar-edu evaluate``, ``cifar-edu benchmark inference``).
"""

from __future__ import annotations

import importlib
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import keras

from cifar_edu.errors import CifarEduError

if TYPE_CHECKING:
    from cifar_edu.quantization import LiteModel

__all__ = ["PRETRAINED_DIR", "PRETRAINED_ENV", "PRETRAINED_INT8", "INT8_FILE", "pretrained_dir",
           "resolve_model_path", "load_model", "load_predictor"]

PRETRAINED_DIR = "pretrained"
PRETRAINED_ENV = "CIFAR_EDU_PRETRAINED"
#: The spec of the shipped model quantised to int8, and its file in :func:`pretrained_dir`.
PRETRAINED_INT8 = "pretrained-int8"
INT8_FILE = "model_int8.tflite"
# Modules whose custom layers must be registered before a model using them loads.
_LAYER_MODULES = ("cifar_edu.augment", "cifar_edu.models")


def pretrained_dir() -> Path:
    """Folder of the shipped model and its model card inside the installed package."""
    return Path(str(resources.files("cifar_edu") / "assets" / PRETRAINED_DIR))


def resolve_model_path(spec: str | os.PathLike[str]) -> Path:
    """Turn ``"pretrained"``, a run folder or a ``.keras`` path into a ``.keras`` file path.

    ``"pretrained-int8"`` and ``.tflite`` paths give the ``.tflite`` file.
    """
    if str(spec) == PRETRAINED_INT8:
        path = pretrained_dir() / INT8_FILE
        if not path.is_file():
            raise CifarEduError(
                f"the shipped int8 model {path} is missing; reinstall cifar-edu, or make one "
                "with `cifar-edu quantize --model pretrained --data full --out model_int8.tflite`")
        return path
    if str(spec) == "pretrained":
        # An override for developing lessons and tools before a new model ships.
        override = os.environ.get(PRETRAINED_ENV)
        path = Path(override).expanduser() if override else pretrained_dir() / "model.keras"
        if not path.is_file():
            raise CifarEduError(
                f"the shipped model {path} is missing; reinstall cifar-edu, or train one with "
                "`cifar-edu train --recipe best --out runs/best` and pass --model runs/best"
            )
        return path
    path = Path(spec).expanduser()
    if path.is_dir():
        path = path / "model.keras"
    if not path.is_file():
        raise CifarEduError(f"no model at {path}: pass 'pretrained', a .keras file or a run folder "
                            "made by `cifar-edu train`")
    if path.suffix not in (".keras", ".tflite"):
        raise CifarEduError(f"{path} is not a .keras file; save models with model.save('x.keras')")
    return path


def load_model(spec: str | os.PathLike[str] = "pretrained") -> keras.Model:
    """Load a model for prediction or evaluation.

    Parameters
    ----------
    spec : str or path-like
        ``"pretrained"``, a ``.keras`` file or a run folder.

    Returns
    -------
    keras.Model
        Takes raw uint8/0-255 images ``(N, 32, 32, 3)`` and returns probabilities ``(N, 10)``.
    """
    path = resolve_model_path(spec)
    if path.suffix == ".tflite":
        raise CifarEduError(f"{path} is a TensorFlow Lite model: it can predict (`cifar-edu "
                            "evaluate`, `cifar-edu benchmark inference`, "
                            "cifar_edu.model_store.load_predictor) but not be trained, "
                            "explained or cast; pass a .keras file or a run folder")
    for name in _LAYER_MODULES:
        importlib.import_module(name)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except (ValueError, OSError, TypeError) as exc:
        raise CifarEduError(f"could not load the model {path} ({exc}); is it a complete .keras "
                            "file saved by Keras 3?") from None


def load_predictor(spec: str | os.PathLike[str] = "pretrained") -> keras.Model | LiteModel:
    """Load a model that only needs to predict: a Keras model or a TensorFlow Lite file.

    Parameters
    ----------
    spec : str or path-like
        As :func:`load_model`, or ``"pretrained-int8"`` or a ``.tflite`` file.

    Returns
    -------
    keras.Model or cifar_edu.quantization.LiteModel
        Either takes raw 0-255 images ``(N, 32, 32, 3)`` in ``predict_on_batch``
        and returns probabilities.
    """
    path = resolve_model_path(spec)
    if path.suffix == ".tflite":
        from cifar_edu.quantization import LiteModel

        return LiteModel(path)
    return load_model(path)
