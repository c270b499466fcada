"""Hostile and broken feeds and pages, served from loopback through the real fetch path
(fetch_feed -> parse_feed -> fetch_pages -> extract -> save) into a real DuckDB file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor.runs.ingest import run_ingest
from monitor.models import Source
from monitor.settings import load_settings
from monitor.storage.warehouse import connect as _lake
from warehouse_helpers import reader

ARTICLE = (
    "<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    + "<p>Serbia and Russia signed a new agreement on gas deliveries through TurkStream on Monday, "
    "officials in Belgrade said, while the EU warned that the deal could slow accession talks.</p>" * 4
    + "</article></body></html>"
)


def _rss(items: str, encoding: str = "utf-8", doctype: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="{encoding}"?>{doctype}<rss version="2.0"><channel><title>t</title>'
            f"{items}</channel></rss>").encode("utf-8")


def _item(base: str, path: str, title: str = "Gas deal", date: str = "Mon, 02 Nov 2026 10:00:00 GMT",
          guid: str | None = None) -> str:
    g = f"<guid isPermaLink='false'>{guid}</guid>" if guid else ""
    return f"<item><title>{title}</title><link>{base}{path}</link>{g}<pubDate>{date}</pubDate></item>"


class _Site(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, tuple[int, str, bytes]]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        status, ctype, body = self.server.routes.get(self.path, (404, "text/plain", b"not found"))  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[_Site]:
    srv = _Site(("127.0.0.1", 0), _Handler)
    srv.routes = {"/robots.txt": (200, "text/plain", b"User-agent: *\nDisallow: /private/\n")}
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _base(site: _Site) -> str:
    return f"http://127.0.0.1:{site.server_address[1]}"


def _run(site: _Site, tmp_path, names: list[str], **overrides):
    settings = load_settings(environ={}, db_path=tmp_path / "w.duckdb", allow_private_hosts=("127.0.0.1",),
                             per_host_delay=0.0, **overrides)
    sources = [Source(name=n, url=f"{_base(site)}/{n}.xml") for n in names]
    summary = run_ingest(settings, sources=sources)
    return summary, _lake(tmp_path / "w.duckdb", read_only=True)


def test_xxe_feed_never_puts_local_file_content_in_the_warehouse(site, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LOCAL-FILE")
    base = _base(site)
    doctype = f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    site.routes["/xxe.xml"] = (200, "application/rss+xml", _rss(
        f"<item><title>&xxe;</title><link>{base}/a1</link><description>&xxe;</description></item>", doctype=doctype))
    site.routes["/a1"] = (200, "text/html", ARTICLE.format(title="Gas deal").encode())
    summary, con = _run(site, tmp_path, ["xxe"])
    dump = con.execute("SELECT string_agg(COLUMNS(*)::VARCHAR, ' ') FROM articles").fetchall()
    logs = con.execute("SELECT string_agg(coalesce(detail, ''), ' ') FROM fetch_log").fetchall()
    assert "TOP-SECRET" not in repr(dump) + repr(logs)
    assert summary["articles_total"] == 1


def test_entity_expansion_bomb_is_parsed_without_expanding(site, tmp_path):
    base = _base(site)
    levels = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 9))
    site.routes["/bomb.xml"] = (200, "application/rss+xml", _rss(_item(base, "/a1", title="&a8;"),
                                                                 doctype=f"<!DOCTYPE rss [{levels}]>"))
    site.routes["/a1"] = (200, "text/html", ARTICLE.format(title="Gas deal").encode())
    summary, con = _run(site, tmp_path, ["bomb"])
    assert con.execute("SELECT max(length(coalesce(detail, ''))) <= 2000 FROM fetch_log").fetchall() == [(True,)]
    assert summary["articles_total"] == 1
    assert con.execute("SELECT length(title) < 1000 FROM articles WHERE kind = 'article'").fetchall() == [(True,)]


def test_broken_feeds_are_recorded_with_reasons_and_the_others_go_on(site, tmp_path):
    base = _base(site)
    site.routes["/html.xml"] = (200, "text/html", b"<html><body><h1>Welcome</h1><p>Not a feed.</p></body></html>")
    site.routes["/empty.xml"] = (200, "application/rss+xml", b"")
    site.routes["/truncated.xml"] = (200, "application/rss+xml", _rss(_item(base, "/t1"))[:-40])
    site.routes["/good.xml"] = (200, "application/rss+xml", _rss(_item(base, "/g1")))
    site.routes["/t1"] = (200, "text/html", ARTICLE.format(title="Truncated but kept").encode())
    site.routes["/g1"] = (200, "text/html", ARTICLE.format(title="Good").encode())
    summary, con = _run(site, tmp_path, ["html", "empty", "truncated", "good", "missing"])
    errors = dict(con.execute("SELECT source, error FROM fetch_log WHERE kind = 'feed'").fetchall())
    assert errors == {"html": "not_a_feed", "empty": "empty_feed", "truncated": "malformed_feed",
                      "good": None, "missing": "http_404"}
    titles = {r[0] for r in con.execute("SELECT title FROM articles WHERE kind = 'article'").fetchall()}
    assert titles == {"Truncated but kept", "Good"}
    assert summary["feeds_failed"] == 3


def test_implausible_dates_fall_back_to_fetch_time_with_low_confidence(site, tmp_path):
    base = _base(site)
    site.routes["/dates.xml"] = (200, "application/rss+xml", _rss(
        _item(base, "/old", title="Epoch", date="Thu, 01 Jan 1970 00:00:00 GMT")
        + _item(base, "/future", title="Future", date="Fri, 01 Jan 2100 00:00:00 GMT")
        + _item(base, "/fine", title="Fine", date="Mon, 02 Nov 2026 10:00:00 GMT")))
    for p in ("/old", "/future", "/fine"):
        site.routes[p] = (200, "text/html", ARTICLE.format(title=p).encode())
    _, con = _run(site, tmp_path, ["dates"])
    rows = dict((r[0], r[1:]) for r in con.execute(
        "SELECT url, published_at, date_source, date_confidence FROM articles WHERE kind = 'article'").fetchall())
    base_c = base
    assert rows[f"{base_c}/old"] == (None, "fetched", "low")
    assert rows[f"{base_c}/future"] == (None, "fetched", "low")
    assert rows[f"{base_c}/fine"] == (datetime(2026, 11, 2, 10, tzinfo=UTC), "feed", "high")
    detail = con.execute("SELECT detail FROM fetch_log WHERE kind = 'feed'").fetchall()[0][0]
    assert "implausible date 1970-01-01" in detail and "implausible date 2100-01-01" in detail


def test_duplicate_guids_and_the_item_cap_are_recorded(site, tmp_path):
    base = _base(site)
    items = _item(base, "/p0", guid="same") + _item(base, "/p1", guid="same") + "".join(
        _item(base, f"/p{i}", guid=f"g{i}") for i in range(2, 8))
    site.routes["/many.xml"] = (200, "application/rss+xml", _rss(items))
    for i in range(8):
        site.routes[f"/p{i}"] = (200, "text/html", ARTICLE.format(title=f"Story {i} about gas").encode())
    summary, con = _run(site, tmp_path, ["many"], max_items_per_feed=3)
    assert summary["entries_seen"] == 3
    detail = con.execute("SELECT detail FROM fetch_log WHERE kind = 'feed'").fetchall()[0][0]
    assert "duplicate item: same" in detail and "item cap of 3 reached" in detail


def test_pages_that_are_not_articles_robots_and_private_links_are_refused_with_reasons(site, tmp_path):
    base = _base(site)
    site.routes["/mixed.xml"] = (200, "application/rss+xml", _rss(
        _item(base, "/links", title="Links") + _item(base, "/private/x", title="Private")
        + "<item><title>Metadata</title><link>http://169.254.169.254/latest/meta-data/</link></item>"
        + _item(base, "/png", title="Binary") + _item(base, "/ok", title="Ok")))
    site.routes["/links"] = (200, "text/html", ("<html><body>" + "".join(
        f"<p><a href='/{i}'>Link number {i}</a></p>" for i in range(40)) + "</body></html>").encode())
    site.routes["/png"] = (200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    site.routes["/ok"] = (200, "text/html", ARTICLE.format(title="Ok").encode())
    _, con = _run(site, tmp_path, ["mixed"])
    errors = dict(con.execute("SELECT url, error FROM fetch_log WHERE kind = 'page'").fetchall())
    assert errors[f"{base}/private/x"] == "robots_disallowed"
    assert errors["http://169.254.169.254/latest/meta-data/"] == "blocked_address"
    assert errors[f"{base}/links"] in {"link_list", "no_article_text"}
    assert errors[f"{base}/png"] == "not_html"
    assert errors[f"{base}/ok"] is None
    assert [r[0] for r in con.execute("SELECT title FROM articles WHERE kind = 'article'").fetchall()] == ["Ok"]


def test_a_source_that_keeps_failing_backs_off_longer_each_time(site, tmp_path):
    settings = load_settings(environ={}, db_path=tmp_path / "w.duckdb", allow_private_hosts=("127.0.0.1",),
                             per_host_delay=0.0)
    src = Source(name="down", url=f"{_base(site)}/down.xml", poll_minutes=60)
    site.routes["/down.xml"] = (503, "text/plain", b"maintenance")
    waits = []
    for _ in range(3):
        run_ingest(settings.with_(max_retries=0), sources=[src])
        con = _lake(tmp_path / "w.duckdb")
        failures, next_poll, attempted = con.execute(
            "SELECT consecutive_failures, next_poll_after, last_attempt_at FROM feed_state").fetchall()[0]
        waits.append((failures, round((next_poll - attempted).total_seconds() / 60)))
        con.execute("UPDATE feed_state SET next_poll_after = now() - INTERVAL 1 MINUTE")  # time passes
        con.close()
    assert waits == [(1, 60), (2, 120), (3, 240)]
    # A run inside the backoff window does not touch the source at all.
    con = _lake(tmp_path / "w.duckdb")
    con.execute("UPDATE feed_state SET next_poll_after = now() + INTERVAL 1 HOUR")
    con.close()
    summary = run_ingest(settings, sources=[src])
    assert summary["feeds_backing_off"] == 1 and summary.get("feeds_failed", 0) == 0


def test_a_page_that_fails_is_stored_from_the_feeds_full_text_with_a_note(site, tmp_path):
    base = _base(site)
    body = ARTICLE.format(title="x").split("<article>")[1].split("</article>")[0]
    site.routes["/full.xml"] = (200, "application/rss+xml", (
        '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>t</title><item><title>Gas deal signed</title><link>{base}/down</link>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item></channel></rss>").encode())
    site.routes["/down"] = (503, "text/plain", b"busy")
    _, con = _run(site, tmp_path, ["full"], max_retries=0)
    assert con.execute("SELECT title, extractor, relevant FROM articles WHERE kind = 'article'").fetchall() == [
        ("Gas deal signed", "feed-content", True)]
    assert con.execute("SELECT error FROM fetch_log WHERE kind = 'page'").fetchall() == [("http_503",)]


def test_feeds_real_servers_get_wrong_are_repaired_end_to_end_with_a_note(site, tmp_path):
    """A JSON Feed, a feed gzipped twice, Cyrillic with no declared encoding, localised dates."""
    import gzip
    import json

    base = _base(site)
    site.routes["/json.xml"] = (200, "application/feed+json", json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "j",
        "items": [{"id": "j1", "url": f"{base}/j1", "title": "JSON item", "date_published": "2026-11-02T10:00:00+01:00"}],
    }).encode())
    site.routes["/gz.xml"] = (200, "application/rss+xml", gzip.compress(_rss(_item(base, "/z1", title="Gzipped item"))))
    site.routes["/cyr.xml"] = (200, "application/rss+xml", (
        "<rss version=\"2.0\"><channel><title>к</title>"
        + _item(base, "/c1", title="Газ из России для Сербии: договор продлён", date="пон, 02 нов 2026 10:00:00 MSK")
        + "</channel></rss>").encode("cp1251"))
    for path in ("/j1", "/z1", "/c1"):
        site.routes[path] = (200, "text/html", ARTICLE.format(title="").encode())
    summary, con = _run(site, tmp_path, ["json", "gz", "cyr"])
    rows = sorted(con.execute(
        "SELECT source, title, published_at, date_source FROM articles WHERE kind = 'article'").fetchall())
    assert rows == [
        # The page has no title of its own, so the feed's title is kept, spelled as the feed meant it.
        ("cyr", "Газ из России для Сербии: договор продлён", datetime(2026, 11, 2, 7, 0, tzinfo=UTC), "feed"),
        ("gz", "Gzipped item", datetime(2026, 11, 2, 10, 0, tzinfo=UTC), "feed"),
        ("json", "JSON item", datetime(2026, 11, 2, 9, 0, tzinfo=UTC), "feed"),
    ]
    assert con.execute("SELECT source, error FROM fetch_log WHERE kind = 'feed' ORDER BY source").fetchall() == [
        ("cyr", None), ("gz", None), ("json", None)]
    assert "gzip-compressed inside the response" in con.execute(
        "SELECT detail FROM fetch_log WHERE source = 'gz' AND kind = 'feed'").fetchone()[0]
    cyr = con.execute("SELECT error, detail FROM fetch_log WHERE source = 'cyr' AND kind = 'feed'").fetchone()
    assert cyr[0] is None and "read as cp1251 (detected)" in cyr[1] and "1 date read by month or zone name" in cyr[1]
    assert summary["articles_total"] == 3


_ONE_PAGE_RUN = """
import json, sys
sys.path[:0] = {paths!r}
from hostile_server import HostileServer
from monitor.models import Source
from monitor.runs.ingest import run_ingest
from monitor.settings import load_settings
with HostileServer(lifetime=300, big_page_bytes=5 * 10**6) as srv:
    settings = load_settings(environ={{}}, db_path={db!r}).with_(
        allow_private_hosts=("127.0.0.1",), per_host_delay=0.0, respect_robots=False)
    summary = run_ingest(settings, sources=[Source(name="onepage", url=srv.url("/one-page-feed?n=60"))])
    hits = srv.hits["/one-page-feed?n=60"], sum(n for p, n in srv.hits.items() if p.startswith("/one-big-page"))
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a child of a large pytest
# process would report the parent's peak (benchmarks/common.py measures the same way).
peak = next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"peak_rss_mb": peak, "hits": hits}}))
"""


def test_a_feed_of_one_huge_page_under_many_urls_is_bounded_in_bytes_work_text_and_memory(tmp_path):
    """Issue 27 item 2: 60 links to one 5 MB page. Each batch of pages fetches at most its share
    of the source's bytes a run (the rest is deferred, with a reason), extracts the body once,
    stores its raw bytes once, cuts the text at MAX_TEXT_CHARS; memory stays far under a GB."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from monitor.reading.extract import MAX_TEXT_CHARS
    from monitor.settings import PROJECT_ROOT

    db = tmp_path / "w.duckdb"
    script = _ONE_PAGE_RUN.format(paths=[str(PROJECT_ROOT / "tests"), str(PROJECT_ROOT / "src"), str(PROJECT_ROOT)],
                                  db=str(db))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    # Batches of 25, 25 and 10 entries: 25, 25 and 10 MB of the 500 MB a source may fetch a run.
    assert got["hits"] == [1, 12] and got["peak_rss_mb"] < 600, got
    con = reader(db)
    try:
        rows = con.execute(
            "SELECT count(*), count(*) FILTER (duplicate_of IS NULL), count(*) FILTER (duplicate_kind = 'exact'), "
            "max(length(text)) FROM articles WHERE kind = 'article'").fetchall()
        log = dict(con.execute(
            "SELECT coalesce(error, detail[:9]), count(*) FROM fetch_log WHERE kind = 'page' GROUP BY ALL").fetchall())
        pages = con.execute("SELECT count(*) FROM pages").fetchall()[0][0]
    finally:
        con.close()
    (saved, stories, exact, longest), = rows
    assert (saved, stories, exact) == (12, 1, 11) and 0.9 * MAX_TEXT_CHARS < longest <= MAX_TEXT_CHARS
    # Three extractions (one a batch, each noted as capped), nine bodies recognised, 48 deferred.
    assert log == {"capped": 3, "same body": 9, "source_budget": 48}
    assert pages == 3  # one raw page a batch: the same body is not stored again
    assert Path(f"{db}.data/pages").is_dir()
