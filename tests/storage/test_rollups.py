"""The rollup tables refreshed from what changed (monitor.storage.rollups) equal a whole recompute."""

from __future__ import annotations

import pytest

from monitor.storage import rollups
from monitor.storage.warehouse import close, connect, current_snapshot, refresh_rollups

WEEKLY = "SELECT week, week_start, concept_id, articles FROM {} ORDER BY ALL"
FIRST = ("SELECT concept_id, label, facet, first_story_at, first_story_id, first_week, stories FROM {} "
         "ORDER BY concept_id")


@pytest.fixture
def lake(tmp_path):
    con = connect(str(tmp_path / "w.ducklake"))
    con.execute("INSERT INTO taxonomy (concept_id, label, facet, version) VALUES ('theme:energy', 'Energy', 'theme', '1'), "
                "('theme:army', 'Army', 'theme', '1'), ('actor:nato', 'NATO', 'actor', '1')")
    yield con
    close(con)


def _article(con, aid: str, source: str, published: str | None, fetched: str, *tags: str,
             confidence: str = "high", relevant: bool = True) -> None:
    con.execute(
        "INSERT INTO articles (id, kind, source, published_at, date_confidence, fetched_at, relevant) "
        "VALUES (?, 'article', ?, ?::TIMESTAMPTZ, ?, ?::TIMESTAMPTZ, ?)",
        [aid, source, published, confidence, fetched, relevant])
    for tag in tags:
        con.execute("INSERT INTO article_tags (article_id, concept_id, score) VALUES (?, ?, 1)", [aid, tag])


def _refresh_incrementally(con) -> None:
    """refresh_rollups, asserting it followed the changes instead of recomputing whole."""
    now = current_snapshot(con)
    con.execute("BEGIN TRANSACTION")
    try:
        assert rollups.refresh_changed(con, now)
        rollups.record_snapshot(con, now)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _assert_as_whole(con) -> None:
    assert con.execute(WEEKLY.format("weekly_tag_counts")).fetchall() == \
        con.execute(WEEKLY.format("weekly_tag_counts_live")).fetchall()
    assert con.execute(FIRST.format("concept_first_seen")).fetchall() == \
        con.execute(FIRST.format("concept_first_seen_live")).fetchall()


def _assert_refreshed_whole(con) -> None:
    """What changed since the last refresh cannot be followed: the refresh recomputes whole."""
    now = current_snapshot(con)
    con.execute("BEGIN TRANSACTION")
    assert not rollups.refresh_changed(con, now)
    con.execute("ROLLBACK")
    refresh_rollups(con)
    _assert_as_whole(con)


def test_incremental_refresh_equals_a_whole_recompute_batch_after_batch(lake):
    _article(lake, "s1", "alpha", "2026-10-01 08:00:00+00", "2026-10-01 09:00:00+00", "theme:energy", "actor:nato")
    _article(lake, "s2", "beta", "2026-10-02 08:00:00+00", "2026-10-02 09:00:00+00", "theme:army")
    refresh_rollups(lake)  # the first refresh is whole: nothing recorded yet
    _assert_as_whole(lake)
    assert rollups.recorded_snapshot(lake) == current_snapshot(lake) - 1  # the one read, before its own commit
    first = lake.execute("SELECT refreshed_at FROM rollup_state").fetchall()

    # a batch of new stories, one earlier than any stored (a new first story of a concept)
    _article(lake, "s3", "alpha", "2026-09-20 08:00:00+00", "2026-10-08 09:00:00+00", "theme:energy")
    _article(lake, "s4", "beta", "2026-10-09 08:00:00+00", "2026-10-09 09:00:00+00", "theme:energy", "theme:army")
    _article(lake, "s5", "alpha", None, "2026-10-09 10:00:00+00", "actor:nato")  # undated, source known: trusted
    _article(lake, "s6", "beta", "2026-10-09 11:00:00+00", "2026-10-09 12:00:00+00", "theme:energy",
             relevant=False)  # off topic: counted nowhere
    _refresh_incrementally(lake)
    _assert_as_whole(lake)

    # a re-run that stored nothing
    _refresh_incrementally(lake)
    _assert_as_whole(lake)
    refresh_rollups(lake)
    assert lake.execute("SELECT count(*), max(refreshed_at) > ? FROM rollup_state", [first[0][0]]).fetchall() == [
        (1, True)]

    # a story made a copy of another (dedup displaced it), and a retag of an old story
    lake.execute("UPDATE articles SET duplicate_of = 's4', duplicate_kind = 'near' WHERE id = 's2'")
    lake.execute("DELETE FROM article_tags WHERE article_id = 's1' AND concept_id = 'actor:nato'")
    lake.execute("INSERT INTO article_tags (article_id, concept_id, score) VALUES ('s1', 'theme:army', 1)")
    _refresh_incrementally(lake)
    _assert_as_whole(lake)
    assert lake.execute("SELECT first_story_id, stories FROM concept_first_seen WHERE concept_id = 'actor:nato'"
                        ).fetchall() == [("s5", 1)]

    # the last story of a concept deleted: its row goes, as in a whole recompute
    lake.execute("DELETE FROM article_tags WHERE article_id = 's5'")
    lake.execute("DELETE FROM articles WHERE id = 's5'")
    _refresh_incrementally(lake)
    _assert_as_whole(lake)
    assert lake.execute("SELECT count(*) FROM concept_first_seen WHERE concept_id = 'actor:nato'").fetchall() == [(0,)]


