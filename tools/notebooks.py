"""Notebook tooling of the course: keep lessons output-free, record and check key outputs.

Committed notebooks carry no outputs. The few outputs that CI compares (cells marked
``# NBVAL_CHECK_OUTPUT``) are recorded in quick mode and kept in the cell's metadata
under ``"nbval_expected"``; ``prepare`` turns them back into outputs in a copy that
``pytest --nbval-lax`` compares.

Usage (from the repository root, with the project's environment)::

    python tools/notebooks.py strip lessons            # clear outputs and execution counts
    python tools/notebooks.py check lessons            # exit 1 if any notebook has outputs
    python tools/notebooks.py record lessons/01_dataset.ipynb   # run in quick mode, keep checked outputs
    python tools/notebooks.py prepare _build/nbval lessons      # copies for nbval, expectations as outputs
    python tools/notebooks.py toc                      # rewrite _toc.yml from the notebooks present
    python tools/notebooks.py toc --check              # exit 1 if _toc.yml is out of date
    python tools/notebooks.py book-cache BUILD_DIR     # before a book build (see book_cache)
    python tools/notebooks.py book-cache --record BUILD_DIR    # after a successful one

A PATH may be a notebook or a folder (every ``*.ipynb`` below it). Only the standard
library, nbformat and nbclient are used. Checked cells are compared on what they print
to stdout and on their ``text/plain`` results; stderr (logs, warnings) is not compared.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import nbformat

from cifar_edu.exercises import NOTEBOOK_PATTERN

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = "lessons"
CHECK_MARKER = "NBVAL_CHECK_OUTPUT"
CHECK_TAG = "nbval-check-output"
EXPECTED_KEY = "nbval_expected"
WIDGET_STATE_KEY = "widgets"
# Lessons, exercises and solutions share one naming rule: NN_name.ipynb.
LESSON_PATTERN = NOTEBOOK_PATTERN
# Data of checked outputs that nbval does not compare (pytest --nbval-lax without
# --nbdime skips images and widget views); anything else but text/plain would differ.
UNCOMPARED_MIME = {"image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json"}

# The book's pages around the lessons; `toc` writes them in this order.
BOOK_ROOT = "book/intro"
BOOK_PARTS_BEFORE = [("Getting started", ["book/running"])]
BOOK_PARTS_AFTER = [("Reference", ["book/glossary", "book/references"])]
LESSONS_CAPTION = "Lessons"
# Exercises (generated from their solutions by `cifar-edu exercises build`) follow the
# lessons, introduced by their index page; the solutions come in a part of their own.
EXERCISES_DIR = "exercises"
SOLUTIONS_DIR = "solutions"
EXERCISES_PAGE = "book/exercises"
EXERCISES_CAPTION = "Exercises"
SOLUTIONS_CAPTION = "Solutions"


# Written next to the copies by `prepare`. nbval compares stderr like stdout, but stderr
# carries logs (TensorFlow's C++ start-up lines, with timestamps) that differ between runs
# and machines: checked cells are compared on stdout and their results only.
NBVAL_CONFTEST = '''"""Written by tools/notebooks.py prepare: nbval ignores stderr (logs differ per run)."""

import nbval.plugin

_transform = nbval.plugin.transform_streams_for_comparison


def _without_stderr(outputs):
    return _transform([out for out in outputs
                       if not (out.get("output_type") == "stream" and out.get("name") == "stderr")])


nbval.plugin.transform_streams_for_comparison = _without_stderr
'''


class NotebookToolError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


# --------------------------------------------------------------------------- finding


def find_notebooks(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted list of notebooks (no checkpoints, no duplicates)."""
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.update(p for p in path.rglob("*.ipynb")
                         if ".ipynb_checkpoints" not in p.parts)
        elif path.suffix == ".ipynb" and path.is_file():
            found.add(path)
        else:
            raise NotebookToolError(f"{raw}: not a notebook or a folder; give .ipynb files or folders")
    return sorted(found)


