"""Small file helpers: atomic writes and checksums.

A file written with these helpers either has its complete new content or is not
touched at all: the content goes to a temporary file in the same folder, is
flushed to disk and then renamed over the target (an atomic step on POSIX and
Windows). A crash or Ctrl-C never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from cifar_edu.errors import CifarEduError

__all__ = ["atomic_path", "atomic_open", "atomic_write_bytes", "atomic_write_json", "sha256_file",
           "replace_folder", "check_output_folder"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    Use this for writers that want a file *name* (``model.save``, ``fig.savefig``).
    If the block raises, the temporary file is removed and ``target`` is untouched.

    Parameters
    ----------
    target : path-like
        The final file.
    suffix : str, optional
        Suffix for the temporary name (some writers choose a format from it);
        defaults to the target's own suffix.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=(suffix or target.suffix) + ".tmp", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a normal file follows the umask
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing and rename it onto ``target`` when the block ends.

    Parameters
    ----------
    target : path-like
        The final file.
    mode : {"w", "wb"}
        Text or binary mode.
    **kwargs
        Passed to :func:`open` (for example ``encoding``).
    """
    if mode not in ("w", "wb"):
        raise ValueError("atomic_open supports the modes 'w' and 'wb' only")
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(target) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_open(target, "wb") as fh:
        fh.write(data)


def atomic_write_json(target: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``target`` atomically."""
    with atomic_open(target, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=False, default=_json_default)
        fh.write("\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays appear in metrics; JSON has no type for them.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks (constant memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def replace_folder(target: str | os.PathLike[str], files: Mapping[str, bytes]) -> Path:
    """Make ``target`` a folder holding exactly ``files`` (name -> content), atomically.

    The new folder is assembled next to ``target`` and renamed into place; an older
    folder is moved aside first and then removed, so a reader sees either the old
    files or the new ones, never a mix, and a failure leaves the old folder intact.
    The folder is world-readable (``0o755``), as shipped results must be.
    """
    target = Path(target)
    root = target.parent
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=root))
    try:
        for filename, raw in files.items():
            atomic_write_bytes(staging / filename, raw)
        os.chmod(staging, 0o755)  # mkdtemp makes 0700
        if target.exists():
            # A folder cannot be renamed onto a non-empty one: move the old one aside first.
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=root))
            old.rmdir()
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def check_output_folder(target: str | os.PathLike[str], own_names: set[str], what: str) -> Path:
    """The folder ``target`` if a command may write into it: missing, or holding only its files.

    Parameters
    ----------
    target : path-like
        The ``--out`` folder of a command that fills it over several steps.
    own_names : set of str
        Names the command itself writes there (a resumed run finds them).
    what : str
        What the folder holds, for the message (e.g. ``"an ablation's"``).

    Raises
    ------
    CifarEduError
        ``target`` is a file, or holds something else: nothing of the user's is overwritten.
    """
    folder = Path(target).expanduser()
    if folder.exists() and not folder.is_dir():
        raise CifarEduError(f"{folder} is a file; choose a folder for --out")
    if folder.is_dir():
        strangers = {p.name for p in folder.iterdir()} - set(own_names)
        if strangers:
            raise CifarEduError(f"{folder} holds files that are not {what} "
                                f"({', '.join(sorted(strangers)[:3])}); choose a new --out")
    return folder
