# The two commands a fresh machine needs: `make debug` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
# `fivetran debug` runs `pipreqs` from PATH: the virtualenv's bin must come first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: debug test lint typecheck unit bench bench-smoke reliability clean

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

## Lint, type-check and run the whole test suite (unit, integration, end to end, reliability, benchmark smoke).
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict async_core
	$(BIN)/mypy connector.py benchmarks tests

unit: $(STAMP)
	$(BIN)/python -m pytest -q

## Threads vs async, full run (see README, "Threads vs async").
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf files .pytest_cache .mypy_cache .ruff_cache
