"""The rollup tables refreshed from what changed (monitor.storage.rollups) equal a whole recompute."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from monitor.storage import rollups
from monitor.storage.warehouse import close, connect, current_snapshot, refresh_rollups
from warehouse_helpers import add_tag

WEEKLY = "SELECT week, week_start, concept_id, articles FROM {} ORDER BY ALL"
FIRST = ("SELECT concept_id, label, facet, first_story_at, first_story_id, first_week, stories FROM {} "
         "ORDER BY concept_id")
SOURCE_WEEKS = "SELECT source, week_start, articles, last_article_at, fetches, first_fetch_at FROM {} ORDER BY ALL"


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
        add_tag(con, aid, tag)


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


def _answers_of_refresh_changed(monkeypatch) -> list[bool]:
    """What each call of ``rollups.refresh_changed`` answers from now on, in order (True:
    it followed what changed; False: the caller recomputes whole)."""
    answers: list[bool] = []
    original = rollups.refresh_changed

    def spy(con, now, **kw):  # type: ignore[no-untyped-def]
        answers.append(original(con, now, **kw))
        return answers[-1]

    monkeypatch.setattr(rollups, "refresh_changed", spy)
    return answers


def _assert_as_whole(con) -> None:
    assert con.execute(WEEKLY.format("weekly_tag_counts")).fetchall() == \
        con.execute(WEEKLY.format("weekly_tag_counts_live")).fetchall()
    assert con.execute(FIRST.format("concept_first_seen")).fetchall() == \
        con.execute(FIRST.format("concept_first_seen_live")).fetchall()
    for kept in ("copy_chains", "copy_origins", "events"):
        assert con.execute(f"SELECT * FROM {kept} ORDER BY ALL").fetchall() == \
            con.execute(f"SELECT * FROM {kept}_live ORDER BY ALL").fetchall()
    assert con.execute(SOURCE_WEEKS.format("rollup_source_weeks")).fetchall() == \
        con.execute(SOURCE_WEEKS.format("source_weeks_between('-infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ)")
                    ).fetchall()


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
    add_tag(lake, "s1", "theme:army")
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

    followed = _answers_of_refresh_changed(monkeypatch)
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


def test_a_small_warehouse_is_recomputed_whole_a_large_one_follows_the_changes(lake, monkeypatch):
    """Below WHOLE_REFRESH_BELOW stored articles a change is recomputed whole (cheaper than
    ~20 catalog-reading statements), and no change costs nothing; at or above it, a change
    is followed. Same rows either way."""
    from monitor.storage import warehouse

    asked = _answers_of_refresh_changed(monkeypatch)
    _article(lake, "s1", "alpha", "2026-10-01 08:00:00+00", "2026-10-01 09:00:00+00", "theme:energy")
    _article(lake, "s2", "beta", "2026-10-02 08:00:00+00", "2026-10-02 09:00:00+00", "theme:army")
    refresh_rollups(lake)  # nothing recorded yet: whole, whatever the size
    assert asked == [False]

    monkeypatch.setattr(warehouse, "WHOLE_REFRESH_BELOW", 4)  # 3 articles stored: small
    _article(lake, "s3", "alpha", "2026-09-20 08:00:00+00", "2026-09-20 09:00:00+00", "theme:energy")
    refresh_rollups(lake)
    assert asked == [False, False]  # not followed: recomputed whole
    _assert_as_whole(lake)
    refreshed = lake.execute("SELECT refreshed_at FROM rollup_state").fetchall()
    lake.execute("DELETE FROM rollup_weekly_tags")  # a change to no table the rollups are computed from
    refresh_rollups(lake)  # so nothing to recount, however small the warehouse: were it recomputed, the rows would be back
    assert asked[-1] is True and lake.execute("SELECT count(*) FROM rollup_weekly_tags").fetchall() == [(0,)]
    assert lake.execute("SELECT refreshed_at FROM rollup_state").fetchall() != refreshed
    lake.execute(warehouse.ROLLUPS_FILE.read_text(encoding="utf-8"))  # put them back

    monkeypatch.setattr(warehouse, "WHOLE_REFRESH_BELOW", 3)  # 4 articles stored: at the bar
    _article(lake, "s4", "beta", "2026-10-03 08:00:00+00", "2026-10-03 09:00:00+00", "actor:nato")
    refresh_rollups(lake)
    assert asked[-1] is True  # followed what changed since the whole recompute
    _assert_as_whole(lake)


def _source(con, name: str, owner: str, *cite_keys: str) -> None:
    con.execute("INSERT INTO sources (name, url, owner, cite_keys, updated_at) VALUES (?, ?, ?, ?, now())",
                [name, f"https://{name}.example/feed", owner, list(cite_keys)])


def _copy(con, aid: str, source: str, of: str, published: str, words: int = 300) -> None:
    con.execute(
        "INSERT INTO articles (id, kind, source, title, url, published_at, date_confidence, fetched_at, relevant, "
        "duplicate_of, duplicate_kind, similarity, word_count) VALUES (?, 'article', ?, ?, ?, ?::TIMESTAMPTZ, 'high', "
        "?::TIMESTAMPTZ, true, ?, 'near', 0.9, ?)",
        [aid, source, f"Title of {aid}", f"https://{source}.example/{aid}", published, published, of, words])


CHAINS = "SELECT copy_id, story_id, hops, story_title, jaccard FROM copy_chains ORDER BY copy_id"
ORIGINS = "SELECT article_id, outlet, origin_id, origin_owner, script_changed FROM copy_origins ORDER BY article_id"


def test_kept_copy_rows_follow_chains_overlaps_provenance_and_owners(lake):
    """The kept copy rows (migration 013) recomputed from what changed equal the live ones:
    a copy of a copy re-rooted when its parent becomes a story, an overlap verified, a
    script read, an origin's outlet no longer state media, a story retitled and deleted."""
    _source(lake, "sputnik", "state-affiliated", "sputnik")
    _source(lake, "alpha", "independent")
    _source(lake, "beta", "independent")
    _article(lake, "o1", "sputnik", "2026-10-01 08:00:00+00", "2026-10-01 09:00:00+00")
    _article(lake, "a0", "alpha", "2026-09-01 08:00:00+00", "2026-09-01 09:00:00+00")  # alpha's first contact
    lake.execute("UPDATE articles SET title = 'Origin' WHERE id = 'o1'")
    _copy(lake, "c1", "alpha", "o1", "2026-10-01 12:00:00+00")
    _copy(lake, "c2", "beta", "c1", "2026-10-02 12:00:00+00")  # a copy of a copy
    refresh_rollups(lake)
    _assert_as_whole(lake)
    assert lake.execute(CHAINS).fetchall() == [("c1", "o1", 1, "Origin", None), ("c2", "o1", 2, "Origin", None)]
    assert lake.execute(ORIGINS).fetchall() == [("c1", "alpha", "o1", "state-affiliated", False),
                                                ("c2", "beta", "o1", "state-affiliated", False)]

    # c1 becomes a story of its own: c2 is now filed under c1, and neither copies o1
    lake.execute("UPDATE articles SET duplicate_of = NULL, duplicate_kind = NULL WHERE id = 'c1'")
    _refresh_incrementally(lake)
    _assert_as_whole(lake)
    assert lake.execute(CHAINS).fetchall() == [("c2", "c1", 1, "Title of c1", None)]
    assert lake.execute(ORIGINS).fetchall() == [("c2", "beta", "c1", "independent", False)]

    # and back under o1; then the overlap is verified and the scripts read (side tables only)
    lake.execute("UPDATE articles SET duplicate_of = 'o1', duplicate_kind = 'near' WHERE id = 'c1'")
    _refresh_incrementally(lake)
    lake.execute("INSERT INTO copy_overlaps VALUES ('c2', 'o1', 40, 0.8, 0.9, 0.85, now())")
    lake.execute("INSERT INTO article_provenance (article_id, script) VALUES ('o1', 'cyrillic'), ('c2', 'latin')")
    _refresh_incrementally(lake)
    _assert_as_whole(lake)
    assert lake.execute(CHAINS).fetchall() == [("c1", "o1", 1, "Origin", None), ("c2", "o1", 2, "Origin", 0.8)]
    assert lake.execute(ORIGINS).fetchall() == [("c1", "alpha", "o1", "state-affiliated", False),
                                                ("c2", "beta", "o1", "state-affiliated", True)]

    # a run saves the registry again (updated_at only: nothing to recompute), then the
    # origin's outlet is relabelled; the origin retitled
    lake.execute("UPDATE sources SET updated_at = now() + INTERVAL 1 HOUR")
    _refresh_incrementally(lake)
    _assert_as_whole(lake)
    lake.execute("UPDATE sources SET owner = 'public' WHERE name = 'sputnik'")
    lake.execute("UPDATE articles SET title = 'Origin, retitled' WHERE id = 'o1'")
    _refresh_incrementally(lake)
    _assert_as_whole(lake)
    assert lake.execute(ORIGINS).fetchall() == [("c1", "alpha", "o1", "public", False),
                                                ("c2", "beta", "o1", "public", True)]
    assert lake.execute("SELECT DISTINCT story_title FROM copy_chains").fetchall() == [("Origin, retitled",)]

    # a copy deleted, then the story: its copies point at nothing stored (no origin, no
    # story kind); o1 was its outlet's first article, so that refresh is whole
    lake.execute("DELETE FROM articles WHERE id = 'c1'")
    _refresh_incrementally(lake)
    _assert_as_whole(lake)
    assert lake.execute(CHAINS).fetchall() == [("c2", "c1", 1, None, None)]
    lake.execute("UPDATE articles SET duplicate_of = 'o1' WHERE id = 'c2'")
    _copy(lake, "c1", "alpha", "o1", "2026-10-01 12:00:00+00")
    _refresh_incrementally(lake)
    lake.execute("DELETE FROM articles WHERE id = 'o1'")
    _assert_refreshed_whole(lake)
    assert lake.execute("SELECT copy_id, story_id, story_kind FROM copy_chains ORDER BY 1").fetchall() == [
        ("c1", "o1", None), ("c2", "o1", None)]
    assert lake.execute(ORIGINS).fetchall() == []


