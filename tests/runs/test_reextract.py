"""Re-extraction from the kept raw pages, on a warehouse ingested from the recorded corpus.

Each test copies one ingested warehouse, then plays an older extractor: it overwrites
some articles' stored text with what a worse extractor could have kept (a promo line,
the wrong block of the page) and marks them with an older ``extractor``. Re-extraction
must bring back exactly what the current extractor stores, rows and tags alike.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import pytest

from monitor.runs import reextract as reextract_module
from monitor.cli import main
from monitor.demo.corpus_server import CorpusServer, corpus_sources
from monitor.judging.dedup import fingerprint_text
from monitor.storage.dedup_index import DedupIndex
from monitor.exceptions import ExtractionError
from monitor.reading.extract import EXTRACTOR
from monitor.runs.ingest import run_ingest
from monitor.storage.pagestore import pages_dir_of
from monitor.pipeline import Judge, make_judge
from monitor.runs.reextract import MERGE_NOTE, reextract_articles
from monitor.settings import DEFAULT_TAXONOMY, load_settings
from monitor.reading.urls import article_id
from monitor.storage.warehouse import connect
from warehouse_helpers import add_tag

OLD = "trafilatura-2.0.0+clean1"
ORIGINAL = "balkanwatch/2026/10/how-sputnik-serbia-told-the-story-of-the-barricades.html"
COPY = "dunavinfo/2026/10/sputnik-serbia-and-the-barricades.html"  # cross-source copy, published later
PLAIN = "balkanwatch/2026/09/serbia-takes-delivery-of-second-pantsir-battery.html"
#: What an extractor that took the page's cookie banner for the article would have kept.
WRONG_BLOCK = " ".join(["We use cookies to measure our audience and to remember your choices."] * 8)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The corpus ingested once; (warehouse path, article id by corpus path)."""
    db = tmp_path_factory.mktemp("ingested") / "w.duckdb"
    with CorpusServer() as server:
        settings = load_settings(environ={}, db_path=db, allow_private_hosts=("127.0.0.1",), per_host_delay=0.0)
        run_ingest(settings, sources=corpus_sources(server.base_url))
        ids = {a.path: article_id(f"{server.base_url}/{a.path}") for a in server.manifest.articles}
    return db, ids


