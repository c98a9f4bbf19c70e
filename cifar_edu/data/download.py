"""Downloading the official CIFAR-10 archive once into a cache folder.

The archive is streamed to a temporary ``.part`` file while its SHA-256 is
computed, checked against the published checksum, and only then renamed and
extracted. Extraction also goes to a temporary folder that is renamed into
place, so the cache either holds a complete, verified dataset or nothing.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from cifar_edu.data.cifar_format import ALL_FILES
from cifar_edu.errors import DownloadError
from cifar_edu.fileio import sha256_file

__all__ = ["ARCHIVE_URL", "ARCHIVE_SHA256", "ARCHIVE_SIZE", "cache_dir", "cached_dataset_dir",
           "fetch"]

ARCHIVE_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
ARCHIVE_SIZE = 170_498_071
DATASET_DIRNAME = "cifar-10-batches-py"


def cache_dir() -> Path:
    """Folder where downloads are kept: ``$CIFAR_EDU_CACHE``, else ``~/.cache/cifar-edu``."""
    explicit = os.environ.get("CIFAR_EDU_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cifar-edu"


def cached_dataset_dir() -> Path | None:
    """The extracted dataset in the cache, or ``None`` if it has not been fetched."""
    folder = cache_dir() / DATASET_DIRNAME
    if all((folder / name).is_file() for name in ALL_FILES):
        return folder
    return None


def _progress(done: int, total: int, start: float) -> None:
    total = total if total > 0 else ARCHIVE_SIZE  # servers may omit Content-Length
    finished = done >= total
    if not finished and not sys.stderr.isatty():
        return  # a log file gets only the final line
    width = 30
    frac = min(done / total, 1.0)
    bar = "#" * int(frac * width)
    rate = done / max(time.monotonic() - start, 1e-6) / 1e6
    print(f"\rdownloading CIFAR-10 [{bar:<{width}}] {frac:6.1%} {rate:5.1f} MB/s",
          end="\n" if finished else "\r", file=sys.stderr, flush=True)


def _download(url: str, target: Path, sha256: str, timeout: float) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "cifar-edu"})
            with urllib.request.urlopen(request, timeout=timeout) as response, \
                    os.fdopen(fd, "wb") as out:
                total = int(response.headers.get("Content-Length") or -1)
                done, start = 0, time.monotonic()
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    _progress(done, total, start)
                out.flush()
                os.fsync(out.fileno())
        except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(
                f"could not download CIFAR-10 from {url} ({reason}). Check your internet "
                "connection and try again, or download cifar-10-python.tar.gz yourself, extract it "
                "and set CIFAR10_DIR to the cifar-10-batches-py folder."
            ) from None
        if total >= 0 and done != total:
            raise DownloadError(
                f"could not download CIFAR-10 from {url}: the transfer stopped after {done:,} of "
                f"{total:,} bytes. Check your internet connection and run `cifar-edu data fetch` "
                "again, or set CIFAR10_DIR to an extracted cifar-10-batches-py folder."
            )
        if digest.hexdigest() != sha256:
            raise DownloadError(
                f"checksum mismatch for the download from {url}: expected SHA-256 {sha256}, got "
                f"{digest.hexdigest()}. The file was discarded; try `cifar-edu data fetch` again."
            )
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _extract(archive: Path, destination: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".extract.", dir=destination.parent))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                # The 'data' filter refuses absolute paths, links out of the tree, devices.
                tar.extractall(staging, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DownloadError(f"the archive {archive} is corrupt ({exc}); delete it and run "
                                "`cifar-edu data fetch` again.") from None
        extracted = staging / DATASET_DIRNAME
        missing = [n for n in ALL_FILES if not (extracted / n).is_file()]
        if missing:
            raise DownloadError(f"the archive {archive} lacks {', '.join(missing)}; delete it "
                                "and run `cifar-edu data fetch` again.")
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(extracted, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fetch(*, url: str = ARCHIVE_URL, sha256: str = ARCHIVE_SHA256, timeout: float = 30.0,
          force: bool = False) -> Path:
    """Download and extract the official archive into :func:`cache_dir` (once).

    Parameters
    ----------
    url, sha256 : str
        Where to download from and the checksum the archive must have.
    timeout : float
        Seconds to wait for the server before giving up.
    force : bool
        Download again even if the dataset is cached.

    Returns
    -------
    Path
        The extracted ``cifar-10-batches-py`` folder.

    Raises
    ------
    DownloadError
        No network, a checksum mismatch or a corrupt archive; nothing is left behind
        that could be mistaken for a valid dataset.
    """
    cached = cached_dataset_dir()
    if cached is not None and not force:
        return cached
    root = cache_dir()
    archive = root / "cifar-10-python.tar.gz"
    if force or not archive.is_file() or sha256_file(archive) != sha256:
        _download(url, archive, sha256, timeout)
    _extract(archive, root / DATASET_DIRNAME)
    return root / DATASET_DIRNAME
