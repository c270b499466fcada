"""Recording from the loopback corpus server and replaying without it, and the committed fixtures."""

from __future__ import annotations

import io
from pathlib import Path

import feedparser
import pytest
import requests

from monitor.demo.corpus_server import CorpusServer, corpus_etag, load_manifest
from monitor.exceptions import ConfigError, ConnectionFailedError
from monitor.demo.recording import (
    corpus_fixture_plan,
    corpus_host_map,
    main,
    read_fixture,
    record_corpus_fixtures,
    record_urls,
    replay,
    rewrite_fixture,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAGE = "balkanwatch/2026/09/serbia-takes-delivery-of-second-pantsir-battery.html"
RUSSIAN = "slavicherald/2026/09/nish-humanitarian-centre-ru.html"


def test_recorded_exchanges_replay_identically_with_the_server_gone(tmp_path: Path) -> None:
    out = tmp_path / "rec.yaml"
    m = load_manifest()
    paths = ["balkanwatch/feed.xml", PAGE, RUSSIAN, m.redirects[0].path, m.not_found[0].path, m.errors[0].path]
    with CorpusServer() as server:
        base = server.base_url
        live = {p: requests.get(f"{base}/{p}", timeout=5) for p in paths}
        recorded = record_urls([f"{base}/{p}" for p in paths], out)
    assert [(r.url, r.status) for r in recorded] == [
        (f"{base}/balkanwatch/feed.xml", 200),
        (f"{base}/{PAGE}", 200),
        (f"{base}/{RUSSIAN}", 200),
        (f"{base}/{m.redirects[0].path}", 301),
        (f"{base}/{m.redirects[0].to}", 200),
        (f"{base}/{m.not_found[0].path}", 404),
        (f"{base}/{m.errors[0].path}", 500),
    ]
    with replay(out):
        for p in paths:
            again = requests.get(f"{base}/{p}", timeout=5)
            assert (again.status_code, again.url, again.content) == (live[p].status_code, live[p].url, live[p].content)
            assert again.headers["Content-Type"] == live[p].headers["Content-Type"]
            assert again.headers.get("ETag") == live[p].headers.get("ETag")


def test_replay_refuses_urls_that_were_not_recorded() -> None:
    with replay(FIXTURES / "tiranareview_500.yaml"), pytest.raises(requests.ConnectionError):
        requests.get("http://balkanwatch.example/feed.xml", timeout=5)


def test_replay_of_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError), replay(tmp_path / "nope.yaml"):
        pass


def test_recording_an_unreachable_url_raises_connection_failed(tmp_path: Path) -> None:
    with CorpusServer() as server:
        dead = server.base_url
    with pytest.raises(ConnectionFailedError):
        record_urls([f"{dead}/balkanwatch/feed.xml"], tmp_path / "x.yaml", timeout=2)


def test_rewrite_maps_urls_bodies_and_locations_and_recomputes_etags(tmp_path: Path) -> None:
    m = load_manifest()
    raw, out = tmp_path / "raw.yaml", tmp_path / "out.yaml"
    with CorpusServer() as server:
        base = server.base_url
        record_urls([f"{base}/{m.redirects[0].path}"], raw)
    rewrite_fixture(raw, out, corpus_host_map(base, ["adriaticmonitor"]), recompute_etags=True)
    hop, page = read_fixture(out)
    assert hop.url == "http://adriaticmonitor.example/go/4821"
    assert hop.headers["Location"] == "http://adriaticmonitor.example/" + m.redirects[0].to.removeprefix("adriaticmonitor/")
    assert base not in page.body and "http://adriaticmonitor.example/2026/" in page.body
    assert page.headers["ETag"] == corpus_etag(page.body.encode())


def test_host_map_sends_each_outlet_to_its_own_example_host() -> None:
    assert corpus_host_map("http://127.0.0.1:9/", ["balkanwatch"]) == {
        "http://127.0.0.1:9/balkanwatch": "http://balkanwatch.example",
        "http://127.0.0.1:9": "http://corpus.example",
    }


def test_committed_fixtures_are_what_a_fresh_recording_produces(tmp_path: Path) -> None:
    written = record_corpus_fixtures(tmp_path)
    assert sorted(p.name for p in written) == sorted(corpus_fixture_plan())
    for path in written:
        committed = FIXTURES / path.name
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{committed} is stale: run python -m monitor.demo.recording --corpus-fixtures tests/fixtures"
        )


def test_committed_rss_fixture_replays_a_feed_and_every_page_it_links_to() -> None:
    with replay(FIXTURES / "balkanwatch_rss.yaml"):
        feed = requests.get("http://balkanwatch.example/feed.xml", timeout=5)
        parsed = feedparser.parse(
            io.BytesIO(feed.content),
            response_headers={"content-type": feed.headers["Content-Type"], "content-location": feed.url},
        )
        statuses = {e.link: requests.get(e.link, timeout=5).status_code for e in parsed.entries}
        robots = requests.get("http://balkanwatch.example/robots.txt", timeout=5)
    assert (parsed.version, parsed.bozo, len(parsed.entries)) == ("rss20", False, 13)
    assert all(link.startswith("http://balkanwatch.example/2026/") for link in statuses)
    assert sorted(statuses.values()) == [200] * 12 + [404]
    assert robots.text == "User-agent: *\nAllow: /\n"


def test_committed_atom_fixture_follows_the_redirect_to_the_article() -> None:
    with replay(FIXTURES / "adriaticmonitor_atom.yaml"):
        feed = requests.get("http://adriaticmonitor.example/atom.xml", timeout=5)
        page = requests.get("http://adriaticmonitor.example/go/4821", timeout=5)
    assert feedparser.parse(io.BytesIO(feed.content)).version == "atom10"
    assert page.status_code == 200 and [h.status_code for h in page.history] == [301]
    assert page.url == "http://adriaticmonitor.example/2026/10/montenegro-targeted-by-anti-nato-campaign.html"


def test_committed_broken_feed_fixtures_replay_their_failures() -> None:
    with replay(FIXTURES / "skopjepost_malformed.yaml", FIXTURES / "tiranareview_500.yaml"):
        truncated = requests.get("http://skopjepost.example/feed.xml", timeout=5)
        failing = requests.get("http://tiranareview.example/feed.rss", timeout=5)
    assert truncated.status_code == 200 and feedparser.parse(io.BytesIO(truncated.content)).bozo
    assert truncated.text.endswith("Russian-funded associ")
    assert failing.status_code == 500


def test_non_ascii_bodies_replay_byte_for_byte() -> None:
    with replay(FIXTURES / "slavicherald_content.yaml"):
        feed = requests.get("http://slavicherald.example/rss.xml", timeout=5)
    assert "Российско-сербский гуманитарный центр" in feed.content.decode("utf-8")
    assert feed.headers["ETag"] == corpus_etag(feed.content)


def test_command_line_records_urls_and_rewrites_prefixes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.yaml"
    with CorpusServer() as server:
        base = server.base_url
        assert main([f"{base}/robots.txt", "-o", str(out), "--rewrite", f"{base}=http://cli.example"]) == 0
    assert "recorded 1 responses" in capsys.readouterr().out
    (only,) = read_fixture(out)
    assert (only.url, only.status, only.body) == ("http://cli.example/robots.txt", 200, "User-agent: *\nAllow: /\n")
