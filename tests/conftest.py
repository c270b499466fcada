"""Shared fixtures. Tests never touch the network: HTTP is replayed with `responses`
or served from loopback. Prefect runs against a throwaway home with analytics off."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Set before anything imports prefect: a private PREFECT_HOME, no telemetry, no API URL
# (flows then use a temporary local server).
_PREFECT_HOME = tempfile.mkdtemp(prefix="monitor-prefect-")
# Removed when the test process ends: a suite run left one such folder (with its Prefect
# database) behind per worker, 271 of them in /tmp after a day of runs.
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# A temporary Prefect server takes 6-12 s to start on an idle machine; on a shared, loaded
# one (8 suites on 2 cores, measured) the default 20 s ran out and every flow test errored.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
# A developer's own warehouse settings must not reach the tests (each names its own).
for _name in ("MONITOR_WAREHOUSE", "MONITOR_DATA_PATH", "MONITOR_DB"):
    os.environ.pop(_name, None)

import duckdb
import pytest
from hypothesis import settings

from monitor.storage.warehouse import connect

# Property tests draw new examples on every local run, which is how they find bugs (one
# found Ӭ folding in two steps). CI (.ci/run sets HYPOTHESIS_PROFILE=ci) draws the same
# examples every time: a landing must not depend on the luck of a draw.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _refresh_follows_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rollup refresh a test runs follows what changed, as a large warehouse's does:
    the tests' warehouses are all small, and below ``WHOLE_REFRESH_BELOW`` articles a
    refresh recomputes whole (test_rollups checks that choice apart)."""
    from monitor.storage import warehouse

    monkeypatch.setattr(warehouse, "WHOLE_REFRESH_BELOW", 0)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated in-memory warehouse."""
    c = connect(":memory:")
    yield c
    c.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a warehouse file in a temp dir (not created yet)."""
    return tmp_path / "monitor.duckdb"


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the whole session (~9 s to start on an idle machine).

    Given the command line's startup time (flows/local_server.py): the harness's default
    30 s timed out here while other suites loaded the 2-core machine, as `make demo` did.
    """
    from prefect.testing.utilities import prefect_test_harness

    from flows.local_server import TEMPORARY_SERVER_STARTUP_SECONDS

    with prefect_test_harness(server_startup_timeout=TEMPORARY_SERVER_STARTUP_SECONDS):
        yield
