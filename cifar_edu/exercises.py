"""Exercises generated from their solutions: ``solutions/NN_name.ipynb`` -> ``exercises/``.

The solution notebooks are the source of truth. What the learner must write is
marked in them, and :func:`build_exercises` writes each exercise with those parts
replaced by a placeholder and everything else identical (outputs stripped):

* a cell tagged ``solution``: a code cell keeps its leading comment lines (the
  task) followed by ``# Your code here``; a markdown cell becomes
  ``*Write your answer here.*``;
* a block of lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION``: replaced
  by one ``# Your code here`` line with the indentation of ``# BEGIN SOLUTION``
  (inside a function, keep a docstring above the block so the body stays valid
  Python; the placeholder function then returns None, which the checks read as
  "not done yet");
* one line ending in ``# SOLUTION``: an assignment ``name = <expression>``
  becomes ``name = None  # Your code here`` (``a, b = ...`` becomes
  ``a, b = None, None``); any other line becomes ``# Your code here``;
* a cell tagged ``solution-only`` (e.g. "this is the solution") is left out.

The output is deterministic: the same solution always gives byte-identical
exercises, written like Jupyter writes notebooks (``nbformat``, indent 1), so CI
can regenerate them and fail on any difference (``cifar-edu exercises build --check``).

>>> report = build_exercises("solutions", "exercises", check=True)  # doctest: +SKIP
>>> report.stale  # exercises that differ from their solution  # doctest: +SKIP
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cifar_edu.errors import CifarEduError
from cifar_edu.fileio import atomic_write_bytes

try:  # nbformat comes with Jupyter (the learner environment and the dev extras)
    import nbformat
except ModuleNotFoundError:  # pragma: no cover - only without Jupyter installed
    nbformat = None

__all__ = ["SOLUTION_TAG", "SOLUTION_ONLY_TAG", "BEGIN_MARKER", "END_MARKER", "INLINE_MARKER",
           "PLACEHOLDER", "MARKDOWN_PLACEHOLDER", "NOTEBOOK_PATTERN", "ExerciseFile",
           "BuildReport", "hide_solution", "exercise_notebook", "render_notebook",
           "solution_paths", "count_checks", "build_exercises"]

SOLUTION_TAG = "solution"
SOLUTION_ONLY_TAG = "solution-only"
BEGIN_MARKER = "# BEGIN SOLUTION"
END_MARKER = "# END SOLUTION"
INLINE_MARKER = "# SOLUTION"
PLACEHOLDER = "# Your code here"
MARKDOWN_PLACEHOLDER = "*Write your answer here.*"
#: Exercise and solution notebooks are named like lessons: ``NN_name.ipynb``.
NOTEBOOK_PATTERN = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")

# "code  # SOLUTION" at the end of a line (not "# BEGIN SOLUTION", checked before).
_INLINE = re.compile(r"^(?P<indent>\s*)(?P<code>\S.*?)\s*#\s*SOLUTION\s*$")
# A check call in a cell: how many automatic checks an exercise has.
_CHECK_CALL = re.compile(r"^\s*(?:\w+\s*=\s*)?check_\w+\(", re.M)
# Metadata that says how a cell was last run, not what it is.
_TRANSIENT_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")
_KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


@dataclass(frozen=True)
class ExerciseFile:
    """One exercise and the state of its file.

    Attributes
    ----------
    solution : Path or None
        The solution it is made from (None for an exercise without a solution).
    exercise : Path
    status : str
        ``"unchanged"`` (already up to date), ``"written"`` (created or updated),
        ``"stale"`` (differs; only with ``check=True``), ``"missing"`` (not there;
        only with ``check=True``), ``"orphan"`` (no solution; removed unless checking).
    n_checks : int
        Check calls in the exercise.
    """

    solution: Path | None
    exercise: Path
    status: str
    n_checks: int = 0


@dataclass
class BuildReport:
    """What :func:`build_exercises` found and did."""

    files: list[ExerciseFile] = field(default_factory=list)
    check: bool = False

    @property
    def stale(self) -> list[ExerciseFile]:
        """Exercises that differ from what their solution gives (or have no solution)."""
        return [f for f in self.files if f.status in ("stale", "missing", "orphan")]

    @property
    def ok(self) -> bool:
        """True when nothing is out of date (after a build, always true)."""
        return not self.check or not self.stale

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {"check": self.check, "ok": self.ok,
                "exercises": [{"exercise": str(f.exercise),
                               "solution": None if f.solution is None else str(f.solution),
                               "status": f.status, "checks": f.n_checks} for f in self.files]}


def _require_nbformat() -> None:
    if nbformat is None:
        raise CifarEduError("building exercises needs nbformat (it comes with Jupyter); "
                            "install the development tools: pip install -e '.[dev]'")


# --------------------------------------------------------------------------- one cell


def _assignment_placeholder(code: str) -> str | None:
    """``a = f(x)`` -> ``a = None``; ``a, b = ...`` -> ``a, b = None, None``; else None."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assign):
        return None
    node = tree.body[0]
    if len(node.targets) != 1:
        return None
    target = node.targets[0]
    if isinstance(target, ast.Name):
        return f"{target.id} = None"
    if isinstance(target, ast.Tuple) and all(isinstance(t, ast.Name) for t in target.elts):
        names = ", ".join(t.id for t in target.elts)
        return f"{names} = {', '.join(['None'] * len(target.elts))}"
    return None


