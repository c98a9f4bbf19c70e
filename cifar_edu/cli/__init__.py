"""The ``cifar-edu`` command line: the outermost face of the package.

Each sub-command lives in its own ``*_cmd`` module with a ``register`` function;
nothing in the core package imports from here.
"""

from cifar_edu.cli.main import main

__all__ = ["main"]
