"""The ingest flow under Prefect's test harness, with HTTP replayed from the recorded
fixtures in tests/fixtures (responses): no socket is opened, not even on loopback."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from monitor.demo.corpus_server import load_manifest
from monitor.demo.recording import replay
from monitor.runs.sources import dump_sources
from monitor.models import Source
from monitor.storage.warehouse import connect as _lake

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOSTS = ["balkanwatch.example", "adriaticmonitor.example"]


def test_ingest_flow_replays_recorded_feeds_and_pages_into_duckdb(prefect_harness, tmp_path):
    from flows.ingest import ingest

    sources = tmp_path / "sources.yaml"
    sources.write_text(dump_sources([
        Source("balkanwatch", "http://balkanwatch.example/feed.xml", language="en", owner="demo"),
        Source("adriaticmonitor", "http://adriaticmonitor.example/atom.xml", language="en", owner="demo"),
    ]))
    db = tmp_path / "replay.duckdb"
    with replay(FIXTURES / "balkanwatch_rss.yaml", FIXTURES / "adriaticmonitor_atom.yaml") as mock:
        # The fixture hosts never resolve: listing them skips DNS, as MONITOR_ALLOW_PRIVATE_HOSTS would.
        summary = ingest(sources_path=str(sources), db_path=str(db), allow_private_hosts=HOSTS, per_host_delay=0.0)
        fetched = [c.request.url for c in mock.calls]
    assert summary["feeds_ok"] == 2 and summary["page_errors"] == 1
    assert "http://adriaticmonitor.example/go/4821" in fetched  # the 301 hop was followed
    con = _lake(db, read_only=True)
    rows = con.execute(
        "SELECT source, count(*), count(*) FILTER (duplicate_of IS NOT NULL), count(*) FILTER (NOT relevant) "
        "FROM articles WHERE kind = 'article' GROUP BY source ORDER BY source").fetchall()
    manifest = load_manifest()
    expected = [(name, sum(1 for a in manifest.articles if a.source == name),
                 sum(1 for a in manifest.articles if a.source == name and a.copy_of),
                 sum(1 for a in manifest.articles if a.source == name and not a.on_topic))
                for name in ("adriaticmonitor", "balkanwatch")]
    assert rows == expected
    redirected = con.execute(
        "SELECT url, canonical_url FROM articles WHERE url LIKE '%/go/4821'").fetchall()
    assert redirected == [("http://adriaticmonitor.example/go/4821",
                           "http://adriaticmonitor.example/2026/10/montenegro-targeted-by-anti-nato-campaign.html")]
    assert con.execute("SELECT url, status, error FROM fetch_log WHERE error IS NOT NULL").fetchall() == [
        ("http://balkanwatch.example/2026/11/serbian-army-drill-with-russian-paratroopers.html", 404, "http_404")]
    con.close()
