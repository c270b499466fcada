"""The weekly digest: read one ISO week from the warehouse views, render it as Markdown or HTML.

``build_digest`` only reads (views from ``warehouse/views.sql``) and returns plain frozen
values, so the Prefect flow can pass a ``Digest`` between tasks; ``render_markdown`` and
``render_html`` are pure: they hand the value to one template per format
(``templates/digest.md.j2``, ``templates/digest.html.j2``, sharing their sentences in
``templates/_words.j2``). The templates hold the layout and the wording; escaping is the
templates' default (``monitor.reports.templating``), not a call to remember: a headline may
carry ``<script>``, ``<img onerror=...>`` or ``[x](javascript:...)``.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

import duckdb

from monitor.exceptions import DigestError
from monitor.settings import PROJECT_ROOT
from monitor.reports.events import EventSummary, read_events
from monitor.storage.store import NO_FETCH_TIME_SQL
from monitor.storage.warehouse import current_snapshot, snapshot_readers
from monitor.reports.templating import CHART_BAR_PX, render
from monitor.reports.weeks import format_week, last_complete_week, parse_week, shift_week, week_bounds_utc

__all__ = [
    "AmplifiedCopy",
    "AmplifiedStory",
    "DEFAULT_DIGEST_DIR",
    "Digest",
    "DigestFormat",
    "Intake",
    "NO_SOURCES_YET",
    "NewName",
    "QuoteLine",
    "RunTally",
    "SiteLink",
    "SourceHealth",
    "StoryLine",
    "ThemeGroup",
    "Trend",
    "build_digest",
    "busiest_week",
    "digest_filename",
    "parse_week",
    "render_html",
    "render_markdown",
    "save_digest",
    "write_digest",
]

DigestFormat = Literal["md", "html"]

#: Where digests go when no --out is given (ignored by git).
DEFAULT_DIGEST_DIR = PROJECT_ROOT / "out"
#: Top stories listed first: a reader scans ten headlines, not thirty.
TOP_STORIES = 10
#: Weeks drawn in each trend chart: a quarter shows a trend without hiding this week.
CHART_WEEKS = 12
#: Rising and falling concepts shown (each); the rest are in the concept_trends view.
MAX_TRENDS = 8
#: Stories listed under one theme before "and N more" (the full list is one SQL away).
MAX_STORIES_PER_THEME = 25
#: New persons and organisations listed.
MAX_NEW_NAMES = 20
#: Longest headline shown; longer ones are cut with an ellipsis.
MAX_TITLE_CHARS = 200
#: Facets that count as "names" (taxonomy facets, or concept-id prefixes when untagged).
NAME_FACETS = ("person", "organization", "org")
#: State-media originals listed under "State-media content republished", most copied first.
MAX_AMPLIFIED = 8
#: New links between sites listed (the full list is the source_links view).
MAX_NEW_LINKS = 20
THEME_FACET = "theme"
OTHER_THEME = "Other"

#: Source health of a week before any source was polled (a digest of a past week, such as
#: the demo's busiest, whose articles were all fetched later): sources exist, but not yet.
NO_SOURCES_YET = "No source had been polled by the end of this week, so there is no source health to report."
_STATUS_ORDER = {"failing": 0, "errors": 1, "gaps": 2, "silent": 3, "not_polled": 4, "ok": 5}


class StoryLine(NamedTuple):
    """One story of the week: its headline, where it ran first, and who copied it.

    A NamedTuple, not a frozen dataclass: a week at 1M articles has ~7k stories, and a
    frozen dataclass's __init__ (object.__setattr__ per field) cost 25 ms of the digest.
    """

    id: str
    title: str
    url: str | None
    source: str | None
    story_at: datetime | None
    date_trusted: bool
    copies: int = 0
    copy_sources: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()  # theme labels, strongest first
    names: tuple[str, ...] = ()  # other concept labels (countries, people, ...), strongest first


@dataclass(frozen=True)
class ThemeGroup:
    """The week's stories whose strongest theme is this one."""

    concept_id: str | None
    label: str
    stories: tuple[StoryLine, ...]
    total: int


