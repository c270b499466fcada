"""The ingest flow end to end under Prefect's test harness, against the loopback corpus."""

from __future__ import annotations

import contextlib
import os
import tempfile

import duckdb
import pytest

from monitor.demo.corpus_server import CorpusServer, corpus_sources_yaml
from monitor.storage.warehouse import connect as _lake

pytestmark = pytest.mark.slow


def test_ingest_flow_stores_the_corpus_then_a_second_run_adds_nothing(prefect_harness, tmp_path):
    from flows.ingest import ingest

    db = tmp_path / "flow.duckdb"
    with CorpusServer() as server:
        sources = tmp_path / "sources.yaml"
        sources.write_text(corpus_sources_yaml(server.base_url), encoding="utf-8")
        kwargs = dict(sources_path=str(sources), db_path=str(db), allow_private_hosts=["127.0.0.1"], per_host_delay=0.0)
        first = ingest(**kwargs)
        server.reset_stats()
        second = ingest(**kwargs)
        assert server.stats == {304: 8}
        # As scheduled (prefect.yaml): every source was polled a moment ago, so none is due.
        server.reset_stats()
        scheduled = ingest(**kwargs, respect_poll_minutes=True)
        assert server.stats == {} and scheduled["feeds_not_due"] == 8
    assert first["feeds_ok"] == 8 and first["feeds_failed"] == 1
    assert first["articles_total"] == len(server.manifest.articles)  # the 404 link is not an article
    assert first["page_errors"] == 1
    # Feeds finish in any order: an original saved after its copy re-points it ("repointed").
    copies = sum(1 for a in server.manifest.articles if a.copy_of)
    assert first["duplicates"] + first.get("repointed", 0) == copies
    assert second["articles_total"] == first["articles_total"]
    assert second.get("stories", 0) + second.get("duplicates", 0) + second.get("off_topic", 0) == 0
    con = _lake(db, read_only=True)
    assert con.execute("SELECT kind, status FROM runs ORDER BY started_at").fetchall() == [
        ("ingest", "ok"), ("ingest", "ok"), ("ingest", "ok")]
    assert con.execute("SELECT count(*) FROM fetch_log WHERE outcome = 'not_modified'").fetchall() == [(8,)]
    # Whatever the order the feeds finished in, each copy points at its original.
    from monitor.reading.urls import article_id

    ids = {a.path: article_id(f"{server.base_url}/{a.path}") for a in server.manifest.articles}
    expected = {ids[a.path]: (a.copy_of if "/" not in a.copy_of else ids[a.copy_of])
                for a in server.manifest.articles if a.copy_of}
    got = dict(con.execute("SELECT id, duplicate_of FROM articles WHERE duplicate_of IS NOT NULL").fetchall())
    assert got == expected
    con.close()


def test_a_blocked_private_address_is_recorded_and_the_other_sources_go_on(prefect_harness, tmp_path):
    from flows.ingest import ingest

    db = tmp_path / "flow.duckdb"
    with CorpusServer() as server:
        sources = tmp_path / "sources.yaml"
        sources.write_text(corpus_sources_yaml(server.base_url), encoding="utf-8")
        # No allow-list: every loopback source is refused before any byte is sent.
        summary = ingest(sources_path=str(sources), db_path=str(db), per_host_delay=0.0)
        assert server.stats == {}
    assert summary["feeds_failed"] == 9 and summary["articles_total"] == 0
    con = _lake(db, read_only=True)
    assert {r[0] for r in con.execute("SELECT error FROM fetch_log").fetchall()} == {"blocked_address"}
    con.close()


