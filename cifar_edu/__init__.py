"""cifar-edu: the helper package of the CIFAR-10 CNN course.

Importing the package is cheap: it does not import TensorFlow. It only quiets
TensorFlow's start-up logging, which must be arranged before TensorFlow is first
imported (see :mod:`cifar_edu._quiet_tensorflow`).
"""

from __future__ import annotations

import os

# Must be set before TensorFlow is imported anywhere, so it lives at the top.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cifar_edu import _quiet_tensorflow  # noqa: E402 - must follow the variable above

_quiet_tensorflow.install()

__version__ = "0.1.0"

__all__ = ["__version__"]