@dataclass(frozen=True)
class Trend:
    """A rising or falling concept, with its weekly story counts up to this week."""

    concept_id: str
    label: str
    facet: str
    stories: int
    baseline: float
    trend: str  # rising | falling
    weeks: tuple[str, ...]
    series: tuple[int | None, ...]  # None: a week before the warehouse's first story (no data)


@dataclass(frozen=True)
class NewName:
    """A person or organisation seen in a story for the first time this week."""

    concept_id: str
    label: str
    facet: str
    first_title: str
    first_url: str | None
    first_source: str | None


@dataclass(frozen=True)
class SourceHealth:
    """One source's fetching over the week (from the source_activity_between macro)."""

    source: str
    status: str  # failing | errors | gaps | silent | not_polled | ok
    fetches: int
    errors: int
    error_rate: float | None
    new_articles: int
    last_article_at: datetime | None
    top_error: str | None
    last_error: str | None
    coverage_gaps: int = 0  # polls that found the feed no longer reaching back to the last one


@dataclass(frozen=True)
class Intake:
    """What the pipeline read this week (by fetch time) and what it filtered out."""

    articles: int = 0
    stories: int = 0
    off_topic: int = 0
    duplicates: int = 0
    duplicates_by_kind: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class QuoteLine:
    """A story of the week that quotes another stored text without being its copy
    (issue 26's quotation links): a roundup, a commentary, an aggregator's snippet."""

    quoting_id: str
    quoting_title: str | None
    quoting_source: str | None
    quoted_id: str
    quoted_title: str | None
    quoted_source: str | None
    quoted_share: float  # share of the quoted text inside the quoting one
    quoting_share: float  # share of the quoting text the quote makes up


@dataclass(frozen=True)
class RunTally:
    """The runs started this week (``runs``), and how many did not end normally."""

    runs: int = 0
    failed: int = 0
    unfinished: int = 0  # still 'running': killed, or running when the digest was made
    by_kind: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class AmplifiedCopy:
    """One outlet's copy of a state-media original (view ``amplification``)."""

    outlet: str | None
    attributed: bool
    lag_hours: float | None
    script_changed: bool


@dataclass(frozen=True)
class AmplifiedStory:
    """A state-affiliated outlet's article republished this week, with who carried it."""

    origin_id: str
    title: str
    url: str | None
    outlet: str | None
    state: str | None
    copies: tuple[AmplifiedCopy, ...]
    median_lag_hours: float | None

    @property
    def attributed(self) -> int:
        return sum(1 for c in self.copies if c.attributed)


@dataclass(frozen=True)
class SiteLink:
    """Two sources first seen sharing an operator identifier this week (view ``source_links``)."""

    source_a: str
    source_b: str
    kind: str
    identifier: str


@dataclass(frozen=True)
class Digest:
    """Everything a weekly digest shows, ready to render."""

    week: str
    monday: date
    sunday: date
    stories: int
    undated: int
    top_stories: tuple[StoryLine, ...]
    themes: tuple[ThemeGroup, ...]
    rising: tuple[Trend, ...]
    falling: tuple[Trend, ...]
    new_names: tuple[NewName, ...]
    first_week_with_data: bool
    sources: tuple[SourceHealth, ...]  # every source, worst first
    intake: Intake
    runs: RunTally = RunTally()
    #: The week asked for by default (the last complete one) when it had no story and this
    #: digest is of the last week that has some instead (``build_digest(latest_with_data=True)``).
    instead_of: str | None = None
    #: The day the digest was made, when that falls inside its week: the week is not over.
    in_progress_on: date | None = None
    #: The week's stories that quote stored texts, most of the quoted text first (issue 26).
    quotations: tuple[QuoteLine, ...] = ()
    #: The week's top events (stories that report one happening, ``reports.events``), ranked
    #: by the outlets and languages that carried them, then their reports; empty when the
    #: warehouse has no events for the week, and the top stories are listed instead.
    top_events: tuple[EventSummary, ...] = ()
    amplified: tuple[AmplifiedStory, ...] = ()  # state-media originals whose copies appeared this week
    new_links: tuple[SiteLink, ...] = ()  # sources first seen sharing an identifier this week
    #: the lake snapshot the digest read (None for a warehouse in memory): with
    #: `monitor digest --as-of SNAPSHOT` the same digest can be made again
    snapshot: int | None = None

    @property
    def empty(self) -> bool:
        """True when the week has no story."""
        return self.stories == 0

    @property
    def source_problems(self) -> tuple[SourceHealth, ...]:
        """The sources whose status is not ok."""
        return tuple(s for s in self.sources if s.status != "ok")


