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

# The suite runs on one process per core (up to 4; pytest-xdist), a test file at a time per
# process so that a file's fixtures are built once. Tests marked `alone` assert how many seconds
# something takes (a stop after SIGTERM, a timeout): they run after the others, one at a time,
# because a second process on the same cores is what they would otherwise measure.
PYTEST := PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 $(BIN)/python -m pytest -q

test: $(STAMP)  ## the whole test suite, as CI runs it
	$(PYTEST) -n auto --maxprocesses 4 --dist loadfile -m "not alone"
	$(PYTEST) -m alone

test-fast: $(STAMP)  ## everything but the tests that start a Prefect server
	$(PYTEST) -n auto --maxprocesses 4 --dist loadfile -m "not slow and not alone"

bench: $(STAMP)  ## every benchmark; writes benchmarks/RESULTS.md
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) out warehouse/*.ducklake warehouse/*.ducklake.data warehouse/*.duckdb warehouse/*.duckdb.data warehouse/*.duckdb.wal warehouse/*-wal warehouse/*-shm
