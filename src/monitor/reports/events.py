"""The week's events (`monitor events`, the digest's top events): who reported first, every version by outlet.

An event is the stories that report one happening (``monitor.judging.events``), with their
copies. This module reads the ``events`` and ``event_stories`` views into plain values,
ranked as the digest ranks them: by the outlets and languages that carried the event,
then by its reports. It only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from monitor.reports.weeks import week_bounds_utc
from monitor.storage.store import NO_FETCH_TIME_SQL
from monitor.storage.warehouse import one_snapshot

__all__ = [
    "EventReport",
    "EventSummary",
    "StoryEvent",
    "load_events",
    "read_events",
    "load_story_event",
    "render_events",
]


@dataclass(frozen=True)
class EventReport:
    """One report of an event: a story or a copy, by one outlet, in one language."""

    article_id: str
    outlet: str | None
    language: str | None
    title: str | None
    url: str | None
    at: datetime | None
    copy_of: str | None  # the story it copies; None for a story
    relevant: bool | None


@dataclass(frozen=True)
class EventSummary:
    """One event: its first report, its counts, its concepts and every report by outlet."""

    event_id: str
    title: str | None
    first_outlet: str | None
    first_at: datetime | None
    last_at: datetime | None
    stories: int
    copies: int
    outlets: int
    languages: tuple[str, ...]
    concepts: tuple[str, ...]  # concept ids carried by at least one of its stories
    reports: tuple[EventReport, ...]  # first to last

    @property
    def span_hours(self) -> float:
        """Hours from its first report to its last."""
        if self.first_at is None or self.last_at is None:
            return 0.0
        return (self.last_at - self.first_at).total_seconds() / 3600

    def by_outlet(self) -> list[tuple[str, tuple[EventReport, ...]]]:
        """Its reports grouped by outlet, the outlet that reported first first."""
        order: dict[str, list[EventReport]] = {}
        for r in self.reports:
            order.setdefault(r.outlet or "-", []).append(r)
        return [(outlet, tuple(rs)) for outlet, rs in order.items()]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (instants as ISO 8601 strings)."""
        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, EventReport):
                return {k: plain(v) for k, v in value.__dict__.items()}
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            return value

        return {**{k: plain(v) for k, v in self.__dict__.items()}, "span_hours": round(self.span_hours, 1)}


@dataclass(frozen=True)
class StoryEvent:
    """Which event one article is in, and why: the story it was linked to and what they share."""

    event_id: str
    via: str | None  # the stored story it was linked to; None when it started the event
    via_title: str | None
    score: float | None
    evidence: tuple[str, ...]
    stories: int
    copies: int
    outlets: int
    languages: tuple[str, ...]
    first_article_id: str | None
    first_outlet: str | None
    merged_from: tuple[str, ...]  # event ids merged into this one


#: The stories of some events, each through its own assignment, and their copies through
#: their story's: what ``event_stories`` says, read for these events only (the view,
#: filtered, still joined every article: 100 ms at half a million). The assignments are the
#: kept rows' ``assigned_ids`` (migration 016), as ``$events`` and ``$assigned`` side by
#: side: looked up by event id, every assignment was read (44 ms at a million articles).
#: The columns the reports need, named: `a.*` read every article's text too, from Parquet on a
#: lake (2.2 s of a digest's 8 at a million articles).
_MEMBER_COLUMNS = ("id, source, sitename, language, title, canonical_url, url, published_at, date_confidence, "
                   "fetched_at, duplicate_of, relevant")
