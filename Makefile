# The two commands of the README:
#   make book   set everything up, then build the book (the project's main job)
#   make test   set everything up, then run the tests
# Both create a local virtual environment in .venv (Python 3.10-3.12; no conda needed).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install test book demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/cifar-edu data info

# -W -n --keep-going: a warning, a broken reference or a failing notebook fails the build.
book: demo
	$(BIN)/jupyter-book build . -W -n --keep-going

clean:
	rm -rf _build .pytest_cache
