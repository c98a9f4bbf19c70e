"""Tests of the exercise generator (cifar_edu.exercises, `cifar-edu exercises build`) and of
the committed exercises and solutions."""

from __future__ import annotations

import ast
import importlib
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cifar_edu.cli.main import main
from cifar_edu.errors import CifarEduError
from cifar_edu.exercises import (MARKDOWN_PLACEHOLDER, PLACEHOLDER, build_exercises,
                                 count_checks, exercise_notebook, hide_solution,
                                 render_notebook, solution_paths)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = solution_paths(ROOT / "solutions")


# -- hiding solutions in a cell ---------------------------------------------------------------

def test_inline_markers_become_placeholders():
    source = "x = 1\ny = compute(x)  # SOLUTION\na, b = f(), g()  # SOLUTION\nplot(y)  # SOLUTION"
    assert hide_solution(source) == (f"x = 1\ny = None  {PLACEHOLDER}\n"
                                     f"a, b = None, None  {PLACEHOLDER}\n{PLACEHOLDER}")


def test_blocks_become_one_placeholder_with_their_indentation():
    source = ('def f(x):\n    """Doc."""\n    # BEGIN SOLUTION\n    y = x + 1\n    return y\n'
              '    # END SOLUTION\n\nanswer = None\n# BEGIN SOLUTION\nanswer = f(1)\n'
              '# END SOLUTION')
    assert hide_solution(source) == (f'def f(x):\n    """Doc."""\n    {PLACEHOLDER}\n\n'
                                     f"answer = None\n{PLACEHOLDER}")


def test_cells_without_markers_are_unchanged():
    source = "# A comment about the SOLUTION of task 1\nprint('# END')\n"
    assert hide_solution(source) == source


@pytest.mark.parametrize("source, message", [
    ("# BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n# END SOLUTION", "without # BEGIN SOLUTION"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "inside the block"),
    ("# SOLUTION\nx = 1", "must end the line"),
])
def test_malformed_markers_are_reported(source, message):
    with pytest.raises(CifarEduError, match=message):
        hide_solution(source, "cell 3")


# -- one notebook -----------------------------------------------------------------------------

def _solution() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell("# Exercise 1 — Demo\n\nTask text.", id="title"),
        new_markdown_cell("**This is the solution.**", id="note",
                          metadata={"tags": ["solution-only"]}),
        new_code_cell("import numpy as np", id="setup"),
        new_code_cell("answer = np.arange(3).sum()  # SOLUTION", id="task1",
                      metadata={"tags": ["hide-input"],
                                "execution": {"iopub.status.busy": "2026-01-01T00:00:00Z"}}),
        new_code_cell("# Task 2: write the loop.\n# It prints 0 to 2.\nfor i in range(3):\n"
                      "    print(i)", id="task2", metadata={"tags": ["solution", "keep"]}),
        new_markdown_cell("Because the loop runs three times.", id="why",
                          metadata={"tags": ["solution"]}),
        new_code_cell("check_answer(answer)", id="check", execution_count=4,
                      outputs=[nbformat.v4.new_output("stream", text="✅\n")]),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "other", "display_name": "X"},
                                               "widgets": {"state": {}}})


def test_exercise_hides_the_marked_parts_and_keeps_everything_else():
    solution = _solution()
    before = nbformat.writes(solution)
    exercise = exercise_notebook(solution)
    assert nbformat.writes(solution) == before  # the solution is not modified
    cells = {cell.id: cell for cell in exercise.cells}
    assert list(cells) == ["title", "setup", "task1", "task2", "why", "check"]
    assert cells["title"] == solution.cells[0] and cells["setup"] == solution.cells[2]
    assert cells["task1"].source == f"answer = None  {PLACEHOLDER}"
    assert cells["task1"].metadata == {"tags": ["hide-input"]}  # run metadata dropped
    assert cells["task2"].source == f"# Task 2: write the loop.\n# It prints 0 to 2.\n{PLACEHOLDER}"
    assert cells["task2"].metadata == {"tags": ["keep"]}
    assert cells["why"].source == MARKDOWN_PLACEHOLDER and "tags" not in cells["why"].metadata
    assert cells["check"].source == "check_answer(answer)"
    assert cells["check"].outputs == [] and cells["check"].execution_count is None
    assert exercise.metadata == {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                "name": "python3"},
                                 "language_info": {"name": "python"}}
    assert count_checks(exercise) == 1


def test_a_solution_must_hide_something_and_stay_valid_python():
    nothing = new_notebook(cells=[new_code_cell("x = 1")])
    with pytest.raises(CifarEduError, match="hides nothing"):
        exercise_notebook(nothing)
    no_docstring = new_notebook(cells=[new_code_cell(
        "def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION")])
    with pytest.raises(CifarEduError, match="not valid Python"):
        exercise_notebook(no_docstring, name="demo.ipynb")


def test_rendering_is_deterministic_and_matches_nbformat(tmp_path):
    exercise = exercise_notebook(_solution())
    text = render_notebook(exercise)
    assert text == render_notebook(exercise_notebook(_solution()))
    nbformat.write(exercise, tmp_path / "x.ipynb")
    assert (tmp_path / "x.ipynb").read_text(encoding="utf-8") == text
    assert text.endswith("\n") and '\n "cells": [\n  {\n' in text  # indent 1, like Jupyter


# -- building folders and the command ---------------------------------------------------------

