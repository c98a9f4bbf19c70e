"""TensorFlow's C++ start-up lines stay out of the output; Python errors do not."""

from __future__ import annotations

import os
import subprocess
import sys


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_importing_tensorflow_after_cifar_edu_prints_nothing():
    proc = _run("import cifar_edu, keras, tensorflow as tf; print(int(tf.constant(2) + 1))")
    assert proc.returncode == 0 and proc.stdout.strip() == "3"
    assert "oneDNN" not in proc.stderr and "cuda" not in proc.stderr.lower()


def test_stderr_works_again_after_the_import():
    proc = _run("import sys, cifar_edu, tensorflow; print('still here', file=sys.stderr)")
    assert "still here" in proc.stderr


def test_import_of_cifar_edu_does_not_load_tensorflow():
    proc = _run("import sys, cifar_edu, cifar_edu.data, cifar_edu.widgets; "
                "print('tensorflow' in sys.modules)")
    assert proc.stdout.strip() == "False"
