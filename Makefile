# The two quick-start commands, `make demo` and `make test`, each build the virtualenv
# first if it is missing or older than pyproject.toml: nothing is installed by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,dask,bench]"
	touch $(STAMP)

demo: $(STAMP)  ## serve the recorded corpus on loopback, ingest it twice, write the digest
	$(BIN)/monitor demo

test: $(STAMP)  ## the whole test suite, as CI runs it
	PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 $(BIN)/python -m pytest -q

test-fast: $(STAMP)  ## everything but the tests that start a Prefect server
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)  ## every benchmark; writes benchmarks/RESULTS.md
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) out warehouse/*.ducklake warehouse/*.ducklake.data warehouse/*.duckdb warehouse/*.duckdb.data warehouse/*.duckdb.wal
