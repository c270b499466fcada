"""The demo's digests, HTML and Markdown, against golden files kept under tests/reports/golden/.

The recorded corpus is served on loopback and ingested in this process (``run_ingest``, no
Prefect), and the digest of its busiest week is rendered, as ``monitor demo`` does. A change to
the digest's layout or wording shows here as a diff of these files: update them only on purpose,
with ``MONITOR_UPDATE_GOLDEN=1 pytest tests/reports/test_digest_golden.py``, and read the diff
before committing it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from monitor.demo.corpus_server import CorpusServer, corpus_sources
from monitor.reports.digest import Digest, build_digest, busiest_week, render_html, render_markdown
from monitor.runs.ingest import run_ingest
from monitor.settings import load_settings
from monitor.storage.warehouse import connect

GOLDEN = Path(__file__).resolve().parent / "golden"
#: The loopback port changes on every run: golden files name the corpus server by this.
BASE = "http://corpus.invalid"
#: Any day after the corpus was fetched: the digest's own notes about today are pinned.
TODAY = date(2026, 12, 7)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Digest, str]]:
    """The demo's busiest week, read from a warehouse the corpus was ingested into."""
    db = tmp_path_factory.mktemp("golden") / "demo.duckdb"
    with CorpusServer() as server:
        settings = load_settings(environ={}, db_path=db, per_host_delay=0.0, allow_private_hosts=("127.0.0.1",))
        run_ingest(settings, sources=corpus_sources(server.base_url))
        base = server.base_url
    con = connect(db, read_only=True)
    try:
        week = busiest_week(con)
        assert week is not None
        yield build_digest(con, week, today=TODAY), base
    finally:
        con.close()


@pytest.mark.parametrize(("name", "render"), [("demo-digest.md", render_markdown), ("demo-digest.html", render_html)])
def test_the_demo_s_digest_matches_its_golden_file(demo: tuple[Digest, str], name: str, render: object) -> None:
    digest, base = demo
    text = render(digest).replace(base, BASE)  # type: ignore[operator]
    golden = GOLDEN / name
    if os.environ.get("MONITOR_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), f"{name} changed: if on purpose, re-run with MONITOR_UPDATE_GOLDEN=1"
