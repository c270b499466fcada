"""`monitor explain`: one article's decisions, read back from a warehouse the recorded
corpus was ingested into (served on loopback, real DuckDB file)."""

from __future__ import annotations

import json

import duckdb
import pytest

from monitor.cli import main
from monitor.demo.corpus_server import CorpusServer, corpus_sources
from monitor.reports.explain import Copy, explain_article, render_text
from monitor.runs.ingest import run_ingest
from monitor.settings import load_settings
from monitor.reading.urls import article_id
from monitor.storage.warehouse import connect as _lake
from warehouse_helpers import add_tag


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    db = tmp_path_factory.mktemp("explain") / "w.duckdb"
    with CorpusServer() as server:
        settings = load_settings(environ={}, db_path=db, allow_private_hosts=("127.0.0.1",), per_host_delay=0.0)
        run_ingest(settings, sources=corpus_sources(server.base_url))
        ids = {a.path: article_id(f"{server.base_url}/{a.path}") for a in server.manifest.articles}
        urls = {a.path: f"{server.base_url}/{a.path}" for a in server.manifest.articles}
        yield db, server.manifest, ids, urls


@pytest.fixture
def con(corpus):
    c = _lake(corpus[0], read_only=True)
    yield c
    c.close()


def _copy_of_a_stored_story(manifest):
    return next(a for a in manifest.articles if a.copy_of and "/" in a.copy_of)


def test_a_copy_names_its_original_and_is_not_counted(corpus, con):
    _, manifest, ids, urls = corpus
    copy = _copy_of_a_stored_story(manifest)
    e = explain_article(con, urls[copy.path])  # found by URL, as an analyst has it
    assert e is not None and e.id == ids[copy.path]
    assert (e.counted, e.not_counted_because, e.week) == (False, "a copy: its original is the story counted", None)
    stored = con.execute("SELECT duplicate_kind, similarity, title FROM articles WHERE id = ?",
                         [ids[copy.copy_of]]).fetchone()
    assert e.original is not None
    assert (e.original.id, e.original.kind, e.original.title) == (ids[copy.copy_of], e.duplicate_kind, stored[2])


def test_a_story_lists_its_copies_and_says_in_which_week_it_counts(corpus, con):
    _, manifest, ids, _ = corpus
    copy = _copy_of_a_stored_story(manifest)
    e = explain_article(con, ids[copy.copy_of])
    assert e is not None and e.counted and e.not_counted_because is None and e.original is None
    week, basis, trusted = con.execute(
        "SELECT week, story_date_basis, date_trusted FROM stories WHERE id = ?", [e.id]).fetchone()
    assert (e.week, e.story_date_basis, e.date_trusted) == (week, basis, trusted)
    assert ids[copy.path] in [c.id for c in e.copies]
    assert all(isinstance(c, Copy) and c.kind in ("url", "exact", "near", "contained") for c in e.copies)


def test_each_tag_comes_with_a_passage_of_the_article_that_earned_it(corpus, con):
    articles = con.execute("SELECT id, title, text FROM articles WHERE kind = 'article'").fetchall()
    tags = 0
    for doc_id, title, text in articles:
        e = explain_article(con, doc_id)
        assert e is not None
        stored = {r[0] for r in con.execute("SELECT concept_id FROM article_tags WHERE article_id = ?",
                                            [doc_id]).fetchall()}
        assert {t.concept_id for t in e.tags} == stored
        assert [t.score for t in e.tags] == sorted((t.score for t in e.tags), reverse=True)
        assert all(t.label for t in e.tags)
        # Evidence is quoted from the article (its title or its text), never invented; a long
        # sentence is cut to a window, marked with an ellipsis where it was cut.
        quotes = [t.evidence.strip("…").strip() for t in e.tags if t.evidence]
        assert len(quotes) == len(e.tags) and all(q in text or q in (title or "") for q in quotes), e.tags
        tags += len(e.tags)
    assert tags > 10 * len(articles)  # the corpus is tagged, so the check above read something


