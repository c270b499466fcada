"""Amplification in `monitor explain` and in the digest: the recorded corpus ingested from
loopback into a real DuckDB file; a hand-made warehouse for new links between sites."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from monitor.demo.corpus_server import CorpusServer, corpus_sources
from monitor.models import SiteIdentifier
from monitor.reading.urls import article_id
from monitor.reports.digest import build_digest, render_html, render_markdown
from monitor.reports.explain import explain_article, render_text
from monitor.runs.ingest import run_ingest
from monitor.settings import load_settings
from monitor.storage import store
from monitor.storage.warehouse import connect

ISTOK_GAS = "istokpress/2026/10/moskva-i-beograd-produzavaju-gasni-sporazum.html"
BRZE_GAS = "brzevesti/2026/10/gas-iz-rusije-stize-u-srbiju.html"
GLAS_GAS = "narodniglas/2026/10/ruski-gas-za-srbiju-do-2030.html"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    db = tmp_path_factory.mktemp("amplified") / "w.duckdb"
    with CorpusServer() as server:
        settings = load_settings(environ={}, db_path=db, allow_private_hosts=("127.0.0.1",), per_host_delay=0.0)
        run_ingest(settings, sources=corpus_sources(server.base_url))
        ids = {a.path: article_id(f"{server.base_url}/{a.path}") for a in server.manifest.articles}
        urls = {a.path: f"{server.base_url}/{a.path}" for a in server.manifest.articles}
    con = duckdb.connect(str(db), read_only=True)
    yield con, ids, urls
    con.close()


def test_explain_shows_a_copys_origin_owner_lag_and_that_it_does_not_name_it(corpus) -> None:
    con, ids, _ = corpus
    lines = render_text(explain_article(con, ids[BRZE_GAS])).splitlines()
    at = lines.index(next(ln for ln in lines if ln.startswith("origin: ")))
    assert lines[at:at + 3] == [
        f"origin: {ids[ISTOK_GAS]} from istokpress (state-affiliated, RU): amplification of state-affiliated media, "
        "+5.5 h later",
        "  attributed: no, the copy does not name its origin",
        "  changed: script, title",
    ]


def test_explain_quotes_the_passage_that_credits_the_origin(corpus) -> None:
    con, ids, _ = corpus
    e = explain_article(con, ids[GLAS_GAS])
    assert e.origin is not None and e.origin.attributed and e.origin.attributed_as == "Исток Прес"
    lines = render_text(e).splitlines()
    at = lines.index(next(ln for ln in lines if ln.startswith("origin: ")))
    assert lines[at + 1].startswith('  attributed: yes, as "Исток Прес": "Према писању агенције Исток Прес, Србија')
    assert lines[at + 2] == "  changed: title, length"
    assert e.to_json()["origin"]["owner"] == "state-affiliated"


def test_an_original_has_no_origin(corpus) -> None:
    con, ids, _ = corpus
    assert explain_article(con, ids[ISTOK_GAS]).origin is None


def test_digest_lists_the_weeks_most_republished_state_media_originals(corpus) -> None:
    con, _, urls = corpus
    text = render_markdown(build_digest(con, "2026-W43"))
    section = text[text.index("## State-media content republished"):text.index("## Source health")]
    assert section.splitlines()[2:6] == [
        f"1. [Москва и Београд продужавају гасни споразум до 2030. године]({urls[ISTOK_GAS]})  ",
        "   from istokpress, RU: 2 copies, 1 attributed; median lag 15.8 h: brzevesti (not attributed, script "
        "changed, +5.5 h); narodniglas (attributed, +26.0 h)",
        "2. [Руски амбасадор: Москва ће у Савету безбедности бранити став Србије о Косову]"
        f"({urls['istokpress/2026/10/ruski-ambasador-moskva-ce-braniti-stav-srbije.html']})  ",
        "   from istokpress, RU: 1 copy, 1 attributed; median lag 3.0 h: brzevesti (attributed, script changed, +3.0 h)",
    ]
    quiet = render_markdown(build_digest(con, "2026-W38"))
    assert "No copy of a state-affiliated outlet's article appeared this week." in quiet


def test_digest_names_new_links_between_sites_escaped() -> None:
    con = connect()
    seen = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)
    token = SiteIdentifier("verification", "google-site-verification=<b>x</b>", "<meta ...>")
    store.save_site_identifiers(con, [("portal-a", "https://a.example/1", seen, (token,)),
                                      ("portal-b", "https://b.example/1", seen, (token,))])
    d = build_digest(con, "2026-W45")
    md = render_markdown(d)
    assert "- portal-a and portal-b share verification google-site-verification=\\<b\\>x\\</b\\>" in md
    html = render_html(d)
    assert "<li>portal-a and portal-b share verification google-site-verification=&lt;b&gt;x&lt;/b&gt;</li>" in html
    assert build_digest(con, "2026-W46").new_links == ()
