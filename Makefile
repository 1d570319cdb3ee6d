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

.PHONY: help env book test unit nbval lock clean

help:
	@echo "make book   build the rendered book into _build/html (creates the environment if missing)"
	@echo "make test   unit tests, then nbval over every chapter in book/ (creates the environment if missing)"

env:
	@tools/setup-env.sh

book: env
	.venv/bin/jupyter-book build . --builder html --keep-going   # (jupyter_book has no __main__)
	@echo ">> open _build/html/index.html"

test: env unit nbval

unit: env
	$(PY) -m pytest tests -q -p no:cacheprovider

nbval: env
	$(PY) -m pytest --nbval-lax --nbval-cell-timeout=$(NBVAL_TIMEOUT) -p no:cacheprovider -q book

# Re-resolve requirements.in into the exact pins of requirements.txt (needs the package index).
lock:
	rm -rf /tmp/neuralogram-lock && python3 -m venv /tmp/neuralogram-lock
	/tmp/neuralogram-lock/bin/pip install -q -r requirements.in
	/tmp/neuralogram-lock/bin/pip freeze --exclude tinysoundfont > requirements.txt

clean:
	rm -rf _build
