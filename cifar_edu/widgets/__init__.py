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

from cifar_edu.widgets.classifier import ImageClassifier
from cifar_edu.widgets.explorer import DatasetExplorer
from cifar_edu.widgets.playground import AugmentationPlayground

__all__ = ["ImageClassifier", "DatasetExplorer", "AugmentationPlayground"]
