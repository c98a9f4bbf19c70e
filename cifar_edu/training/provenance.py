"""What a run was made from: command, data, seed, code version, software and hardware.

``provenance.json`` lets anyone see how a model was trained and re-run it:
the command line, the recipe, the data source with the SHA-256 of every file,
the seed, the git commit of the code, the package versions, the CPU/GPU, the
precision policy and the wall time of every epoch.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from cifar_edu.data import CifarData, source_checksums
from cifar_edu.reproducibility import op_scheduling

__all__ = ["PACKAGES", "git_commit", "package_versions", "hardware", "data_provenance",
           "collect_provenance", "utc_now"]

#: Packages whose versions are recorded.
PACKAGES = ("cifar-edu", "tensorflow", "keras", "numpy", "scikit-learn")


def utc_now() -> str:
    """The current time as an ISO 8601 string in UTC."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def git_commit(path: str | os.PathLike[str] | None = None) -> str | None:
    """The git commit of the source tree (with ``-dirty`` if it has changes), or None."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain",
                                "--untracked-files=no"],
                               cwd=where, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None  # not a git checkout (an installed wheel), or no git
    return commit + ("-dirty" if dirty else "") if commit else None


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``packages`` (None for a missing one)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict[str, Any]:
    """CPU model and core count, memory and GPUs of this machine."""
    import tensorflow as tf

    info: dict[str, Any] = {"platform": platform.platform(), "cpu": _cpu_model(),
                            "cpu_count": os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gb"] = round(pages * page_size / 1e9, 1)
    except (ValueError, OSError, AttributeError):
        pass
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        gpus.append(details.get("device_name", device.name))
    info["gpus"] = gpus
    return info


def data_provenance(data: CifarData, checksums: bool = True) -> dict[str, Any]:
    """The data source, its sizes and (optionally) the SHA-256 of its files."""
    record: dict[str, Any] = {
        "kind": data.source.kind,
        "location": data.source.location,
        "description": data.source.description,
        "offline_rebuild": data.source.offline_rebuild,
        "num_train": int(len(data.y_train)),
        "num_test": int(len(data.y_test)),
        "num_exact_test": int(len(data.exact_test()[1])),
    }
    if checksums:
        record["sha256"] = source_checksums(data.source)
    return record


def collect_provenance(*, recipe: dict[str, Any], data: CifarData, seed: int | None,
                       precision: dict[str, str], command: list[str] | None = None,
                       extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything :func:`cifar_edu.training.train` records about a run (before timings)."""
    return {
        "command": command if command is not None else [os.path.basename(sys.argv[0]),
                                                        *sys.argv[1:]],
        "recipe": recipe,
        "seed": seed,
        "data": data_provenance(data),
        "precision": precision,
        "op_scheduling": op_scheduling(),
        "git_commit": git_commit(),
        "versions": package_versions(),
        "hardware": hardware(),
        "created": utc_now(),
        **(extra or {}),
    }
