"""Benchmarks of record, saved in ``assets/results/benchmarks/`` with their provenance,
and read back without importing TensorFlow."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from cifar_edu.benchmark.inference_speed import DEFAULT_BATCH_SIZES
from cifar_edu.errors import CifarEduError

__all__ = ["BENCHMARKS_FOLDER", "BENCHMARK_COMMANDS", "benchmarks_dir", "list_benchmarks",
           "load_benchmark", "describe_benchmark"]

#: Sub-folder of the results folder holding benchmark files (``<name>.json``).
BENCHMARKS_FOLDER = "benchmarks"


#: The commands that make the shipped benchmark files (``{out}`` is the file to write).
BENCHMARK_COMMANDS = {
    "train_fast90": "cifar-edu benchmark train --recipe fast90 --seeds 3 --data full --out {out}",
    "train_muon94": "cifar-edu benchmark train --recipe muon94 --seeds 3 --data full --out {out}",
    "inference_pretrained": "cifar-edu benchmark inference --model pretrained --precision "
                            "float32 mixed_bfloat16 --batch-sizes "
                            + " ".join(str(b) for b in DEFAULT_BATCH_SIZES) + " --out {out}",
    "inference_pretrained_int8": "cifar-edu benchmark inference --model pretrained-int8 "
                                 "--batch-sizes " + " ".join(str(b) for b in DEFAULT_BATCH_SIZES)
                                 + " --out {out}",
}


def benchmarks_dir() -> Path:
    """Folder of saved benchmark files: ``benchmarks/`` in :func:`cifar_edu.results.results_dir`.

    ``$CIFAR_EDU_RESULTS_DIR`` moves it along with the other saved results.
    """
    from cifar_edu.results import results_dir

    return results_dir() / BENCHMARKS_FOLDER


def _make_command(name: str) -> str:
    template = BENCHMARK_COMMANDS.get(name)
    if template is None:
        template = ("cifar-edu benchmark inference --model MODEL --batch-sizes 1 8 32 128 512 1000"
                    " --out {out}" if name.startswith("inference") else
                    "cifar-edu benchmark train --recipe RECIPE --seeds 3 --data full --out {out}")
    return template.format(out=f"{benchmarks_dir()}/{name}.json")


def list_benchmarks(*, directory: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the saved benchmarks (``<name>.json`` files), sorted."""
    folder = Path(directory) if directory is not None else benchmarks_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if p.is_file())


def load_benchmark(name: str, *, directory: str | os.PathLike[str] | None = None
                   ) -> dict[str, Any]:
    """Load a saved benchmark result by name (no TensorFlow needed).

    Parameters
    ----------
    name : str
        Its name, e.g. ``"train_fast90"`` (``cifar-edu benchmark train``) or
        ``"inference_pretrained"`` (``cifar-edu benchmark inference``).
    directory : path-like, optional
        Folder of the benchmark files; default :func:`benchmarks_dir`.

    Returns
    -------
    dict
        The JSON written by ``cifar-edu benchmark ... --out``: a training benchmark
        has ``recipes`` (see :func:`run_benchmark`), an inference benchmark ``runs``
        (see :func:`run_inference_benchmark`); both describe the machine.

    Raises
    ------
    CifarEduError
        No such file (the message names the command that makes it), or an
        unreadable one.
    """
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name):
        raise CifarEduError(f"{name!r} is not a benchmark name; use letters, digits, '_', '-' "
                            "or '.' (for example 'train_fast90')")
    folder = Path(directory) if directory is not None else benchmarks_dir()
    path = folder / f"{name}.json"
    if not path.is_file():
        saved = list_benchmarks(directory=folder)
        raise CifarEduError(
            f"no saved benchmark {name!r} in {folder}; make it with `{_make_command(name)}`"
            + (f" (saved benchmarks: {', '.join(saved)})" if saved else ""))
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CifarEduError(f"the saved benchmark {path} is unreadable ({exc}); make it again "
                            f"with `{_make_command(name)}`") from None
    if not isinstance(result, dict) or not ("recipes" in result or "runs" in result):
        raise CifarEduError(f"{path} is not a benchmark result of `cifar-edu benchmark`; make "
                            f"it again with `{_make_command(name)}`")
    return result


def _train_command(result: dict[str, Any]) -> str:
    recipes = [r.get("recipe", "?") for r in result.get("recipes", [])]
    seeds = max((r.get("seeds", 1) for r in result.get("recipes", [])), default=1)
    data = "sample" if "sample" in str(result.get("data", "")) else "full"
    return (f"cifar-edu benchmark train --recipe {' '.join(recipes)} --seeds {seeds} "
            f"--data {data}")


def describe_benchmark(result: dict[str, Any]) -> str:
    """One sentence of provenance: what was measured, on which machine, with what, when, how.

    Parameters
    ----------
    result : dict
        A benchmark result (:func:`load_benchmark`, :func:`run_benchmark` or
        :func:`run_inference_benchmark`).

    Returns
    -------
    str
        For example "Recipe fast90 (3 seeds, each from a cold start) was trained
        on CIFAR-10 (offline rebuild) on AMD EPYC (2 CPUs, no GPU) with Python
        3.11.7, TensorFlow 2.21.0, Keras 3.15.1 and cifar-edu 0.1.0, on
        2026-11-24; regenerate it with `cifar-edu benchmark train ...`." The
        command is the one recorded in the result (reconstructed when missing).
    """
    machine = result.get("machine") or {}
    cpus = machine.get("cpus_usable") or machine.get("cpu_count")
    gpus = ", ".join(machine.get("gpus") or []) or "no GPU"
    where = f"{machine.get('cpu', 'an unrecorded CPU')} ({cpus or '?'} CPUs, {gpus})"
    v = result.get("versions") or {}
    names = (("python", "Python"), ("tensorflow", "TensorFlow"), ("keras", "Keras"),
             ("cifar-edu", "cifar-edu"))
    parts = [f"{label} {v[key]}" for key, label in names if v.get(key)]
    versions = (", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1
                else "".join(parts)) or "unrecorded versions"
    date = str(result.get("created") or "an unrecorded date")[:10]
    command = result.get("command")
    if "recipes" in result:
        recipes = result["recipes"]
        names_text = ", ".join(r.get("recipe", "?") for r in recipes)
        seeds = max((r.get("seeds", 1) for r in recipes), default=1)
        what = (f"Recipe{'s' if len(recipes) > 1 else ''} {names_text} ({seeds} seed"
                f"{'s' if seeds != 1 else ''}, each from a cold start) "
                f"{'were' if len(recipes) > 1 else 'was'} trained on "
                f"{result.get('data', 'unrecorded data')}")
        command = command or _train_command(result)
    else:
        policies = [str(r.get("precision", "?")) + (" with XLA" if r.get("jit_compile") else "")
                    for r in result.get("runs", [])]
        precisions = (", ".join(policies[:-1]) + f" and {policies[-1]}" if len(policies) > 1
                      else "".join(policies)) or "an unrecorded precision"
        model = result.get("model", "?")
        model_text = {"pretrained": "the shipped model",
                      "pretrained-int8": "the shipped model's 8-bit integer copy"}.get(
                          model, f"the model {model}")
        what = f"The prediction speed of {model_text} was measured in {precisions}"
        command = command or "cifar-edu benchmark inference --model pretrained"
    return (f"{what} on {where} with {versions}, on {date}; regenerate it with "
            f"`{command}`.")
