"""Events in the warehouse: every saved story assigned once, copies with their story, ids stable, merges recorded."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from monitor.judging.dedup import fingerprint_text
from monitor.judging.events import EVENT_WINDOW, EventEvidence, EventPool, common_words, covered_name_stems
from monitor.models import Document
from monitor.pipeline import make_judge, tag_and_judge
from monitor.runs.ingest import decide_and_save
from monitor.settings import DEFAULT_TAXONOMY
from monitor.storage.dedup_index import DedupIndex
from monitor.storage.events import (
    StoryFacts,
    assign_stories,
    assign_unassigned,
    refresh_evidence,
    stored_pool,
    stories_to_assign,
)
from monitor.storage.warehouse import connect, refresh_rollups

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
    refresh_rollups(con)  # as every writing run does at its end: `events` reads the kept rows
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
    assert con.execute("SELECT stories, copies, outlets FROM events_live").fetchone() == (2, 1, 3)
    refresh_rollups(con)
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


def _store_assignments(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, datetime, list[str]]]) -> None:
    con.executemany(
        "INSERT INTO event_assignments (article_id, event_id, story_at, dated, features, run_id, assigned_at) "
        "VALUES (?, ?, ?, true, ?, 'r', now())", [list(r) for r in rows])


def _whole_window(con: duckdb.DuckDBPyConnection, batch: list[EventEvidence]) -> EventPool:
    """Every stored story within the window loaded, as the writer did before it loaded candidates only."""
    times = [ev.at for ev in batch if ev.at is not None]
    rows = con.execute(
        "SELECT e.article_id, e.event_id, e.story_at, e.features FROM event_assignments e "
        "LEFT JOIN articles a ON a.id = e.article_id WHERE a.duplicate_of IS NULL AND e.story_at BETWEEN ? AND ?",
        [min(times) - EVENT_WINDOW, max(times) + EVENT_WINDOW]).fetchall()
    stored = [(r[0], r[1], EventEvidence.from_features(r[2], r[3])) for r in rows]
    pool = EventPool(common_words([ev for _, _, ev in stored] + batch))
    for article_id, event_id, ev in stored:
        pool.add(article_id, event_id, ev)
    return pool


def _assign_in_turn(pool: EventPool, batch: list[EventEvidence]) -> list[tuple[object, ...]]:
    """Each newcomer's choice, joined to the pool in turn as assign_stories does."""
    choices: list[tuple[object, ...]] = []
    for i, ev in enumerate(batch):
        choice = pool.choose(ev)
        choices.append((choice.event_id, choice.via, choice.link, choice.also))
        for old in choice.also:
            assert choice.event_id is not None
            pool.merge(old, choice.event_id)
        pool.add(f"new{i}", choice.event_id or f"ev_new{i}", ev)
    return choices


def test_the_pool_loads_only_the_stories_a_newcomer_can_join_and_chooses_as_the_whole_window(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # 2,000 stored stories over 120 days: words shared by a few stories (an occasion), by
    # many (common: they weigh nothing) and concepts; some stories since made copies.
    rng = random.Random(5)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    stored = []
    for i in range(2000):
        words = {f"name:o{rng.randrange(400)}", f"name:o{rng.randrange(400)}", f"term:t{rng.randrange(600)}",
                 f"number:{rng.randrange(10, 1000)}", f"name:s{i}", "name:presi", f"concept:country:c{rng.randrange(3)}",
                 f"term:week{i % 2}"}
        stored.append((f"a{i}", f"ev_a{i // 3}", start + timedelta(hours=1.44 * i), sorted(words)))
    _store_assignments(con, stored)
    con.execute("INSERT INTO articles (id, duplicate_of) SELECT 'a' || i, 'a0' FROM range(900, 1000) t(i)")

    def told(j: int, kind: str) -> set[str]:
        return {f[len(kind) + 1:] for f in stored[j][3] if f.startswith(kind + ":")}

    # Newcomers at day 60 on: every other one retells a stored story of that day (its names
    # and figure: it joins that story's event), every fourth two stories of two events
    # (strongly enough to merge them); the others tell something new.
    batch = []
    for i in range(40):
        names, numbers = {f"o{rng.randrange(400)}", f"o{rng.randrange(400)}", "presi", f"b{i}"}, set()
        if i % 2 == 0:
            names, numbers = told(1000 + i, "name"), told(1000 + i, "number")
        if i % 4 == 0:
            names, numbers = names | told(1003 + i, "name"), numbers | told(1003 + i, "number")
        if i % 4 == 1:  # ten newcomers' word: common among them, not among all the stories at hand
            names |= {"often"}
        if i % 20 == 1:  # two newcomers' word, common among the stored stories
            names |= {"week1"}
        batch.append(EventEvidence(start + timedelta(days=60, hours=i), concepts=frozenset({f"country:c{i % 3}"}),
                                   names=frozenset(names), numbers=frozenset(numbers),
                                   terms=frozenset({f"t{rng.randrange(600)}", "week0"})))
    whole = _whole_window(con, batch)
    pool = stored_pool(con, [ev.at for ev in batch], batch)
    # The window holds 728 stored stories, 100 of them since made copies; the pool only
    # those that share an uncommon name, figure or term with a newcomer.
    assert (len(whole), len(pool)) == (628, 297)
    batch_words = {w for ev in batch for w in ev.names | ev.terms | ev.numbers | ev.concepts}
    assert pool.common == whole.common & batch_words
    assert {"presi", "week0", "week1", "country:c0"} <= pool.common
    assert "often" not in pool.common
    choices = _assign_in_turn(pool, batch)
    assert choices == _assign_in_turn(whole, batch)
    assert (sum(c[0] is not None for c in choices), sum(len(c[3]) for c in choices)) == (20, 10)


def test_a_merge_keeps_the_older_event_though_its_first_story_is_no_candidate(
    con: duckdb.DuckDBPyConnection,
) -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC)
    x_names = ["name:gasic", "name:kralj", "name:jovan", "name:rosto", "name:batai", "name:torzo"]
    y_names = ["name:bocan", "name:harce", "name:zahar", "name:nebed", "name:gramh", "name:pilot"]
    _store_assignments(con, [
        ("x1", "ev_x1", day, ["name:first", "name:story"]),  # shares nothing with the newcomer
        ("y1", "ev_y1", day + timedelta(days=5), y_names),
        ("x2", "ev_x1", day + timedelta(days=10), x_names),
    ])
    newcomer = EventEvidence(day + timedelta(days=11), names=frozenset(n[5:] for n in x_names + y_names))
    pool = stored_pool(con, [newcomer.at], [newcomer])
    assert sorted(article for article, _, _ in pool.candidates(newcomer)) == ["x2", "y1"]
    choice = pool.choose(newcomer)
    assert (choice.event_id, choice.also) == ("ev_x1", ("ev_y1",))  # x1 started ev_x1 before y1 started ev_y1