@pytest.fixture()
def folders(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    nbformat.write(_solution(), solutions / "01_demo.ipynb")
    nbformat.write(_solution(), solutions / "02_other.ipynb")
    (solutions / "notes.ipynb").write_text("not a numbered notebook: ignored")
    return solutions, exercises


def test_build_writes_then_leaves_up_to_date_files_alone(folders):
    solutions, exercises = folders
    report = build_exercises(solutions, exercises)
    assert [(f.exercise.name, f.status) for f in report.files] == [
        ("01_demo.ipynb", "written"), ("02_other.ipynb", "written")]
    assert sorted(p.name for p in exercises.iterdir()) == ["01_demo.ipynb", "02_other.ipynb"]
    mtime = (exercises / "01_demo.ipynb").stat().st_mtime_ns
    again = build_exercises(solutions, exercises)
    assert {f.status for f in again.files} == {"unchanged"}
    assert (exercises / "01_demo.ipynb").stat().st_mtime_ns == mtime
    assert build_exercises(solutions, exercises, check=True).ok


def test_check_detects_hand_edits_missing_and_orphaned_exercises(folders, capsys):
    solutions, exercises = folders
    build_exercises(solutions, exercises)
    edited = exercises / "01_demo.ipynb"
    edited.write_text(edited.read_text().replace(PLACEHOLDER, "answer = 6"))
    (exercises / "02_other.ipynb").unlink()
    nbformat.write(_solution(), exercises / "03_gone.ipynb")
    args = ["exercises", "build", "--check", "--solutions", str(solutions), "--out",
            str(exercises)]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "01_demo.ipynb: STALE" in out and "02_other.ipynb: MISSING" in out
    assert "03_gone.ipynb: no solution (would be removed)" in out and "3 exercise(s)" in out
    assert "answer = 6" in edited.read_text()  # --check writes nothing
    assert main(args[:2] + args[3:]) == 0  # a build repairs everything
    assert not (exercises / "03_gone.ipynb").exists()
    assert main(args + ["--json"]) == 0
    assert '"ok": true' in capsys.readouterr().out


def test_build_can_be_limited_and_reports_user_errors(folders, tmp_path, capsys):
    solutions, exercises = folders
    report = build_exercises(solutions, exercises, only=["02_other"])
    assert [f.exercise.name for f in report.files] == ["02_other.ipynb"]
    with pytest.raises(CifarEduError, match="no solution named 07_x"):
        build_exercises(solutions, exercises, only=["07_x"])
    assert main(["exercises", "build", "--solutions", str(tmp_path / "none")]) == 2
    assert "cifar-edu: error: no solution notebooks" in capsys.readouterr().err


# -- the committed exercises and solutions ----------------------------------------------------

def test_there_are_solutions():
    assert SOLUTIONS, "no solutions/NN_name.ipynb"


def test_committed_exercises_are_generated_from_their_solutions():
    report = build_exercises(ROOT / "solutions", ROOT / "exercises", check=True)
    assert report.ok, ("exercises differ from their solutions; run `cifar-edu exercises "
                       f"build`: {[str(f.exercise) for f in report.stale]}")


def _imports_from_checks(nb) -> tuple[str, set[str]]:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "cifar_edu.checks."):
                return node.module, {alias.name for alias in node.names}
    return "", set()


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_follow_the_exercise_structure(path):
    nb = nbformat.read(path, as_version=4)
    number = int(path.name[:2])
    first = nb.cells[0].source
    assert re.match(rf"# Exercise {number} — \S", first), first[:60]
    assert "**Estimated time:**" in first
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"^## Summary", markdown, re.M)
    assert 3 <= count_checks(nb) <= 6
    module, names = _imports_from_checks(nb)
    assert module == f"cifar_edu.checks.ex{path.stem}", module
    checks_module = importlib.import_module(module)
    called = {m.group(1) for c in nb.cells if c.cell_type == "code"
              for m in re.finditer(r"\b(check_\w+)\(", c.source)}
    assert called <= names, f"check functions called but not imported: {called - names}"
    assert all(callable(getattr(checks_module, name)) for name in names)
    assert all(callable(getattr(checks_module, name)) for name in checks_module.__all__
               if name.startswith("check_"))


def test_the_exercises_page_links_every_exercise_and_solution():
    page = (ROOT / "book" / "exercises.md").read_text(encoding="utf-8")
    for path in SOLUTIONS:
        assert f"{{doc}}`../exercises/{path.stem}`" in page, path.stem
        assert f"{{doc}}`../solutions/{path.stem}`" in page, path.stem
    assert page.index("../exercises/") < page.index("../solutions/")  # solutions after


@pytest.mark.parametrize("name", [p.name for p in SOLUTIONS] or ["01_dataset.ipynb"])
def test_an_untouched_exercise_runs_and_reports_not_done(tmp_path, name):
    """Execute each exercise in quick mode: no cell fails, every check says "not done yet"."""
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "exercises" / name, as_version=4)
    env = {"CIFAR_EDU_MODE": "quick", "CIFAR_EDU_CHECKS_STRICT": "0"}
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    verdicts = ["".join(o.get("text", "") for o in cell.outputs) for cell in nb.cells
                if cell.cell_type == "code" and re.search(r"^check_\w+\(", cell.source, re.M)]
    assert len(verdicts) == count_checks(nb)
    assert all(v.startswith("⏳") and "not done yet" in v for v in verdicts), verdicts
