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

import duckdb
import pytest

from monitor.runs.lifeline import STOP_GRACE_SECONDS, _children_of, _descendants
from monitor.settings import PROJECT_ROOT


def _reader(db: object) -> duckdb.DuckDBPyConnection:
    """The warehouse read as an analyst's session does (read-only, no lock)."""
    from monitor.storage.warehouse import connect

    return connect(str(db), read_only=True)

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")


def _pages(folder: Path, n: int) -> Path:
    folder.mkdir()
    corpus = sorted((PROJECT_ROOT / "src/monitor/demo/corpus").glob("*/2026/*/*.html"))
    for i in range(n):
        html = corpus[i % len(corpus)].read_text(encoding="utf-8")
        (folder / f"p{i:04d}.html").write_text(html.replace("</h1>", f" {i}</h1>", 1), encoding="utf-8")
    return folder


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_import(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, list[int]]:
    """`monitor import --workers 2` of 1,200 pages, once its workers run; its children then."""
    docs = _pages(tmp_path / "docs", 1200)
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
    con = _reader(db)
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
    assert status == "stopped" and saved < 1200
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