# --------------------------------------------------------------------------- building


def busiest_week(con: duckdb.DuckDBPyConnection) -> str | None:
    """The ISO week with the most stories (the latest on a tie), or None for an empty warehouse."""
    rows = con.execute(
        "SELECT week FROM weekly_story_counts ORDER BY stories DESC, week_start DESC LIMIT 1"
    ).fetchall()
    return str(rows[0][0]) if rows else None


def build_digest(
    con: duckdb.DuckDBPyConnection,
    week: str | None = None,
    *,
    today: date | None = None,
    latest_with_data: bool = False,
) -> Digest:
    """Read one ISO week (default: the last complete week before ``today``) into a Digest.

    Stories belong to the week they were published (or fetched, when no trusted date);
    source health, runs and intake to the week things were fetched. A week that has not
    begun is a DigestError. With ``latest_with_data``, a default week without stories gives
    way to the last complete week that has some, and the Digest says so (``instead_of``).
    """
    today = today or datetime.now(UTC).date()
    instead_of = None
    if week is None:
        week = last_complete_week(today)
        if latest_with_data:
            week, instead_of = _latest_week_with_stories(con, week)
    monday, sunday = parse_week(week)
    week = format_week(monday)  # normalise "2026w5" to "2026-W05"
    if monday > today:
        raise DigestError(
            f"{week} has not begun yet (today, {today:%Y-%m-%d}, is in {format_week(today)}): "
            f"the last complete week is {last_complete_week(today)}."
        )
    start, end = week_bounds_utc(week)
    # A run may commit meanwhile: every part reads the snapshot the digest names.
    with snapshot_readers(con, READERS) as readers:
        return _read_week(readers, week, monday, sunday, start, end, today=today, instead_of=instead_of)


#: Readers the digest's parts are read on at once (``snapshot_readers``): each of its ~17
#: queries on a lake first spends a few ms on catalog reads, and two at a time keep both
#: cores of a small machine busy.
READERS = 2


def _read_week(
    readers: list[duckdb.DuckDBPyConnection], week: str, monday: date, sunday: date, start: datetime, end: datetime,
    *, today: date, instead_of: str | None,
) -> Digest:
    # Longest first (measured at a million articles), so that no long part starts last.
    parts = _read_at_once(readers, {
        "stories": lambda c: _week_stories(c, start, end),
        "events": lambda c: tuple(read_events(c, week=week, limit=TOP_STORIES)),
        "sources": lambda c: _source_health(c, start, end),
        "amplified": lambda c: _amplified(c, start, end),
        "trends": lambda c: _trends(c, week),
        "new_names": lambda c: _new_names(c, week),
        "new_links": lambda c: _new_links(c, start, end),
        "intake": lambda c: _intake(c, start, end),
        "earlier": lambda c: _story_before(c, start),
        "runs": lambda c: _run_tally(c, start, end),
        "quotations": lambda c: _quotations(c, start, end),
        "snapshot": current_snapshot,
    })
    stories: WeekStories = parts["stories"]
    return Digest(
        week=week,
        monday=monday,
        sunday=sunday,
        stories=stories.total,
        undated=stories.undated,
        top_stories=stories.top,
        themes=stories.themes,
        rising=parts["trends"]["rising"],
        falling=parts["trends"]["falling"],
        new_names=parts["new_names"],
        first_week_with_data=bool(stories.total) and not parts["earlier"],
        sources=parts["sources"],
        intake=parts["intake"],
        runs=parts["runs"],
        quotations=parts["quotations"],
        instead_of=instead_of,
        in_progress_on=today if today <= sunday else None,
        top_events=parts["events"],
        amplified=parts["amplified"],
        new_links=parts["new_links"],
        snapshot=parts["snapshot"],
    )


