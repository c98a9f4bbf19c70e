"""Where CIFAR-10 comes from, and loading it from there.

A *source* is one of:

``"auto"`` (default)
    ``$CIFAR10_DIR`` if set, else the download cache if the dataset was fetched,
    else the shipped sample. Never downloads; always says which it used.
``"full"``
    The whole dataset: ``$CIFAR10_DIR``, else the cache, else download it now.
``"sample"``
    The small real sample shipped with the package (quick mode, tests).
a folder path
    Any folder in the official python layout.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cifar_edu.data import download
from cifar_edu.data.cifar_format import ALL_FILES, read_directory
from cifar_edu.data.sample import EXACT_ROWS, load_sample, sample_path
from cifar_edu.errors import DataError
from cifar_edu.fileio import sha256_file

__all__ = ["ENV_DIR", "DataSource", "CifarData", "resolve_source", "load_dataset",
           "source_checksums"]

ENV_DIR = "CIFAR10_DIR"
SOURCE_CHOICES = ("auto", "full", "sample")


@dataclass(frozen=True)
class DataSource:
    """Which dataset was loaded.

    Attributes
    ----------
    kind : {"directory", "cache", "sample"}
    location : str
        The folder, or the sample file.
    offline_rebuild : bool
        The folder is the project's offline rebuild, where only the first
        1,017 rows of each batch are byte-exact originals (detected from its
        placeholder file names). Always False for the real data and the sample.
    """

    kind: str
    location: str
    offline_rebuild: bool = False

    @property
    def description(self) -> str:
        """One human sentence naming the source."""
        if self.kind == "sample":
            return f"the small CIFAR-10 sample shipped with cifar-edu ({self.location})"
        what = "CIFAR-10 (offline rebuild)" if self.offline_rebuild else "CIFAR-10"
        where = "download cache" if self.kind == "cache" else "folder"
        return f"{what} from the {where} {self.location}"


@dataclass(frozen=True)
class CifarData:
    """The loaded dataset plus where it came from.

    Images are uint8 ``(N, 32, 32, 3)`` and labels uint8 ``(N, 1)``, as returned by
    ``keras.datasets.cifar10.load_data()``. The arrays are read-only because they
    are shared between calls; copy one before changing it.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: DataSource
    exact_test_index: np.ndarray = field(repr=False)

    def as_keras_tuple(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """``(x_train, y_train), (x_test, y_test)``, like Keras' loader."""
        return (self.x_train, self.y_train), (self.x_test, self.y_test)

    def exact_test(self) -> tuple[np.ndarray, np.ndarray]:
        """Test images whose pixels are byte-exact originals (all of them unless offline rebuild).

        Accuracy on these is the estimate of real test accuracy; on the full
        offline rebuild it is only a lower bound.
        """
        return self.x_test[self.exact_test_index], self.y_test[self.exact_test_index]


def _check_directory(path: Path, origin: str) -> Path:
    if not path.is_dir():
        raise DataError(f"{origin} {path} is not a folder. Point it at the extracted "
                        "cifar-10-batches-py folder, or run `cifar-edu data fetch` to download it.")
    missing = [n for n in ALL_FILES if not (path / n).is_file()]
    if missing:
        raise DataError(f"{origin} {path} lacks {', '.join(missing)}. Point it at the extracted "
                        "cifar-10-batches-py folder, or run `cifar-edu data fetch`.")
    return path


def resolve_source(source: str | os.PathLike[str] = "auto") -> tuple[str, Path]:
    """Decide where to load from, without reading the images.

    Returns
    -------
    kind, location : str, Path
        ``kind`` is ``"directory"``, ``"cache"`` or ``"sample"``.
    """
    if isinstance(source, os.PathLike) or str(source) not in SOURCE_CHOICES:
        text = os.fspath(source)
        if not text:
            raise DataError("empty data source; use 'auto', 'sample', 'full' or a folder path")
        return "directory", _check_directory(Path(text).expanduser().resolve(), "the data folder")
    if source == "sample":
        return "sample", sample_path()
    env = os.environ.get(ENV_DIR)
    if env:
        return "directory", _check_directory(Path(env).expanduser().resolve(), f"{ENV_DIR}=")
    cached = download.cached_dataset_dir()
    if cached is not None:
        return "cache", cached
    if source == "full":
        return "cache", download.fetch()
    return "sample", sample_path()


@functools.lru_cache(maxsize=2)
def _load(kind: str, location: str) -> CifarData:
    if kind == "sample":
        arrays = load_sample()
        x_train, y_train = arrays["x_train"], arrays["y_train"]
        x_test, y_test = arrays["x_test"], arrays["y_test"]
        rebuild = False
    else:
        train, test = read_directory(location)
        x_train, y_train = train.images, train.labels.reshape(-1, 1)
        x_test, y_test = test.images, test.labels.reshape(-1, 1)
        # The offline rebuild names its images "proxy_<batch>_<row>.png".
        rebuild = bool(test.filenames) and all(f.startswith("proxy_") for f in test.filenames[:10])
    exact = np.arange(min(EXACT_ROWS, len(y_test)) if rebuild else len(y_test))
    for array in (x_train, y_train, x_test, y_test, exact):
        array.flags.writeable = False
    return CifarData(x_train, y_train, x_test, y_test, DataSource(kind, location, rebuild), exact)


def load_dataset(source: str | os.PathLike[str] = "auto") -> CifarData:
    """Load CIFAR-10 from ``source`` (see the module docstring) with its provenance.

    Raises
    ------
    DataError
        A missing folder or file, a truncated or corrupt file, a file that is not
        a safe CIFAR-10 pickle, or a failed download; the message says what to do.
    """
    kind, location = resolve_source(source)
    return _load(kind, str(location))


def source_checksums(data_source: DataSource) -> dict[str, str]:
    """SHA-256 of every file the source was read from (for provenance records)."""
    location = Path(data_source.location)
    if data_source.kind == "sample":
        return {location.name: sha256_file(location)}
    return {name: sha256_file(location / name) for name in ALL_FILES}