#: The articles that can be reports of events whose reports all fall in [$since, $until]
#: (their summaries' first_at and last_at): a report's time is its published_at or its
#: fetched_at (``story_time``), so it is in one of the two ranges, or has neither. Three
#: range reads that skip the row groups outside them by their min/max: joined by id
#: instead, every article's columns were read, since an id (a URL's hash) says nothing of
#: where its row is (a week's top events at a million articles: 0.37 s, 0.09 s this way).
_CANDIDATES = f"""
    SELECT {_MEMBER_COLUMNS} FROM articles WHERE published_at >= $since AND published_at <= $until
    UNION SELECT {_MEMBER_COLUMNS} FROM articles WHERE fetched_at >= $since AND fetched_at <= $until
    UNION SELECT {_MEMBER_COLUMNS} FROM articles WHERE published_at IS NULL AND fetched_at IS NULL
"""
_MEMBERS = f"""
    WITH assigned AS (
        SELECT unnest($assigned::VARCHAR[]) AS article_id, unnest($events::VARCHAR[]) AS event_id
    ),
    candidate AS MATERIALIZED ({_CANDIDATES})
    SELECT s.event_id, a.* FROM assigned s JOIN candidate a ON s.article_id = coalesce(a.duplicate_of, a.id)
"""
#: The reports, and each story's concepts (its tags; a copy's are its story's). The tags
#: are joined by the fetch time each carries (migration 014) as well as by id: DuckDB bounds
#: their scan by the stories' fetch times and skips every other time's row groups (an id,
#: a URL's hash, says nothing of where its tags lie). Asked apart, they were a third query.
_REPORTS = f"""
    WITH member AS MATERIALIZED ({_MEMBERS}),
    tagged AS (
        SELECT t.article_id, list(t.concept_id) AS concepts
        FROM article_tags t
        JOIN member m ON t.article_id = m.id AND t.article_fetched_at = coalesce(m.fetched_at, {NO_FETCH_TIME_SQL})
        WHERE m.duplicate_of IS NULL
        GROUP BY t.article_id
    )
    SELECT m.event_id, m.id, coalesce(m.source, m.sitename), m.language, m.title, coalesce(m.canonical_url, m.url),
           story_time(m.published_at, m.fetched_at, m.date_confidence) AS report_at,
           m.duplicate_of, m.relevant, coalesce(g.concepts, [])
    FROM member m
    LEFT JOIN tagged g ON g.article_id = m.id
    ORDER BY report_at NULLS LAST, m.id
"""


#: No bounds: events none of whose reports has a time (every report then has neither date).
_EVER = (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC))


def load_events(
    con: duckdb.DuckDBPyConnection,
    *,
    week: str | None = None,
    relevant_only: bool = True,
    limit: int | None = None,
) -> list[EventSummary]:
    """The events first reported in ``week`` (all weeks when None), ranked by outlets and languages, then reports.

    ``relevant_only`` keeps events with at least one on-topic story (what the digest lists).

    Read in one snapshot (``one_snapshot``): its three queries see the same runs.
    """
    with one_snapshot(con):
        return read_events(con, week=week, relevant_only=relevant_only, limit=limit)


