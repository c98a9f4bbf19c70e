"""Keep TensorFlow's C++ start-up chatter out of notebooks and terminals.

When TensorFlow loads, its C++ core prints lines such as "oneDNN custom operations
are on" and "Could not find cuda drivers" *before* its logging is configured, so
``TF_CPP_MIN_LOG_LEVEL`` cannot hide them; in a notebook they land in the output of
whichever cell first imports TensorFlow. :func:`install` adds an import hook that
sends file descriptor 2 to /dev/null while TensorFlow loads and enumerates its
devices, and only then. Python exceptions are unaffected. Set
``CIFAR_EDU_SHOW_TF_STARTUP=1`` to see the lines again.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Iterator
from types import ModuleType

__all__ = ["install", "stderr_silenced"]


@contextlib.contextmanager
def stderr_silenced() -> Iterator[None]:
    """Redirect file descriptor 2 (C and C++ stderr) to /dev/null for the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with stderr_silenced():
            self._loader.exec_module(module)
            # Device discovery prints its own lines (CUDA probing); do it now, quietly.
            config = getattr(module, "config", None)
            if config is not None:
                config.list_physical_devices()


class _QuietFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):  # noqa: D102 - importlib API
        if fullname != "tensorflow":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Install the hook once, unless TensorFlow is already loaded or the user opted out."""
    if "tensorflow" in sys.modules or os.environ.get("CIFAR_EDU_SHOW_TF_STARTUP"):
        return
    if not any(isinstance(finder, _QuietFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
