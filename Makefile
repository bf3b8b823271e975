PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint venv clean bench

# The virtual environment, rebuilt when the package metadata changes.
$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

## make run: Redis (yours or a private one), a worker and a producer, so you see jobs flow
run: venv
	@bash examples/demo/run.sh

## make test: lint, type-check and run every test against a private redis-server
test: venv lint
	$(BIN)/python -m pytest

## make bench: minirq against RQ 2.12, huey, Dramatiq, Celery, arq and SAQ, each in its own
## venv under bench/ (created from PyPI on first use); writes bench/RESULTS.md (~15 minutes).
## For development: make bench BENCH_ARGS="--quick --libs minirq huey"
bench:
	$(PYTHON) bench/run.py $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .minirq .pytest_cache .mypy_cache .ruff_cache *.egg-info
