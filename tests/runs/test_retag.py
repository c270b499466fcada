"""Re-tagging stored articles after a taxonomy change, without fetching."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from monitor.runs.retag import RetagStats, retag_articles
from monitor.judging.tagging import Matcher, compile_matcher
from monitor.judging.taxonomy import Taxonomy, load_taxonomy
from monitor.storage.warehouse import connect
from warehouse_helpers import add_tag

NOW = datetime(2025, 3, 1, tzinfo=UTC)
ARTICLES = [
    ("a1", "article", "Russia delivers Pantsir to Serbia", "Russia delivered Pantsir systems to Serbia."),
    ("a2", "article", "Djokovic wins", "Serbian Novak Djokovic beat Russian Daniil Medvedev in Paris."),
    ("r1", "reference", "Seed", "Russia delivered Pantsir systems to Serbia."),
]


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def matcher(taxonomy: Taxonomy) -> Matcher:
    return compile_matcher(taxonomy)


def _store(con: duckdb.DuckDBPyConnection) -> None:
    for aid, kind, title, text in ARTICLES:
        con.execute(
            "INSERT INTO articles (id, kind, title, text, fetched_at, relevant, taxonomy_version) "
            "VALUES (?, ?, ?, ?, ?, false, '0+old')",
            [aid, kind, title, text, NOW],
        )
    add_tag(con, "a1", "country:canada", 0.4, "stale", "0+old")


def test_retag_replaces_tags_and_relevance_of_stale_articles(con, taxonomy: Taxonomy, matcher: Matcher) -> None:  # type: ignore[no-untyped-def]
    _store(con)
    stats = retag_articles(con, taxonomy, matcher, batch_size=1)
    assert stats == RetagStats(version=taxonomy.version, examined=2, up_to_date=0,
                               tags_written=stats.tags_written, became_relevant=1, became_irrelevant=0)
    rows = con.execute(
        "SELECT article_id, concept_id, taxonomy_version, article_fetched_at FROM article_tags ORDER BY 1, 2").fetchall()
    assert rows == [  # each with its article's fetch time, as the bounded reads find tags (migration 014)
        ("a1", "country:russia", taxonomy.version, NOW),
        ("a1", "country:serbia", taxonomy.version, NOW),
        ("a1", "theme:arms_transfers", taxonomy.version, NOW),
        ("a1", "weapon_system:pantsir", taxonomy.version, NOW),
        ("a2", "country:france", taxonomy.version, NOW),
        ("a2", "country:russia", taxonomy.version, NOW),
        ("a2", "country:serbia", taxonomy.version, NOW),
    ]
    assert stats.tags_written == len(rows)
    articles = con.execute(
        "SELECT id, relevant, relevance >= 0.5, relevance_reason IS NOT NULL, taxonomy_version FROM articles ORDER BY id"
    ).fetchall()
    assert articles == [
        ("a1", True, True, True, taxonomy.version),
        ("a2", False, False, True, taxonomy.version),
        ("r1", False, None, False, "0+old"),  # reference documents are not re-tagged
    ]
    assert con.execute("SELECT count(*) FROM taxonomy").fetchall() == [(len(taxonomy.concepts),)]


def test_retag_skips_up_to_date_articles_unless_forced(con, taxonomy: Taxonomy, matcher: Matcher) -> None:  # type: ignore[no-untyped-def]
    _store(con)
    retag_articles(con, taxonomy, matcher)
    again = retag_articles(con, taxonomy, matcher)
    assert (again.examined, again.up_to_date, again.tags_written) == (0, 2, 0)
    forced = retag_articles(con, taxonomy, matcher, force=True)
    assert (forced.examined, forced.became_relevant, forced.became_irrelevant) == (2, 0, 0)
    assert con.execute("SELECT count(*) FROM article_tags").fetchall() == [(7,)]


def test_retag_flow_body_runs_on_a_warehouse_file(tmp_path: Path) -> None:
    from flows.retag import retag

    db = tmp_path / "w.duckdb"
    con = connect(db)
    _store(con)
    con.close()
    result = retag.fn(db_path=str(db), force=False)
    assert result["examined"] == 2 and result["became_relevant"] == 1


def test_a_retag_is_recorded_as_a_run_with_its_counters_and_a_failed_one_as_failed(  # type: ignore[no-untyped-def]
    con, taxonomy: Taxonomy, matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    from dataclasses import asdict

    from monitor.storage import store

    _store(con)
    stats = retag_articles(con, taxonomy, matcher)
    runs = con.execute("SELECT kind, status, finished_at >= started_at, stats FROM runs").fetchall()
    assert [(k, s, done, json.loads(st)) for k, s, done, st in runs] == [("retag", "ok", True, asdict(stats))]

    def broken(*_args: object) -> None:
        raise duckdb.IOException("disk full")

    monkeypatch.setattr(store, "replace_tags", broken)
    with pytest.raises(duckdb.IOException, match="disk full"):
        retag_articles(con, taxonomy, matcher, force=True)
    assert con.execute("SELECT kind, status FROM runs ORDER BY started_at").fetchall() == [
        ("retag", "ok"), ("retag", "failed")]
