"""The ingest stages against the recorded corpus served on loopback, into a real DuckDB file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from monitor.storage import store
from monitor.demo.corpus_server import CorpusServer, corpus_sources
from monitor.runs.ingest import (
    BOOKS_MAX_FEEDS,
    IngestSession,
    PollDecision,
    fetch_feed,
    fetch_pages,
    poll_decision,
    run_ingest,
)
from monitor.models import FeedState, Source
from monitor.settings import load_settings
from monitor.storage.warehouse import connect as _lake
from monitor.reading.urls import article_id
from warehouse_helpers import reader


@pytest.fixture(scope="module")
def server():
    with CorpusServer() as s:
        yield s


def _settings(server, db_path):
    return load_settings(environ={}, db_path=db_path, allow_private_hosts=("127.0.0.1",), per_host_delay=0.0)


def _ids_by_path(server):
    return {a.path: article_id(f"{server.base_url}/{a.path}") for a in server.manifest.articles}


def test_corpus_is_stored_once_with_copies_relevance_and_failures_recorded(server, tmp_path):
    db = tmp_path / "w.duckdb"
    summary = run_ingest(_settings(server, db), sources=corpus_sources(server.base_url))
    con = _lake(db, read_only=True)
    manifest = server.manifest
    ids = _ids_by_path(server)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT id, relevant, duplicate_of, duplicate_kind, title FROM articles WHERE kind = 'article'").fetchall()}
    # Every article of the corpus is stored, once (the link that answers 404 is not an article).
    assert len(rows) == len(manifest.articles) == summary["articles_total"]
    for a in manifest.articles:
        relevant, duplicate_of, kind, title = rows[ids[a.path]]
        if a.copy_of is None:
            assert duplicate_of is None, (a.path, duplicate_of, kind)
            assert relevant == a.on_topic, (a.path, title)
        else:
            expected = a.copy_of if "/" not in a.copy_of else ids[a.copy_of]
            assert duplicate_of == expected, (a.path, duplicate_of, kind)
    assert con.execute("SELECT count(*) FROM articles WHERE kind = 'reference'").fetchall() == [(5,)]
    errors = dict(con.execute(
        "SELECT source, error FROM fetch_log WHERE error IS NOT NULL AND kind = 'feed'").fetchall())
    assert errors["tiranareview"] == "http_500"
    assert errors["skopjepost"] == "malformed_feed"
    assert con.execute("SELECT count(*) FROM fetch_log WHERE kind = 'page' AND error = 'http_404'").fetchall() == [(1,)]
    state = dict(con.execute("SELECT source, consecutive_failures FROM feed_state").fetchall())
    assert state["tiranareview"] == 1 and state["balkanwatch"] == 0
    # The run refreshed the trend rollups on its way out: they equal the live computation.
    live = "SELECT week, concept_id, articles, week_start FROM weekly_tag_counts_live"
    rolled = "SELECT week, concept_id, articles, week_start FROM weekly_tag_counts"
    assert con.execute(f"SELECT count(*) FROM ({rolled})").fetchall()[0][0] > 0
    assert con.execute(f"({live} EXCEPT {rolled}) UNION ALL ({rolled} EXCEPT {live})").fetchall() == []
    con.close()


def test_second_run_gets_304s_and_adds_nothing(server, tmp_path):
    db = tmp_path / "w.duckdb"
    settings = _settings(server, db)
    sources = corpus_sources(server.base_url)
    first = run_ingest(settings, sources=sources)
    server.reset_stats()
    second = run_ingest(settings, sources=sources)
    assert second["articles_total"] == first["articles_total"]
    assert second.get("stories", 0) == second.get("duplicates", 0) == 0
    assert second["feeds_not_modified"] == 8 and second["feeds_backing_off"] == 1
    assert server.stats == {304: 8}


def test_a_scheduled_run_polls_only_the_sources_whose_poll_minutes_have_passed(server, tmp_path):
    db = tmp_path / "w.duckdb"
    settings = _settings(server, db).with_(respect_poll_minutes=True)
    sources = corpus_sources(server.base_url)
    assert run_ingest(settings, sources=sources)["feeds_ok"] == 8  # nothing polled yet: all due
    server.reset_stats()
    second = run_ingest(settings, sources=sources)
    # Polled a moment ago: none is due (the failing one waits out its backoff instead).
    assert (second["feeds_not_due"], second["feeds_backing_off"], server.stats) == (8, 1, {})
    poll = {s.name: s.poll_minutes for s in sources}
    con = _lake(db)
    for name, share in (("balkanwatch", 0.9), ("dunavinfo", 0.85)):
        # 90% of poll_minutes is due (a schedule starts runs a little early or late); 85% is not.
        con.execute("UPDATE feed_state SET last_success_at = last_success_at - to_seconds(?) WHERE source = ?",
                    [poll[name] * 60 * share + 1, name])
    con.close()
    third = run_ingest(settings, sources=sources)
    assert (third["feeds_not_due"], third["feeds_not_modified"], server.stats) == (7, 1, {304: 1})
    # A run started by hand polls every source, due or not.
    server.reset_stats()
    assert run_ingest(_settings(server, db), sources=sources)["feeds_not_modified"] == 8


def test_a_feed_killed_between_batches_is_read_again_and_nothing_is_lost_or_doubled(server, tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    settings = _settings(server, db).with_(pages_per_task=4)
    sources = [s for s in corpus_sources(server.base_url) if s.name == "balkanwatch"]
    # Save only the first half of the feed's pages, then stop without finishing the feed.
    with IngestSession.open(settings) as session:
        [(source, previous)] = session.due_sources(sources)
        outcome = fetch_feed(settings, source, previous)
        first, *rest = session.new_entries(outcome)
        assert rest  # the feed spans several batches; only the first gets saved
        session.save_pages(fetch_pages(settings, source.name, first, session.judge))
    con = _lake(db, read_only=True)
    assert con.execute("SELECT etag FROM feed_state").fetchall() == []  # state did not advance
    saved_first = con.execute("SELECT count(*) FROM articles WHERE kind = 'article'").fetchall()[0][0]
    dead = con.execute("SELECT count(*) FROM fetch_log WHERE error = 'http_404'").fetchall()[0][0]
    con.close()
    resumed = run_ingest(settings, sources=sources)
    # Saved pages are not fetched again; neither is the link that answered 404.
    assert resumed["entries_known"] == saved_first + dead
    clean_db = tmp_path / "clean.duckdb"
    clean = run_ingest(_settings(server, clean_db), sources=sources)
    assert resumed["articles_total"] == clean["articles_total"]
    con = _lake(db, read_only=True)
    assert con.execute("SELECT count(*) = count(DISTINCT canonical_url) FROM articles WHERE kind='article'").fetchall() == [(True,)]
    assert con.execute("SELECT etag IS NOT NULL FROM feed_state").fetchall() == [(True,)]
    con.close()


_KILL_SCRIPT = """
import sys, time
from monitor.runs.ingest import run_ingest
from monitor.demo.corpus_server import corpus_sources
from monitor.settings import load_settings
from monitor.storage.warehouse import connect as _lake
import monitor.runs.ingest as ing
real = ing.fetch_pages
def slow(*a, **k):
    time.sleep(0.8)
    return real(*a, **k)
