"""The rollup tables kept from what changed: only the weeks and concepts a run touched.

``warehouse.refresh_rollups`` recomputed both tables whole at the end of every writing run
(6.6 s at a million articles, most of a small import's time). A lake knows what changed
since a snapshot (DuckLake's ``table_changes``), and ``rollup_snapshot`` (migration 012)
records the snapshot the tables were last computed from. From the rows of ``articles``
and ``article_tags`` changed since:

  * ``rollup_weekly_tags``: the weeks where a changed article was, or is, placed (before
    and after images both) are recounted with views.sql's ``weekly_tag_counts_between``;
  * ``rollup_concept_first_seen``: a concept whose tags or stories were changed or removed
    is recomputed from ``concept_first_seen_live``; a concept that only gained new articles'
    stories merges them (``concept_first_seen_from``) (earliest story wins, counts add up).

The kept copy rows (``rollup_copy_chains``, ``rollup_copy_origins``, migration 013) are
recomputed for the copies a change reaches (``_refresh_copies``), and the kept event
summaries (``rollup_events``, migration 015) for the events a change reaches
(``_refresh_events``), and each source's kept weeks (``rollup_source_weeks``, migration
017) for the weeks a changed article or fetch falls in (``_refresh_source_weeks``).

Anything this cannot follow gives ``False`` and the caller recomputes whole: no snapshot
recorded (a first refresh, a DuckDB file), the recorded one expired by upkeep, a schema
or views change since, a change to the taxonomy (labels), a source's first contact
moved (it decides which undated stories are trusted, anywhere in time), or an article
without a fetch time changed (no week says where it is kept).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime, timedelta

import duckdb

from monitor.storage.lake import LAKE_ALIAS

__all__ = ["refresh_changed", "record_snapshot", "recorded_snapshot"]

#: What a snapshot may have changed for the tables to follow it row by row: data only.
#: A DDL change (a migration, a new views.sql) or a compaction is refreshed whole.
DATA_CHANGES = frozenset({"tables_inserted_into", "tables_deleted_from", "inlined_insert", "inlined_delete"})
#: The tables whose rows the trend rollups are computed from, besides ``taxonomy`` (labels:
#: a change to it is refreshed whole); the kept copy rows also read ``_COPY_SIDE_TABLES``
#: and ``sources``.
_ARTICLES, _TAGS = "articles", "article_tags"
#: What an event's summary is computed from besides ``articles``: its stories' assignments.
_EVENTS = "event_assignments"
#: What a source's kept weeks count besides its articles: its fetches.
_FETCHES = "fetch_log"


def recorded_snapshot(con: duckdb.DuckDBPyConnection) -> int | None:
    """The snapshot the rollup tables were last computed from (None: never recorded)."""
    row = con.execute("SELECT max(snapshot_id) FROM rollup_snapshot").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def record_snapshot(con: duckdb.DuckDBPyConnection, snapshot: int | None) -> None:
    """Record that the rollup tables are computed from ``snapshot`` (None: forget, refresh whole next), and now."""
    con.execute("DELETE FROM rollup_snapshot")
    if snapshot is not None:
        con.execute("INSERT INTO rollup_snapshot VALUES (?)", [snapshot])
    # and when (rollup_state, migration 003: for an analyst asking how fresh the trend tables are)
    con.execute("DELETE FROM rollup_state")
    con.execute("INSERT INTO rollup_state VALUES (now())")


def _changed_tables(con: duckdb.DuckDBPyConnection, since: int, now: int) -> set[str] | None:
    """The tables whose rows the snapshots after ``since`` up to ``now`` changed; None when
    that cannot be followed (``since`` expired by upkeep, or a snapshot changed more than data)."""
    rows = con.execute(
        f"SELECT snapshot_id, changes FROM {LAKE_ALIAS}.snapshots() WHERE snapshot_id BETWEEN ? AND ?",
        [since, now]).fetchall()
    if not any(r[0] == since for r in rows):
        return None  # expired by upkeep: what changed since is no longer known
    changes = [r[1] or {} for r in rows if r[0] != since]
    if not all(set(c.keys()) <= DATA_CHANGES for c in changes):
        return None
    ids = {table for c in changes for tables in c.values() for table in tables}
    if not ids:
        return set()
    names = dict(con.execute(f"SELECT CAST(table_id AS VARCHAR), table_name FROM ducklake_table_info('{LAKE_ALIAS}')")
                 .fetchall())
    return {names.get(table, f"(table {table})") for table in ids}


def _changes(table: str, columns: str, since: int, now: int) -> str:
    return f"SELECT change_type, {columns} FROM {LAKE_ALIAS}.table_changes('{table}', {since + 1}, {now})"


def refresh_changed(con: duckdb.DuckDBPyConnection, now: int | None, *, articles_below: int = 0) -> bool:
    """Bring the rollup tables from their recorded snapshot to ``now``, inside the caller's
    transaction; False when that cannot be followed (the caller recomputes them whole), or
    when something changed in a warehouse of fewer than ``articles_below`` articles, where
    a whole recompute is the cheaper (``warehouse.WHOLE_REFRESH_BELOW``)."""
    since = recorded_snapshot(con)
    if now is None or since is None or since > now:
        return False
    if since == now:
        return True
    tables = _changed_tables(con, since, now)
    if tables is None or "taxonomy" in tables:  # labels: refreshed whole
        return False
    if not tables & _READ:
        return True  # a run that stored nothing the tables are computed from (its own bookkeeping)
    if articles_below > 0 and tables & {_ARTICLES, _TAGS} and _articles(con) < articles_below:
        return False
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rollup_changed_articles AS "
        + _changes(_ARTICLES, "id, story_time(published_at, fetched_at, date_confidence) AS story_at, duplicate_of, "
                   "kind, fetched_at", since, now))
    con.execute("CREATE OR REPLACE TEMP TABLE rollup_changed_tags AS "
                + _changes(_TAGS, "article_id, concept_id", since, now))
    try:
        row = con.execute(
            "SELECT (SELECT count(*) FROM rollup_changed_articles), (SELECT count(*) FROM rollup_changed_tags), "
            "(SELECT count(*) FROM rollup_changed_articles WHERE kind = 'article' AND fetched_at IS NULL)").fetchone()
        assert row is not None
        articles, tags, never_fetched = row
        if articles and (never_fetched or _first_contact_moved(con, since)):
            return False
        if articles or tags:  # else a run that stored no article (or only its own bookkeeping)
            _refresh_weeks(con)
            _refresh_concepts(con, since)
        _refresh_copies(con, since, now)
        _refresh_events(con, since, now, tables)
        _refresh_source_weeks(con, since, now, tables)
    finally:
        # After a failed statement the transaction is aborted, and its rollback drops them.
        with suppress(duckdb.TransactionException):
            con.execute("DROP TABLE IF EXISTS rollup_changed_articles")
            con.execute("DROP TABLE IF EXISTS rollup_changed_tags")
    return True


def _articles(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM articles").fetchone()
    return 0 if row is None else int(row[0])


def _first_contact_moved(con: duckdb.DuckDBPyConnection, since: int) -> bool:
    """Whether a source that had articles at ``since`` has another first fetch now (views.sql's
    ``stories``: undated stories of a source's first day are not trusted)."""
    first = "SELECT source, min(fetched_at) AS at FROM articles{} WHERE kind = 'article' GROUP BY source"
    row = con.execute(
        f"SELECT count(*) FROM ({first.format(f' AT (VERSION => {since})')}) o "
        f"LEFT JOIN ({first.format('')}) n ON n.source IS NOT DISTINCT FROM o.source "
        "WHERE n.at IS DISTINCT FROM o.at").fetchone()
    return bool(row and row[0])


def _refresh_weeks(con: duckdb.DuckDBPyConnection) -> None:
    """Recount the weeks where a changed article, or an article whose tags changed, is or was."""
    weeks = [r[0] for r in con.execute(
        """SELECT DISTINCT CAST(date_trunc('week', timezone('UTC', story_at)) AS DATE) FROM (
               SELECT story_at FROM rollup_changed_articles
               UNION ALL
               SELECT story_time(a.published_at, a.fetched_at, a.date_confidence) AS story_at FROM articles a
               WHERE a.id IN (SELECT article_id FROM rollup_changed_tags)
           ) WHERE story_at IS NOT NULL ORDER BY 1""").fetchall()]
    if not weeks:
        return
    _recount_weeks(con, "rollup_weekly_tags", weeks,
                   "INSERT INTO rollup_weekly_tags (week, week_start, concept_id, articles) "
                   "SELECT week, week_start, concept_id, articles FROM weekly_tag_counts_between($lo, $hi)")


def _recount_weeks(con: duckdb.DuckDBPyConnection, table: str, weeks: list[date], insert: str) -> None:
    """Delete ``table``'s rows of the Mondays ``weeks`` and run ``insert`` (over [$lo, $hi))
    for each run of consecutive weeks among them."""
    con.execute(f"DELETE FROM {table} WHERE week_start = ANY($weeks::DATE[])", {"weeks": weeks})
    # One range per run of consecutive weeks: a story displaced a year back and this
    # week's import are two short scans, not one over the year between.
    for first, last in _runs_of_weeks(weeks):
        con.execute(insert, {"lo": datetime(first.year, first.month, first.day, tzinfo=UTC),
                             "hi": datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=7)})