def test_a_warehouse_from_before_the_kept_copy_rows_gets_them_when_the_writer_opens_it(tmp_path):
    """Upgrading: migration 013 adds the kept tables to a lake that has copies; the
    writer's open fills them at once (an analyst would otherwise read no copy until a
    run ends)."""
    db = str(tmp_path / "w.ducklake")
    con = connect(db)
    _article(con, "o1", "alpha", "2026-10-01 08:00:00+00", "2026-10-01 09:00:00+00")
    _copy(con, "c1", "beta", "o1", "2026-10-01 12:00:00+00")
    # as the lake was before 013
    con.execute("DROP TABLE rollup_copy_chains")
    con.execute("DROP TABLE rollup_copy_origins")
    con.execute("DELETE FROM schema_migrations WHERE name = '013_kept_copies'")
    close(con)
    con = connect(db)
    try:
        assert con.execute("SELECT copy_id, story_id, hops FROM copy_chains").fetchall() == [("c1", "o1", 1)]
        _assert_as_whole(con)
    finally:
        close(con)


def test_a_refresh_that_runs_out_of_memory_says_so_and_changes_nothing(lake, monkeypatch):
    """Out of memory midway (the writer then lifts its cap and refreshes again): the error
    that reaches the writer is that one, not the aborted transaction's on the way out, and
    the tables and the recorded snapshot are as before."""
    import duckdb

    _article(lake, "s1", "alpha", "2026-10-01 08:00:00+00", "2026-10-01 09:00:00+00", "theme:energy")
    refresh_rollups(lake)
    recorded = rollups.recorded_snapshot(lake)
    _article(lake, "s2", "alpha", "2026-10-02 08:00:00+00", "2026-10-02 09:00:00+00", "theme:energy")

    def out_of_memory(con, since, now):  # type: ignore[no-untyped-def]
        with pytest.raises(duckdb.Error):
            con.execute("SELECT error('a failed statement aborts the transaction')")
        raise duckdb.OutOfMemoryException("simulated")

    monkeypatch.setattr(rollups, "_refresh_copies", out_of_memory)
    with pytest.raises(duckdb.OutOfMemoryException, match="simulated"):
        refresh_rollups(lake)
    assert rollups.recorded_snapshot(lake) == recorded
    assert lake.execute("SELECT sum(articles) FROM weekly_tag_counts").fetchall() == [(1,)]
    monkeypatch.undo()
    _refresh_incrementally(lake)
    _assert_as_whole(lake)
    assert lake.execute("SELECT sum(articles) FROM weekly_tag_counts").fetchall() == [(2,)]