def read_events(
    con: duckdb.DuckDBPyConnection, *, week: str | None = None, relevant_only: bool = True, limit: int | None = None
) -> list[EventSummary]:
    """``load_events`` inside the caller's own snapshot (the digest's read transaction).

    The summaries and their stories' assignments are the writer's kept rows (``events``,
    migrations 015 and 016: as of the end of the last writing run, when the digest flow
    refreshes them too); the reports and concepts under them are read as stored now.
    """
    where = ["NOT has_reference"]
    params: dict[str, Any] = {}
    if week is not None:
        # The week of the first report, and its range: the kept rows lie in the order of
        # their first report, so the range skips every other week's row groups.
        where.append("week = $week AND first_at >= $start AND first_at < $end")
        start, end = week_bounds_utc(week)
        params.update(week=week, start=start, end=end)
    if relevant_only:
        where.append("relevant")
    rows = con.execute(
        f"""SELECT event_id, title, first_outlet, first_at, last_at, stories, copies, outlets, language_list,
                   assigned_ids
            FROM events WHERE {' AND '.join(where)}
            ORDER BY outlets + len(coalesce(language_list, [])) DESC, stories + copies DESC, first_at, event_id
            {'LIMIT $limit' if limit is not None else ''}""",
        {**params, **({"limit": limit} if limit is not None else {})},
    ).fetchall()
    if not rows:
        return []
    times = [t for r in rows for t in (r[3], r[4]) if t is not None]
    span = {"since": min(times), "until": max(times)} if times else {"since": _EVER[0], "until": _EVER[1]}
    reports: dict[str, list[EventReport]] = {}
    # The concepts of an event are its stories' tags: its reports that copy nothing.
    tagged: dict[str, set[str]] = {}
    # Each event's assigned articles, as two lists side by side (_MEMBERS unnests them).
    members = {"events": [r[0] for r in rows for _ in r[9] or ()],
               "assigned": [article_id for r in rows for article_id in r[9] or ()]}
    for r in con.execute(_REPORTS, {**members, **span}).fetchall():
        reports.setdefault(r[0], []).append(EventReport(*r[1:9]))
        if r[7] is None:
            tagged.setdefault(r[0], set()).update(r[9])
    concepts = {event_id: sorted(found) for event_id, found in tagged.items()}
    return [
        EventSummary(event_id=r[0], title=r[1], first_outlet=r[2], first_at=r[3], last_at=r[4], stories=r[5],
                     copies=r[6], outlets=r[7], languages=tuple(r[8] or ()), concepts=tuple(concepts.get(r[0], ())),
                     reports=tuple(reports.get(r[0], ())))
        for r in rows
    ]


def load_story_event(con: duckdb.DuckDBPyConnection, article_id: str) -> StoryEvent | None:
    """The event of one stored article and the evidence that put its story there (None: not assigned)."""
    found = con.execute(
        """SELECT e.event_id, e.via, v.title, e.score, e.evidence
           FROM articles a
           JOIN event_assignments e ON e.article_id = coalesce(a.duplicate_of, a.id)
           LEFT JOIN articles v ON v.id = e.via
           WHERE a.id = ?""", [article_id]).fetchone()
    if found is None:
        return None
    event_id, via, via_title, score, evidence = found
    summary = con.execute(
        """SELECT stories, copies, outlets, language_list, first_article_id, first_outlet
           FROM event_summaries('infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ, [$id]::VARCHAR[])""",
        {"id": event_id}).fetchone()
    if summary is None:
        return None
    merged = tuple(r[0] for r in con.execute(
        "SELECT merged_event_id FROM event_merges WHERE into_event_id = ? ORDER BY merged_at, merged_event_id",
        [event_id]).fetchall())
    stories, copies, outlets, languages, first_id, first_outlet = summary
    return StoryEvent(event_id=event_id, via=via, via_title=via_title, score=score, evidence=tuple(evidence or ()),
                      stories=stories, copies=copies, outlets=outlets, languages=tuple(languages or ()),
                      first_article_id=first_id, first_outlet=first_outlet, merged_from=merged)


def render_events(events: list[EventSummary]) -> str:
    """The events as plain text, for a terminal (the caller makes it terminal-safe)."""
    if not events:
        return "no events"
    out: list[str] = []
    for e in events:
        langs = ", ".join(e.languages) or "-"
        out.append(f"{e.event_id}  {e.title or '(no title)'}")
        out.append(f"  first: {e.first_outlet or '-'} at {_when(e.first_at)}; {e.stories} "
                   f"{'story' if e.stories == 1 else 'stories'}, {e.copies} "
                   f"{'copy' if e.copies == 1 else 'copies'}, {e.outlets} "
                   f"{'outlet' if e.outlets == 1 else 'outlets'}, languages {langs}; span {e.span_hours:.1f} h")
        for outlet, reports in e.by_outlet():
            for r in reports:
                kind = f"copy of {r.copy_of}" if r.copy_of else "story"
                out.append(f"  - {outlet} [{r.language or '-'}] {_when(r.at)} {kind}: {r.title or '-'}")
        if e.concepts:
            out.append(f"  concepts: {', '.join(e.concepts)}")
        out.append("")
    return "\n".join(out).rstrip()


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at else "-"