def test_an_off_topic_article_and_a_reference_text_say_why_they_are_not_counted(corpus, con):
    _, manifest, ids, _ = corpus
    off = next(a for a in manifest.articles if not a.on_topic and not a.copy_of)
    e = explain_article(con, ids[off.path])
    assert e is not None and (e.counted, e.relevant, e.not_counted_because) == (False, False, "judged off topic")
    ref = next(a.copy_of for a in manifest.articles if a.copy_of and "/" not in a.copy_of)
    r = explain_article(con, ref)
    assert r is not None and r.kind == "reference" and not r.counted
    assert r.not_counted_because.startswith("a reference text")
    assert r.copies and all(c.lag_hours is None for c in r.copies)  # a reference text has no date


def test_an_unknown_article_is_none_and_the_cli_says_so(corpus, con, capsys):
    assert explain_article(con, "a_0000000000000000") is None
    assert explain_article(con, "http://nowhere.example/x") is None
    assert main(["explain", "a_0000000000000000", "--db", str(corpus[0])]) == 1
    assert "no stored article has the id or URL" in capsys.readouterr().err
    missing = corpus[0].parent / "missing.duckdb"
    assert main(["explain", "a_0000000000000000", "--db", str(missing)]) == 2
    assert "no warehouse at" in capsys.readouterr().err and not missing.exists()  # not created by asking


