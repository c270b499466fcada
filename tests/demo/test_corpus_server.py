"""The loopback corpus server behaves like a real outlet: placeholders, validators, 304s, routes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from email.utils import format_datetime, parsedate_to_datetime
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import yaml

from monitor.demo.corpus_server import (
    CORPUS_DIR,
    PLACEHOLDER,
    CorpusServer,
    ServedRequest,
    corpus_sources,
    corpus_sources_yaml,
    load_manifest,
    serve_corpus,
)
from monitor.models import Source

FEED = "balkanwatch/feed.xml"


@pytest.fixture(scope="module")
def server() -> Iterator[CorpusServer]:
    with CorpusServer() as s:
        yield s


@pytest.fixture
def base(server: CorpusServer) -> str:
    server.reset_stats()
    return server.base_url


def test_feed_is_served_with_the_placeholder_replaced_by_the_base_url(base: str) -> None:
    r = requests.get(f"{base}/{FEED}", timeout=5)
    assert r.status_code == 200
    assert PLACEHOLDER not in r.text
    raw = (CORPUS_DIR / FEED).read_text(encoding="utf-8")
    assert r.text == raw.replace(PLACEHOLDER, base)
    assert f"<link>{base}/balkanwatch/2026/11/north-macedonia-fake-news-network.html</link>" in r.text


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("balkanwatch/feed.xml", "application/rss+xml; charset=utf-8"),
        ("adriaticmonitor/atom.xml", "application/atom+xml; charset=utf-8"),
        ("dunavinfo/rss.rdf", "application/rdf+xml; charset=utf-8"),
        ("slavicherald/rss.xml", "application/rss+xml; charset=utf-8"),
        ("dunavinfo/2026/09/nis-i-americke-sankcije.html", "text/html; charset=utf-8"),
        ("robots.txt", "text/plain; charset=utf-8"),
    ],
)
def test_each_kind_of_file_has_its_content_type(base: str, path: str, content_type: str) -> None:
    r = requests.get(f"{base}/{path}", timeout=5)
    assert (r.status_code, r.headers["Content-Type"]) == (200, content_type)


def test_etag_is_a_strong_hash_of_the_served_body(base: str) -> None:
    r = requests.get(f"{base}/{FEED}", timeout=5)
    etag = r.headers["ETag"]
    assert etag == '"' + hashlib.sha256(r.content).hexdigest()[:32] + '"'
    assert not etag.startswith("W/")


def test_matching_if_none_match_gets_304_without_a_body(server: CorpusServer, base: str) -> None:
    first = requests.get(f"{base}/{FEED}", timeout=5)
    again = requests.get(f"{base}/{FEED}", headers={"If-None-Match": first.headers["ETag"]}, timeout=5)
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"]
    assert server.stats == {200: 1, 304: 1}


def test_stale_or_listed_etags_are_compared_correctly(base: str) -> None:
    etag = requests.get(f"{base}/{FEED}", timeout=5).headers["ETag"]
    stale = requests.get(f"{base}/{FEED}", headers={"If-None-Match": '"0000"'}, timeout=5)
    listed = requests.get(f"{base}/{FEED}", headers={"If-None-Match": f'"0000", W/{etag}'}, timeout=5)
    assert (stale.status_code, listed.status_code) == (200, 304)


def test_if_modified_since_gets_304_unless_the_file_is_newer(base: str) -> None:
    last_modified = requests.get(f"{base}/{FEED}", timeout=5).headers["Last-Modified"]
    assert last_modified == "Sat, 14 Nov 2026 16:00:00 GMT"  # the newest item of the feed
    same = requests.get(f"{base}/{FEED}", headers={"If-Modified-Since": last_modified}, timeout=5)
    earlier = format_datetime(parsedate_to_datetime(last_modified) - timedelta(seconds=1), usegmt=True)
    older = requests.get(f"{base}/{FEED}", headers={"If-Modified-Since": earlier}, timeout=5)
    junk = requests.get(f"{base}/{FEED}", headers={"If-Modified-Since": "yesterday"}, timeout=5)
    assert (same.status_code, older.status_code, junk.status_code) == (304, 200, 200)


def test_if_none_match_wins_over_if_modified_since(base: str) -> None:
    last_modified = requests.get(f"{base}/{FEED}", timeout=5).headers["Last-Modified"]
    r = requests.get(f"{base}/{FEED}", headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified}, timeout=5)
    assert r.status_code == 200


def test_article_last_modified_is_its_publication_time(base: str) -> None:
    a = load_manifest().article("dunavinfo/2026/09/nis-i-americke-sankcije.html")
    r = requests.get(f"{base}/{a.path}", timeout=5)
    assert parsedate_to_datetime(r.headers["Last-Modified"]) == a.published
    assert "Rafinerija u Pančevu" in r.text


def test_redirect_route_answers_301_to_the_real_page(server: CorpusServer, base: str) -> None:
    m = load_manifest()
    (redirect,) = m.redirects
    hop = requests.get(f"{base}/{redirect.path}", allow_redirects=False, timeout=5)
    assert (hop.status_code, hop.headers["Location"]) == (301, f"{base}/{redirect.to}")
    followed = requests.get(f"{base}/{redirect.path}", timeout=5)
    assert (followed.status_code, followed.url) == (200, f"{base}/{redirect.to}")
    assert server.requests[-2:] == [
        ServedRequest("GET", f"/{redirect.path}", 301),
        ServedRequest("GET", f"/{redirect.to}", 200),
    ]


def test_withdrawn_page_unknown_path_and_broken_feed_get_404_and_500(server: CorpusServer, base: str) -> None:
    m = load_manifest()
    assert requests.get(f"{base}/{m.not_found[0].path}", timeout=5).status_code == 404
    assert requests.get(f"{base}/balkanwatch/no-such-page.html", timeout=5).status_code == 404
    assert requests.get(f"{base}/manifest.yaml", timeout=5).status_code == 404  # metadata is not served
    assert requests.get(f"{base}/{m.errors[0].path}", timeout=5).status_code == 500
    assert server.stats == {404: 3, 500: 1}


def test_malformed_feed_is_served_as_is(base: str) -> None:
    r = requests.get(f"{base}/skopjepost/feed.xml", timeout=5)
    assert r.status_code == 200
    assert r.text.endswith("Russian-funded associ")


def test_robots_txt_allows_everything_at_the_root_and_under_each_outlet(base: str) -> None:
    for path in ("robots.txt", "balkanwatch/robots.txt", "adriaticmonitor/robots.txt"):
        r = requests.get(f"{base}/{path}", timeout=5)
        assert (r.status_code, r.text) == (200, "User-agent: *\nAllow: /\n")


def test_head_sends_the_headers_without_a_body(base: str) -> None:
    get = requests.get(f"{base}/{FEED}", timeout=5)
    head = requests.head(f"{base}/{FEED}", timeout=5)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(get.content))


def test_query_strings_are_ignored_when_finding_the_file(base: str) -> None:
    assert requests.get(f"{base}/{FEED}?utm_source=x", timeout=5).status_code == 200


def test_corpus_sources_builds_one_source_per_manifest_outlet(base: str) -> None:
    sources = corpus_sources(base)
    assert [s.name for s in sources] == [s.name for s in load_manifest().sources]
    assert sources[0] == Source(
        name="balkanwatch",
        url=f"{base}/balkanwatch/feed.xml",
        language="en",
        country="RS",
        owner="independent",
        poll_minutes=60,
        homepage=f"{base}/balkanwatch/",
        notes="Belgrade-based independent outlet; RSS 2.0 with summaries only.",
    )
    for s in sources:
        status = requests.get(s.url, timeout=5).status_code
        assert status == (500 if s.name == "tiranareview" else 200), s.name


def test_sources_yaml_is_a_sources_file_with_name_and_url(base: str) -> None:
    rows = yaml.safe_load(corpus_sources_yaml(base))["sources"]
    assert [(r["name"], r["url"]) for r in rows] == [(s.name, s.url) for s in corpus_sources(base)]


def test_serve_corpus_yields_a_base_url_and_frees_the_port_on_exit(tmp_path: Path) -> None:
    with serve_corpus() as url:
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(f"{url}/{FEED}", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/{FEED}", timeout=2)


def test_a_server_that_is_not_started_has_no_base_url() -> None:
    with pytest.raises(RuntimeError):
        _ = CorpusServer().base_url


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_server_on_a_fixed_port_serves_the_same_urls_and_bodies_every_time() -> None:
    # What keeps the demo's article ids (hashes of their URLs) the same from run to run.
    port = _free_port()
    seen = []
    for _run in (1, 2):
        with CorpusServer(port=port) as s:
            sources = corpus_sources(s.base_url)
            seen.append((s.base_url, sources, requests.get(f"{s.base_url}/{FEED}", timeout=5).content))
    assert seen[0] == seen[1]
    assert seen[0][0] == f"http://127.0.0.1:{port}"


def test_a_taken_port_falls_back_to_a_free_one_only_when_asked_and_says_so() -> None:
    with CorpusServer() as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError):
            CorpusServer(port=port).start()
        with CorpusServer(port=port, any_port_if_taken=True) as second:
            assert second.port_taken and second.base_url != first.base_url
            assert requests.get(f"{second.base_url}/{FEED}", timeout=5).status_code == 200
    with CorpusServer(port=port, any_port_if_taken=True) as again:
        assert not again.port_taken and again.base_url == first.base_url


def test_the_demo_port_is_fixed() -> None:
    from monitor.demo.corpus_server import DEMO_PORT

    assert 1024 < DEMO_PORT < 32768  # unprivileged, below Linux's range of ports handed out at random
