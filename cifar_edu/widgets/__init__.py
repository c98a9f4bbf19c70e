"""Interactive widgets of the course (ipywidgets 8), thin faces over library functions.

* :class:`ImageClassifier` - upload a photo or pick a test image; top-k bars,
  the unsure flag and a Grad-CAM overlay.
* :class:`DatasetExplorer` - browse CIFAR-10 by class: sample grid and statistics.
* :class:`AugmentationPlayground` - one control per augmentation, live preview.

Each object shows itself when it is the last expression of a notebook cell
(``display(obj)`` works too); ``obj.widget`` is the underlying ``VBox``. Every chart
has a text alternative next to it, every control a description and a tooltip, and
errors appear inside the widget as messages.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["ImageClassifier", "DatasetExplorer", "AugmentationPlayground"]

# Imported on first use: the classifier and playground need TensorFlow (~3 s and
# ~500 MB), which a lesson that only explores the dataset should not pay for.
_HOMES = {"ImageClassifier": "classifier", "DatasetExplorer": "explorer",
          "AugmentationPlayground": "playground"}

if TYPE_CHECKING:
    from cifar_edu.widgets.classifier import ImageClassifier
    from cifar_edu.widgets.explorer import DatasetExplorer
    from cifar_edu.widgets.playground import AugmentationPlayground


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"cifar_edu.widgets.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'cifar_edu.widgets' has no attribute {name!r}")
