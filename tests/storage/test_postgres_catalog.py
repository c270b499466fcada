"""A lake whose catalog is a real PostgreSQL: the team setup (README, "A warehouse for a team").

The machine's PostgreSQL is started by `.ci/run` (through `.ci/postgres.sh`), or by this
module when it may (root, and the script finds a cluster). MONITOR_TEST_POSTGRES names
another server. Only when no PostgreSQL can be reached do these tests skip, saying why.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from monitor.demo.corpus_server import CorpusServer, corpus_sources, corpus_sources_yaml
from monitor.runs.ingest import run_ingest
from monitor.settings import load_settings
from monitor.storage import lake
from monitor.storage.warehouse import close, connect
from warehouse_helpers import operator_env

ROOT = Path(__file__).resolve().parents[2]
#: The role and database `.ci/postgres.sh` creates.
LOCAL = "dbname=monitor_test user=monitor_test password=monitor_test host=127.0.0.1 port=5432"


def _reachable(conninfo: str) -> str | None:
    """None when a PostgreSQL answers at ``conninfo``, else why not."""
    con = duckdb.connect(config=lake.HOST_CONFIG)
    try:
        lake.load_extensions(con, ("postgres",))
        con.execute("ATTACH '" + conninfo.replace("'", "''") + "' AS pg (TYPE postgres)")
        return None
    except duckdb.Error as exc:
        return str(exc).splitlines()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def postgres() -> str:
    """A reachable PostgreSQL connection string (started here if this machine has one)."""
    conninfo = os.environ.get("MONITOR_TEST_POSTGRES", LOCAL)
    why = _reachable(conninfo)
    if why is not None and "MONITOR_TEST_POSTGRES" not in os.environ and os.geteuid() == 0:
        subprocess.run([str(ROOT / ".ci" / "postgres.sh")], capture_output=True, text=True, timeout=120)
        why = _reachable(conninfo)
    if why is not None:
        pytest.skip(f"no PostgreSQL available locally ({why}); `.ci/postgres.sh` starts the machine's, "
                    "or set MONITOR_TEST_POSTGRES")
    return conninfo


@pytest.fixture
def team_env(postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """MONITOR_WAREHOUSE on an emptied PostgreSQL catalog, MONITOR_DATA_PATH a shared folder."""
    con = duckdb.connect(config=lake.HOST_CONFIG)
    lake.load_extensions(con, ("postgres",))
    con.execute("ATTACH '" + postgres.replace("'", "''") + "' AS pg (TYPE postgres)")
    con.execute("CALL postgres_execute('pg', 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public')")
    con.close()
    env = {"MONITOR_WAREHOUSE": f"postgres:{postgres}", "MONITOR_DATA_PATH": str(tmp_path / "shared")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env


READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from monitor.storage.warehouse import close, connect
    from monitor.settings import load_settings
    stop = Path(sys.argv[1])
    settings = load_settings()
    seen, errors = [], []
    while True:
        last = stop.exists()
        try:
            con = connect(settings.warehouse_target, read_only=True, data_path=settings.data_path)
            seen.append(con.execute("SELECT count(*) FROM articles WHERE kind = 'article'").fetchall()[0][0])
            con.execute("SELECT count(*) FROM stories").fetchall()
            close(con)
        except Exception as exc:  # a reader must never fail while the writer writes
            errors.append(repr(exc))
        if last:
            break
        time.sleep(0.2)
    print(json.dumps({"seen": seen, "errors": errors}))
""")