def numbered_notebooks(folder: Path) -> list[Path]:
    """The notebooks ``NN_name.ipynb`` in ``folder``, in course order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if LESSON_PATTERN.match(p.name))


def lesson_paths(root: Path = ROOT) -> list[Path]:
    """The lessons present, ``lessons/NN_name.ipynb``, in course order."""
    return numbered_notebooks(root / LESSONS_DIR)


def exercise_paths(root: Path = ROOT) -> list[Path]:
    """The exercises present, ``exercises/NN_name.ipynb``, in course order."""
    return numbered_notebooks(root / EXERCISES_DIR)


def solution_paths(root: Path = ROOT) -> list[Path]:
    """The solutions present, ``solutions/NN_name.ipynb``, in course order."""
    return numbered_notebooks(root / SOLUTIONS_DIR)


def read(path: Path) -> nbformat.NotebookNode:
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several types for a broken file
        raise NotebookToolError(f"{path}: cannot be read as a notebook ({exc})") from exc


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write like Jupyter does (indent 1, final newline), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- cells


def is_checked(cell: nbformat.NotebookNode) -> bool:
    """True if nbval compares this code cell's outputs (same rules as nbval: comment or tag)."""
    if cell.cell_type != "code":
        return False
    for line in cell.source.splitlines():
        line = line.strip()
        if line.startswith("#") and line.lstrip("#").strip() == CHECK_MARKER:
            return True
    return CHECK_TAG in cell.get("metadata", {}).get("tags", [])


def strip(nb: nbformat.NotebookNode) -> bool:
    """Clear outputs, execution counts and saved widget state in place; True if anything changed."""
    changed = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            cell.outputs = []
            changed = True
        if cell.get("execution_count") is not None:
            cell.execution_count = None
            changed = True
    if WIDGET_STATE_KEY in nb.metadata:
        del nb.metadata[WIDGET_STATE_KEY]
        changed = True
    return changed


def output_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What a committed notebook must not have: outputs, execution counts, widget state."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {index} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {index} has an execution count")
    if WIDGET_STATE_KEY in nb.metadata:
        problems.append("notebook metadata has saved widget state")
    return problems


