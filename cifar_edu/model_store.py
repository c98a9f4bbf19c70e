"""Loading a trained model from a name or a path, safely.

``spec`` is ``"pretrained"`` (the model shipped in the package, or the file named
by ``$CIFAR_EDU_PRETRAINED`` when that is set), a ``.keras``
file, or a run folder written by ``cifar-edu train`` (which holds ``model.keras``).
Models are loaded with ``safe_mode=True``: a ``.keras`` file cannot run code
through ``Lambda`` layers.
"""

from __future__ import annotations

import importlib
import os
from importlib import resources
from pathlib import Path

import keras

from cifar_edu.errors import CifarEduError

__all__ = ["PRETRAINED_DIR", "PRETRAINED_ENV", "pretrained_dir", "resolve_model_path",
           "load_model"]

PRETRAINED_DIR = "pretrained"
PRETRAINED_ENV = "CIFAR_EDU_PRETRAINED"
# Modules whose custom layers must be registered before a model using them loads.
_LAYER_MODULES = ("cifar_edu.augment", "cifar_edu.models")


def pretrained_dir() -> Path:
    """Folder of the shipped model and its model card inside the installed package."""
    return Path(str(resources.files("cifar_edu") / "assets" / PRETRAINED_DIR))


def resolve_model_path(spec: str | os.PathLike[str]) -> Path:
    """Turn ``"pretrained"``, a run folder or a ``.keras`` path into a ``.keras`` file path."""
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
    if path.suffix != ".keras":
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
    for name in _LAYER_MODULES:
        importlib.import_module(name)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except (ValueError, OSError, TypeError) as exc:
        raise CifarEduError(f"could not load the model {path} ({exc}); is it a complete .keras "
                            "file saved by Keras 3?") from None
