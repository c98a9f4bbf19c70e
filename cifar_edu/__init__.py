"""cifar-edu: the helper package of the CIFAR-10 CNN course.

Importing the package is cheap: it does not import TensorFlow. It only arranges
what must be set before TensorFlow starts: quiet start-up logging (see
:mod:`cifar_edu._quiet_tensorflow`) and one operation at a time, which makes
training runs repeat exactly (see :mod:`cifar_edu.reproducibility`).
"""

from __future__ import annotations

import os

# Must be set before TensorFlow is imported anywhere, so it lives at the top.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cifar_edu import _quiet_tensorflow, reproducibility  # noqa: E402 - after the variable

_quiet_tensorflow.install()
reproducibility.serial_ops_by_default()

__version__ = "0.1.0"

__all__ = ["__version__"]
