"""Stopping runs with real signals on real processes: SIGTERM stops a run within seconds and
records it as stopped; neither it nor a kill -9 leaves a child process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.runs.lifeline import STOP_GRACE_SECONDS, _children_of, _descendants
from monitor.settings import PROJECT_ROOT
from warehouse_helpers import corpus_pages, operator_env, reader

# Each test times a stop in seconds (STOP_GRACE_SECONDS): they run alone, after the others.
pytestmark = [pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc"),
              pytest.mark.alone]



def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


#: Pages of the import the tests stop: enough that it still runs 3 s after its workers start,
#: a save batch (800) or two in, on a machine that imports ~400 pages a second with 2 workers
#: (1,200 were all imported within those 3 s once the import got that fast).
IMPORT_PAGES = 4000


def _start_import(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, list[int]]:
    """`monitor import --workers 2` of IMPORT_PAGES pages, once its workers run; its children then."""
    docs = corpus_pages(tmp_path / "docs", IMPORT_PAGES)
    db = tmp_path / "w.duckdb"
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_ROOT / 'src'}{os.pathsep}{PROJECT_ROOT}"}
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "import", str(docs), "--db", str(db),
                             "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        children = _descendants(proc.pid, _children_of())
        if len(children) >= 4:  # the watchdog, the forkserver and its two workers
            break
        time.sleep(0.1)
    time.sleep(3.0)  # a batch or two saved
    children = _descendants(proc.pid, _children_of())
    assert proc.poll() is None and len(children) >= 4, children
    return proc, db, children


def _gone_within(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def _run_row(db: Path) -> tuple[str, dict, int]:
    con = reader(db)
    try:
        (status, stats), = con.execute("SELECT status, stats FROM runs").fetchall()
        saved = con.execute("SELECT count(*) FROM articles WHERE kind = 'article'").fetchall()[0][0]
    finally:
        con.close()
    return status, json.loads(stats) if stats else {}, saved


def test_sigterm_stops_an_import_within_seconds_records_it_and_leaves_no_child(tmp_path):
    proc, db, children = _start_import(tmp_path)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 143 and took < STOP_GRACE_SECONDS + 1, (proc.returncode, took)
    assert err.splitlines()[-1] == ("monitor: error: stopped by signal SIGTERM: the run is recorded as stopped "
                                    "with what it saved; the next run picks up the rest")
    assert _gone_within(children, 3.0) == []
    status, stats, saved = _run_row(db)
    assert status == "stopped" and saved < IMPORT_PAGES
    assert stats["net_stories"] + stats["net_copies"] + stats["net_off_topic"] == saved


def test_kill_minus_9_of_an_import_takes_its_forkserver_and_workers_with_it(tmp_path):
    proc, db, children = _start_import(tmp_path)
    proc.kill()
    # wait(), not communicate(): a surviving child would hold the pipes open, and the
    # question is whether the children die, which _gone_within answers with their pids.
    proc.wait(timeout=30)
    assert _gone_within(children, 10.0) == []
    proc.communicate(timeout=30)
    status, stats, saved = _run_row(db)
    # Unfinished, with the counters of its last saved batch: what the warehouse holds.
    assert status == "running"
    assert stats.get("net_stories", 0) + stats.get("net_copies", 0) + stats.get("net_off_topic", 0) == saved


_SHIELD_SCRIPT = """
import os, signal, sys, threading
import duckdb
from monitor.runs.lifeline import RunStopped, finish_before_stopping, sigterm_stays_ours, stop_on_sigterm

con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
query = "SELECT count(*) FROM range(400000000) WHERE range % 7 = 3"  # a second or two
try:
    with stop_on_sigterm(grace=30):
        signal.signal(signal.SIGTERM, lambda s, f: print("foreign handler"))  # as Prefect's flow engine does
        with sigterm_stays_ours():
            threading.Timer(0.2, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
            try:
                if sys.argv[1] == "shielded":
                    with finish_before_stopping():
                        print("query done:", con.execute(query).fetchall()[0][0])
                else:
                    print("query done:", con.execute(query).fetchall()[0][0])
            except Exception as exc:
                print("query failed:", exc)
                raise
            print("not stopped")
except RunStopped as exc:
    print("RunStopped:", exc, "| cause:", exc.__cause__)
"""


@pytest.mark.parametrize("mode, expected", [
    # The writer's steps: the query finishes, then the stop.
    ("shielded", ["query done: 57142857", "RunStopped: stopped by signal SIGTERM | cause: None"]),
    # Bare, DuckDB answers the signal with its own error; the stop still leaves as RunStopped.
    ("bare", ["query failed: Query interrupted", "RunStopped: stopped by signal SIGTERM | cause: Query interrupted"]),
])
def test_sigterm_is_ours_under_a_foreign_handler_and_waits_for_a_duckdb_query_to_finish(mode, expected):
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_ROOT / 'src'}{os.pathsep}{PROJECT_ROOT}"}
    done = subprocess.run([sys.executable, "-c", _SHIELD_SCRIPT, mode], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.splitlines() == expected, (done.stdout, done.stderr[-2000:])
    assert done.returncode == 0


# --------------------------------------------------------------------------- through Prefect

#: Columns of a run's own moment (when fetched, saved, by which run) and its history
#: (dedup_note says a story was saved before its original arrived, when it was): the rest
#: of a row is what the runs concluded, and must be the same whichever runs it took.
_MOMENT = {"fetched_at", "article_fetched_at", "saved_at", "run_id", "last_success_at", "last_attempt_at", "next_poll_after", "dedup_note"}


def _whole_rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of what an ingest concludes (articles, tags, raw pages, feed state), sorted."""
    from monitor.storage import store

    con = reader(db)
    try:
        tables: dict[str, list[tuple[object, ...]]] = {}
        for table in ("articles", "article_tags", "feed_state"):
            columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in _MOMENT]
            tables[table] = sorted(con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall(), key=repr)
        ids = [r[0] for r in con.execute("SELECT article_id FROM pages ORDER BY 1").fetchall()]
        tables["pages"] = [(i, store.read_page(con, i)) for i in ids]
    finally:
        con.close()
    return tables


