# The two commands of the README:
#   make book   set everything up, then build the book (the project's main job)
#   make test   set everything up, then run the tests
# Both create a local virtual environment in .venv (Python 3.10-3.12; no conda needed).
#
# The lessons run in the mode named by CIFAR_EDU_MODE: full (default; the whole dataset,
# what the published book shows) or quick (the shipped sample; what the tests use).
# Quick builds go to their own folder, so the two never share cached notebook outputs.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NOTEBOOKS := $(BIN)/python tools/notebooks.py
LESSONS := $(sort $(wildcard lessons/[0-9][0-9]_*.ipynb))
SOLUTIONS := $(sort $(wildcard solutions/[0-9][0-9]_*.ipynb))
NBVAL_DIR := _build/nbval
QUICK_BUILD := _build/quick
CELL_TIMEOUT ?= 600
# The widget JavaScript the book loads from jsDelivr (pinned in _config.yml), installed
# locally so that the browser test runs offline. Change both places together.
NPM_DIR := _build/npm
WIDGET_JS := @jupyter-widgets/html-manager@1.0.15 requirejs@2.3.8

BOOK_OUT := $(if $(filter quick,$(CIFAR_EDU_MODE)),$(QUICK_BUILD),.)
# A warning, a broken reference or a failing cell fails the build.
JB_FLAGS := -W -n --keep-going

.PHONY: install test unit nbval exercises-check solutions book book-quick browser npm-deps demo \
  clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Unit tests, the lessons under nbval, the exercises (in step with their solutions, which
# pass their checks), the quick book, then the book in a real browser.
test: unit nbval exercises-check solutions book-quick browser

unit: $(STAMP)
	$(BIN)/python -m pytest

# Each lesson runs in quick mode; cells marked NBVAL_CHECK_OUTPUT are compared with the
# outputs recorded by `tools/notebooks.py record`. Exit code 5 = no lessons to collect.
nbval: $(STAMP)
	$(NOTEBOOKS) prepare $(NBVAL_DIR) $(LESSONS)
	CIFAR_EDU_MODE=quick $(BIN)/python -m pytest --nbval-lax --nbval-current-env \
	  --nbval-cell-timeout=$(CELL_TIMEOUT) -p no:cacheprovider $(NBVAL_DIR); \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "nbval: no lessons yet"; exit 0; fi; exit $$rc

# The exercises are generated from the solutions: regenerate them in memory and fail,
# listing them, if the committed ones differ (fix: `cifar-edu exercises build`).
exercises-check: $(STAMP)
	@if [ -z "$(SOLUTIONS)" ]; then echo "exercises-check: no solutions yet"; \
	else $(BIN)/cifar-edu exercises build --check; fi

# Each solution runs in quick mode; with CIFAR_EDU_CHECKS_STRICT=1 a check that does not
# pass raises, so the cell fails. Exit code 5 = no solutions to collect.
solutions: $(STAMP)
	@if [ -z "$(SOLUTIONS)" ]; then echo "solutions: none yet"; exit 0; fi; \
	CIFAR_EDU_MODE=quick CIFAR_EDU_CHECKS_STRICT=1 $(BIN)/python -m pytest --nbval-lax \
	  --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) -p no:cacheprovider \
	  $(SOLUTIONS); \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "solutions: none to run"; exit 0; fi; exit $$rc

demo: $(STAMP)
	$(BIN)/cifar-edu data info

# Full mode unless CIFAR_EDU_MODE=quick; output in _build/html (quick: _build/quick/_build/html).
# Cached executions are reused only while cifar_edu is unchanged (`notebooks.py book-cache`):
# jupyter-cache alone would keep pages computed by an older package.
# $(1): output folder; $(2): words before the build command (environment); $(3): its options.
build_book = all=$$($(NOTEBOOKS) book-cache $(1)) && \
	$(2) $(BIN)/jupyter-book build . --path-output $(1) $(3) $(JB_FLAGS) $$all && \
	$(NOTEBOOKS) book-cache --record $(1) > /dev/null

book: demo
	$(call build_book,$(BOOK_OUT),,)

book-quick: $(STAMP)
	$(call build_book,$(QUICK_BUILD),CIFAR_EDU_MODE=quick,-q)

# The quick book in headless Chromium (tests/browser); screenshots in _build/screenshots.
browser: $(STAMP) npm-deps
	CIFAR_EDU_BOOK_HTML=$(QUICK_BUILD)/_build/html $(BIN)/python -m pytest tests/browser \
	  -p no:cacheprovider

# Installs once per version list (kept in $(NPM_DIR)/.installed); needs npm and its registry.
npm-deps:
	@if [ "$$(cat $(NPM_DIR)/.installed 2>/dev/null)" = "$(WIDGET_JS)" ]; then :; \
	elif command -v npm >/dev/null; then \
	  npm install --prefix $(NPM_DIR) --no-audit --no-fund --silent $(WIDGET_JS) \
	  && echo "$(WIDGET_JS)" > $(NPM_DIR)/.installed; \
	else echo "npm not found: the browser test cannot check widgets (make npm-deps)"; fi

clean:
	rm -rf _build .pytest_cache
