# The two commands a fresh machine needs: `make debug` and `make test`.
# The interpreter: `make test PYTHON=python3.13` runs everything on 3.13, in its own virtualenv (.venv-3.13).
# With no PYTHON given, python3 and .venv, as before.
PYTHON ?= python3
ifeq ($(PYTHON),python3)
VENV ?= .venv
else
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
$(if $(PYTHON_VERSION),,$(error PYTHON=$(PYTHON) does not run (with pyenv, give the full path: ~/.pyenv/versions/X.Y.Z/bin/python)))
VENV ?= .venv-$(PYTHON_VERSION)
endif
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
# `fivetran debug` runs `pipreqs` from PATH: the virtualenv's bin must come first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: debug test lint typecheck pytest reliability bench clean

$(STAMP): requirements.txt requirements-dev.txt tools/pipreqs_top_level.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	# keeps `fivetran debug` offline: see tools/pipreqs_top_level.py
	$(BIN)/python tools/pipreqs_top_level.py aiolimiter duckdb
	touch $(STAMP)

## Run the connector with `fivetran debug` against the embedded playground (writes files/warehouse.db).
debug: $(STAMP)
	$(BIN)/fivetran debug --configuration configuration.json

## Lint, type-check and run the test suite: unit, integration, end to end, and the benchmark's smoke run.
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict async_core
	$(BIN)/mypy connector.py benchmarks tests tools

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -m "not reliability" --durations=10

## The reliability suite: fault matrix, crash and resume, outage, hostile server, secrets, deployed package.
reliability: $(STAMP)
	$(BIN)/python -m pytest -q -m reliability --durations=10

## Threads vs async, full run (see README, "Threads vs async").
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf files .pytest_cache .mypy_cache .ruff_cache