def hide_solution(source: str, where: str = "cell") -> str:
    """Replace the ``# BEGIN/END SOLUTION`` blocks and ``# SOLUTION`` lines of a code cell.

    Parameters
    ----------
    source : str
        The cell's source.
    where : str
        How to name the cell in error messages.

    Returns
    -------
    str
        The source with placeholders; unchanged if it has no markers.
    """
    out: list[str] = []
    begin_line: int | None = None
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        if stripped == BEGIN_MARKER:
            if begin_line is not None:
                raise CifarEduError(f"{where}, line {number}: {BEGIN_MARKER} inside the block "
                                    f"opened on line {begin_line}; close it with {END_MARKER}")
            begin_line = number
            out.append(line[:len(line) - len(line.lstrip())] + PLACEHOLDER)
            continue
        if stripped == END_MARKER:
            if begin_line is None:
                raise CifarEduError(f"{where}, line {number}: {END_MARKER} without "
                                    f"{BEGIN_MARKER}; add the opening marker")
            begin_line = None
            continue
        if begin_line is not None:
            continue
        match = _INLINE.match(line)
        if match and not match.group("code").startswith("#"):
            placeholder = _assignment_placeholder(match.group("code"))
            indent = match.group("indent")
            out.append(f"{indent}{placeholder}  {PLACEHOLDER}" if placeholder
                       else indent + PLACEHOLDER)
            continue
        if stripped == INLINE_MARKER:
            raise CifarEduError(f"{where}, line {number}: a {INLINE_MARKER} marker must end the "
                                "line it hides; for a block use "
                                f"{BEGIN_MARKER} ... {END_MARKER}")
        out.append(line)
    if begin_line is not None:
        raise CifarEduError(f"{where}: {BEGIN_MARKER} on line {begin_line} is never closed; "
                            f"add {END_MARKER}")
    return "\n".join(out)


def _leading_comments(source: str) -> list[str]:
    """The comment lines at the top of a cell: the statement of the task."""
    kept = []
    for line in source.split("\n"):
        if not line.strip().startswith("#") or line.strip() in (BEGIN_MARKER, END_MARKER):
            break
        kept.append(line)
    return kept


def _tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _has_markers(source: str) -> bool:
    return any(line.strip() in (BEGIN_MARKER, END_MARKER)
               or (_INLINE.match(line) and not line.strip().startswith("#"))
               for line in source.split("\n"))


def _parses(source: str) -> bool:
    # Cells with IPython syntax (magics, shell escapes) are not plain Python: skip them.
    if any(line.lstrip().startswith(("%", "!")) for line in source.split("\n")):
        return True
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


# --------------------------------------------------------------------------- notebooks


