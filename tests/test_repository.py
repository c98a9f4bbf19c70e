"""Repository rules: notebooks without outputs, dependency lists in step."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _notebooks():
    skip = {".venv", "_build", ".ipynb_checkpoints", ".git"}
    return [p for p in ROOT.rglob("*.ipynb") if not skip & set(p.relative_to(ROOT).parts)]


@pytest.mark.parametrize("path", _notebooks() or [None], ids=lambda p: str(p and p.name))
def test_notebooks_are_committed_without_outputs(path):
    if path is None:
        pytest.skip("no notebooks yet")
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


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