@pytest.mark.parametrize("runner", ["dask", "processes"])
def test_monitor_ingest_fans_out_on_a_local_dask_cluster_or_processes_with_one_writer(
        prefect_harness, tmp_path, monkeypatch, capsys, recwarn, runner):
    import socket

    from monitor.cli import main

    db = tmp_path / f"{runner}.duckdb"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where this run's Dask scratch space goes
    # Dask's usual port taken, as by another cluster on the machine: ours asks for a free one.
    taken = socket.socket()
    with contextlib.suppress(OSError):
        taken.bind(("127.0.0.1", 8787))
        taken.listen()
    with taken, CorpusServer() as server:
        sources = tmp_path / "sources.yaml"
        sources.write_text(corpus_sources_yaml(server.base_url), encoding="utf-8")
        monkeypatch.setenv("MONITOR_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
        monkeypatch.setenv("MONITOR_PER_HOST_DELAY", "0")
        code = main(["ingest", "--sources", str(sources), "--db", str(db), "--task-runner", runner, "--workers", "2"])
    assert code == 0
    assert "articles_total=47" in capsys.readouterr().out
    assert [str(w.message) for w in recwarn if "already in use" in str(w.message)] == []
    if runner == "dask":  # the scheduler and workers kept their folders in this run's own scratch space
        assert not (scratch / "dask-scratch-space").exists()
        [own] = scratch.glob("monitor-dask-*")
        assert (own / "dask-scratch-space" / "global.lock").exists()
    con = _lake(db, read_only=True)
    # The same warehouse as the thread runner's: every article once, copies marked.
    assert con.execute("SELECT count(*), count(DISTINCT canonical_url), count(duplicate_of) FROM articles "
                       "WHERE kind = 'article'").fetchall() == [(47, 47, 8)]
    con.close()


def test_process_and_dask_workers_are_pointed_at_one_prefect_server(tmp_path):
    """Without PREFECT_API_URL each worker process used to start its own temporary server.

    A command that runs a flow starts this process's temporary server once and puts its
    URL in the environment that process and Dask workers inherit; it is the very server Prefect's
    own client in this process uses (the same singleton), and it answers.
    """
    import subprocess
    import sys

    script = (
        "import os, urllib.request\n"
        "from monitor.cli import _prefect_ready, _task_runner\n"
        "from prefect.server.api.server import SubprocessASGIServer\n"
        "assert 'PREFECT_API_URL' not in os.environ\n"
        "_prefect_ready()\n"
        "_task_runner('processes', 2)\n"
        "url = os.environ['PREFECT_API_URL']\n"
        "assert url == SubprocessASGIServer().api_url, url\n"
        "print(urllib.request.urlopen(url + '/health', timeout=10).read().decode())\n"
        "_prefect_ready()\n"
        "_task_runner('dask', 2)\n"
        "assert os.environ['PREFECT_API_URL'] == url  # started once\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "true"


_HOLD_WRITER_FOR = """
import sys, time
from monitor.storage.warehouse import close, connect
con = connect(sys.argv[1])
print("writing", flush=True)
time.sleep(float(sys.argv[2]))
close(con)
"""


def test_the_ingest_flow_waits_for_a_writer_such_as_a_digests_refresh_when_told_to(prefect_harness, tmp_path):
    import subprocess
    import sys

    from flows.ingest import ingest
    from monitor.exceptions import WarehouseLockedError

    db = tmp_path / "flow.duckdb"
    with CorpusServer() as server:
        sources = tmp_path / "sources.yaml"
        sources.write_text(corpus_sources_yaml(server.base_url), encoding="utf-8")
        for wait in (None, 60.0):
            holder = subprocess.Popen([sys.executable, "-c", _HOLD_WRITER_FOR, str(db), "2"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                assert holder.stdout is not None and holder.stdout.readline().strip() == "writing", holder.stderr
                if wait is None:  # a command typed by hand: refused at once
                    with pytest.raises(WarehouseLockedError, match="being written by another monitor run"):
                        ingest(sources_path=str(sources), db_path=str(db), per_host_delay=0.0)
                else:  # the scheduled deployment (prefect.yaml): serialised after the holder
                    summary = ingest(sources_path=str(sources), db_path=str(db), per_host_delay=0.0,
                                     writer_wait=wait)
                    assert summary["feeds_failed"] == 9
            finally:
                holder.wait(timeout=60)
    con = _lake(db, read_only=True)
    assert con.execute("SELECT kind, status FROM runs").fetchall() == [("ingest", "ok")]
    con.close()