def _assign(con, story: str, event: str, at: str) -> None:
    con.execute("INSERT INTO event_assignments (article_id, event_id, story_at, dated, assigned_at) "
                "VALUES (?, ?, ?::TIMESTAMPTZ, true, now())", [story, event, at])


EVENTS = ("SELECT event_id, first_article_id, stories, copies, outlets, title, assigned_ids FROM events "
          "WHERE event_id <> 'ev_a0' ORDER BY event_id")


def _events_after(lake, *statements: str) -> list[tuple]:
    """Run ``statements``, refresh following the changes, check against a whole recompute;
    the kept events then."""
    for statement in statements:
        lake.execute(statement)
    _refresh_incrementally(lake)
    _assert_as_whole(lake)
    return lake.execute(EVENTS).fetchall()


def test_kept_events_follow_assignments_merges_copies_and_edits(lake):
    """The kept event summaries (migration 015) recomputed from what changed equal the live
    ones: stories assigned, a copy filed, a story retitled, two events merged, a copy moved
    to another story, a story displaced into a copy, a story deleted."""
    _article(lake, "a0", "alpha", "2026-09-01 08:00:00+00", "2026-09-01 09:00:00+00")  # alpha's first contact
    _article(lake, "s1", "alpha", "2026-10-01 08:00:00+00", "2026-10-01 09:00:00+00")
    _article(lake, "s2", "beta", "2026-10-01 10:00:00+00", "2026-10-01 11:00:00+00")
    _assign(lake, "a0", "ev_a0", "2026-09-01 08:00:00+00")
    _assign(lake, "s1", "ev_s1", "2026-10-01 08:00:00+00")
    _assign(lake, "s2", "ev_s1", "2026-10-01 10:00:00+00")
    refresh_rollups(lake)
    _assert_as_whole(lake)
    assert lake.execute(EVENTS).fetchall() == [("ev_s1", "s1", 2, 0, 2, None, ["s1", "s2"])]

    # a new story in its own event, a copy of s1 filed, s1 retitled
    _article(lake, "s3", "gamma", "2026-10-05 08:00:00+00", "2026-10-05 09:00:00+00")
    _assign(lake, "s3", "ev_s3", "2026-10-05 08:00:00+00")
    _copy(lake, "c1", "delta", "s1", "2026-10-01 12:00:00+00")
    assert _events_after(lake, "UPDATE articles SET title = 'Helicopters delivered' WHERE id = 's1'") == [
        ("ev_s1", "s1", 2, 1, 3, "Helicopters delivered", ["s1", "s2"]), ("ev_s3", "s3", 1, 0, 1, None, ["s3"])]

    # a later story showed both to be one happening: ev_s3's stories move into ev_s1
    assert _events_after(lake, "UPDATE event_assignments SET event_id = 'ev_s1' WHERE event_id = 'ev_s3'") == [
        ("ev_s1", "s1", 3, 1, 4, "Helicopters delivered", ["s1", "s2", "s3"])]

    # events apart again by hand; then the copy moves under s3, and s2 becomes a copy of s3
    # (s2, now a copy, is ev_s3's first report: a copy can be the first one seen; its
    # assignment stays in ev_s1, where no report is found through it)
    _events_after(lake, "UPDATE event_assignments SET event_id = 'ev_s3' WHERE article_id = 's3'")
    assert _events_after(lake, "UPDATE articles SET duplicate_of = 's3' WHERE id IN ('c1', 's2')") == [
        ("ev_s1", "s1", 1, 0, 1, "Helicopters delivered", ["s1", "s2"]), ("ev_s3", "s2", 1, 2, 3, None, ["s3"])]

    # the story that started an event deleted with its assignment: the event is gone
    assert _events_after(lake, "DELETE FROM event_assignments WHERE article_id = 's1'",
                         "DELETE FROM articles WHERE id = 's1'") == [("ev_s3", "s2", 1, 2, 3, None, ["s3"])]


