"""Repository rules: notebooks without outputs and with recorded checks, lessons that follow
the conventions and are all in the book, dependency lists in step."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _load_notebook_tool():
    spec = importlib.util.spec_from_file_location("notebooks_tool", ROOT / "tools" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nbtool = _load_notebook_tool()


def _notebooks():
    skip = {".venv", "_build", ".ipynb_checkpoints", ".git", "node_modules"}
    return sorted(p for p in ROOT.rglob("*.ipynb") if not skip & set(p.relative_to(ROOT).parts))


def _lessons():
    return nbtool.lesson_paths(ROOT)


def _ids(path):
    return str(path and path.relative_to(ROOT))


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def _markdown(nb: dict) -> str:
    return "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


@pytest.mark.parametrize("path", _notebooks() or [None], ids=_ids)
def test_notebooks_are_committed_without_outputs(path):
    if path is None:
        pytest.skip("no notebooks yet")
    problems = nbtool.output_problems(nbtool.read(path))
    assert not problems, (f"{path.name}: {'; '.join(problems)}; clear them with "
                          f"`python tools/notebooks.py strip {path.relative_to(ROOT)}`")


@pytest.mark.parametrize("path", _notebooks() or [None], ids=_ids)
def test_checked_cells_have_recorded_outputs(path):
    if path is None:
        pytest.skip("no notebooks yet")
    missing = nbtool.missing_expectations(nbtool.read(path))
    assert not missing, (
        f"{path.name}: cells {missing} are marked NBVAL_CHECK_OUTPUT without recorded outputs; "
        f"run `python tools/notebooks.py record {path.relative_to(ROOT)}`")


@pytest.mark.parametrize("path", _notebooks() or [None], ids=_ids)
def test_notebooks_use_the_python3_kernel(path):
    if path is None:
        pytest.skip("no notebooks yet")
    kernelspec = _read(path).get("metadata", {}).get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{path.name}: kernelspec {kernelspec}"


def test_toc_lists_every_lesson_present():
    """_toc.yml is what `tools/notebooks.py toc` writes: every lesson, in order, no missing file."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    for lesson in _lessons():
        assert f"lessons/{lesson.stem}" in files, f"{lesson.name} is not in _toc.yml"
    for name in files:
        assert any((ROOT / f"{name}{ext}").is_file() for ext in (".md", ".ipynb")), (
            f"_toc.yml lists {name}, which does not exist")
    assert (ROOT / "_toc.yml").read_text() == nbtool.render_toc(ROOT), (
        "_toc.yml is out of date; run `python tools/notebooks.py toc`")


