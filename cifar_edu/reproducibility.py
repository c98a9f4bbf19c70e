"""Repeatable training: TensorFlow runs one operation at a time.

A seed fixes the initial weights, the order of the images and the augmentation
(:func:`keras.utils.set_random_seed` and the stateless loader), but not the
order in which TensorFlow runs independent operations. By default it runs
several at once (its *inter-op* thread pool), and each gets whichever CPU
threads are free at that moment, so one operation may get a different number
of threads from one run to the next. The bfloat16 kernels (oneDNN) then add
the same numbers in a different order and round differently; the difference
grows with every step, and two ``fast90`` runs with the same seed ended 0.3-0.4
points of test accuracy apart. float32 runs repeated exactly even so.

With one operation at a time (``TF_NUM_INTEROP_THREADS=1``) every operation
gets all the intra-op threads, every time. On the course's two-core CPU,
bfloat16 training then repeated bit for bit across processes, and no slower:
a CNN is one chain of operations, so little could run side by side anyway.

The package sets this when it is imported, before TensorFlow starts: the
variable is read once, when TensorFlow creates its thread pools. A value you
set yourself is kept (``0`` restores TensorFlow's own choice). Every training
run records the setting in its ``provenance.json`` (:func:`op_scheduling`).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["ENV_INTEROP", "serial_ops_by_default", "op_scheduling"]

#: TensorFlow's variable for the number of operations run side by side.
ENV_INTEROP = "TF_NUM_INTEROP_THREADS"


def serial_ops_by_default() -> None:
    """Ask TensorFlow to run one operation at a time, unless the user chose otherwise.

    Effective only before TensorFlow creates its thread pools (its first
    operation); :mod:`cifar_edu` calls it on import.
    """
    os.environ.setdefault(ENV_INTEROP, "1")


def op_scheduling() -> dict[str, Any]:
    """How TensorFlow schedules operations in this process.

    Returns
    -------
    dict
        ``inter_op_threads``: operations run side by side (0: TensorFlow's
        choice, one per core); ``source``: where that came from; ``serial``:
        whether operations run one at a time, which makes runs on the same
        machine repeat bit for bit.
    """
    import tensorflow as tf

    threads = tf.config.threading.get_inter_op_parallelism_threads()
    source = "tf.config.threading"
    if not threads:
        value = os.environ.get(ENV_INTEROP, "")
        threads = int(value) if value.strip().isdigit() else 0
        source = f"${ENV_INTEROP}" if value else "TensorFlow's default"
    return {"inter_op_threads": threads, "source": source, "serial": threads == 1}