def test_a_warehouse_from_before_the_kept_events_gets_them_when_the_writer_opens_it(tmp_path):
    """Upgrading: migration 015 adds rollup_events to a lake that has events; the writer's
    open fills it at once."""
    db = str(tmp_path / "w.ducklake")
    con = connect(db)
    _article(con, "s1", "alpha", "2026-10-01 08:00:00+00", "2026-10-01 09:00:00+00")
    _assign(con, "s1", "ev_s1", "2026-10-01 08:00:00+00")
    con.execute("DROP TABLE rollup_events")  # as the lake was before 015 (and so before 016)
    con.execute("DELETE FROM schema_migrations WHERE name IN ('015_kept_events', '016_kept_event_members')")
    close(con)
    con = connect(db)
    try:
        assert con.execute("SELECT event_id, stories FROM events").fetchall() == [("ev_s1", 1)]
        _assert_as_whole(con)
    finally:
        close(con)


def test_a_warehouse_from_before_the_kept_members_gets_them_when_the_writer_opens_it(tmp_path):
    """Upgrading: migration 016 adds each kept event's assigned articles; the writer's open
    fills them at once (the digest finds an event's reports through them)."""
    db = str(tmp_path / "w.ducklake")
    con = connect(db)
    _article(con, "s1", "alpha", "2026-10-01 08:00:00+00", "2026-10-01 09:00:00+00")
    _article(con, "s2", "beta", "2026-10-01 10:00:00+00", "2026-10-01 11:00:00+00")
    _assign(con, "s1", "ev_s1", "2026-10-01 08:00:00+00")
    _assign(con, "s2", "ev_s1", "2026-10-01 10:00:00+00")
    refresh_rollups(con)
    con.execute("ALTER TABLE rollup_events DROP COLUMN assigned_ids")  # as the lake was before 016
    con.execute("DELETE FROM schema_migrations WHERE name = '016_kept_event_members'")
    close(con)
    con = connect(db)
    try:
        assert con.execute("SELECT event_id, stories, assigned_ids FROM events").fetchall() == [
            ("ev_s1", 2, ["s1", "s2"])]
        _assert_as_whole(con)
    finally:
        close(con)