def _runs_of_weeks(weeks: list[date]) -> list[tuple[date, date]]:
    """Sorted Mondays as (first, last) of each run of consecutive weeks."""
    runs: list[tuple[date, date]] = []
    for week in weeks:
        if runs and week - runs[-1][1] == timedelta(days=7):
            runs[-1] = (runs[-1][0], week)
        else:
            runs.append((week, week))
    return runs


def _refresh_concepts(con: duckdb.DuckDBPyConnection, since: int) -> None:
    """Take out what the changed articles counted at ``since``, add what they count now.

    A concept's count is its stories: the changed articles' stories with its tag then are
    subtracted, those now added. Its first story stays unless a changed article was that
    story (then the concept is recomputed whole: rare) or one now comes earlier.
    """
    changed = [r[0] for r in con.execute(
        "SELECT id FROM rollup_changed_articles UNION SELECT article_id FROM rollup_changed_tags ORDER BY 1").fetchall()]
    if not changed:
        return
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE rollup_merged AS
           WITH was AS (
               -- views.sql's `stories` as of `since`: what the changed articles counted then
               SELECT t.concept_id, count(*) AS stories
               FROM article_tags t AT (VERSION => {since})
               JOIN articles a AT (VERSION => {since}) ON a.id = t.article_id
               WHERE t.article_id IN (SELECT unnest($changed)) AND a.id IN (SELECT unnest($changed))
                 AND a.kind = 'article' AND a.relevant AND a.duplicate_of IS NULL
               GROUP BY 1
           ),
           now AS (SELECT * FROM concept_first_seen_from($changed)),
           concepts AS (SELECT concept_id FROM was UNION SELECT concept_id FROM now)
           SELECT k.concept_id,
                  coalesce(n.label, o.label) AS label,
                  coalesce(n.facet, o.facet) AS facet,
                  o.concept_id IS NULL
                      OR (n.first_story_at IS NOT NULL
                          AND (o.first_story_at IS NULL OR n.first_story_at < o.first_story_at)) AS earlier,
                  CASE WHEN earlier THEN n.first_story_at ELSE o.first_story_at END AS first_story_at,
                  CASE WHEN earlier THEN n.first_story_id ELSE o.first_story_id END AS first_story_id,
                  CASE WHEN earlier THEN n.first_week ELSE o.first_week END AS first_week,
                  coalesce(o.stories, 0) - coalesce(w.stories, 0) + coalesce(n.stories, 0) AS stories,
                  list_contains($changed, o.first_story_id) AS first_changed
           FROM concepts k
           LEFT JOIN rollup_concept_first_seen o ON o.concept_id = k.concept_id
           LEFT JOIN was w ON w.concept_id = k.concept_id
           LEFT JOIN now n ON n.concept_id = k.concept_id""", {"changed": changed})
    try:
        redo = [r[0] for r in con.execute(
            "SELECT concept_id FROM rollup_merged WHERE first_changed ORDER BY 1").fetchall()]
        con.execute("DELETE FROM rollup_concept_first_seen WHERE concept_id IN (SELECT concept_id FROM rollup_merged)")
        con.execute(
            "INSERT INTO rollup_concept_first_seen SELECT concept_id, label, facet, first_story_at, first_story_id, "
            "first_week, stories FROM rollup_merged WHERE stories > 0 AND NOT coalesce(first_changed, false)")
        if redo:
            con.execute("INSERT INTO rollup_concept_first_seen SELECT * FROM concept_first_seen_live "
                        "WHERE concept_id = ANY($redo::VARCHAR[])", {"redo": redo})
    finally:
        with suppress(duckdb.TransactionException):  # aborted: the rollback drops it
            con.execute("DROP TABLE IF EXISTS rollup_merged")


#: What a kept copy row (rollup_copy_chains, rollup_copy_origins) reads besides articles,
#: by article id: the verified overlap of a copy with its story, the credits and script
#: of a copy or origin.
_COPY_SIDE_TABLES = ("copy_overlaps", "article_provenance")
#: Every table the rollup tables are computed from: a snapshot changing none of them
#: leaves them as they are.
_READ = frozenset({_ARTICLES, _TAGS, "taxonomy", "sources", _EVENTS, _FETCHES, *_COPY_SIDE_TABLES})
#: What copy_origins reads of a source (its outlet's or its origin's): every run saves
#: the registry again (updated_at), so only a change of these reaches the kept rows.
_SOURCE_COLUMNS = ("owner", "state", "cite_keys")


def _refresh_copies(con: duckdb.DuckDBPyConnection, since: int, now: int) -> None:
    """Recompute the kept copy rows a change reaches (migration 013).

    A row is recomputed when an id it was computed from (its ``deps``: the copy, each copy
    on its way, what it copies) changed in ``articles``, ``copy_overlaps`` or
    ``article_provenance``, or when its outlet's or origin's owner, state or cite keys
    changed; a changed article that is now a copy gets its rows. Both tables at once:
    a copy's chain and origin change together.
    """
    sides = " UNION ".join(f"SELECT article_id FROM ({_changes(t, 'article_id', since, now)})"
                           for t in _COPY_SIDE_TABLES)
    changed = [r[0] for r in con.execute(
        f"SELECT id FROM rollup_changed_articles UNION {sides} ORDER BY 1").fetchall()]
    columns = ", ".join(_SOURCE_COLUMNS)
    moved = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in _SOURCE_COLUMNS)
    outlets = [r[0] for r in con.execute(
        f"SELECT coalesce(n.name, o.name) FROM (SELECT name, {columns} FROM sources AT (VERSION => {since})) o "
        f"FULL JOIN (SELECT name, {columns} FROM sources) n ON n.name = o.name WHERE {moved} ORDER BY 1").fetchall()]
    if not changed and not outlets:
        return
    # Through each row's deps unnested: a hash join with the changed ids, not a list
    # comparison of every kept row against every changed id.
    affected = [r[0] for r in con.execute(
        """SELECT unnest($changed)
           UNION SELECT copy_id FROM (SELECT copy_id, unnest(deps) AS dep FROM rollup_copy_chains)
                 WHERE dep IN (SELECT unnest($changed))
           UNION SELECT article_id FROM (SELECT article_id, unnest(deps) AS dep FROM rollup_copy_origins)
                 WHERE dep IN (SELECT unnest($changed))
           UNION SELECT article_id FROM rollup_copy_origins
                 WHERE outlet = ANY($outlets::VARCHAR[]) OR origin_outlet = ANY($outlets::VARCHAR[])
           ORDER BY 1""", {"changed": changed, "outlets": outlets}).fetchall()]
    if not affected:
        return
    params = {"ids": affected}
    con.execute("DELETE FROM rollup_copy_chains WHERE copy_id IN (SELECT unnest($ids))", params)
    con.execute("DELETE FROM rollup_copy_origins WHERE article_id IN (SELECT unnest($ids))", params)
    con.execute("INSERT INTO rollup_copy_chains BY NAME SELECT * FROM copy_chains_of($ids)", params)
    con.execute("INSERT INTO rollup_copy_origins BY NAME SELECT * FROM copy_origins_of($ids)", params)


def _refresh_events(con: duckdb.DuckDBPyConnection, since: int, now: int, tables: set[str]) -> None:
    """Recompute the kept summaries (migration 015) of the events a change reaches.

    An event's summary is computed from its stories' assignments and the articles that are,
    or copy, those stories. So an event is recomputed when one of its assignments changed
    (the event ids before and after: a merge empties one event into another), or when a
    changed article was, or now is, one of its stories or a copy of one (the article's
    images before and after, by ``coalesce(duplicate_of, id)``). Its ``assigned_ids``
    (migration 016) follow from its assignments alone. An event left without a report
    computes no row, and its kept row goes.
    """
    if not tables & {_ARTICLES, _EVENTS}:
        return
    reached = ["SELECT e.event_id FROM event_assignments e "
               "WHERE e.article_id IN (SELECT coalesce(duplicate_of, id) FROM rollup_changed_articles)"]
    if _EVENTS in tables:
        reached.append(f"SELECT event_id FROM ({_changes(_EVENTS, 'event_id', since, now)})")
    events = [r[0] for r in con.execute(" UNION ".join(reached) + " ORDER BY 1").fetchall()]
    if not events:
        return
    params = {"ids": events}
    con.execute("DELETE FROM rollup_events WHERE event_id = ANY($ids::VARCHAR[])", params)
    # By id only: the range ('infinity', 'infinity') picks no event by its stories' dates.
    con.execute("INSERT INTO rollup_events BY NAME SELECT * FROM event_summaries('infinity'::TIMESTAMPTZ, "
                "'infinity'::TIMESTAMPTZ, $ids::VARCHAR[]) ORDER BY first_at, event_id", params)


def _refresh_source_weeks(con: duckdb.DuckDBPyConnection, since: int, now: int, tables: set[str]) -> None:
    """Recompute each source's kept weeks (migration 017) where a changed article (before and
    after) or a new fetch was fetched: a run's own week, mostly."""
    if not tables & {_ARTICLES, _FETCHES}:
        return
    fetched = ["SELECT fetched_at FROM rollup_changed_articles"]
    if _FETCHES in tables:
        fetched.append(f"SELECT fetched_at FROM ({_changes(_FETCHES, 'fetched_at', since, now)})")
    weeks = [r[0] for r in con.execute(
        f"SELECT DISTINCT CAST(date_trunc('week', timezone('UTC', fetched_at)) AS DATE) FROM ({' UNION ALL '.join(fetched)}) "
        "WHERE fetched_at IS NOT NULL ORDER BY 1").fetchall()]
    if not weeks:
        return
    _recount_weeks(con, "rollup_source_weeks", weeks,
                   "INSERT INTO rollup_source_weeks BY NAME SELECT * FROM source_weeks_between($lo, $hi) "
                   "ORDER BY week_start, source")