def test_what_cannot_be_followed_is_recomputed_whole(lake):
    _article(lake, "s1", "alpha", "2026-10-01 08:00:00+00", "2026-10-05 09:00:00+00", "theme:energy")
    _article(lake, "s2", "alpha", None, "2026-10-05 10:00:00+00", "theme:energy")  # first day: not trusted
    refresh_rollups(lake)
    _assert_as_whole(lake)
    assert lake.execute("SELECT sum(articles) FROM weekly_tag_counts").fetchall() == [(1,)]

    # an article fetched before the source's first contact: s2 is no longer in the first day
    _article(lake, "s0", "alpha", "2026-09-01 08:00:00+00", "2026-09-01 09:00:00+00")
    _assert_refreshed_whole(lake)
    assert lake.execute("SELECT sum(articles) FROM weekly_tag_counts").fetchall() == [(2,)]

    # a new label in the taxonomy
    lake.execute("UPDATE taxonomy SET label = 'Energy supply' WHERE concept_id = 'theme:energy'")
    _assert_refreshed_whole(lake)
    assert lake.execute("SELECT label FROM concept_first_seen").fetchall() == [("Energy supply",)]

    # the recorded snapshot expired by upkeep: nothing to follow from
    lake.execute("UPDATE rollup_snapshot SET snapshot_id = -1")
    assert not rollups.refresh_changed(lake, current_snapshot(lake))


def test_runs_keep_the_rollups_equal_to_a_whole_recompute(tmp_path, monkeypatch):
    """Two imports (the second a re-run of the first's pages and some more) follow the
    changes; a retag (a new taxonomy row set) recomputes whole; all equal the live views."""
    from monitor.judging.tagging import compile_matcher
    from monitor.judging.taxonomy import load_taxonomy
    from monitor.runs.importer import import_paths
    from monitor.runs.ingest import IngestSession
    from monitor.runs.retag import retag_articles
    from monitor.settings import load_settings
    from warehouse_helpers import corpus_pages

    followed: list[bool] = []
    original = rollups.refresh_changed

    def spy(con, now):  # type: ignore[no-untyped-def]
        followed.append(original(con, now))
        return followed[-1]

    monkeypatch.setattr(rollups, "refresh_changed", spy)
    db = tmp_path / "w.ducklake"
    settings = load_settings(environ={}).with_(warehouse=str(db))
    pages = corpus_pages(tmp_path / "pages", 40)
    first = tmp_path / "first"
    first.mkdir()
    for page in sorted(pages.glob("*.html"))[:25]:
        (first / page.name).write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    for folder in (first, pages):
        with IngestSession.open(settings, kind="import") as session:
            import_paths(session, [folder], workers=1)
        con = connect(str(db))
        try:
            _assert_as_whole(con)
            assert con.execute("SELECT count(*) FROM rollup_weekly_tags").fetchall() != [(0,)]
        finally:
            close(con)
    assert followed[-1] is True  # the second import followed what it changed
    con = connect(str(db))
    try:
        taxonomy = load_taxonomy()
        retag_articles(con, taxonomy, compile_matcher(taxonomy), force=True)
        _assert_as_whole(con)
    finally:
        close(con)