@pytest.fixture
def warehouse(ingested: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    src, _ = ingested
    db = tmp_path / "w.duckdb"
    shutil.copy(src, db)  # a lake is copied whole: its catalog and its data folder
    shutil.copytree(f"{src}.data", f"{db}.data", ignore=shutil.ignore_patterns("writer.lock"))
    return db


@pytest.fixture(scope="module")
def judge() -> Judge:
    return make_judge(DEFAULT_TAXONOMY)


def _row(con: duckdb.DuckDBPyConnection, article: str) -> dict[str, Any]:
    cur = con.execute("SELECT * EXCLUDE (saved_at) FROM articles WHERE id = ?", [article])
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def _tags(con: duckdb.DuckDBPyConnection, article: str) -> list[tuple[Any, ...]]:
    return sorted(con.execute("SELECT * FROM article_tags WHERE article_id = ?", [article]).fetchall())


def _play_old_extractor(con: duckdb.DuckDBPyConnection, article: str, text: str, *, as_story: bool = False) -> None:
    """Store ``text`` as an older extractor's output, with the tags and dedup entry it would have had."""
    fp = fingerprint_text(text)
    con.execute(
        "UPDATE articles SET text = ?, word_count = ?, content_hash = ?, extractor = ?, relevant = false, "
        "relevance = 0.0, relevance_reason = 'old' WHERE id = ?",
        [text, len(text.split()), fp.content_hash, OLD, article],
    )
    if as_story:  # the old text matched nothing, so it was saved as a story of its own
        con.execute("UPDATE articles SET duplicate_of = NULL, duplicate_kind = NULL, similarity = NULL, "
                    "dedup_note = NULL WHERE id = ?", [article])
    con.execute("DELETE FROM article_tags WHERE article_id = ?", [article])
    add_tag(con, article, "country:canada", 0.4, "stale", "0+old")
    DedupIndex(con).add_many([(article, fp)])


def test_an_old_extractors_text_is_replaced_by_the_current_one_rows_and_tags_alike(warehouse, ingested, judge):
    _, ids = ingested
    plain = ids[PLAIN]
    con = connect(warehouse)
    before, tags_before = _row(con, plain), _tags(con, plain)
    _play_old_extractor(con, plain, before["text"] + "\n\nREAD MORE: Ten things to do in Belgrade this weekend")
    assert _row(con, plain)["text"] != before["text"]

    stats = reextract_articles(con, judge)

    assert (stats.examined, stats.changed, stats.unchanged, stats.merged, stats.failed) == (1, 1, 0, 0, {})
    assert stats.became_relevant == 1 and stats.became_irrelevant == 0
    assert _row(con, plain) == before  # every column, the extractor included
    assert _tags(con, plain) == tags_before
    # The dedup entry follows the new text, so later articles are compared with it.
    assert con.execute("SELECT content_hash FROM dedup_docs WHERE doc_id = ?", [plain]).fetchall() == [
        (before["content_hash"],)]
    # Done: a second run finds nothing to do.
    again = reextract_articles(con, judge)
    assert (again.examined, again.up_to_date) == (0, stats.up_to_date + 1)
    # Both runs are recorded, with their counters, as `monitor runs` shows them.
    recorded = con.execute("SELECT status, stats FROM runs WHERE kind = 'reextract' ORDER BY started_at").fetchall()
    assert [(status, json.loads(s)) for status, s in recorded] == [("ok", asdict(stats)), ("ok", asdict(again))]
    con.close()


def test_a_story_whose_new_text_copies_an_earlier_story_becomes_its_copy(warehouse, ingested, judge):
    _, ids = ingested
    original, copy = ids[ORIGINAL], ids[COPY]
    con = connect(warehouse)
    before = _row(con, copy)
    assert before["duplicate_of"] == original  # what ingest decided with the current extractor
    _play_old_extractor(con, copy, WRONG_BLOCK, as_story=True)
    assert _row(con, copy)["duplicate_of"] is None

    stats = reextract_articles(con, judge)

    assert (stats.examined, stats.changed, stats.merged) == (1, 1, 1)
    after = _row(con, copy)
    assert after == {**before, "dedup_note": MERGE_NOTE}  # same match kind and similarity as ingest found
    assert _row(con, original)["duplicate_of"] is None
    con.close()


def test_an_earlier_story_found_by_re_extraction_becomes_the_root_of_the_later_one(warehouse, ingested, judge):
    _, ids = ingested
    original, copy = ids[ORIGINAL], ids[COPY]
    con = connect(warehouse)
    before, copy_before = _row(con, original), _row(con, copy)
    # The old extractor missed the original's text, so the later copy was saved as the story.
    _play_old_extractor(con, original, WRONG_BLOCK)
    con.execute("UPDATE articles SET duplicate_of = NULL, duplicate_kind = NULL, similarity = NULL, "
                "dedup_note = NULL WHERE id = ?", [copy])
    con.execute("UPDATE articles SET extractor = ? WHERE id <> ?", [EXTRACTOR, original])

    stats = reextract_articles(con, judge)

    assert (stats.examined, stats.merged) == (1, 1)
    assert _row(con, original) == before
    # The copy is back under its original, matched as ingest matched it.
    assert _row(con, copy) == {**copy_before, "dedup_note": MERGE_NOTE}
    con.close()


def test_a_page_that_no_longer_extracts_keeps_its_stored_text_and_is_counted(warehouse, ingested, judge, monkeypatch):
    _, ids = ingested
    plain = ids[PLAIN]
    con = connect(warehouse)
    old_text = _row(con, plain)["text"] + "\n\nREAD MORE: Ten things to do in Belgrade this weekend"
    _play_old_extractor(con, plain, old_text)
    kept, tags = _row(con, plain), _tags(con, plain)

    def refuse(raw: bytes, url: str, **_: object) -> None:
        raise ExtractionError(f"a list of links: {url}", reason="link_list")

    monkeypatch.setattr(reextract_module, "extract_article", refuse)
    stats = reextract_articles(con, judge)

    assert (stats.examined, stats.changed, stats.failed) == (1, 0, {"link_list": 1})
    assert _row(con, plain) == kept and _tags(con, plain) == tags
    assert kept["extractor"] == OLD  # tried again next run
    con.close()


def test_pages_missing_from_disk_are_counted_with_the_reason_and_nothing_stored_changes(warehouse, judge):
    con = connect(warehouse)
    con.execute("UPDATE articles SET extractor = ? WHERE kind = 'article'", [OLD])
    query = "SELECT * EXCLUDE (saved_at) FROM articles ORDER BY id"
    before, tags = con.execute(query).fetchall(), con.execute("SELECT * FROM article_tags ORDER BY ALL").fetchall()
    shutil.rmtree(pages_dir_of(warehouse))  # the lake was copied without its data path's pages/ folder
    said: list[str] = []

    stats = reextract_articles(con, judge, report=said.append)

    stored = con.execute("SELECT count(*) FROM articles WHERE kind = 'article'").fetchall()[0][0]
    assert (stats.examined, stats.changed, stats.failed) == (stored, 0, {"page_unreadable": stored})
    assert "pages/ folder of the warehouse's data path" in said[0] and "must be copied with the warehouse" in said[0]
    assert con.execute(query).fetchall() == before
    assert con.execute("SELECT * FROM article_tags ORDER BY ALL").fetchall() == tags
    con.close()


def test_a_run_killed_between_batches_resumes_to_the_same_warehouse(warehouse, ingested, judge, monkeypatch, tmp_path):
    _, ids = ingested
    con = connect(warehouse)
    con.execute("UPDATE articles SET extractor = ? WHERE kind = 'article'", [OLD])
    for path in (PLAIN, ORIGINAL):
        _play_old_extractor(con, ids[path], _row(con, ids[path])["text"] + "\n\nREAD MORE: Belgrade at night")
    con.close()
    clean = tmp_path / "clean.duckdb"
    shutil.copy(warehouse, clean)
    shutil.copytree(f"{warehouse}.data", f"{clean}.data", ignore=shutil.ignore_patterns("writer.lock"))

    calls = {"n": 0}
    real = reextract_module.extract_article

    def dies_on_the_fifth(raw: bytes, url: str, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt  # the operator's Ctrl-C, in the third batch
        return real(raw, url, **kw)

    con = connect(warehouse)
    monkeypatch.setattr(reextract_module, "extract_article", dies_on_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        reextract_articles(con, judge, batch_size=2)
    assert con.execute("SELECT count(*) FROM articles WHERE extractor = ?", [EXTRACTOR]).fetchall() == [(4,)]
    monkeypatch.setattr(reextract_module, "extract_article", real)
    resumed = reextract_articles(con, judge, batch_size=2)
    con2 = connect(clean)
    whole = reextract_articles(con2, judge)
    assert resumed.examined + 4 == whole.examined
    query = "SELECT * EXCLUDE (saved_at) FROM articles ORDER BY id"
    assert con.execute(query).fetchall() == con2.execute(query).fetchall()
    tags = "SELECT * FROM article_tags ORDER BY ALL"
    assert con.execute(tags).fetchall() == con2.execute(tags).fetchall()
    con.close()
    con2.close()


def test_monitor_reextract_prints_what_it_did(warehouse, ingested, capsys, monkeypatch):
    _, ids = ingested
    con = connect(warehouse)
    _play_old_extractor(con, ids[PLAIN], _row(con, ids[PLAIN])["text"] + "\n\nREAD MORE: Belgrade at night")
    con.close()
    monkeypatch.delenv("MONITOR_DB", raising=False)
    assert main(["reextract", "--db", str(warehouse)]) == 0
    out = capsys.readouterr()
    assert f"reextract ({EXTRACTOR}): examined=1 changed=1 unchanged=0" in out.out
    assert "re-extracted 1/1" in out.err
    assert main(["reextract", "--db", str(warehouse.parent / "missing.duckdb")]) == 2
    assert "no warehouse at" in capsys.readouterr().err
    assert not (warehouse.parent / "missing.duckdb").exists()  # not created by asking


@pytest.mark.slow
def test_the_reextract_flow_re_extracts_under_prefect_and_returns_its_stats(warehouse, ingested, prefect_harness):
    from flows.reextract import reextract

    _, ids = ingested
    con = connect(warehouse)
    _play_old_extractor(con, ids[PLAIN], _row(con, ids[PLAIN])["text"] + "\n\nREAD MORE: Belgrade at night")
    con.close()
    result = reextract(db_path=str(warehouse))
    assert (result["examined"], result["changed"], result["unchanged"], result["merged"]) == (1, 1, 0, 0)
    assert result["extractor"] == EXTRACTOR and result["failed"] == {}
    con = connect(warehouse, read_only=True)
    assert "READ MORE" not in _row(con, ids[PLAIN])["text"]
    con.close()