ing.fetch_pages = slow
s = load_settings(environ={}, db_path=sys.argv[1], allow_private_hosts=("127.0.0.1",), per_host_delay=0.0)
run_ingest(s, sources=corpus_sources(sys.argv[2]))
print("finished")
"""


@pytest.mark.parametrize("kill_after", [2.5, 5.0])
def test_kill_minus_9_mid_run_then_resume_gives_the_same_warehouse(server, tmp_path, kill_after):
    db = tmp_path / "killed.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(db), server.base_url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(kill_after)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    settings = _settings(server, db)
    sources = corpus_sources(server.base_url)
    run_ingest(settings, sources=sources)
    clean_db = tmp_path / "clean.duckdb"
    run_ingest(_settings(server, clean_db), sources=sources)
    query = ("SELECT id, canonical_url, duplicate_of, duplicate_kind, relevant FROM articles "
             "WHERE kind = 'article' ORDER BY id")
    got = _lake(db, read_only=True).execute(query).fetchall()
    want = _lake(clean_db, read_only=True).execute(query).fetchall()
    assert got == want
    con = _lake(db, read_only=True)
    assert con.execute("SELECT count(*) FROM runs WHERE status = 'ok'").fetchall() == [(1,)]
    # Every raw page is kept once and reads back as the clean run's does, whatever bytes
    # the killed run left at the end of a pack.
    clean = _lake(clean_db, read_only=True)
    ids = [r[0] for r in clean.execute("SELECT article_id FROM pages ORDER BY 1").fetchall()]
    assert [r[0] for r in con.execute("SELECT article_id FROM pages ORDER BY 1").fetchall()] == ids
    assert ids and all(store.read_page(con, i) == store.read_page(clean, i) is not None for i in ids)
    con.close()
    clean.close()


def _story(doc_id: str, source: str, published: datetime, text: str):
    from monitor.judging.dedup import fingerprint_text
    from monitor.models import Document, Relevance

    fp = fingerprint_text(text)
    url = f"https://{source}.example/{doc_id}"
    return Document(id=doc_id, source=source, url=url, canonical_url=url, title=doc_id, text=text,
                    fetched_at=datetime(2026, 11, 20, tzinfo=UTC), published_at=published, date_source="feed",
                    date_confidence="high", content_hash=fp.content_hash, word_count=len(text.split()),
                    relevance=Relevance(True, 1.0, "test"), fingerprint=fp)


STORY = " ".join(
    f"Sentence {i} of the wire story says that Serbia and Russia agreed on item {i} of the gas deal in Belgrade."
    for i in range(30))


def _rows(con):
    return con.execute("SELECT id, duplicate_of, duplicate_kind FROM articles WHERE kind = 'article' ORDER BY id").fetchall()


def test_an_earlier_original_arriving_after_its_copies_becomes_their_root(con):
    from monitor.storage.dedup_index import DedupIndex
    from monitor.runs.ingest import decide_and_save

    index = DedupIndex(con)
    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    # Two republications arrive first (another feed answered sooner) ...
    decide_and_save(con, index, [_story("copy1", "portal", day + timedelta(hours=6), STORY)], run_id="r")
    decide_and_save(con, index, [_story("copy2", "mirror", day + timedelta(hours=9), STORY + " Updated.")], run_id="r")
    assert _rows(con) == [("copy1", None, None), ("copy2", "copy1", "near")]
    # ... then the original, published before both: it becomes the root of the whole chain.
    counts = decide_and_save(con, index, [_story("orig", "wire", day, STORY)], run_id="r")
    assert counts["repointed"] == 1 and counts["stories"] == 1
    assert _rows(con) == [("copy1", "orig", "exact"), ("copy2", "orig", "near"), ("orig", None, None)]
    assert con.execute("SELECT dedup_note FROM articles WHERE id = 'orig'").fetchall() == [
        ("the original of copy1: published before it, saved after it",)]


def test_the_run_summary_line_reconciles_a_story_that_became_a_copy(tmp_path, capsys):
    # A copy saved first counts as a story; when its earlier original arrives it becomes a
    # copy. The printed line says what the warehouse gained: one story, one copy.
    from monitor.cli import _print_summary

    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    with IngestSession.open(load_settings(environ={}, db_path=tmp_path / "w.duckdb"), kind="import") as session:
        for doc in (_story("copy1", "portal", day + timedelta(hours=6), STORY), _story("orig", "wire", day, STORY)):
            session.save_documents([doc])
        _print_summary(session.summary(), 1.0)
    line = capsys.readouterr().out
    assert " stories=1 copies=1 off_topic=0 repointed=1 " in line
    assert line.rstrip().endswith("articles_total=2 stories_total=1")


def test_the_runs_net_counters_are_what_the_warehouse_counts_when_stored_off_topic_and_story_roots_are_displaced(
        tmp_path):
    """The writer keeps net_* in memory, batch by batch: a displaced stored root leaves its
    own bucket (off-topic here, a story there) for the copies, as store.article_totals says."""
    from dataclasses import replace

    from monitor.models import Relevance

    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    other = " ".join(f"Line {i}: Bulgaria expelled two Russian diplomats from Sofia over espionage, item {i}."
                     for i in range(30))
    off = Relevance(False, 0.1, "test: off topic")
    db = tmp_path / "w.duckdb"
    with IngestSession.open(load_settings(environ={}, db_path=db), kind="import") as session:
        before = store.article_totals(session.con)
        session.save_documents([replace(_story("late_off", "portal", day + timedelta(hours=6), STORY), relevance=off),
                                _story("late_story", "portal", day + timedelta(hours=6), other)])
        # Their originals, published earlier, arrive later: both stored roots become copies.
        session.save_documents([replace(_story("orig_off", "wire", day, STORY), relevance=off),
                                _story("orig_story", "wire", day, other)])
        after = store.article_totals(session.con)
        counts = dict(session.counts)
    assert after == {"stories": 1, "copies": 2, "off_topic": 1}
    assert {k: counts[f"net_{k}"] for k in after} == {k: after[k] - before[k] for k in after}
    assert counts["repointed"] == 2


def test_runs_counts_stories_and_copies_as_the_warehouse_does_however_they_were_repointed(tmp_path, capsys):
    """Issue 27 item 6: re-pointings inside one batch and across batches, against the views."""
    import json

    from monitor.cli import main

    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    other = " ".join(f"Line {i}: Bulgaria expelled two Russian diplomats from Sofia over espionage, item {i}."
                     for i in range(30))
    db = tmp_path / "w.duckdb"
    with IngestSession.open(load_settings(environ={}, db_path=db), kind="import") as session:
        # One batch: a copy, then its original (re-pointed within the batch), then another story.
        session.save_documents([_story("c1", "portal", day + timedelta(hours=6), STORY),
                                _story("o1", "wire", day, STORY),
                                _story("s2", "wire", day, other)])
        # A later batch: a copy of s2 published before it (re-points a stored story), and a copy of o1.
        session.save_documents([_story("c2", "mirror", day - timedelta(hours=1), other),
                                _story("c3", "mirror", day + timedelta(hours=2), STORY + " Updated.")])
    con = reader(db)
    stories = con.execute("SELECT count(*) FROM stories").fetchall()[0][0]
    copies = con.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL").fetchall()[0][0]
    con.close()
    assert (stories, copies) == (2, 3)
    assert main(["runs", "--db", str(db), "--json"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert {k: run["stats"][k] for k in ("net_stories", "net_copies", "net_off_topic")} == {
        "net_stories": 2, "net_copies": 3, "net_off_topic": 0}
    assert main(["runs", "--db", str(db)]) == 0
    header, _, row, *_ = capsys.readouterr().out.splitlines()
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")], strict=True))
    assert (cells["stories"], cells["copies"], cells["off topic"]) == ("2", "3", "0")


def test_a_stored_root_displaced_twice_in_one_batch_ends_under_the_earliest(con):
    from monitor.storage.dedup_index import DedupIndex
    from monitor.runs.ingest import decide_and_save

    index = DedupIndex(con)
    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    decide_and_save(con, index, [_story("a", "portal", day + timedelta(days=2), STORY),
                                 _story("a2", "mirror", day + timedelta(days=3), STORY + " Updated.")], run_id="r")
    assert _rows(con) == [("a", None, None), ("a2", "a", "near")]
    # One batch: b (earlier than a) displaces the stored root, then c (earlier still) displaces b.
    counts = decide_and_save(con, index, [_story("b", "wire", day + timedelta(days=1), STORY),
                                          _story("c", "agency", day, STORY + " Corrected.")], run_id="r")
    assert counts["repointed"] == 2 and counts["stories"] == 1 and counts["duplicates"] == 1
    assert _rows(con) == [("a", "c", "exact"), ("a2", "c", "near"), ("b", "c", "near"), ("c", None, None)]
    assert con.execute("SELECT id, dedup_note FROM articles WHERE id IN ('a', 'a2') ORDER BY id").fetchall() == [
        ("a", "saved as a story first; its original, published earlier, arrived later"), ("a2", None)]


def test_within_one_batch_the_earliest_published_is_the_root(con):
    from monitor.storage.dedup_index import DedupIndex
    from monitor.runs.ingest import decide_and_save

    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    counts = decide_and_save(con, DedupIndex(con), [
        _story("late", "portal", day + timedelta(days=1), STORY),
        _story("early", "wire", day, STORY),
        _story("later", "mirror", day + timedelta(days=2), STORY + " Updated."),
    ], run_id="r")
    assert _rows(con) == [("early", None, None), ("late", "early", "exact"), ("later", "early", "near")]
    assert counts["stories"] == 1 and counts["duplicates"] == 2


def test_within_one_batch_copies_are_found_by_shared_anchors_and_short_texts_only_exactly(con):
    from monitor.storage.dedup_index import DedupIndex
    from monitor.runs.ingest import decide_and_save

    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    sentences = STORY.split(". ")
    teaser = ". ".join(sentences[:12]) + "."
    edited = STORY.replace("item 7 of", "point 7 of").replace("item 21 of", "point 21 of")
    short = "Serbia and Russia agreed on the gas deal in Belgrade today, officials said."
    other = ("Weather " + STORY.replace("Serbia and Russia", "the two sides").replace("gas deal", "harvest")
             .replace("wire story", "farm report"))
    decide_and_save(con, DedupIndex(con), [
        _story("full", "wire", day, STORY),
        _story("other", "farm", day, other),
        _story("teaser", "portal", day + timedelta(hours=1), teaser),
        _story("edited", "mirror", day + timedelta(hours=2), edited),
        _story("short1", "flash", day, short),
        _story("short2", "flash2", day + timedelta(hours=1), short.replace("today", "on Monday")),
    ], run_id="r")
    rows = con.execute("SELECT id, duplicate_of, duplicate_kind, similarity > 0.5 FROM articles "
                       "WHERE kind = 'article' ORDER BY id").fetchall()
    assert rows == [("edited", "full", "near", True), ("full", None, None, None), ("other", None, None, None),
                    ("short1", None, None, None), ("short2", None, None, None),
                    ("teaser", "full", "contained", True)]


def test_within_one_batch_a_part_of_a_story_quoting_an_older_brief_is_a_copy_of_the_story(con):
    # The batch ranks its matches as the stored index does: the story that makes up most of
    # the text first, before a brief it only quotes (which has the higher containment).
    from monitor.storage.dedup_index import DedupIndex
    from monitor.runs.ingest import decide_and_save

    negatives = Path(__file__).resolve().parents[1] / "dedup_labelled" / "negatives"
    story = (negatives / "n1_air_defence.txt").read_text(encoding="utf-8")
    brief = " ".join((negatives / "n4_montenegro.txt").read_text(encoding="utf-8").split()[:60])
    words = story.split()
    part = " ".join(words[: len(words) * 2 // 5]) + " Earlier we reported: " + brief
    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    decide_and_save(con, DedupIndex(con), [
        _story("brief", "flash", day, brief),
        _story("story", "wire", day + timedelta(hours=1), story),
        _story("part", "portal", day + timedelta(hours=2), part),
    ], run_id="r")
    assert _rows(con) == [("brief", None, None), ("part", "story", "contained"), ("story", None, None)]


def test_within_one_batch_texts_are_screened_as_stored_ones_and_decided_alike(con, monkeypatch):
    # A story that carries two sentences of another shares four of its anchors: reason to
    # look, not to verify (the stored index screens it out in SQL; the batch must too).
    from monitor.judging.dedup import MIN_SHARED_ANCHORS
    from monitor.runs import ingest
    from monitor.storage.dedup_index import DedupIndex
    from monitor.storage.warehouse import connect

    negatives = Path(__file__).resolve().parents[1] / "dedup_labelled" / "negatives"
    sentences = STORY.split(". ")
    mentions = (negatives / "n2_energy.txt").read_text(encoding="utf-8") + " " + ". ".join(sentences[5:7]) + "."
    edited = STORY.replace("item 7 of", "point 7 of").replace("item 21 of", "point 21 of")
    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    docs = [_story("full", "wire", day, STORY), _story("mentions", "farm", day + timedelta(hours=1), mentions),
            _story("edited", "mirror", day + timedelta(hours=2), edited)]
    shared = set(docs[0].fingerprint.anchors) & set(docs[1].fingerprint.anchors)
    assert len(shared) >= MIN_SHARED_ANCHORS  # what made it a candidate before the screen
    judged: list[tuple[str, str]] = []
    real = ingest._Batch.judge

    def recording(self, doc, root):
        judged.append((doc.id, root))
        return real(self, doc, root)

    monkeypatch.setattr(ingest._Batch, "judge", recording)
    ingest.decide_and_save(con, DedupIndex(con), docs, run_id="r")
    assert ("edited", "full") in judged and ("mentions", "full") not in judged
    assert _rows(con) == [("edited", "full", "near"), ("full", None, None), ("mentions", None, None)]
    apart = connect(":memory:")
    try:
        for doc in docs:  # a batch each: every decision made against stored texts
            ingest.decide_and_save(apart, DedupIndex(apart), [doc], run_id="r")
        assert _rows(apart) == _rows(con)
    finally:
        apart.close()


def test_a_reference_text_stays_the_root_whatever_the_dates(con):
    from monitor.storage.dedup_index import DedupIndex
    from monitor.runs.ingest import decide_and_save
    from monitor.settings import SEEDS_DIR

    seed = (SEEDS_DIR / "004_09818d3b2f5a7cd7.txt").read_text().split("\n", 1)[1]
    index = DedupIndex(con)
    ref = _story("004_09818d3b2f5a7cd7", "reference", datetime(2026, 11, 1, tzinfo=UTC), seed)
    from dataclasses import replace
    decide_and_save(con, index, [replace(ref, canonical_url=None)], run_id=None, kind="reference")
    decide_and_save(con, index, [_story("old", "portal", datetime(2020, 1, 1, tzinfo=UTC), seed)], run_id="r")
    assert _rows(con) == [("old", "004_09818d3b2f5a7cd7", "exact")]


def test_the_auto_memory_cap_stays_fixed_through_a_run_since_the_lake_keeps_no_index(server, tmp_path):
    from monitor.storage.warehouse import WRITER_MEMORY_AUTO_MB

    def cap_and_articles(con):
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        return limit, articles

    settings = _settings(server, tmp_path / "w.duckdb")
    assert settings.writer_memory_limit == "auto"
    with IngestSession.open(settings) as session:
        limit, seeds = cap_and_articles(session.con)
        assert seeds == 5  # the reference texts are stored at open
        assert limit == f"{WRITER_MEMORY_AUTO_MB}.0 MiB"
        for source, state in session.due_sources(corpus_sources(server.base_url)):
            outcome = fetch_feed(settings, source, state)
            for batch in session.new_entries(outcome):
                session.save_pages(fetch_pages(settings, source.name, batch))
        limit, articles = cap_and_articles(session.con)
        assert articles == seeds + 47
        assert limit == f"{WRITER_MEMORY_AUTO_MB}.0 MiB"


def _ingest_all(session, settings, server):
    for source, state in session.due_sources(corpus_sources(server.base_url)):
        outcome = fetch_feed(settings, source, state)
        for batch in session.new_entries(outcome):
            session.save_pages(fetch_pages(settings, source.name, batch))


def _out_of_memory_after_inserting(monkeypatch, times):
    """store.save_articles inserts its rows, then DuckDB "runs out of memory" (``times`` times).

    Real exhaustion cannot be staged reliably (a cap small enough to fail a batch can fail
    setting itself); the exception is DuckDB's own, raised after the rows went in, so
    the rollback and the retry are real.
    """
    from monitor.storage import store

    original = store.save_articles
    left = [times]

    def save_articles(con, rows, run_id, **options):
        n = original(con, rows, run_id, **options)
        if left[0] > 0:
            left[0] -= 1
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block (simulated)")
        return n

    monkeypatch.setattr(store, "save_articles", save_articles)


def test_an_auto_cap_that_proves_too_small_falls_back_to_uncapped_and_loses_nothing(server, tmp_path, monkeypatch):
    settings = _settings(server, tmp_path / "w.duckdb")
    said = []
    with IngestSession.open(settings, report=said.append) as session:
        _out_of_memory_after_inserting(monkeypatch, times=1)
        _ingest_all(session, settings, server)
        limit = session.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert any("continuing uncapped" in m for m in said)
    assert limit == duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()[0]
    con = _lake(tmp_path / "w.duckdb", read_only=True)
    # The failed batch was rolled back and saved again: every article once, copies marked.
    assert con.execute("SELECT count(*), count(DISTINCT id), count(duplicate_of) FROM articles "
                       "WHERE kind = 'article'").fetchone() == (47, 47, 8)
    # ... and the dedup index holds each document once (the first attempt left nothing).
    assert con.execute("SELECT count(*) = count(DISTINCT doc_id) FROM dedup_docs").fetchone() == (True,)
    con.close()


def test_a_fixed_cap_too_small_for_the_batch_is_a_clear_error_and_saves_none_of_it(server, tmp_path, monkeypatch):
    from monitor.exceptions import WarehouseError

    settings = _settings(server, tmp_path / "w.duckdb").with_(writer_memory_limit="256MB")
    with pytest.raises(WarehouseError, match="MONITOR_WRITER_MEMORY=256MB"):
        with IngestSession.open(settings) as session:
            _out_of_memory_after_inserting(monkeypatch, times=1)
            _ingest_all(session, settings, server)
    con = _lake(tmp_path / "w.duckdb", read_only=True)
    assert con.execute("SELECT count(*) FROM articles WHERE kind = 'article'").fetchone() == (0,)
    con.close()


def test_huge_barely_compressible_texts_save_under_a_small_cap_and_nothing_is_lost(tmp_path, monkeypatch):
    # On the DuckDB file a checkpoint of such texts could not pin a block under the cap
    # (a FATAL error that invalidated the database); a lake writes each batch's Parquet
    # files at its commit, and has no checkpoint to fail.
    import dataclasses
    import random

    import monitor.storage.warehouse

    monkeypatch.setattr(monitor.storage.warehouse, "WRITER_MEMORY_AUTO_MB", 32)
    settings = load_settings(environ={}, db_path=tmp_path / "w.duckdb")
    rnd = random.Random(7)
    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    n = 0
    with IngestSession.open(settings, kind="import") as session:
        while n < 400:
            docs = [_story(f"big{n + i}", "wire", day, f"Story {n + i} about Serbia and Russia. "
                           + rnd.randbytes(55_000).hex()) for i in range(25)]
            session.save_documents(docs)
            n += 25
        more = [dataclasses.replace(_story(f"after{i}", "wire", day, f"Later story {i}."), raw=b"x") for i in range(3)]
        assert session.save_documents(more)["stories"] == 3
    con = _lake(tmp_path / "w.duckdb", read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT id) FROM articles WHERE kind = 'article'").fetchone() == (n + 3, n + 3)
    assert con.execute("SELECT count(*) FROM pages").fetchone() == (3,)
    con.close()


def test_large_raw_pages_stay_under_the_cap_in_packs_and_read_back_whole(tmp_path, monkeypatch):
    # Before raw pages moved to packs, 110 KB pages FATAL-ed a checkpoint under this cap
    # after a few hundred pages, and the writer went on uncapped.
    import dataclasses
    import random

    import monitor.storage.warehouse
    from monitor.storage import pagestore

    monkeypatch.setattr(monitor.storage.warehouse, "WRITER_MEMORY_AUTO_MB", 32)
    monkeypatch.setattr(pagestore, "PACK_MAX_BYTES", 40 * 2**20)  # so the run begins a second pack
    settings = load_settings(environ={}, db_path=tmp_path / "w.duckdb")
    rnd = random.Random(7)
    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    said: list[str] = []
    pages = {}
    with IngestSession.open(settings, kind="import", report=said.append) as session:
        for n in range(0, 800, 25):
            docs = [dataclasses.replace(_story(f"big{n + i}", "wire", day, f"Story {n + i} about Serbia and Russia."),
                                        raw=rnd.randbytes(110_000)) for i in range(25)]
            pages.update((d.id, d.raw) for d in docs)
            session.save_documents(docs)
        assert not session._memory_uncapped
    # every batch saved under the cap (the refresh of the trend and copy tables at the
    # end may take more, and says so: that is the writer's fallback, not a batch's)
    assert not any("uncapped" in m and "batch" in m for m in said)
    con = _lake(tmp_path / "w.duckdb", read_only=True)
    rows = con.execute("SELECT article_id, raw, pack, pack_offset, pack_length FROM pages "
                       "ORDER BY pack, pack_offset").fetchall()
    assert len(rows) == len(pages) == 800
    assert {r[2] for r in rows} == {"000000.pack", "000001.pack"}
    assert all(r[1] is None and r[4] == 110_000 for r in rows)
    for article_id, _, pack, offset, length in rows[::97]:
        assert pagestore.read(tmp_path / "w.duckdb.data" / "pages", pack, offset, length) == pages[article_id]
    tables = sum(p.stat().st_size for p in (tmp_path / "w.duckdb.data" / "tables").rglob("*") if p.is_file())
    assert (tmp_path / "w.duckdb").stat().st_size + tables < 30 * 2**20  # the 88 MB of pages are not in the lake
    con.close()


HOURLY = Source(name="hourly", url="https://hourly.example/feed", poll_minutes=60)
POLLED = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def _decide(state, minutes_later, *, respect=True, source=HOURLY):
    return poll_decision(source, state, now=POLLED + timedelta(minutes=minutes_later), respect_poll_minutes=respect)


def test_a_scheduled_run_polls_an_hourly_source_once_ninety_percent_of_the_hour_has_passed():
    state = FeedState(source="hourly", url=HOURLY.url, last_success_at=POLLED)
    assert _decide(state, 53) == PollDecision("poll_minutes", POLLED + timedelta(minutes=54))
    assert _decide(state, 54) == PollDecision("due")
    assert _decide(state, 55) == PollDecision("due")
    assert not _decide(state, 53).due and _decide(state, 55).due
    # By hand, poll_minutes are not respected: due at once.
    assert _decide(state, 1, respect=False) == PollDecision("due")


def test_a_never_polled_source_or_one_whose_url_changed_is_due_at_once():
    assert _decide(None, 0) == PollDecision("due")
    moved = Source(name="hourly", url="https://hourly.example/new-feed", poll_minutes=60)
    failing = FeedState(source="hourly", url=HOURLY.url, consecutive_failures=3, last_success_at=POLLED,
                        next_poll_after=POLLED + timedelta(hours=4))
    assert _decide(failing, 1, source=moved) == PollDecision("due")


def test_a_failing_feed_waits_out_its_backoff_then_its_poll_minutes():
    long_ago = FeedState(source="hourly", url=HOURLY.url, consecutive_failures=3,
                         last_success_at=POLLED - timedelta(days=2), next_poll_after=POLLED + timedelta(hours=4))
    backoff = PollDecision("backoff", POLLED + timedelta(hours=4))
    # The backoff holds whether or not the run respects poll_minutes, up to its very end.
    assert _decide(long_ago, 0) == _decide(long_ago, 0, respect=False) == backoff
    assert _decide(long_ago, 4 * 60 - 1) == backoff
    assert _decide(long_ago, 4 * 60) == PollDecision("due")
    # A backoff that ends before the poll spacing does: it is what the feed waits for,
    # and the spacing says when it is polled; once it is over, only the spacing is left.
    recent = FeedState(source="hourly", url=HOURLY.url, consecutive_failures=1,
                       last_success_at=POLLED, next_poll_after=POLLED + timedelta(minutes=10))
    assert _decide(recent, 5) == PollDecision("backoff", POLLED + timedelta(minutes=54))
    assert _decide(recent, 5, respect=False) == PollDecision("backoff", POLLED + timedelta(minutes=10))
    assert _decide(recent, 20) == PollDecision("poll_minutes", POLLED + timedelta(minutes=54))
    assert _decide(recent, 20, respect=False) == PollDecision("due")


# -- issue 26: verified marks, quotation links, pages that are not stories, outlet boilerplate

NEGATIVES = Path(__file__).resolve().parents[1] / "dedup_labelled" / "negatives"


def _ours(name: str) -> str:
    return (NEGATIVES / name).read_text(encoding="utf-8")


def _words(text: str, lo: float, hi: float) -> str:
    words = text.split()
    return " ".join(words[round(len(words) * lo):round(len(words) * hi)])


def test_each_copy_keeps_its_exact_overlap_and_a_commentary_is_saved_as_a_quotation(con):
    from monitor.storage.dedup_index import DedupIndex
    from monitor.runs.ingest import decide_and_save

    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    story, other, third = _ours("n1_air_defence.txt"), _ours("n2_energy.txt"), _ours("n3_republika_srpska.txt")
    edited = story.replace("parade", "ceremony", 1) + " The ministry confirmed the figures on Tuesday."
    decide_and_save(con, DedupIndex(con), [
        _story("story", "wire", day, story),
        _story("edited", "portal", day + timedelta(hours=1), edited),
        _story("commentary", "blog", day + timedelta(hours=2), f"{other}\n\n{story}\n\n{third}"),
    ], run_id="r")
    assert _rows(con) == [("commentary", None, None), ("edited", "story", "near"), ("story", None, None)]
    (row,) = con.execute("SELECT article_id, duplicate_of, jaccard, containment, root_containment, "
                         "jaccard = (SELECT similarity FROM articles WHERE id = 'edited') FROM copy_overlaps").fetchall()
    assert row[:2] == ("edited", "story") and row[5] is True
    assert 0.9 < row[2] < 1.0 and 0.9 < row[3] < 1.0 and 0.95 < row[4] <= 1.0
    (quote,) = con.execute("SELECT quoting_id, quoted_id, quoted_share, round(quoting_share, 1), run_id "
                           "FROM quotations").fetchall()
    # The whole story is inside the commentary, a third of it (the rest is ours).
    assert quote == ("commentary", "story", 1.0, 0.3, "r")


def test_a_roundup_of_two_stored_stories_is_a_listing_that_roots_no_brief(con):
    from monitor.storage.dedup_index import DedupIndex
    from monitor.runs.ingest import decide_and_save

    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    one, two, three = _ours("n1_air_defence.txt"), _ours("n4_montenegro.txt"), _ours("n2_energy.txt")
    brief = _words(three, 0, 0.3)
    index = DedupIndex(con)
    decide_and_save(con, index, [_story("one", "wire", day, one), _story("two", "wire", day, two)], run_id="r")
    roundup = f"{_words(one, 0, 0.6)}\n\n{brief}\n\n{_words(two, 0, 0.6)}"
    decide_and_save(con, index, [_story("roundup", "digest", day + timedelta(hours=1), roundup)], run_id="r")
    # The brief is all inside the roundup, but a roundup is no story's root; nor is a
    # brief the root of the article it opens: that article quotes it.
    decide_and_save(con, index, [_story("brief", "flash", day + timedelta(hours=2), brief)], run_id="r")
    decide_and_save(con, index, [_story("article", "wire", day + timedelta(hours=3), three)], run_id="r")
    assert _rows(con) == [("article", None, None), ("brief", None, None), ("one", None, None),
                          ("roundup", None, None), ("two", None, None)]
    assert con.execute("SELECT doc_id, page FROM dedup_docs ORDER BY doc_id").fetchall() == [
        ("article", "story"), ("brief", "story"), ("one", "story"), ("roundup", "listing"), ("two", "story")]
    assert con.execute("SELECT quoting_id, quoted_id, quoted_share FROM quotations "
                       "ORDER BY quoting_id, quoted_id").fetchall() == [
        ("article", "brief", 1.0), ("roundup", "brief", 1.0),
        ("roundup", "one", con.execute("SELECT quoted_share FROM quotations WHERE quoted_id = 'one'").fetchall()[0][0]),
        ("roundup", "two", con.execute("SELECT quoted_share FROM quotations WHERE quoted_id = 'two'").fetchall()[0][0])]
    assert con.execute("SELECT count(*) FROM quotations WHERE quoted_id IN ('one', 'two') "
                       "AND quoted_share BETWEEN 0.5 AND 0.7").fetchall() == [(2,)]


def test_a_copy_of_a_copy_that_does_not_overlap_the_story_enough_is_a_story_of_its_own(con):
    from monitor.storage.dedup_index import DedupIndex
    from monitor.runs.ingest import decide_and_save

    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    root, added, more = _ours("n1_air_defence.txt"), _ours("n3_republika_srpska.txt"), _ours("n2_energy.txt")
    index = DedupIndex(con)
    decide_and_save(con, index, [_story("root", "wire", day, root)], run_id="r")
    version = f"{_words(root, 0, 0.7)} {_words(added, 0, 0.3)}"
    decide_and_save(con, index, [_story("version", "portal", day + timedelta(hours=1), version)], run_id="r")
    # Most of it is in `version` (a copy of root), but under half of it is in root itself:
    # chained, it would be filed under a story it shares too little with.
    rewrite = f"{_words(root, 0.35, 0.7)} {_words(added, 0, 0.3)} {_words(more, 0, 0.15)}"
    decide_and_save(con, index, [_story("rewrite", "mirror", day + timedelta(hours=2), rewrite)], run_id="r")
    assert _rows(con) == [("rewrite", None, None), ("root", None, None), ("version", "root", "near")]


OUTLET_BACKGROUND = (
    "Background: Serbia buys most of its gas from Russia under a contract that was extended "
    "last spring for six months, and the country's largest oil company, NIS, is majority owned by "
    "Gazprom Neft. Washington placed NIS under sanctions in January, and the refinery in Pancevo "
    "depends on crude delivered through the Adriatic pipeline from the Croatian port of Omisalj. "
    "Belgrade has refused to join European sanctions against Moscow while it pursues membership "
    "of the European Union, a balance that officials in Brussels have repeatedly criticised. "
    "President Aleksandar Vucic has said that the country cannot survive a winter without Russian "
    "gas and that talks with the owners of NIS about a change of ownership are continuing.")
OUTLET_NEWS = (
    "The energy minister met the head of the state gas company on Monday to review storage levels "
    "before the heating season, which the ministry said were above eighty percent.",
    "A delegation from the refinery in Pancevo travelled to Budapest on Tuesday to discuss crude "
    "supplies through the Druzhba pipeline if the Adriatic route is interrupted.",
    "Opposition deputies asked parliament on Wednesday to publish the gas contract in full, saying "
    "that citizens had a right to know the price the state had agreed.",
    "The central bank said on Thursday that higher energy import costs had widened the current "
    "account deficit in the third quarter to four percent of output.",
)


def test_an_outlet_s_background_paragraphs_weigh_less_once_it_has_repeated_them(con):
    from monitor.storage.dedup_index import DedupIndex
    from monitor.runs.ingest import decide_and_save

    day = datetime(2026, 10, 20, 9, tzinfo=UTC)
    index = DedupIndex(con)
    for k, news in enumerate(OUTLET_NEWS):
        decide_and_save(con, index, [_story(f"item{k}", "outlet", day + timedelta(hours=k),
                                            f"{news}\n\n{OUTLET_BACKGROUND}")], run_id="r")
    update = f"{OUTLET_NEWS[3]} Analysts expect a smaller deficit next year.\n\n{OUTLET_BACKGROUND}"
    decide_and_save(con, index, [_story("update", "outlet", day + timedelta(hours=5), update)], run_id="r")
    # Until the background is in two other articles of the outlet, it is what the items
    # share (they are filed as copies); from then on, only an item's own news can make a copy.
    assert _rows(con) == [("item0", None, None), ("item1", "item0", "near"), ("item2", "item0", "near"),
                          ("item3", None, None), ("update", "item3", "near")]


def test_hundreds_of_feeds_keep_their_books_in_a_few_commits_and_a_second_run_reads_them_as_304s(tmp_path):
    """Each feed's fetch_log row and state are saved with others' (IngestSession._keep_books):
    a lake commit costs ~60 ms, and 250 feeds took two each. Nothing is left out for it."""
    from many_feeds import WITH_ARTICLE_EVERY, many_feeds_server
    from monitor.storage.warehouse import current_snapshot

    n = BOOKS_MAX_FEEDS + 50  # one save when the held books reach the limit, one at the end
    db = tmp_path / "w.duckdb"
    settings = load_settings(environ={}, db_path=db, allow_private_hosts=("127.0.0.1",), per_host_delay=0.0)
    with many_feeds_server() as base:
        sources = [Source(f"s{i:03d}", f"{base}/s{i}/feed.xml") for i in range(n)]
        con = _lake(db)
        before = current_snapshot(con)
        con.close()
        first = run_ingest(settings, sources=sources)
        con = reader(db)
        after = current_snapshot(con)
        states = con.execute("SELECT source, url, etag, consecutive_failures, last_error, next_poll_after IS NULL "
                             "FROM feed_state ORDER BY source").fetchall()
        feed_log = con.execute("SELECT source, outcome, status FROM fetch_log WHERE kind = 'feed' "
                               "ORDER BY id").fetchall()
        con.close()
        second = run_ingest(settings, sources=sources)
    with_article = n // WITH_ARTICLE_EVERY + 1  # s000, s100, s200
    assert first["feeds_ok"] == n and first["stories"] == with_article
    assert states == [(f"s{i:03d}", f"{base}/s{i}/feed.xml", f'"f{i}"', 0, None, True) for i in range(n)]
    assert feed_log == [(f"s{i:03d}", "ok", 200) for i in range(n)]  # fetch order kept, one row a feed
    # Two commits a feed would be 500: here the run's own records, two saves of books, and
    # for each feed with an article its batch and the books held before it.
    assert after - before < 20, after - before
    assert second["feeds_not_modified"] == n and second.get("stories", 0) == 0


def test_a_run_that_stores_nothing_is_two_commits_its_start_and_its_end_with_the_trend_tables(tmp_path):
    """The writer's setup is one transaction, and its end commits the refreshed tables with
    the run's record (a lake commit costs 20-100 ms; each statement outside a transaction
    looks the catalog up on its own). What they write is all there."""
    from monitor.storage.warehouse import current_snapshot

    db = tmp_path / "w.duckdb"
    settings = load_settings(environ={}, db_path=db)
    IngestSession.open(settings, kind="import").close()  # the warehouse's own setup: schema, seeds
    con = _lake(db)
    before = current_snapshot(con)
    con.close()
    with IngestSession.open(settings, kind="import") as session:
        run_id = session.run_id
        con = reader(db)
        started = current_snapshot(con), con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchall()
        con.close()
    con = reader(db)
    ended = current_snapshot(con)
    run = con.execute("SELECT status, finished_at IS NOT NULL, stats FROM runs WHERE run_id = ?", [run_id]).fetchall()
    con.close()
    assert started == (before + 1, [("running",)])
    assert ended == before + 2
    assert run[0][:2] == ("ok", True) and '"net_stories": 0' in run[0][2]


def test_a_batch_of_pages_is_built_in_entry_order_and_a_repeated_body_takes_its_first_reading(tmp_path):
    # fetch_pages builds a batch's pages together after fetching them (stage by stage): the
    # documents still come in entry order, a page whose body was read before takes that
    # reading's language, tags and fingerprint without its raw bytes, and a failed page's
    # feed text stands in at its place.
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from monitor.models import FeedEntry

    body = ("Србија је у Београду преузела руске системе Панцир, саопштило је министарство одбране. " * 8)
    pages = {
        "/a": f"<html><head><title>Панцир</title></head><body><article><p>{body}</p></article></body></html>",
        "/c": "<html><head><title>Gas</title></head><body><article><p>"
              + "Bulgaria cut Russian gas deliveries after Gazprom's demand for payment in roubles. " * 8
              + "</p></article></body></html>",
    }
    pages["/b"] = pages["/a"]

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            page = pages.get(self.path)
            self.send_response(200 if page else 500)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((page or "down").encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        entries = [FeedEntry(source="s", url=f"{base}{p}", canonical_url=f"{base}{p}", title=f"entry {p}",
                             content_html=f"<p>{body}</p>" if p == "/down" else None)
                   for p in ("/a", "/down", "/b", "/c")]
        settings = load_settings(environ={}, db_path=tmp_path / "w.duckdb", allow_private_hosts=("127.0.0.1",),
                                 per_host_delay=0.0, respect_robots=False, max_retries=0)
        outcome = fetch_pages(settings, "s", entries)
    finally:
        server.shutdown()
    a, down, b, c = outcome.documents
    assert [d.url for d in outcome.documents] == [e.canonical_url for e in entries]
    assert (a.language, c.language) == ("sr-Cyrl", "en") and down.extractor == "feed-content"
    assert b.language == a.language and b.tags is a.tags and b.fingerprint is a.fingerprint
    assert a.raw is not None and b.raw is None and c.raw is not None
    assert {"country:serbia", "country:russia"} <= {t.concept_id for t in a.tags}
    assert {"country:bulgaria", "country:russia"} <= {t.concept_id for t in c.tags}
    details = [e.detail for e in outcome.log if e.url.endswith("/b")]
    assert details == [f"same body as {base}/a: not extracted again"]