def _monitor_env(home: Path, **extra: str) -> dict[str, str]:
    """An operator's environment: no Prefect server configured, a Prefect home of its own."""
    return operator_env(home, MONITOR_ALLOW_PRIVATE_HOSTS="127.0.0.1",
                        PYTHONPATH=f"{PROJECT_ROOT / 'src'}{os.pathsep}{PROJECT_ROOT}", **extra)


@pytest.mark.slow
def test_sigterm_stops_a_prefect_ingest_within_seconds_records_it_and_the_next_run_resumes(tmp_path, capsys):
    """`monitor ingest` as an operator runs it: on Prefect's temporary server, over the corpus.

    Prefect's flow engine installs its own SIGTERM handler for the flow: before
    lifeline.sigterm_stays_ours the run was recorded 'failed', page tasks fetched on to
    the end of their batches, and DuckDB's bindings printed ~50 "nanobind: leaked" lines.
    """
    from monitor.cli import main
    from monitor.demo.corpus_server import CorpusServer, corpus_sources
    from monitor.runs.ingest import run_ingest
    from monitor.runs.sources import dump_sources
    from monitor.settings import load_settings

    db, home = tmp_path / "w.duckdb", tmp_path / "prefect-home"
    with CorpusServer() as server:
        sources = corpus_sources(server.base_url)
        sources_file = tmp_path / "sources.yaml"
        sources_file.write_text(dump_sources(sources), encoding="utf-8")
        command = [sys.executable, "-m", "monitor.cli", "ingest", "--sources", str(sources_file), "--db", str(db)]
        # Small batches, and a pause between pages of a host: batches get saved, and the run
        # is still fetching when the signal comes.
        env = _monitor_env(home, MONITOR_PAGES_PER_TASK="2", MONITOR_PER_HOST_DELAY="0.4")
        pages = len(server.manifest.articles)
        proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 300  # Prefect's temporary server first (flows/local_server.py)
        while proc.poll() is None and time.monotonic() < deadline:
            if sum(r.path.endswith(".html") for r in server.requests) >= pages // 2:
                break
            time.sleep(0.05)
        children = _descendants(proc.pid, _children_of())
        commands = [Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode() for p in children]
        assert proc.poll() is None and any("uvicorn" in c and "prefect.server" in c for c in commands), commands
        assert any("monitor.runs.lifeline" in c for c in commands), commands
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - sent
        assert proc.returncode == 143, (proc.returncode, err[-3000:])
        assert took < STOP_GRACE_SECONDS + 1, took
        # One line: no traceback, none of Prefect's crash reports, no "nanobind: leaked".
        assert err.splitlines() == ["monitor: error: stopped by signal SIGTERM: the run is recorded as stopped "
                                    "with what it saved; the next run picks up the rest"], err[-3000:]
        assert out == ""
        # The temporary Prefect server and the watchdog went with it.
        assert _gone_within(children, 10.0) == []
        status, stats, saved = _run_row(db)
        assert status == "stopped" and 0 < saved < pages, (status, saved)
        assert stats["net_stories"] + stats["net_copies"] + stats["net_off_topic"] == saved
        assert main(["runs", "--db", str(db)]) == 0
        shown = capsys.readouterr().out.splitlines()
        assert any(" stopped " in f" {line} " for line in shown), shown

        # The next run picks up the rest: the warehouse then is a clean run's, row for row.
        resumed = subprocess.run(command, cwd=PROJECT_ROOT, env=_monitor_env(home, MONITOR_PER_HOST_DELAY="0"),
                                 capture_output=True, text=True, timeout=600)
        assert resumed.returncode == 0 and resumed.stderr == "", resumed.stderr[-3000:]
        clean = tmp_path / "clean.duckdb"
        run_ingest(load_settings(environ={}, db_path=clean, allow_private_hosts=("127.0.0.1",), per_host_delay=0.0),
                   sources=sources)
    got, want = _whole_rows(db), _whole_rows(clean)
    assert len(want["articles"]) > pages  # the corpus's articles and the reference texts
    for table in want:
        assert got[table] == want[table], table
    print(f"SIGTERM to `monitor ingest` under Prefect: ended in {took:.2f} s, {saved} of {pages} pages saved")
