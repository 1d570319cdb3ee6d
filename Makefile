# Two commands do everything on a fresh machine: `make book` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export NEURALOGRAM_CACHE ?= $(HOME)/.cache/neuralogram
# The chapters and tests import the package from this checkout (readers use `pip install -e .`).
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
# No MPLBACKEND here: set to Agg it stops ipykernel from selecting the inline backend, and executed chapters
# lose every figure. Headless matplotlib falls back to Agg by itself; tests/conftest.py sets Agg for pytest.
export PYDEVD_DISABLE_FILE_VALIDATION := 1

PY := .venv/bin/python
NBVAL_TIMEOUT ?= 900

.PHONY: help env book web-assets test unit nbval browser lock clean

help:
	@echo "make book   build the rendered book into _build/html (creates the environment if missing)"
	@echo "make test   unit tests, then nbval over every chapter in book/ (creates the environment if missing)"

env:
	@tools/setup-env.sh

# Warnings are errors (-W), internal references must resolve (-n); --keep-going reports them all before failing.
book: env web-assets
	# no progress bars on the rendered pages: a finished tqdm bar stays there as an empty widget (a blank gap)
	TQDM_DISABLE=1 .venv/bin/jupyter-book build . --builder html -W -n --keep-going   # (jupyter_book has no __main__)
	$(PY) tools/book-times.py
	@echo ">> open _build/html/index.html"

# MathJax, the ipywidgets embed manager and RequireJS served from the build (pages render offline)
web-assets:
	@[[ -f book/_static/vendor/STAMP ]] || tools/apt-needs.sh npm:npm
	tools/web-assets.sh

test: env unit nbval browser

unit: env
	$(PY) -m pytest tests -q -p no:cacheprovider --ignore=tests/test_book_browser.py

nbval: env
	$(PY) -m pytest --nbval-lax --nbval-cell-timeout=$(NBVAL_TIMEOUT) -p no:cacheprovider -q book

# Every page of the rendered book in headless Chromium. Builds the book first only if _build/html is missing or
# older than a chapter, the configuration or the package.
browser: env
	@tools/apt-needs.sh chromium:chromium chromedriver:chromium-driver
	@if tools/book-stale.sh; then $(MAKE) --no-print-directory book; fi
	$(PY) -m pytest -p no:cacheprovider -q tests/test_book_browser.py

# Re-resolve requirements.in into the exact pins of requirements.txt (needs the package index).
lock:
	rm -rf /tmp/neuralogram-lock && python3 -m venv /tmp/neuralogram-lock
	/tmp/neuralogram-lock/bin/pip install -q -r requirements.in
	/tmp/neuralogram-lock/bin/pip freeze --exclude tinysoundfont > requirements.txt

clean:
	rm -rf _build
