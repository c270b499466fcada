"""Events in the warehouse: every saved story assigned once, copies with their story, ids stable, merges recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from monitor.judging.dedup import fingerprint_text
from monitor.judging.events import covered_name_stems
from monitor.models import Document
from monitor.pipeline import make_judge, tag_and_judge
from monitor.runs.ingest import decide_and_save
from monitor.settings import DEFAULT_TAXONOMY
from monitor.storage.dedup_index import DedupIndex
from monitor.storage.events import StoryFacts, assign_stories, assign_unassigned, refresh_evidence, stories_to_assign
from monitor.storage.warehouse import connect

PASSAGES = {p["id"]: p for p in yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "events_labelled" / "passages.yaml").read_text(encoding="utf-8"))["passages"]}
JUDGE = make_judge(DEFAULT_TAXONOMY)
NAMES = covered_name_stems(JUDGE.taxonomy)


def _doc(pid: str, *, source: str | None = None, at: datetime | None = None, doc_id: str | None = None) -> Document:
    p = PASSAGES[pid]
    tags, rel = tag_and_judge(JUDGE, p["title"], p["text"])
    fp = fingerprint_text(p["text"])
    doc_id = doc_id or pid
    url = f"https://{source or pid}.example/{doc_id}"
    published = at or p["at"]
    return Document(id=doc_id, source=source or f"outlet-{pid}", url=url, canonical_url=url, title=p["title"],
                    text=p["text"], fetched_at=published + timedelta(hours=1), published_at=published,
                    date_source="feed", date_confidence="high", language=p["language"],
                    content_hash=fp.content_hash, word_count=len(p["text"].split()), tags=tags, relevance=rel,
                    fingerprint=fp)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = connect(":memory:")
    yield c
    c.close()


def _save(con: duckdb.DuckDBPyConnection, docs: list[Document]) -> None:
    decide_and_save(con, DedupIndex(con), docs, run_id="r", event_names=NAMES)


def _events(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return set(con.execute("SELECT event_id, article_id FROM event_stories").fetchall())


def test_event_stories_has_exactly_the_contract_columns(con: duckdb.DuckDBPyConnection) -> None:
    cols = con.execute("SELECT column_name FROM (DESCRIBE event_stories)").fetchall()
    assert cols == [("event_id",), ("article_id",)]


def test_one_happening_in_four_languages_is_one_event_whose_id_never_changes_and_a_later_delivery_is_another(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _save(con, [_doc("a-en"), _doc("a-sr")])
    assert _events(con) == {("ev_a-en", "a-en"), ("ev_a-en", "a-sr")}
    _save(con, [_doc("a-mk"), _doc("a-ru"), _doc("a-later-en")])
    assert _events(con) == {("ev_a-en", "a-en"), ("ev_a-en", "a-sr"), ("ev_a-en", "a-ru"), ("ev_a-en", "a-mk"),
                            ("ev_a-later-en", "a-later-en")}
    row = con.execute("SELECT event_id, first_article_id, first_outlet, stories, copies, outlets, language_list, "
                      "span_hours, week, relevant FROM events WHERE event_id = 'ev_a-en'").fetchone()
    assert row == ("ev_a-en", "a-en", "outlet-a-en", 4, 0, 4, ["en", "mk", "ru", "sr-Latn"], 25, "2026-W11", True)
    # Each later report names the stored one it was linked to, and Batajnica (Батајница,
    # Батайница) is in what they share, whatever the script.
    via = con.execute("SELECT article_id, via IN ('a-en', 'a-sr', 'a-ru', 'a-mk'), list_contains(evidence, 'name:bataj') "
                      "FROM event_assignments ORDER BY article_id").fetchall()
    assert via == [("a-en", None, False), ("a-later-en", None, False), ("a-mk", True, True),
                   ("a-ru", True, True), ("a-sr", True, True)]


def test_the_same_actors_on_another_occasion_stay_apart(con: duckdb.DuckDBPyConnection) -> None:
    _save(con, [_doc(p) for p in ("b-en", "b-sr", "b-ru", "b-dodik-en", "b-moscow-sr", "c-en", "c-sr", "c-ru",
                                  "c-sq", "c-skopje-en")])
    groups = con.execute("SELECT list(article_id ORDER BY article_id) FROM event_stories GROUP BY event_id "
                         "ORDER BY 1").fetchall()
    assert groups == [(["b-dodik-en"],), (["b-en", "b-ru", "b-sr"],), (["b-moscow-sr"],),
                      (["c-en", "c-ru", "c-sq", "c-sr"],), (["c-skopje-en"],)]


def test_a_copy_is_in_its_storys_event_and_counted_as_a_copy(con: duckdb.DuckDBPyConnection) -> None:
    _save(con, [_doc("d-en")])
    _save(con, [_doc("d-en", source="portal", at=PASSAGES["d-en"]["at"] + timedelta(hours=3), doc_id="d-copy"),
                _doc("d-bg")])
    assert con.execute("SELECT duplicate_of FROM articles WHERE id = 'd-copy'").fetchone() == ("d-en",)
    assert _events(con) == {("ev_d-en", "d-en"), ("ev_d-en", "d-copy"), ("ev_d-en", "d-bg")}
    assert con.execute("SELECT count(*) FROM event_assignments WHERE article_id = 'd-copy'").fetchone() == (0,)
    assert con.execute("SELECT stories, copies, outlets FROM events").fetchone() == (2, 1, 3)


def test_an_original_published_earlier_but_saved_later_takes_the_event_of_the_copy_it_displaces(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Long enough (50 words) for dedup to verify the copy both ways and re-point it.
    extra = (" The contract follows months of talks in Moscow and Belgrade, during which both sides discussed "
             "prices, storage in Banatski Dvor and oil-linked pricing, officials said on condition of anonymity.")

    def longer(d: Document) -> Document:
        fp = fingerprint_text(d.text + extra)
        return replace(d, text=d.text + extra, fingerprint=fp, content_hash=fp.content_hash,
                       word_count=len((d.text + extra).split()))

    at = PASSAGES["d-en"]["at"]
    _save(con, [longer(_doc("d-en", source="portal", at=at + timedelta(hours=5), doc_id="d-copy"))])
    _save(con, [_doc("d-sr")])
    _save(con, [longer(_doc("d-en", at=at))])  # the wire's original: published first, saved last
    assert con.execute("SELECT duplicate_of FROM articles WHERE id = 'd-copy'").fetchone() == ("d-en",)
    assert _events(con) == {("ev_d-copy", "d-copy"), ("ev_d-copy", "d-en"), ("ev_d-copy", "d-sr")}
    assert con.execute("SELECT evidence FROM event_assignments WHERE article_id = 'd-en'").fetchone() == (
        ["copy:displaced root"],)


def _facts(article_id: str, title: str, text: str, at: datetime) -> StoryFacts:
    return StoryFacts(article_id, title, text, ("country:russia", "country:serbia"), at)


def test_a_story_linking_two_events_merges_them_into_the_older_and_the_merge_is_recorded(
    con: duckdb.DuckDBPyConnection,
) -> None:
    day = datetime(2026, 3, 2, 9, tzinfo=UTC)
    assign_stories(con, [_facts("s1", "Delivery", "Pilots trained in Torzhok flew to Batajnica on 14 March.", day),
                         _facts("s2", "Ceremony", "Minister Gašić and Colonel Jovanović spoke of 4250 hours at the Kraljevo ceremony.",
                                day + timedelta(hours=2))], covered=NAMES, run_id="r1")
    assert con.execute("SELECT article_id, event_id FROM event_assignments ORDER BY 1").fetchall() == [
        ("s1", "ev_s1"), ("s2", "ev_s2")]
    counts = assign_stories(con, [_facts(
        "s3", "Handover", "Minister Gašić and Colonel Jovanović said pilots trained in Torzhok flew 4250 hours before Batajnica and the "
        "Kraljevo ceremony on 14 March.", day + timedelta(hours=5))], covered=NAMES, run_id="r2")
    assert counts["events_merged"] == 1
    assert _events(con) == set()  # no articles rows: event_stories lists stored articles only
    assert con.execute("SELECT article_id, event_id FROM event_assignments ORDER BY 1").fetchall() == [
        ("s1", "ev_s1"), ("s2", "ev_s1"), ("s3", "ev_s1")]
    assert con.execute("SELECT merged_event_id, into_event_id, article_id, run_id FROM event_merges").fetchall() == [
        ("ev_s2", "ev_s1", "s3", "r2")]


def test_stories_saved_before_events_are_assigned_once_oldest_first(con: duckdb.DuckDBPyConnection) -> None:
    _save(con, [_doc("e-sr"), _doc("e-en"), _doc("e-zvezda-sr")])
    con.execute("DELETE FROM event_assignments")
    assert assign_unassigned(con, covered=NAMES, run_id="backfill") == {"events_new": 2, "events_joined": 1}
    assert _events(con) >= {("ev_e-sr", "e-sr"), ("ev_e-sr", "e-en"), ("ev_e-zvezda-sr", "e-zvezda-sr")}
    assert assign_unassigned(con, covered=NAMES, run_id="again") == {}


def test_reference_texts_are_assigned_when_loaded(con: duckdb.DuckDBPyConnection) -> None:
    # connect() alone loads no reference corpus; the writer's session does (runs/test_ingest).
    _save(con, [replace(_doc("a-en"), id="ref-1", canonical_url=None, url="seed:ref-1")])
    assert ("ev_ref-1", "ref-1") in _events(con)


def test_new_evidence_of_a_changed_story_is_saved_and_its_event_stays(con: duckdb.DuckDBPyConnection) -> None:
    _save(con, [_doc("d-en"), _doc("d-sr")])
    before = con.execute("SELECT event_id, features FROM event_assignments WHERE article_id = 'd-sr'").fetchone()
    assert before[0] == "ev_d-en" and "name:bajat" in before[1]
    con.execute("UPDATE articles SET text = 'Ugovor je potpisao Marko Petrović u Subotici.' WHERE id = 'd-sr'")
    assert refresh_evidence(con, stories_to_assign(con, ["d-sr"]), covered=NAMES) == 1
    after = con.execute("SELECT event_id, features FROM event_assignments WHERE article_id = 'd-sr'").fetchone()
    assert after[0] == "ev_d-en" and "name:bajat" not in after[1] and "name:subot" in after[1]


def test_a_runs_event_counters_say_what_it_started_joined_and_merged(con: duckdb.DuckDBPyConnection) -> None:
    from monitor.storage.events import run_counts

    _save(con, [_doc("a-en"), _doc("a-sr"), _doc("a-later-en")])
    assert run_counts(con, "r") == {"events_new": 2, "events_joined": 1}
    assert run_counts(con, "another run") == {}