def _fetch(con, source: str, at: str, outcome: str = "ok") -> None:
    con.execute("INSERT INTO fetch_log (id, fetched_at, source, kind, url, outcome) "
                "SELECT coalesce(max(id), 0) + 1, ?::TIMESTAMPTZ, ?, 'feed', 'u', ? FROM fetch_log", [at, source, outcome])


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_kept_source_weeks_follow_articles_and_fetches(lake):
    """Each source's kept weeks (migration 017) recomputed from what changed equal a whole
    recompute: fetches alone (a run whose feeds all answered 304), articles in a new week,
    an article moved to another source; an article never fetched is recomputed whole.
    source_activity_between reads the weeks before its window from them."""
    _fetch(lake, "alpha", "2026-09-01 08:00:00+00")
    _article(lake, "a1", "alpha", "2026-09-01 07:00:00+00", "2026-09-01 09:00:00+00")
    refresh_rollups(lake)
    _assert_as_whole(lake)

    _fetch(lake, "alpha", "2026-10-05 08:00:00+00", "not_modified")
    _fetch(lake, "beta", "2026-10-06 08:00:00+00")
    _refresh_incrementally(lake)
    _assert_as_whole(lake)

    _article(lake, "b1", "beta", "2026-10-06 07:00:00+00", "2026-10-06 09:00:00+00")
    _article(lake, "a2", "alpha", "2026-09-02 07:00:00+00", "2026-09-02 09:00:00+00")
    lake.execute("UPDATE articles SET source = 'beta' WHERE id = 'a2'")
    _refresh_incrementally(lake)
    _assert_as_whole(lake)
    assert lake.execute(SOURCE_WEEKS.format("rollup_source_weeks")).fetchall() == [
        ("alpha", date(2026, 8, 31), 1, _ts("2026-09-01 09:00:00+00"), 1, _ts("2026-09-01 08:00:00+00")),
        ("alpha", date(2026, 10, 5), 0, None, 1, _ts("2026-10-05 08:00:00+00")),
        ("beta", date(2026, 8, 31), 1, _ts("2026-09-02 09:00:00+00"), 0, None),
        ("beta", date(2026, 10, 5), 1, _ts("2026-10-06 09:00:00+00"), 1, _ts("2026-10-06 08:00:00+00")),
    ]
    # a week later: alpha's last article and first fetch are from the kept weeks before
    # the window's, beta's last article from the rows of the window's week
    assert lake.execute(
        "SELECT source, status, fetches, new_articles, last_article_at FROM source_activity_between(?, ?) "
        "ORDER BY source", [_ts("2026-10-07 00:00:00+00"), _ts("2026-10-14 00:00:00+00")]).fetchall() == [
        ("alpha", "not_polled", 0, 0, _ts("2026-09-01 09:00:00+00")),
        ("beta", "not_polled", 0, 0, _ts("2026-10-06 09:00:00+00")),
    ]

    # no week says where an article never fetched is kept: the refresh is whole
    lake.execute("INSERT INTO articles (id, kind, source) VALUES ('g1', 'article', 'gamma')")
    _assert_refreshed_whole(lake)
    assert lake.execute("SELECT source, week_start, articles FROM rollup_source_weeks WHERE week_start IS NULL"
                        ).fetchall() == [("gamma", None, 1)]


def test_a_warehouse_from_before_the_kept_source_weeks_gets_them_when_the_writer_opens_it(tmp_path):
    """Upgrading: migration 017 adds rollup_source_weeks; the writer's open fills it at once."""
    db = str(tmp_path / "w.ducklake")
    con = connect(db)
    _fetch(con, "alpha", "2026-10-01 08:00:00+00")
    _article(con, "s1", "alpha", "2026-10-01 08:00:00+00", "2026-10-01 09:00:00+00")
    con.execute("DROP TABLE rollup_source_weeks")  # as the lake was before 017
    con.execute("DELETE FROM schema_migrations WHERE name = '017_kept_source_weeks'")
    close(con)
    con = connect(db)
    try:
        assert con.execute(SOURCE_WEEKS.format("rollup_source_weeks")).fetchall() == [
            ("alpha", date(2026, 9, 28), 1, _ts("2026-10-01 09:00:00+00"), 1, _ts("2026-10-01 08:00:00+00"))]
        _assert_as_whole(con)
    finally:
        close(con)