def test_toc_lists_every_exercise_and_solution_after_the_lessons():
    """Exercises (after their index page) and then solutions follow the lessons in _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = {part["caption"]: [c["file"] for c in part["chapters"]] for part in toc["parts"]}
    captions = list(parts)
    exercises = [f"exercises/{p.stem}" for p in nbtool.exercise_paths(ROOT)]
    solutions = [f"solutions/{p.stem}" for p in nbtool.solution_paths(ROOT)]
    if exercises:
        assert parts[nbtool.EXERCISES_CAPTION] == [nbtool.EXERCISES_PAGE] + exercises
        assert captions.index(nbtool.EXERCISES_CAPTION) > captions.index(nbtool.LESSONS_CAPTION)
    if solutions:
        assert parts[nbtool.SOLUTIONS_CAPTION] == solutions
        assert captions.index(nbtool.SOLUTIONS_CAPTION) > captions.index(
            nbtool.EXERCISES_CAPTION)
    assert [p.name for p in nbtool.exercise_paths(ROOT)] == [
        p.name for p in nbtool.solution_paths(ROOT)], "every exercise needs its solution"


def test_lesson_files_are_numbered_once():
    notebooks = sorted((ROOT / "lessons").glob("*.ipynb")) if (ROOT / "lessons").is_dir() else []
    badly_named = [p.name for p in notebooks if not nbtool.LESSON_PATTERN.match(p.name)]
    assert not badly_named, f"lessons must be named NN_name.ipynb: {badly_named}"
    numbers = [p.name[:2] for p in notebooks]
    assert len(numbers) == len(set(numbers)), f"two lessons share a number: {numbers}"


# "**Objectives**" or "## Objectives" (any heading level), case-insensitive.
REQUIRED_SECTIONS = ["Objectives", "Estimated time", "Summary", "Exercise"]


def _has_section(markdown: str, name: str) -> bool:
    heading = rf"^\s*#+\s*{name}s?\b"
    bold = rf"\*\*{name}s?\b[^*]*\*\*"
    return bool(re.search(heading, markdown, re.I | re.M) or re.search(bold, markdown, re.I))


@pytest.mark.parametrize("path", _lessons() or [None], ids=_ids)
def test_lessons_have_the_required_sections(path):
    if path is None:
        pytest.skip("no lessons yet")
    nb = _read(path)
    first = "".join(nb["cells"][0]["source"]) if nb["cells"] else ""
    number = int(path.name[:2])
    assert re.match(rf"#\s+Lesson {number}\s+[—-]\s+\S", first), (
        f"{path.name}: the first cell must start with '# Lesson {number} — Title'")
    markdown = _markdown(nb)
    missing = [name for name in REQUIRED_SECTIONS if not _has_section(markdown, name)]
    assert not missing, f"{path.name}: no {missing} section (a heading or a **bold** label)"


# Lessons run from other folders (nbval copies, the book build): data comes through the
# package, never from a path relative to the notebook. A heuristic, not a proof.
RELATIVE_READ = re.compile(
    r"""(["'])\.\.?/[^"']*\1"""                                     # "./x", "../x"
    r"""|\b(open|load|read_csv|read_json|imread|load_model|load_img)\(\s*"""
    r"""(["'])(?!/|https?:)[^"']+\.(json|npz|npy|csv|png|jpe?g|keras|h5|pkl|txt)\3""")


@pytest.mark.parametrize("path", _lessons() or [None], ids=_ids)
def test_lessons_do_not_read_files_by_relative_path(path):
    if path is None:
        pytest.skip("no lessons yet")
    hits = [(i, m.group(0)) for i, c in enumerate(_read(path)["cells"]) if c["cell_type"] == "code"
            for m in RELATIVE_READ.finditer("".join(c["source"]))]
    assert not hits, f"{path.name}: reads files by relative path (cell, text): {hits}"


def test_browser_tests_stay_out_of_the_unit_tests():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "browser" in options["norecursedirs"]


def test_widget_javascript_versions_match_the_book():
    """The Makefile installs for the browser test the versions _config.yml loads from the CDN."""
    makefile = (ROOT / "Makefile").read_text()
    installed = re.search(r"^WIDGET_JS := (.+)$", makefile, re.M).group(1).split()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    urls = config["sphinx"]["config"]["nb_ipywidgets_js"]
    loaded = sorted(re.match(r"https://cdn\.jsdelivr\.net/npm/((?:@[^/]+/)?[^/]+)/", url).group(1)
                    for url in urls)
    assert sorted(installed) == loaded


def _pip_pins(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = {}
    for line in pip:
        if line.startswith("-e"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{path.name}: {line} must pin an exact version"
        pins[req.name.lower()] = spec.version
    return pins


def _pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [r for reqs in project["optional-dependencies"].values()
                                       for r in reqs]
    return [Requirement(line) for line in lines]


def test_binder_and_learner_environments_match():
    learner, binder = _pip_pins(ROOT / "environment.yml"), _pip_pins(ROOT / "binder/environment.yml")
    assert learner == binder
    python = [d for d in yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
              if isinstance(d, str) and d.startswith("python")]
    assert python == [d for d in yaml.safe_load((ROOT / "binder/environment.yml").read_text())[
        "dependencies"] if isinstance(d, str) and d.startswith("python")]


def test_every_package_dependency_is_pinned_within_its_bounds():
    pins = _pip_pins(ROOT / "environment.yml")
    for req in _pyproject_requirements():
        name = req.name.lower()
        assert name in pins, f"{req.name} is in pyproject.toml but not in environment.yml"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"environment.yml pins {name}=={pins[name]}, outside pyproject's {req.specifier}")


def test_learner_environment_and_binder_install_the_package():
    assert "-e ." in (ROOT / "environment.yml").read_text()
    assert "pip install" in (ROOT / "binder/postBuild").read_text()


def test_book_cache_follows_the_package(tmp_path):
    root, build = tmp_path / "repo", tmp_path / "repo" / "_build" / "quick"
    (root / "cifar_edu").mkdir(parents=True)
    (root / "cifar_edu" / "a.py").write_text("x = 1\n")
    cache = build / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True)
    assert nbtool.book_cache(build, root=root) == "--all"  # never built: execute everything
    assert not cache.exists()
    nbtool.book_cache(build, record=True, root=root)
    cache.mkdir()
    assert nbtool.book_cache(build, root=root) == ""  # unchanged package: keep the cache
    assert cache.exists()
    (root / "cifar_edu" / "a.py").write_text("x = 2\n")
    assert nbtool.book_cache(build, root=root) == "--all"
    assert not cache.exists()