def missing_expectations(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of checked cells without recorded expected outputs."""
    return [i for i, cell in enumerate(nb.cells)
            if is_checked(cell) and not isinstance(cell.metadata.get(EXPECTED_KEY), list)]


def expected_outputs(outputs: Sequence[dict], where: str) -> list[dict]:
    """The comparable text of a cell's outputs: streams (merged by name) and ``text/plain``."""
    kept: list[dict] = []
    for out in outputs:
        kind = out["output_type"]
        if kind == "error":
            raise NotebookToolError(f"{where} raised {out['ename']}: {out['evalue']}; fix it first")
        if kind == "stream":
            if out["name"] == "stderr":
                continue  # logs and warnings differ between runs; see NBVAL_CONFTEST
            if kept and kept[-1]["output_type"] == "stream" and kept[-1]["name"] == out["name"]:
                kept[-1]["text"] += out["text"]
            else:
                kept.append({"output_type": "stream", "name": out["name"], "text": out["text"]})
            continue
        other = set(out.get("data", {})) - UNCOMPARED_MIME - {"text/plain"}
        if other:
            raise NotebookToolError(
                f"{where} shows {sorted(other)}, which nbval would compare but is not recorded; "
                "print plain text in a checked cell")
        if "text/plain" not in out.get("data", {}):
            continue
        entry = {"output_type": kind, "data": {"text/plain": out["data"]["text/plain"]},
                 "metadata": {}}
        if kind == "execute_result":
            entry["execution_count"] = None
        kept.append(entry)
    return kept


# --------------------------------------------------------------------------- commands


def strip_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Strip every notebook in ``paths``; return the ones that changed."""
    changed = []
    for path in find_notebooks(paths):
        nb = read(path)
        if strip(nb):
            write(nb, path)
            changed.append(path)
    return changed


def check_paths(paths: Iterable[str | Path]) -> dict[Path, list[str]]:
    """Problems per notebook that is not clean (empty when all are)."""
    report = {}
    for path in find_notebooks(paths):
        problems = output_problems(read(path))
        if problems:
            report[path] = problems
    return report


def record(path: Path, *, timeout: int = 600) -> int:
    """Execute ``path`` in quick mode and keep the outputs of its checked cells in metadata.

    The notebook runs in its own folder with the ``python3`` kernel of the current
    environment. It is saved without outputs; returns the number of checked cells.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = read(path)
    executed = copy.deepcopy(nb)
    strip(executed)
    # Quick mode is what CI compares against; the kernel inherits this environment.
    os.environ["CIFAR_EDU_MODE"] = "quick"
    client = NotebookClient(executed, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    try:
        client.execute()
    except CellExecutionError as exc:
        raise NotebookToolError(f"{path}: a cell failed in quick mode:\n{exc}") from exc

    n_checked = 0
    for index, (cell, ran) in enumerate(zip(nb.cells, executed.cells)):
        if cell.cell_type != "code":
            continue
        if is_checked(cell):
            where = f"{path} cell {index}"
            cell.metadata[EXPECTED_KEY] = expected_outputs(ran.outputs, where)
            n_checked += 1
        else:
            cell.metadata.pop(EXPECTED_KEY, None)
    strip(nb)
    write(nb, path)
    return n_checked


def prepare(outdir: Path, paths: Iterable[str | Path], *, base: Path | None = None) -> list[Path]:
    """Write copies for ``pytest --nbval-lax`` with each checked cell's expectation as its outputs.

    Copies keep their path relative to ``base`` (the current folder) under ``outdir``;
    stale copies of notebooks that no longer exist are removed.
    """
    base = (base or Path.cwd()).resolve()
    outdir = Path(outdir)
    notebooks = {path: read(path) for path in find_notebooks(paths)}
    unrecorded = {path: missing_expectations(nb) for path, nb in notebooks.items()}
    unrecorded = {path: cells for path, cells in unrecorded.items() if cells}
    if unrecorded:
        listing = "; ".join(f"{path} cells {cells}" for path, cells in unrecorded.items())
        raise NotebookToolError(
            f"marked {CHECK_MARKER} but no recorded expectation: {listing}; run "
            f"`python tools/notebooks.py record {' '.join(map(str, unrecorded))}`")
    written = []
    for path, nb in notebooks.items():
        strip(nb)
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        for count, cell in enumerate(code_cells, start=1):
            if is_checked(cell):
                # nbval only compares cells that look run: they need an execution count.
                cell.execution_count = count
                cell.outputs = [nbformat.from_dict(o) for o in cell.metadata[EXPECTED_KEY]
                                if o.get("name") != "stderr"]
                for out in cell.outputs:
                    if out.output_type == "execute_result":
                        out.execution_count = count
        resolved = path.resolve()
        rel = resolved.relative_to(base) if resolved.is_relative_to(base) else Path(path.name)
        target = outdir / rel
        write(nb, target)
        written.append(target)
    keep = {p.resolve() for p in written}
    outdir.mkdir(parents=True, exist_ok=True)
    for stale in outdir.rglob("*.ipynb"):
        if stale.resolve() not in keep:
            stale.unlink()
    (outdir / "conftest.py").write_text(NBVAL_CONFTEST)
    return written


def render_toc(root: Path = ROOT) -> str:
    """The text of ``_toc.yml``: the book pages and every lesson, exercise and solution present."""
    parts = list(BOOK_PARTS_BEFORE)
    lessons = [f"{LESSONS_DIR}/{p.stem}" for p in lesson_paths(root)]
    if lessons:
        parts.append((LESSONS_CAPTION, lessons))
    exercises = [f"{EXERCISES_DIR}/{p.stem}" for p in exercise_paths(root)]
    if exercises:
        parts.append((EXERCISES_CAPTION, [EXERCISES_PAGE] + exercises))
    solutions = [f"{SOLUTIONS_DIR}/{p.stem}" for p in solution_paths(root)]
    if solutions:
        parts.append((SOLUTIONS_CAPTION, solutions))
    parts += BOOK_PARTS_AFTER
    lines = [
        "# Written by `python tools/notebooks.py toc` from the lessons, exercises and solutions",
        "# present; do not edit by hand (the book pages are listed in tools/notebooks.py).",
        "# tests/test_repository.py checks it.",
        "format: jb-book",
        f"root: {BOOK_ROOT}",
        "parts:",
    ]
    for caption, files in parts:
        lines += [f"  - caption: {caption}", "    chapters:"]
        lines += [f"      - file: {name}" for name in files]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- command line


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notebooks.py", description="Keep the lessons output-free; record and check key outputs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("strip", help="clear outputs, execution counts and widget state")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p = sub.add_parser("check", help="exit 1 listing notebooks with outputs or execution counts")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p = sub.add_parser("record", help="run in quick mode; keep outputs of checked cells in metadata")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    p = sub.add_parser("prepare", help="copies for pytest --nbval-lax with expectations as outputs")
    p.add_argument("outdir", metavar="OUTDIR")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p = sub.add_parser("toc", help="rewrite _toc.yml from the lessons, exercises and solutions "
                                   "present")
    p.add_argument("--check", action="store_true", help="only check; exit 1 if it is out of date")
    p = sub.add_parser("book-cache", help="before a book build: print --all and clear the "
                       "cached executions if cifar_edu changed since the last build")
    p.add_argument("build_dir", metavar="BUILD_DIR", help="the book's --path-output")
    p.add_argument("--record", action="store_true",
                   help="after a successful build: remember the package's fingerprint")
    return parser


PACKAGE_DIR = "cifar_edu"
FINGERPRINT_FILE = ".package-fingerprint"


def package_fingerprint(root: Path = ROOT) -> str:
    """SHA-256 over the package's files (code and shipped assets), paths included."""
    digest = hashlib.sha256()
    for path in sorted((root / PACKAGE_DIR).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def book_cache(build_dir: Path, record: bool = False, root: Path = ROOT) -> str:
    """Keep a book's cached notebook executions in step with the package.

    jupyter-cache reuses an execution while the notebook's code cells are unchanged,
    but the lessons' outputs also depend on ``cifar_edu`` (its code, saved results and
    model). Before a build: if the package changed since the last successful build into
    ``build_dir``, delete the cache and return ``"--all"`` (so that Sphinx re-reads every
    page too), else ``""``. With ``record``, after a successful build: store the
    package's fingerprint.
    """
    sphinx_dir = build_dir / "_build"
    stamp = sphinx_dir / FINGERPRINT_FILE
    fingerprint = package_fingerprint(root)
    if record:
        sphinx_dir.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_name(stamp.name + ".tmp")
        tmp.write_text(fingerprint + "\n")
        os.replace(tmp, stamp)
        return ""
    if stamp.is_file() and stamp.read_text().strip() == fingerprint:
        return ""
    shutil.rmtree(sphinx_dir / ".jupyter_cache", ignore_errors=True)
    stamp.unlink(missing_ok=True)
    return "--all"


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "strip":
            for path in strip_paths(args.paths):
                print(f"stripped {path}")
        elif args.command == "check":
            report = check_paths(args.paths)
            for path, problems in report.items():
                print(f"{path}: {'; '.join(problems)}")
            if report:
                print("clear them with `python tools/notebooks.py strip PATH`", file=sys.stderr)
                return 1
        elif args.command == "record":
            for path in find_notebooks(args.paths):
                n = record(path, timeout=args.timeout)
                print(f"recorded {n} checked cell(s) of {path}")
        elif args.command == "prepare":
            written = prepare(Path(args.outdir), args.paths)
            print(f"prepared {len(written)} notebook(s) in {args.outdir}")
        elif args.command == "book-cache":
            print(book_cache(Path(args.build_dir), record=args.record))
        elif args.command == "toc":
            toc, text = ROOT / "_toc.yml", render_toc()
            current = toc.read_text() if toc.exists() else ""
            if args.check:
                if current != text:
                    print("_toc.yml is out of date; run `python tools/notebooks.py toc`")
                    return 1
            elif current != text:
                tmp = toc.with_name(".{}.tmp".format(toc.name))
                tmp.write_text(text)
                os.replace(tmp, toc)
                print("wrote _toc.yml")
    except NotebookToolError as exc:
        print(f"notebooks.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