def exercise_notebook(solution: "nbformat.NotebookNode", name: str = "the solution"
                      ) -> "nbformat.NotebookNode":
    """The exercise made from a solution notebook (which is not modified).

    Parameters
    ----------
    solution : nbformat.NotebookNode
        A version-4 notebook with tagged cells and/or solution markers.
    name : str
        How to name the notebook in error messages.

    Returns
    -------
    nbformat.NotebookNode
        The exercise: placeholders instead of solutions, no outputs, no execution
        counts, the ``python3`` kernel, nothing else changed.

    Raises
    ------
    CifarEduError
        When a marker is malformed, the notebook hides nothing, or a placeholder
        leaves a cell that is not valid Python.
    """
    _require_nbformat()
    nb = copy.deepcopy(solution)
    cells = []
    hidden = 0
    for index, cell in enumerate(nb.cells):
        where = f"{name} cell {index}"
        tags = _tags(cell)
        if SOLUTION_ONLY_TAG in tags:
            continue
        metadata = cell.setdefault("metadata", {})
        for key in _TRANSIENT_CELL_METADATA:
            metadata.pop(key, None)
        if SOLUTION_TAG in tags:
            tags.remove(SOLUTION_TAG)
            if tags:
                metadata["tags"] = tags
            else:
                metadata.pop("tags", None)
            if cell.cell_type == "code":
                cell.source = "\n".join(_leading_comments(cell.source) + [PLACEHOLDER])
            elif cell.cell_type == "markdown":
                cell.source = MARKDOWN_PLACEHOLDER
            hidden += 1
        elif cell.cell_type == "code" and _has_markers(cell.source):
            original = cell.source
            cell.source = hide_solution(original, where)
            if _parses(original) and not _parses(cell.source):
                raise CifarEduError(
                    f"{where}: with the solution hidden the cell is not valid Python; keep a "
                    "docstring or a given line in the block's place (e.g. a function's "
                    "docstring above # BEGIN SOLUTION)")
            hidden += 1
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    if not hidden:
        raise CifarEduError(f"{name} hides nothing from the learner: tag the cells to write "
                            f"'{SOLUTION_TAG}' or mark lines with {BEGIN_MARKER} ... "
                            f"{END_MARKER} or {INLINE_MARKER}")
    nb.cells = cells
    nb.metadata = nbformat.from_dict({"kernelspec": dict(_KERNELSPEC),
                                      "language_info": {"name": "python"}})
    return nb


def render_notebook(nb: "nbformat.NotebookNode") -> str:
    """The text of a notebook exactly as ``nbformat.write`` saves it (indent 1, final newline)."""
    _require_nbformat()
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def count_checks(nb: "nbformat.NotebookNode") -> int:
    """Number of automatic checks (``check_...(`` calls) in a notebook's code cells."""
    return sum(len(_CHECK_CALL.findall(cell.source)) for cell in nb.cells
               if cell.cell_type == "code")


def solution_paths(solutions_dir: str | Path) -> list[Path]:
    """The solutions present, ``NN_name.ipynb``, in course order."""
    folder = Path(solutions_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if NOTEBOOK_PATTERN.match(p.name))


def _read(path: Path) -> "nbformat.NotebookNode":
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several types for a broken file
        raise CifarEduError(f"{path}: cannot be read as a notebook ({exc}); restore it from "
                            "git or fix its JSON") from None


def build_exercises(solutions_dir: str | Path = "solutions",
                    exercises_dir: str | Path = "exercises", *, check: bool = False,
                    only: Sequence[str] | None = None) -> BuildReport:
    """Write (or, with ``check``, only compare) every exercise from its solution.

    Parameters
    ----------
    solutions_dir : path-like
        Folder of the solution notebooks ``NN_name.ipynb``.
    exercises_dir : path-like
        Folder of the exercises, written with the same names.
    check : bool
        Write nothing; report exercises that differ from what their solution gives,
        are missing, or have no solution.
    only : sequence of str, optional
        Names (``01_dataset`` or ``01_dataset.ipynb``) to limit the build to.

    Returns
    -------
    BuildReport
        One entry per exercise. Files are written atomically and only when their
        content changes; exercises whose solution is gone are removed.
    """
    _require_nbformat()
    solutions_dir, exercises_dir = Path(solutions_dir), Path(exercises_dir)
    solutions = solution_paths(solutions_dir)
    if not solutions:
        raise CifarEduError(f"no solution notebooks NN_name.ipynb in {solutions_dir}; run the "
                            "command from the repository root or pass --solutions")
    wanted = None if not only else {Path(n).stem for n in only}
    if wanted is not None:
        unknown = wanted - {p.stem for p in solutions}
        if unknown:
            raise CifarEduError(f"no solution named {', '.join(sorted(unknown))} in "
                                f"{solutions_dir}; choose from "
                                f"{', '.join(p.stem for p in solutions)}")
        solutions = [p for p in solutions if p.stem in wanted]
    report = BuildReport(check=check)
    for path in solutions:
        exercise = exercise_notebook(_read(path), name=str(path))
        text = render_notebook(exercise)
        target = exercises_dir / path.name
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current == text:
            status = "unchanged"
        elif check:
            status = "missing" if current is None else "stale"
        else:
            atomic_write_bytes(target, text.encode("utf-8"))
            status = "written"
        report.files.append(ExerciseFile(path, target, status, count_checks(exercise)))
    if wanted is None:
        names = {p.name for p in solutions}
        orphans = [p for p in solution_paths(exercises_dir) if p.name not in names]
        for orphan in orphans:
            if not check:
                orphan.unlink()
            report.files.append(ExerciseFile(None, orphan, "orphan"))
    return report
