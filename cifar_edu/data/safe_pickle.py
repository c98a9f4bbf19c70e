"""A restricted unpickler for the CIFAR-10 batch files.

The official CIFAR-10 files are Python pickles, and ``pickle.load`` on an
untrusted file can run arbitrary code. A dataset folder that a learner points
the loader at must not be able to do that, so we only admit the handful of
globals a CIFAR batch needs to rebuild its numpy arrays, and refuse everything
else *before* it is called.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from cifar_edu.errors import DataError, UnsafePickleError

__all__ = ["safe_load", "ALLOWED_GLOBALS"]

# (module, name) pairs a CIFAR-10 batch file may reference. Written by Python 2
# with numpy 1.x, the files name ``numpy.core.multiarray``; numpy 2 moved it to
# ``numpy._core.multiarray``, so both spellings map to the same function. Copies
# re-pickled by Python 3 also use ``_codecs.encode`` for raw bytes.
try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]



def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(str, "latin1");
    # admit exactly that, not arbitrary codec look-ups.
    if encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"refused to decode bytes with codec {encoding!r}")
    return text.encode("latin1")


ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("_codecs", "encode"): _latin1_encode,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _CifarUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:  # noqa: D102 - pickle API
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refused to load '{module}.{name}': a CIFAR-10 file only contains numpy arrays, "
                "so this file is not a genuine CIFAR-10 batch and may be malicious"
            ) from None


def safe_load(path: str | Path) -> Any:
    """Unpickle a CIFAR-10 batch file, admitting nothing but numpy arrays.

    Parameters
    ----------
    path : str or Path
        A file in the official python format (``data_batch_1`` ... ``test_batch``,
        ``batches.meta``).

    Returns
    -------
    object
        The unpickled dictionary, with ``bytes`` keys as in the originals.

    Raises
    ------
    UnsafePickleError
        The file references any global other than numpy array reconstruction.
    DataError
        The file is truncated or is not a pickle at all.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        return _CifarUnpickler(io.BytesIO(data), encoding="bytes").load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{path}: {exc}. Delete it and download CIFAR-10 again "
                                "(`cifar-edu data fetch`).") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError) as exc:
        raise DataError(
            f"{path} is truncated or corrupt ({type(exc).__name__}: {exc}). "
            "Delete the folder and download CIFAR-10 again (`cifar-edu data fetch`)."
        ) from None