def _read_at_once(readers: list[duckdb.DuckDBPyConnection],
                  parts: dict[str, Callable[[duckdb.DuckDBPyConnection], Any]]) -> dict[str, Any]:
    """Each part read on whichever reader is free, from one thread per reader (DuckDB lets
    go of the GIL while a query runs); a part's error is raised here."""
    free: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
    for reader in readers:
        free.put(reader)

    def read(part: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        reader = free.get()
        try:
            return part(reader)
        finally:
            free.put(reader)

    with ThreadPoolExecutor(max_workers=len(readers), thread_name_prefix="digest") as pool:
        futures = {name: pool.submit(read, part) for name, part in parts.items()}
        return {name: future.result() for name, future in futures.items()}


def _story_before(con: duckdb.DuckDBPyConnection, start: datetime) -> bool:
    """Whether a story is placed before ``start`` (is this the warehouse's first week?)."""
    # Filters on the instant (story_at), never on the computed week string: a range test
    # reads only what it needs, a strftime over every story does not (1 s at 1M articles).
    # `stories` places a story in time without its source's first contact (that only
    # decides whether the date is trusted), so this asks `articles` directly with the
    # view's story_at: the view would first aggregate every article's source (0.5-1 s at a
    # million on a lake) before LIMIT 1 could stop early.
    return bool(con.execute(
        f"""SELECT 1 FROM articles
           WHERE {_IS_STORY} AND (published_at < $start OR fetched_at < $start) AND {_STORY_AT} < $start
           LIMIT 1""",
        {"start": start},
    ).fetchall())


def _amplified(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> tuple[AmplifiedStory, ...]:
    """The state-media originals with copies published this week, most copied first."""
    rows = con.execute("""
        SELECT origin_id, any_value(origin_title), any_value(origin_url), any_value(origin_outlet),
               any_value(origin_state), median(lag_hours),
               list((outlet, attributed, lag_hours, script_changed) ORDER BY published_at, article_id)
        FROM amplification
        WHERE published_at >= $start AND published_at < $end
        GROUP BY origin_id
        ORDER BY count(*) DESC, min(published_at), origin_id
        LIMIT $n""", {"start": start, "end": end, "n": MAX_AMPLIFIED}).fetchall()
    return tuple(
        AmplifiedStory(origin_id, title or "", url, outlet, state,
                       tuple(AmplifiedCopy(c[0], bool(c[1]), c[2], bool(c[3])) for c in copies),
                       None if median is None else float(median))
        for origin_id, title, url, outlet, state, median, copies in rows
    )


def _new_links(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> tuple[SiteLink, ...]:
    """Pairs of sources first seen sharing an identifier this week."""
    rows = con.execute("""
        SELECT source_a, source_b, kind, identifier FROM source_links
        WHERE linked_at >= $start AND linked_at < $end
        ORDER BY source_a, source_b, kind, identifier LIMIT $n""",
        {"start": start, "end": end, "n": MAX_NEW_LINKS}).fetchall()
    return tuple(SiteLink(*r) for r in rows)


def _latest_week_with_stories(con: duckdb.DuckDBPyConnection, week: str) -> tuple[str, str | None]:
    """``week`` if it has stories, else the last week before it that has (and ``week``)."""
    monday, _ = parse_week(week)
    rows = con.execute(
        "SELECT week FROM weekly_story_counts WHERE week_start <= ? ORDER BY week_start DESC LIMIT 1", [monday]
    ).fetchall()
    if not rows or rows[0][0] == week:
        return week, None
    return str(rows[0][0]), week


#: Quotation links the digest lists at most (the rest are in the quotation_links view).
MAX_QUOTATIONS = 10


def _quotations(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> tuple[QuoteLine, ...]:
    """Quotation links whose quoting text is a story of the week."""
    # No quotation at all (most warehouses, most weeks): the view's joins of `articles`
    # would still be built (a second at a million articles on a lake).
    if not con.execute("SELECT 1 FROM quotations LIMIT 1").fetchall():
        return ()
    rows = con.execute(
        f"""
        SELECT q.quoting_id, q.quoting_title, q.quoting_source, q.quoted_id, q.quoted_title, q.quoted_source,
               q.quoted_share, q.quoting_share
        FROM quotation_links q
        JOIN ({_stories_in_week("id, published_at, fetched_at, date_confidence")}) s ON s.id = q.quoting_id
        WHERE {_STORY_AT} >= $start AND {_STORY_AT} < $end
        ORDER BY q.quoted_share DESC, q.quoting_id, q.quoted_id
        LIMIT {MAX_QUOTATIONS}
        """,
        {"start": start, "end": end},
    ).fetchall()
    return tuple(QuoteLine(*r) for r in rows)


#: What `stories` (views.sql) keeps of `articles`, and where it places a story in time
#: (the views' own macro), for queries that need no more of the view: `stories` first
#: aggregates every article's source (its first contact decides whether a date is
#: trusted, not where it falls), 0.5-1 s at a million articles on a lake.
_IS_STORY = "kind = 'article' AND relevant AND duplicate_of IS NULL"
_STORY_AT = "story_time(published_at, fetched_at, date_confidence)"


def _stories_in_week(columns: str) -> str:
    """``columns`` of the stories whose published_at or fetched_at falls in [$start, $end):
    a superset of the week's stories (story_at is one of the two, views.sql), as two
    range scans for the caller to filter on story_at.

    DuckDB skips row groups by their min/max for a range on one column, not for an OR
    across two: at a million articles on a lake, the week's stories read 760k rows with
    the OR and ~8k this way (1 s to 0.35 s for the week's stories, under load). The second
    leaves out what the first has, so the two need no UNION's comparing of every column of
    both (6 ms of the week's stories at a million articles).
    """
    return (f"SELECT {columns} FROM articles WHERE {_IS_STORY} AND published_at >= $start AND published_at < $end "
            f"UNION ALL SELECT {columns} FROM articles WHERE {_IS_STORY} AND fetched_at >= $start AND fetched_at < $end "
            "AND (published_at IS NULL OR published_at < $start OR published_at >= $end)")


class WeekStories(NamedTuple):
    """The week's stories as the digest shows them: counted all, listed the first of each."""

    total: int
    undated: int
    top: tuple[StoryLine, ...]
    themes: tuple[ThemeGroup, ...]


def _week_stories(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> WeekStories:
    """The week's stories with their copies and labels, most copied first: counted, ranked
    and grouped by their strongest theme in SQL, and only those the digest lists (the top
    ones, the first of each theme) handed to Python with their labels.

    Handing every story and every tag over (7k stories, 38k tags at a million articles)
    and grouping them in Python held the GIL for 40 ms, while the other reader waited for
    it to turn its own rows into Python values.

    Copies come from ``copy_chains``, the writer's kept rows (migration 013: each copy with
    the root story of its chain, refreshed at the end of every writing run). At 1M articles
    on a lake, walking down from the week's stories through every copy took 160 ms; the
    kept rows are read by story in a few.
    """
    rows = con.execute(
        f"""
        WITH week AS MATERIALIZED (
            -- `stories` filtered to the week, without building the view: its first contact
            -- of every source is asked below for the sources of undated stories only.
            -- The canonical URL is the article's own address: a feed's link may be a
            -- redirect or tracking hop (`url`), and the canonical one is only taken from the
            -- page when it names a page of the same site (pipeline.choose_canonical_url).
            SELECT id, title, coalesce(canonical_url, url) AS url, source, published_at, fetched_at,
                   date_confidence, relevance, {_STORY_AT} AS story_at,
                   published_ok(published_at, fetched_at, date_confidence) AS published_ok
            FROM ({_stories_in_week("id, title, canonical_url, url, source, published_at, fetched_at, "
                                    "date_confidence, relevance")})
            WHERE {_STORY_AT} >= $start AND {_STORY_AT} < $end
        ),
        first_contact AS (
            -- as `stories` has it: each source's first fetched article, NULL a source too
            SELECT source, min(fetched_at) AS first_fetched_at FROM articles
            WHERE kind = 'article' AND source IN (SELECT source FROM week WHERE NOT published_ok)
            GROUP BY source
            UNION ALL
            SELECT NULL, min(fetched_at) FROM articles
            WHERE kind = 'article' AND source IS NULL
              AND EXISTS (SELECT 1 FROM week WHERE NOT published_ok AND source IS NULL)
        ),
        copies AS (
            SELECT story_id, count(DISTINCT copy_id) AS copies,
                   list(DISTINCT copy_source ORDER BY copy_source) FILTER (WHERE copy_source IS NOT NULL) AS sources
            FROM copy_chains
            WHERE story_id IN (SELECT id FROM week)
            GROUP BY 1
        ),
        week_tags AS MATERIALIZED (
            -- Joined by the fetch time each tag carries (migration 014) as well as by id:
            -- DuckDB bounds the scan by the week's fetch times and skips the row groups of
            -- every other time (an id, a URL's hash, says nothing of where its tags lie).
            SELECT t.article_id, coalesce(tx.label, t.concept_id) AS label,
                   coalesce(tx.facet, split_part(t.concept_id, ':', 1)) = '{THEME_FACET}' AS is_theme,
                   coalesce(t.score, 0) AS score, t.concept_id
            FROM article_tags t
            JOIN week w ON t.article_id = w.id AND t.article_fetched_at = coalesce(w.fetched_at, {NO_FETCH_TIME_SQL})
            LEFT JOIN taxonomy tx ON tx.concept_id = t.concept_id
        ),
        strongest AS (
            -- each story's strongest theme: the highest score, then the first concept id
            SELECT article_id, arg_min(label, row(-score, concept_id)) AS label
            FROM week_tags WHERE is_theme
            GROUP BY article_id
        ),
        ranked AS (
            SELECT w.id, w.title, w.url, w.source, w.story_at,
                   story_date_trusted(w.published_at, w.fetched_at, w.date_confidence, f.first_fetched_at)
                       AS trusted,
                   coalesce(c.copies, 0) AS copies, coalesce(c.sources, []) AS sources,
                   coalesce(th.label, $other) AS theme,
                   -- Most copied first (what the region's media amplified), then most
                   -- relevant, then newest (no time: as at the epoch).
                   row_number() OVER (ORDER BY coalesce(c.copies, 0) DESC, len(coalesce(c.sources, [])) DESC,
                                               coalesce(w.relevance, 0) DESC, coalesce(epoch_us(w.story_at), 0) DESC,
                                               w.id) AS rank
            FROM week w
            LEFT JOIN copies c ON c.story_id = w.id
            LEFT JOIN first_contact f ON f.source IS NOT DISTINCT FROM w.source
            LEFT JOIN strongest th ON th.article_id = w.id
        ),
        shown AS (
            SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY theme ORDER BY rank) AS in_theme,
                       count(*) OVER (PARTITION BY theme) AS theme_total
                FROM ranked)
            -- the totals as an aggregate: as windows over every story, 20 ms at 7k stories
            CROSS JOIN (SELECT count(*) AS total, count(*) FILTER (WHERE NOT coalesce(trusted, false)) AS undated
                        FROM ranked)
            WHERE rank <= $top OR in_theme <= $per_theme
        ),
        labels AS (
            SELECT article_id,
                   list(label ORDER BY score DESC, concept_id) FILTER (WHERE is_theme) AS themes,
                   list(label ORDER BY score DESC, concept_id) FILTER (WHERE NOT is_theme) AS names
            FROM week_tags
            WHERE article_id IN (SELECT id FROM shown)
            GROUP BY article_id
        )
        -- Naive UTC, made aware in Python: DuckDB converts each TIMESTAMPTZ to a Python
        -- datetime through the zone database, ~3.5 us a value; a naive TIMESTAMP converts
        -- for almost nothing.
        SELECT s.id, s.title, s.url, s.source, timezone('UTC', s.story_at), s.trusted, s.copies, s.sources,
               coalesce(l.themes, []), coalesce(l.names, []),
               s.theme, s.rank, s.in_theme, s.theme_total, s.total, s.undated
        FROM shown s
        LEFT JOIN labels l ON l.article_id = s.id
        ORDER BY s.rank
        """,
        {"start": start, "end": end, "other": OTHER_THEME, "top": TOP_STORIES, "per_theme": MAX_STORIES_PER_THEME},
    ).fetchall()
    if not rows:
        return WeekStories(0, 0, (), ())
    top: list[StoryLine] = []
    groups: dict[str, tuple[int, list[StoryLine]]] = {}
    for r in rows:
        line = StoryLine(
            id=r[0],
            title=r[1] or "(untitled)",
            url=r[2],
            source=r[3],
            story_at=r[4].replace(tzinfo=UTC) if r[4] is not None else None,
            date_trusted=bool(r[5]),
            copies=int(r[6]),
            copy_sources=tuple(r[7]),
            themes=tuple(r[8]),
            names=tuple(r[9]),
        )
        if r[11] <= TOP_STORIES:
            top.append(line)
        if r[12] <= MAX_STORIES_PER_THEME:
            groups.setdefault(r[10], (int(r[13]), []))[1].append(line)
    # The largest theme first, "Other" last.
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] == OTHER_THEME, -kv[1][0], kv[0]))
    themes = tuple(
        ThemeGroup(concept_id=None if label == OTHER_THEME else label, label=label, stories=tuple(items), total=total)
        for label, (total, items) in ordered
    )
    return WeekStories(total=int(rows[0][14]), undated=int(rows[0][15]), top=tuple(top), themes=themes)


def _trends(con: duckdb.DuckDBPyConnection, week: str) -> dict[str, tuple[Trend, ...]]:
    """The week's rising and falling concepts (MAX_TRENDS each), with their series.

    Both directions in one read of ``concept_trends`` and their series in another: on a
    lake each query pays ~10-20 ms of catalog reads before any row, whatever it reads.
    """
    rows = con.execute(
        f"""
        SELECT concept_id, label, facet, stories, baseline, trend,
               -- most moved first: stories - baseline DESC rising, ASC falling
               CASE WHEN trend = 'rising' THEN baseline - stories ELSE stories - baseline END AS moved
        FROM concept_trends
        WHERE week = ? AND trend IN ('rising', 'falling')
        QUALIFY row_number() OVER (PARTITION BY trend ORDER BY moved, concept_id) <= {MAX_TRENDS}
        ORDER BY trend, moved, concept_id
        """,
        [week],
    ).fetchall()
    out: dict[str, tuple[Trend, ...]] = {"rising": (), "falling": ()}
    if not rows:
        return out
    weeks = tuple(shift_week(week, -i) for i in range(CHART_WEEKS - 1, -1, -1))
    series_rows = con.execute(
        """
        SELECT concept_id, week, stories FROM concept_trends
        WHERE concept_id IN (SELECT unnest(?::VARCHAR[])) AND week IN (SELECT unnest(?::VARCHAR[]))
        """,
        [sorted({r[0] for r in rows}), list(weeks)],
    ).fetchall()
    # concept_trends has a row for every concept in every week from the warehouse's first
    # story on (0 when none): a missing row is a week before any data, not a zero.
    by_key = {(c, w): int(n) for c, w, n in series_rows}
    for direction in out:
        out[direction] = tuple(
            Trend(
                concept_id=cid,
                label=label,
                facet=facet,
                stories=int(n),
                baseline=float(base),
                trend=direction,
                weeks=weeks,
                series=tuple(by_key.get((cid, w)) for w in weeks),
            )
            for cid, label, facet, n, base, trend, _ in rows if trend == direction
        )
    return out


def _new_names(con: duckdb.DuckDBPyConnection, week: str) -> tuple[NewName, ...]:
    rows = con.execute(
        f"""
        SELECT f.concept_id, f.label, f.facet, coalesce(s.title, '(untitled)'), coalesce(s.canonical_url, s.url), s.source
        FROM concept_first_seen f
        LEFT JOIN articles s ON s.id = f.first_story_id
        WHERE f.first_week = ? AND f.facet IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY f.facet DESC, f.label
        LIMIT {MAX_NEW_NAMES}
        """,
        [week, list(NAME_FACETS)],
    ).fetchall()
    return tuple(NewName(*r) for r in rows)


def _source_health(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime
) -> tuple[SourceHealth, ...]:
    rows = con.execute(
        """
        SELECT source, status, fetches, errors, error_rate, new_articles, last_article_at,
               top_error, last_error, coverage_gaps
        FROM source_activity_between(?, ?)
        """,
        [start, end],
    ).fetchall()
    health = [
        SourceHealth(
            source=str(r[0]),
            status=str(r[1]),
            fetches=int(r[2]),
            errors=int(r[3]),
            error_rate=None if r[4] is None else float(r[4]),
            new_articles=int(r[5]),
            last_article_at=r[6],
            top_error=r[7],
            last_error=r[8],
            coverage_gaps=int(r[9]),
        )
        for r in rows
    ]
    return tuple(sorted(health, key=lambda h: (_STATUS_ORDER.get(h.status, 9), h.source)))


def _run_tally(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> RunTally:
    rows = con.execute(
        "SELECT kind, count(*), count(*) FILTER (WHERE status = 'failed'), "
        "count(*) FILTER (WHERE status = 'running') "
        "FROM runs WHERE started_at >= $start AND started_at < $end GROUP BY kind ORDER BY kind",
        {"start": start, "end": end},
    ).fetchall()
    return RunTally(runs=sum(int(r[1]) for r in rows), failed=sum(int(r[2]) for r in rows),
                    unfinished=sum(int(r[3]) for r in rows), by_kind=tuple((str(r[0]), int(r[1])) for r in rows))


def _intake(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> Intake:
    # weekly_intake's definition, for one week's fetch times (a range scan, not a group-by
    # over every article).
    rows = con.execute(
        """
        SELECT count(*) AS articles,
               count(*) FILTER (WHERE relevant AND duplicate_of IS NULL),
               count(*) FILTER (WHERE NOT coalesce(relevant, false) AND duplicate_of IS NULL),
               count(*) FILTER (WHERE duplicate_of IS NOT NULL),
               count(*) FILTER (WHERE duplicate_kind = 'url'),
               count(*) FILTER (WHERE duplicate_kind = 'exact'),
               count(*) FILTER (WHERE duplicate_kind = 'near'),
               count(*) FILTER (WHERE duplicate_kind = 'contained')
        FROM articles
        WHERE kind = 'article' AND fetched_at >= $start AND fetched_at < $end
        HAVING count(*) > 0
        """,
        {"start": start, "end": end},
    ).fetchall()
    if not rows:
        return Intake()
    r = rows[0]
    kinds = (("url", r[4]), ("exact", r[5]), ("near", r[6]), ("contained", r[7]))
    return Intake(
        articles=int(r[0]),
        stories=int(r[1]),
        off_topic=int(r[2]),
        duplicates=int(r[3]),
        duplicates_by_kind=tuple((k, int(n)) for k, n in kinds if n),
    )


# --------------------------------------------------------------------------- rendering

#: Longest "last problem" shown in the source-health table.
MAX_PROBLEM_CHARS = 120


def render_markdown(d: Digest) -> str:
    """The digest as Markdown that also reads well as plain text."""
    return render("md", "digest.md.j2", **_context(d))


def render_html(d: Digest) -> str:
    """The digest as one self-contained HTML page (no scripts, no external assets)."""
    return render("html", "digest.html.j2", **_context(d))


def _context(d: Digest) -> dict[str, object]:
    return {"d": d, "title_chars": MAX_TITLE_CHARS, "problem_chars": MAX_PROBLEM_CHARS,
            "no_sources_yet": NO_SOURCES_YET, "chart_px": CHART_BAR_PX}


# --------------------------------------------------------------------------- files


def digest_filename(week: str, fmt: DigestFormat) -> str:
    """The default file name of a digest: ``digest-2026-W45.md``."""
    return f"digest-{week}.{fmt}"


def save_digest(d: Digest, fmt: str, out: Path) -> Path:
    """Render ``d`` and write it to ``out`` (a file, or a directory to put the default name in)."""
    fmt_checked = _check_format(fmt)
    text = render_html(d) if fmt_checked == "html" else render_markdown(d)
    target = out / digest_filename(d.week, fmt_checked) if out.is_dir() else out
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def write_digest(con: duckdb.DuckDBPyConnection, week: str | None, fmt: str, out: Path) -> Path:
    """Build the digest of ``week`` (default: the last complete week) and write it; return the path."""
    return save_digest(build_digest(con, week), fmt, out)


def _check_format(fmt: str) -> DigestFormat:
    if fmt == "md":
        return "md"
    if fmt == "html":
        return "html"
    raise DigestError(f"Unknown digest format {fmt!r}: use 'md' or 'html'.")