def test_an_ingest_into_a_postgres_catalog_runs_while_readers_in_other_processes_query_it(team_env, tmp_path):
    settings = load_settings(allow_private_hosts=("127.0.0.1",), per_host_delay=0.0)
    assert settings.warehouse == team_env["MONITOR_WAREHOUSE"]
    close(connect(settings.warehouse_target, data_path=settings.data_path))  # the lake exists before readers start
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(stop)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env={**os.environ}) for _ in range(2)]
    try:
        time.sleep(1.0)
        with CorpusServer() as server:
            first = run_ingest(settings, sources=corpus_sources(server.base_url))
            second = run_ingest(settings, sources=corpus_sources(server.base_url))
            expected = len(server.manifest.articles)
    finally:
        stop.touch()
        outs = [r.communicate(timeout=120) for r in readers]
    for out, err in outs:
        report = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"seen": [], "errors": [err]}
        assert report["errors"] == []
        assert report["seen"] == sorted(report["seen"]) and report["seen"][-1] == expected  # snapshots only grow
    assert first["articles_total"] == expected
    assert second.get("stories", 0) + second.get("duplicates", 0) + second.get("off_topic", 0) == 0
    con = connect(settings.warehouse_target, read_only=True, data_path=settings.data_path)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT id) FROM articles WHERE kind = 'article'").fetchall() == [
            (expected, expected)]
        # the catalog is in PostgreSQL, the files under the shared data path
        assert con.execute("SELECT type FROM duckdb_databases() WHERE database_name = 'lake'").fetchall() == [
            ("ducklake",)]
    finally:
        close(con)
    assert any((Path(team_env["MONITOR_DATA_PATH"]) / "tables").rglob("*.parquet"))
    assert any((Path(team_env["MONITOR_DATA_PATH"]) / "pages").glob("*.pack"))


def test_monitor_sql_and_a_second_writer_on_the_postgres_catalog(team_env, tmp_path):
    from monitor.cli import main

    settings = load_settings()
    holder = connect(settings.warehouse_target, data_path=settings.data_path)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "sql", "--format", "json", "SELECT count(*) AS n FROM sources"],
            capture_output=True, text=True, timeout=120, env={**os.environ})
        assert (proc.returncode, proc.stdout.strip()) == (0, '[{"n": 0}]'), proc.stderr
        proc = subprocess.run([sys.executable, "-m", "monitor.cli", "retag"], capture_output=True, text=True,
                              timeout=120, env={**os.environ})
        assert proc.returncode == 2
        assert "is being written by another monitor run" in proc.stderr
        assert "password=***" in proc.stderr and "password=monitor_test" not in proc.stderr
    finally:
        close(holder)
    assert main(["sql", "SELECT 1 AS one"]) == 0


def _run_or_dump(args: list[str], *, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` that, when ``timeout`` passes, fails with where every process stood.

    Once in CI this run never ended, and all the failure showed was Dask's first log lines (not
    reproduced here: 19 runs beside 2 or 4 spinning cores, 6 rounds of the Prefect-heavy tests
    on 4 workers, whole suites). Now the command and
    its Dask workers (one process group) get SIGABRT with PYTHONFAULTHANDLER set, which makes
    each print every thread's stack to the stderr shown here.
    """
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**env, "PYTHONFAULTHANDLER": "1"}, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(args, proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGABRT)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    stacks = err[err.find("Fatal Python error"):] if "Fatal Python error" in err else err[-6000:]
    pytest.fail(f"{args[2:5]} did not end within {timeout:g} s; stdout:\n{out[-2000:]}\n"
                f"stacks (stderr):\n{stacks[:20000]}", pytrace=False)


@pytest.mark.slow
def test_the_dask_fan_out_ingests_into_the_postgres_catalog(team_env, tmp_path):
    with CorpusServer() as server:
        sources = tmp_path / "sources.yaml"
        sources.write_text(corpus_sources_yaml(server.base_url), encoding="utf-8")
        # An operator's shell: the team's warehouse settings, no Prefect server configured and
        # a Prefect home of its own, as every other test that starts `monitor` has. (It used to
        # inherit this test process's whole environment: its PREFECT_HOME, with the Prefect
        # database there, and any PREFECT_* setting.)
        env = operator_env(tmp_path / "prefect-home", **team_env, MONITOR_ALLOW_PRIVATE_HOSTS="127.0.0.1",
                           MONITOR_PER_HOST_DELAY="0")
        proc = _run_or_dump([sys.executable, "-m", "monitor.cli", "ingest", "--sources", str(sources),
                             "--task-runner", "dask", "--workers", "2"], env=env, timeout=420)
        expected = len(server.manifest.articles)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"articles_total={expected}" in proc.stdout
    assert "warehouse: postgres:" in proc.stdout and "password=***" in proc.stdout
    assert " INFO " not in proc.stderr, proc.stderr[-2000:]  # Dask's own log stays off the terminal