def test_the_cli_prints_text_or_the_same_facts_as_json(corpus, con, capsys):
    _, manifest, ids, _ = corpus
    copy = _copy_of_a_stored_story(manifest)
    assert main(["explain", ids[copy.path], "--db", str(corpus[0]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    e = explain_article(con, ids[copy.path])
    assert data == e.to_json()
    assert data["original"]["id"] == ids[copy.copy_of] and data["counted"] is False
    assert main(["explain", ids[copy.path], "--db", str(corpus[0])]) == 0
    text = capsys.readouterr().out
    assert text.strip() == render_text(e).strip()
    assert f"copy of: {ids[copy.copy_of]}" in text and "not counted: a copy" in text


def test_a_copy_shows_its_verified_overlap_as_stored(corpus, con):
    # Issue 26: the writer records each copy's exact overlap with its story.
    _, manifest, ids, _ = corpus
    copy = _copy_of_a_stored_story(manifest)
    e = explain_article(con, ids[copy.path])
    stored = con.execute("SELECT duplicate_of, jaccard, containment, root_containment FROM copy_overlaps "
                         "WHERE article_id = ?", [e.id]).fetchone()
    assert stored is not None and e.original is not None
    assert (e.original.id, e.original.jaccard, e.original.containment, e.original.root_containment) == stored
    assert (f"{e.original.jaccard:.3f}, {e.original.containment:.0%} of the copy in the story, "
            f"{e.original.root_containment:.0%} of the story in the copy)") in render_text(e)


def test_quotation_links_are_explained_from_both_sides(tmp_path):
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from monitor.judging.dedup import fingerprint_text
    from monitor.models import Document, Relevance
    from monitor.runs.ingest import decide_and_save
    from monitor.storage.dedup_index import DedupIndex
    from monitor.storage.warehouse import connect

    negatives = Path(__file__).resolve().parents[1] / "dedup_labelled" / "negatives"
    story = (negatives / "n1_air_defence.txt").read_text(encoding="utf-8")
    brief = " ".join(story.split()[:80])
    other = (negatives / "n2_energy.txt").read_text(encoding="utf-8")
    third = (negatives / "n3_republika_srpska.txt").read_text(encoding="utf-8")
    day = datetime(2026, 10, 20, 9, tzinfo=UTC)

    def doc(doc_id: str, source: str, hours: int, text: str) -> Document:
        fp = fingerprint_text(text)
        url = f"https://{source}.example/{doc_id}"
        return Document(id=doc_id, source=source, url=url, canonical_url=url, title=doc_id.title(), text=text,
                        fetched_at=day, published_at=day + timedelta(hours=hours), date_source="feed",
                        date_confidence="high", content_hash=fp.content_hash, word_count=fp.word_count,
                        relevance=Relevance(True, 1.0, "test"), fingerprint=fp)

    con = connect(tmp_path / "w.duckdb")
    decide_and_save(con, DedupIndex(con), [doc("brief", "flash", 0, brief),
                                          doc("column", "blog", 2, f"{other}\n\n{brief}\n\n{third}")], run_id="r")
    column, quoted = explain_article(con, "column"), explain_article(con, "brief")
    assert column is not None and quoted is not None
    share = column.quotations[0].quoting_share
    assert [line for line in render_text(column).splitlines() if line.startswith("quotes:")] == [
        f'quotes: brief (flash) "Brief": 100% of it, {share:.0%} of this text (not a copy)']
    assert [line for line in render_text(quoted).splitlines() if line.startswith("quoted by:")] == [
        f'quoted by: column (blog) "Column": 100% of this text, {share:.0%} of it (not a copy)']
    assert column.to_json()["quotations"] == [{"direction": "quotes", "id": "brief", "source": "flash",
                                               "title": "Brief", "quoted_share": 1.0, "quoting_share": share}]
    con.close()


def test_a_retag_committed_while_an_article_is_explained_is_not_half_in_the_answer(tmp_path, monkeypatch):
    """explain reads one snapshot: a run retagging the article (and making it a copy)
    between its queries shows in none of the answer's parts, and in all of the next one."""
    from monitor.reports import explain as explain_module
    from monitor.storage.warehouse import close, connect
    from warehouse_helpers import opened

    db = tmp_path / "w.ducklake"
    writer = connect(db)
    writer.execute("INSERT INTO taxonomy (concept_id, label, facet, version) VALUES "
                   "('theme:energy', 'Energy', 'theme', '1'), ('theme:army', 'Army', 'theme', '1')")
    for aid in ("story", "older"):
        writer.execute("INSERT INTO articles (id, kind, source, title, url, published_at, date_confidence, fetched_at, "
                       "relevant) VALUES (?, 'article', 'wire', ?, ?, TIMESTAMPTZ '2026-10-01 08:00:00+00', 'high', "
                       "TIMESTAMPTZ '2026-10-01 09:00:00+00', true)", [aid, aid.title(), f"https://wire.example/{aid}"])
    add_tag(writer, "story", "theme:energy", 0.9, "gas")
    close(writer)

    original = explain_module._one
    calls: list[str] = []

    def then_a_run_commits(con, sql, *params):  # type: ignore[no-untyped-def]
        found = original(con, sql, *params)
        calls.append(sql)
        if len(calls) > 1:
            return found
        with opened(db) as run:  # right after the article's own row was read
            run.execute("BEGIN TRANSACTION")
            run.execute("DELETE FROM article_tags WHERE article_id = 'story'")
            add_tag(run, "story", "theme:army", 0.8, "troops")
            run.execute("UPDATE articles SET duplicate_of = 'older', duplicate_kind = 'near', similarity = 0.9 "
                        "WHERE id = 'story'")
            run.execute("COMMIT")
        return found

    monkeypatch.setattr(explain_module, "_one", then_a_run_commits)
    with opened(db, read_only=True) as reader:
        during = explain_article(reader, "story")
        monkeypatch.setattr(explain_module, "_one", original)
        after = explain_article(reader, "story")
    assert during is not None and after is not None
    assert (during.duplicate_of, [t.concept_id for t in during.tags], during.counted) == (None, ["theme:energy"], True)
    assert (after.duplicate_of, [t.concept_id for t in after.tags], after.counted) == ("older", ["theme:army"], False)
