"""Amplification in the warehouse: the recorded corpus (Istok Press, a state-affiliated
outlet, and the two portals that republish it) ingested from loopback into a real DuckDB
file, then the views `amplification`, `weekly_amplification` and `source_links` read back."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from monitor.demo.corpus_server import CorpusServer, corpus_sources
from monitor.models import SiteIdentifier, Source
from monitor.reading.urls import article_id
from monitor.runs.ingest import run_ingest
from monitor.runs.reextract import reextract_articles
from monitor.pipeline import make_judge
from monitor.settings import load_settings
from monitor.storage import store
from monitor.storage.warehouse import connect

ISTOK_GAS = "istokpress/2026/10/moskva-i-beograd-produzavaju-gasni-sporazum.html"
ISTOK_UN = "istokpress/2026/10/ruski-ambasador-moskva-ce-braniti-stav-srbije.html"
BRZE_GAS = "brzevesti/2026/10/gas-iz-rusije-stize-u-srbiju.html"
BRZE_UN = "brzevesti/2026/10/ruski-ambasador-moskva-ce-braniti-stav-srbije.html"
GLAS_GAS = "narodniglas/2026/10/ruski-gas-za-srbiju-do-2030.html"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    db = tmp_path_factory.mktemp("amplification") / "w.duckdb"
    with CorpusServer() as server:
        settings = load_settings(environ={}, db_path=db, allow_private_hosts=("127.0.0.1",), per_host_delay=0.0)
        run_ingest(settings, sources=corpus_sources(server.base_url))
        ids = {a.path: article_id(f"{server.base_url}/{a.path}") for a in server.manifest.articles}
    return db, ids, settings


def test_amplification_lists_each_copy_of_state_media_with_lag_attribution_and_changes(corpus) -> None:
    db, ids, _ = corpus
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("""
        SELECT article_id, outlet, outlet_owner, origin_id, origin_outlet, origin_owner, origin_state, lag_hours,
               attributed, attributed_as, attribution_cue, attribution, credited, duplicate_kind,
               origin_script, script, script_changed, title_changed, length_changed, week
        FROM amplification ORDER BY lag_hours""").fetchall()
    assert rows == [
        (ids[BRZE_UN], "brzevesti", "private", ids[ISTOK_UN], "istokpress", "state-affiliated", "RU", 3.0,
         True, "Istok Press", "label", "Izvor: Istok Press", None, "exact",
         "cyrillic", "latin", True, False, False, "2026-W43"),
        (ids[BRZE_GAS], "brzevesti", "private", ids[ISTOK_GAS], "istokpress", "state-affiliated", "RU", 5.5,
         False, None, None, None, [], "exact",
         "cyrillic", "latin", True, True, False, "2026-W43"),
        (ids[GLAS_GAS], "narodniglas", "party", ids[ISTOK_GAS], "istokpress", "state-affiliated", "RU", 26.0,
         True, "Исток Прес", "phrase", con.execute(
             "SELECT credits[1].evidence FROM article_provenance WHERE article_id = ?", [ids[GLAS_GAS]]
         ).fetchall()[0][0], None, "contained",
         "cyrillic", "cyrillic", False, True, True, "2026-W43"),
    ]
    evidence = rows[2][11]
    assert evidence.startswith("Према писању агенције Исток Прес, Србија и Русија договориле су")


def test_weekly_amplification_says_how_much_of_each_outlets_week_came_from_state_media(corpus) -> None:
    con = duckdb.connect(str(corpus[0]), read_only=True)
    assert con.execute("SELECT * FROM weekly_amplification ORDER BY outlet").fetchall() == [
        ("2026-W43", "brzevesti", 2, 2, 1.0, 1, 1, 2, 1, ["istokpress"], 4.25),
        ("2026-W43", "narodniglas", 1, 1, 1.0, 1, 0, 0, 1, ["istokpress"], 26.0),
    ]


def test_source_links_joins_the_two_portals_on_their_shared_ids_and_nothing_else(corpus) -> None:
    con = duckdb.connect(str(corpus[0]), read_only=True)
    rows = con.execute("SELECT source_a, source_b, kind, identifier, carried_by, evidence FROM source_links "
                       "ORDER BY kind").fetchall()
    assert [r[:5] for r in rows] == [
        ("brzevesti", "narodniglas", "ga4", "G-7QK2M9PL4X", 2),
        ("brzevesti", "narodniglas", "yandex_metrica", "90871234", 2),
    ]
    assert rows[0][5].startswith("ga4 G-7QK2M9PL4X on 2 page(s) of brzevesti (e.g. http://127.0.0.1:")
    # Every page of the three carries Facebook's public share-plugin app id: never stored, never a link.
    assert con.execute("SELECT count(*) FROM site_identifiers WHERE kind = 'fb_app'").fetchall() == [(0,)]


def test_an_identifier_many_sites_carry_links_none_of_them() -> None:
    con = connect()
    at = datetime(2026, 10, 1, tzinfo=UTC)
    theme = SiteIdentifier("gtm", "GTM-THEME42", "GTM-THEME42 in a theme's footer")
    own = SiteIdentifier("ga4", "G-OWN123456", "gtag('config', 'G-OWN123456')")
    pages = [(f"site{n}", f"https://site{n}.example/a", at, (theme,)) for n in range(9)]
    pages += [("site0", "https://site0.example/b", at, (own,)), ("site1", "https://site1.example/b", at, (own,))]
    store.save_site_identifiers(con, pages)
    assert con.execute("SELECT source_a, source_b, identifier FROM source_links").fetchall() == [
        ("site0", "site1", "G-OWN123456")]
    assert con.execute("SELECT identifier, sources, too_common FROM shared_identifiers ORDER BY 1").fetchall() == [
        ("G-OWN123456", 2, False), ("GTM-THEME42", 9, True)]


def test_the_writer_merges_a_sources_identifiers_across_batches() -> None:
    con = connect()
    ga = SiteIdentifier("ga4", "G-OWN123456", "gtag")
    early, late = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 9, tzinfo=UTC)
    assert store.save_site_identifiers(con, [("a", "https://a.example/1", late, (ga,))]) == 1
    assert store.save_site_identifiers(con, [("a", "https://a.example/2", early, (ga,)),
                                             ("a", "https://a.example/3", late, (ga,))]) == 0
    assert con.execute("SELECT source, kind, identifier, pages, first_seen_at, last_seen_at, example_url "
                       "FROM site_identifiers").fetchall() == [
        ("a", "ga4", "G-OWN123456", 3, early, late, "https://a.example/1")]


def test_sources_keep_owner_state_reason_and_the_keys_they_are_cited_by() -> None:
    con = connect()
    store.save_sources(con, [Source(
        name="sputnik-srbija", url="https://lat.sputnikportal.rs/export/rss2/archive/index.xml",
        homepage="https://lat.sputnikportal.rs", owner="state-affiliated", state="RU",
        owner_reason="Rossiya Segodnya", cited_as=("Sputnik", "Спутник", "Sputnik Srbija"))])
    assert con.execute("SELECT owner, state, owner_reason, cited_as, cite_keys FROM sources").fetchall() == [
        ("state-affiliated", "RU", "Rossiya Segodnya", ["Sputnik", "Спутник", "Sputnik Srbija"],
         ["sputnik", "sputnik srbij", "sputnikportal"])]


def test_reextract_rebuilds_the_identifiers_from_the_kept_pages_without_fetching(corpus, tmp_path) -> None:
    db, _, settings = corpus
    copy = tmp_path / "copy.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    rows = "SELECT source, kind, identifier, pages, first_seen_at, last_seen_at FROM site_identifiers ORDER BY ALL"
    before = con.execute(rows).fetchall()
    con.close()
    shutil.copy(db, copy)
    shutil.copytree(f"{db}.pages", f"{copy}.pages")
    con = connect(copy)
    con.execute("DELETE FROM site_identifiers")
    con.execute("DELETE FROM article_provenance")
    # The corpus server is gone: any fetch would fail.
    reextract_articles(con, make_judge(settings.taxonomy_path), force=True)
    assert con.execute(rows).fetchall() == before and len(before) == 8
    assert con.execute("SELECT count(*) FROM amplification WHERE attributed").fetchall() == [(2,)]
