"""The weekly digest: read one ISO week from the warehouse views, render it as Markdown or HTML.

``build_digest`` only reads (views from ``warehouse/views.sql``) and returns plain frozen
values, so the Prefect flow can pass a ``Digest`` between tasks; ``render_markdown`` and
``render_html`` are pure. Every string that came from the web (titles, URLs, source names,
error messages) goes through one escaping function per format: a headline may carry
``<script>``, ``<img onerror=...>`` or ``[x](javascript:...)``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import quote, urlsplit

import duckdb

from monitor.exceptions import DigestError
from monitor.settings import PROJECT_ROOT
from monitor.reports.events import EventSummary, load_events
from monitor.reports.weeks import format_week, last_complete_week, parse_week, shift_week, week_bounds_utc

__all__ = [
    "DEFAULT_DIGEST_DIR",
    "Digest",
    "DigestFormat",
    "Intake",
    "NO_SOURCES_YET",
    "NewName",
    "RunTally",
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
THEME_FACET = "theme"
OTHER_THEME = "Other"

#: Source health of a week before any source was polled (a digest of a past week, such as
#: the demo's busiest, whose articles were all fetched later): sources exist, but not yet.
NO_SOURCES_YET = "No source had been polled by the end of this week, so there is no source health to report."
_STATUS_ORDER = {"failing": 0, "errors": 1, "gaps": 2, "silent": 3, "not_polled": 4, "ok": 5}
_SPARKS = "▁▂▃▄▅▆▇█"


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
    series: tuple[int, ...]


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
class RunTally:
    """The runs started this week (``runs``), and how many did not end normally."""

    runs: int = 0
    failed: int = 0
    unfinished: int = 0  # still 'running': killed, or running when the digest was made
    by_kind: tuple[tuple[str, int], ...] = ()


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
    #: The week's top events (stories that report one happening, ``reports.events``), ranked
    #: by the outlets and languages that carried them, then their reports; empty when the
    #: warehouse has no events for the week, and the top stories are listed instead.
    top_events: tuple[EventSummary, ...] = ()

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
    con: duckdb.DuckDBPyConnection, week: str | None = None, *, today: date | None = None
) -> Digest:
    """Read one ISO week (default: the last complete week before ``today``) into a Digest."""
    if week is None:
        week = last_complete_week(today or date.today())
    monday, sunday = parse_week(week)
    week = format_week(monday)  # normalise "2026w5" to "2026-W05"
    start, end = week_bounds_utc(week)

    stories = _week_stories(con, start, end)
    # Filters on the instant (story_at), never on the computed week string: a range test
    # reads only what it needs, a strftime over every story does not (1 s at 1M articles).
    earlier = con.execute(
        "SELECT 1 FROM stories WHERE story_at < $start AND (published_at < $start OR fetched_at < $start) LIMIT 1",
        {"start": start},
    ).fetchall()
    return Digest(
        week=week,
        monday=monday,
        sunday=sunday,
        stories=len(stories),
        undated=sum(1 for line in stories if not line.date_trusted),
        top_stories=tuple(stories[:TOP_STORIES]),
        themes=_group_by_theme(stories),
        rising=_trends(con, week, "rising"),
        falling=_trends(con, week, "falling"),
        new_names=_new_names(con, week),
        first_week_with_data=bool(stories) and not earlier,
        sources=_source_health(con, start, end),
        intake=_intake(con, start, end),
        runs=_run_tally(con, start, end),
        top_events=tuple(load_events(con, week=week, limit=TOP_STORIES)),
    )


#: How far down a hand-made copy chain (copy of a copy) the digest looks.
MAX_COPY_HOPS = 16
#: story_at is published_at when that is trusted, else fetched_at (views.sql), so a
#: story of the week has one of the two in the week. Testing the raw columns first lets
#: DuckDB skip most of the table by its min/max zone maps before the view's CASE runs.
_RAW_IN_WEEK = "((published_at >= $start AND published_at < $end) OR (fetched_at >= $start AND fetched_at < $end))"


def _week_stories(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[StoryLine]:
    """The week's stories with their copies and labels, most copied first.

    Copies are found by walking down from the week's stories. The writer points every
    copy at its root, so this is one hop in practice; chains made by hand are followed
    up to MAX_COPY_HOPS. The walk reads only the copies (materialised once), not every
    article per hop, and tags come back as flat rows: at 1M articles this query went
    from 116 ms (recursion over all articles, tag lists aggregated in SQL) to ~50.
    """
    params = {"start": start, "end": end}
    rows = con.execute(
        f"""
        WITH RECURSIVE week AS MATERIALIZED (
            -- The canonical URL is the article's own address: a feed's link may be a
            -- redirect or tracking hop (`url`), and the canonical one is only taken from the
            -- page when it names a page of the same site (pipeline.choose_canonical_url).
            SELECT id, title, coalesce(canonical_url, url) AS url, source, story_at, date_trusted, relevance
            FROM stories WHERE story_at >= $start AND story_at < $end AND {_RAW_IN_WEEK}
        ),
        copy_rows AS MATERIALIZED (
            SELECT id, source, duplicate_of FROM articles WHERE duplicate_of IS NOT NULL
        ),
        chain AS (
            SELECT id, source, duplicate_of AS story_id, 1 AS hops
            FROM copy_rows WHERE duplicate_of IN (SELECT id FROM week)
            UNION ALL
            SELECT r.id, r.source, c.story_id, c.hops + 1
            FROM copy_rows r JOIN chain c ON r.duplicate_of = c.id
            WHERE c.hops < {MAX_COPY_HOPS} AND r.id <> c.story_id
        ),
        copies AS (
            SELECT story_id, count(DISTINCT id) AS copies,
                   list(DISTINCT source ORDER BY source) FILTER (WHERE source IS NOT NULL) AS sources
            FROM chain
            GROUP BY 1
        )
        -- Naive UTC, made aware in Python: DuckDB converts each TIMESTAMPTZ to a Python
        -- datetime through the zone database, ~3.5 us a value (26 ms of a 1M-article
        -- digest); a naive TIMESTAMP converts for almost nothing.
        SELECT w.id, w.title, w.url, w.source, timezone('UTC', w.story_at), w.date_trusted,
               coalesce(c.copies, 0), coalesce(c.sources, []), coalesce(w.relevance, 0)
        FROM week w LEFT JOIN copies c ON c.story_id = w.id
        """,
        params,
    ).fetchall()
    # Flat rows, grouped here: nested lists and structs cost more to hand to Python than
    # to group in it. The filter is a superset of the week's stories (no story_at test),
    # cheap by zone maps; tags of the extra articles are simply not looked up.
    tags = con.execute(
        f"""
        SELECT t.article_id,
               coalesce(tx.label, t.concept_id),
               coalesce(tx.facet, split_part(t.concept_id, ':', 1)) = '{THEME_FACET}'
        FROM article_tags t
        LEFT JOIN taxonomy tx ON tx.concept_id = t.concept_id
        WHERE t.article_id IN (SELECT id FROM stories WHERE {_RAW_IN_WEEK})
        ORDER BY t.article_id, coalesce(t.score, 0) DESC, t.concept_id
        """,
        params,
    ).fetchall()
    themes: dict[str, list[str]] = {}
    names: dict[str, list[str]] = {}
    for article_id, label, is_theme in tags:
        (themes if is_theme else names).setdefault(article_id, []).append(label)
    relevance = {r[0]: float(r[8]) for r in rows}
    lines = [
        StoryLine(
            id=r[0],
            title=r[1] or "(untitled)",
            url=r[2],
            source=r[3],
            story_at=r[4].replace(tzinfo=UTC) if r[4] is not None else None,
            date_trusted=bool(r[5]),
            copies=int(r[6]),
            copy_sources=tuple(r[7]),
            themes=tuple(themes.get(r[0], ())),
            names=tuple(names.get(r[0], ())),
        )
        for r in rows
    ]
    # Most copied first (what the region's media amplified), then most relevant, then newest.
    return sorted(
        lines,
        key=lambda s: (-s.copies, -len(s.copy_sources), -relevance[s.id], -_ts(s.story_at), s.id),
    )


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


def _group_by_theme(stories: Sequence[StoryLine]) -> tuple[ThemeGroup, ...]:
    groups: dict[str, list[StoryLine]] = {}
    for s in stories:
        groups.setdefault(s.themes[0] if s.themes else OTHER_THEME, []).append(s)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] == OTHER_THEME, -len(kv[1]), kv[0]))
    return tuple(
        ThemeGroup(
            concept_id=None if label == OTHER_THEME else label,
            label=label,
            stories=tuple(items[:MAX_STORIES_PER_THEME]),
            total=len(items),
        )
        for label, items in ordered
    )


def _trends(con: duckdb.DuckDBPyConnection, week: str, direction: str) -> tuple[Trend, ...]:
    order = "DESC" if direction == "rising" else "ASC"
    rows = con.execute(
        f"""
        SELECT concept_id, label, facet, stories, baseline
        FROM concept_trends
        WHERE week = ? AND trend = ?
        ORDER BY stories - baseline {order}, concept_id
        LIMIT {MAX_TRENDS}
        """,
        [week, direction],
    ).fetchall()
    if not rows:
        return ()
    weeks = tuple(shift_week(week, -i) for i in range(CHART_WEEKS - 1, -1, -1))
    series_rows = con.execute(
        """
        SELECT concept_id, week, stories FROM concept_trends
        WHERE concept_id IN (SELECT unnest(?::VARCHAR[])) AND week IN (SELECT unnest(?::VARCHAR[]))
        """,
        [[r[0] for r in rows], list(weeks)],
    ).fetchall()
    by_key = {(c, w): int(n) for c, w, n in series_rows}
    return tuple(
        Trend(
            concept_id=cid,
            label=label,
            facet=facet,
            stories=int(n),
            baseline=float(base),
            trend=direction,
            weeks=weeks,
            series=tuple(by_key.get((cid, w), 0) for w in weeks),
        )
        for cid, label, facet, n, base in rows
    )


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


# --------------------------------------------------------------------------- escaping

# Bidi overrides and isolates can make a headline display as something else.
_INVISIBLE = {cp: None for cp in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F]}
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
_MD_LINE_START = re.compile(r"^([#>+=-]|\d+(?=[.)]))")
_URL_SAFE = "/:?#@!$&'*+,;=%~"


def _clean(text: str | None, limit: int | None = None) -> str:
    """Web text as one plain line: no control or bidi characters, whitespace collapsed."""
    if not text:
        return ""
    text = text.translate(_INVISIBLE)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _md(text: str | None, limit: int | None = None) -> str:
    """Escape web text for Markdown: no markup, links, HTML, entities or block starts survive."""
    out = _MD_INLINE.sub(r"\\\1", _clean(text, limit))
    out = _MD_ENTITY.sub(r"\\&", out)
    return _MD_LINE_START.sub(r"\\\1", out)


def _safe_url(url: str | None) -> str | None:
    """An http(s) URL percent-encoded so it cannot break out of a link, or None."""
    if not url or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url.strip()):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=_URL_SAFE)  # encodes ( ) < > " space and non-ASCII


def _md_link(title: str, url: str | None) -> str:
    safe = _safe_url(url)
    text = _md(title, MAX_TITLE_CHARS)
    return f"[{text}]({safe})" if safe else text


def _h(text: str | None, limit: int | None = None) -> str:
    return html.escape(_clean(text, limit), quote=True)


def _h_link(title: str, url: str | None) -> str:
    safe = _safe_url(url)
    text = _h(title, MAX_TITLE_CHARS)
    if not safe:
        return text
    return f'<a href="{html.escape(safe, quote=True)}" rel="noopener noreferrer nofollow" style="color:#1a4d8f">{text}</a>'


# --------------------------------------------------------------------------- rendering helpers


def _day(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _span(d: Digest) -> str:
    if d.monday.month == d.sunday.month:
        return f"{d.monday.day}–{_day(d.sunday)}"
    if d.monday.year == d.sunday.year:
        return f"{d.monday.day} {d.monday:%B} – {_day(d.sunday)}"
    return f"{_day(d.monday)} – {_day(d.sunday)}"


def _when(s: StoryLine) -> str:
    if s.story_at is None:
        return "undated"
    text = f"{s.story_at:%a} {s.story_at.day} {s.story_at:%b}"
    return text if s.date_trusted else f"{text} (fetched; undated)"


def _sparkline(series: Sequence[int]) -> str:
    top = max(series, default=0)
    if top == 0:
        return _SPARKS[0] * len(series)
    return "".join(_SPARKS[round(n / top * (len(_SPARKS) - 1))] for n in series)


def _copies_text(s: StoryLine) -> str:
    if not s.copies:
        return "no copies"
    where = ", ".join(s.copy_sources)
    word = "copy" if s.copies == 1 else "copies"
    return f"{s.copies} {word}" + (f" ({where})" if where else "")


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _headline(d: Digest) -> str:
    if d.empty:
        return f"No stories in {d.week}."
    text = f"{_plural(d.stories, 'story', 'stories')} this week"
    if d.undated:
        text += f" ({d.undated} dated only by when we fetched them, left out of the trends)"
    return text + "."


def _intake_text(i: Intake) -> str:
    if not i.articles:
        return "Nothing was fetched this week."
    kinds = ", ".join(f"{k} {n}" for k, n in i.duplicates_by_kind)
    dup = _plural(i.duplicates, "copy", "copies") + " of known stories" + (f" ({kinds})" if kinds else "")
    return (
        f"{_plural(i.articles, 'article')} read: {_plural(i.stories, 'new story', 'new stories')}, "
        f"{i.off_topic} off-topic, {dup}."
    )


def _runs_text(t: RunTally) -> str:
    """One line on the week's runs: a schedule that stopped, or runs that broke, are not silent."""
    if not t.runs:
        return "No run was recorded this week: nothing was fetched or imported (`monitor runs` lists the last ones)."
    kinds = ", ".join(f"{kind} {n}" for kind, n in t.by_kind)
    if not (t.failed or t.unfinished):
        return f"{_plural(t.runs, 'run')} this week ({kinds}), all ended normally."
    broken = []
    if t.failed:
        broken.append(f"{t.failed} failed")
    if t.unfinished:
        broken.append(f"{t.unfinished} unfinished (killed, or still running)")
    return (f"{_plural(t.runs, 'run')} this week ({kinds}): {' and '.join(broken)}. What a run saved is kept "
            "and the next run fetches the rest; `monitor runs` lists them.")


def _health_line(h: SourceHealth) -> tuple[str, str, str, str]:
    rate = f"{h.errors}/{h.fetches}" if h.fetches else "–"
    last = f"{h.last_article_at:%Y-%m-%d}" if h.last_article_at else "never"
    problem = h.last_error or h.top_error or ""
    if h.coverage_gaps:
        # The full reason (coverage_gaps.reason) is too long for a table cell.
        gaps = (f"{_plural(h.coverage_gaps, 'coverage gap')}: items may have left the feed "
                "unread between polls; poll it more often")
        problem = f"{problem}; {gaps}" if problem else gaps
    return rate, last, problem, h.status.replace("_", " ")


# --------------------------------------------------------------------------- Markdown


def _event_meta(e: EventSummary) -> str:
    langs = ", ".join(e.languages) or "language unknown"
    first = f"first: {e.first_outlet or 'unknown source'}, {e.first_at:%a %d %b %H:%M} UTC" if e.first_at else "first: -"
    return (f"{first} · {e.stories} {'story' if e.stories == 1 else 'stories'}, {e.copies} "
            f"{'copy' if e.copies == 1 else 'copies'} · {e.outlets} {'outlet' if e.outlets == 1 else 'outlets'} · {langs}")


def _event_url(e: EventSummary) -> str | None:
    return e.reports[0].url if e.reports else None


def _md_events(events: Sequence[EventSummary]) -> list[str]:
    """Top events: each with who reported it first and its versions by outlet."""
    out = ["## Top events", ""]
    for n, e in enumerate(events, 1):
        out.append(f"{n}. {_md_link(e.title or '(no title)', _event_url(e))}  ")
        out.append("   " + _md(_event_meta(e)) + "  ")
        for outlet, reports in e.by_outlet():
            versions = "; ".join(
                f"{_md_link(r.title or '(no title)', r.url)} ({_md(r.language or '-')}"
                + (", copy" if r.copy_of else "") + ")" for r in reports)
            out.append(f"   - {_md(outlet)}: {versions}")
    out.append("")
    return out


def _html_events(events: Sequence[EventSummary]) -> list[str]:
    """Top events, as ``_md_events`` lists them."""
    b = ["<h2>Top events</h2><ol>"]
    for e in events:
        versions = "".join(
            f"<li>{_h(outlet)}: " + "; ".join(
                f"{_h_link(r.title or '(no title)', r.url)} ({_h(r.language or '-')}{', copy' if r.copy_of else ''})"
                for r in reports) + "</li>" for outlet, reports in e.by_outlet())
        b.append(f"<li><strong>{_h_link(e.title or '(no title)', _event_url(e))}</strong><br>"
                 f'<span class="meta">{_h(_event_meta(e))}</span><ul>{versions}</ul></li>')
    b.append("</ol>")
    return b


def render_markdown(d: Digest) -> str:
    """The digest as Markdown that also reads well as plain text."""
    out: list[str] = [f"# Weekly digest {d.week}", "", f"*{_span(d)}* · {_headline(d)}", ""]
    if d.empty:
        out += ["There were no new on-topic stories this week.", ""]
    elif d.top_events:
        out += _md_events(d.top_events)
    if not d.empty and not d.top_events:
        out += ["## Top stories", ""]
        for n, s in enumerate(d.top_stories, 1):
            out.append(f"{n}. {_md_link(s.title, s.url)}  ")
            meta = [_md(s.source or "unknown source"), _when(s), _md(_copies_text(s))]
            out.append("   " + " · ".join(meta) + "  ")
            tags = [*s.themes[:3], *s.names[:4]]
            if tags:
                out.append("   " + ", ".join(_md(t) for t in tags))
        out.append("")
    out += _md_trends("Rising", d.rising)
    out += _md_trends("Falling", d.falling)
    if not d.empty:
        out += ["## Stories by theme", ""]
        for g in d.themes:
            out += [f"### {_md(g.label)} ({g.total})", ""]
            for s in g.stories:
                extra = f" · {_md(_copies_text(s))}" if s.copies else ""
                out.append(f"- {_md_link(s.title, s.url)} — {_md(s.source or 'unknown source')}, {_when(s)}{extra}")
            if g.total > len(g.stories):
                out.append(f"- … and {g.total - len(g.stories)} more")
            out.append("")
    out += ["## New names", ""]
    if d.first_week_with_data:
        out.append("This is the first week with stories: every name is new, so none are listed.")
    elif d.new_names:
        for nm in d.new_names:
            out.append(
                f"- **{_md(nm.label)}** ({_md(nm.facet)}), first in {_md_link(nm.first_title, nm.first_url)}"
                f" — {_md(nm.first_source or 'unknown source')}"
            )
    else:
        out.append("No person or organisation appeared for the first time.")
    out += ["", "## Source health", ""]
    problems = d.source_problems
    if not d.sources:
        out.append(NO_SOURCES_YET)
    elif not problems:
        out.append(f"All {len(d.sources)} sources fetched normally.")
    else:
        out.append(f"{len(problems)} of {len(d.sources)} sources need a look:")
        out += ["", "| Source | Status | Errors/fetches | Last new article | Last problem |", "|---|---|---|---|---|"]
        for h in problems:
            rate, last, problem, status = _health_line(h)
            out.append(f"| {_md(h.source)} | {status} | {rate} | {last} | {_md(problem, 120)} |")
    if d.sources:
        out += ["", _runs_text(d.runs)]  # our own words and run kinds: nothing from the web
    out += ["", "## Filtered out", "", _intake_text(d.intake), ""]
    return "\n".join(out)


def _md_trends(title: str, trends: Sequence[Trend]) -> list[str]:
    if not trends:
        return []
    first, last = trends[0].weeks[0], trends[0].weeks[-1]
    out = [
        f"## {title}",
        "",
        f"| Concept | This week | 8-week baseline | {first} → {last} |",
        "|---|---:|---:|---|",
    ]
    for t in trends:
        out.append(f"| {_md(t.label)} | {t.stories} | {t.baseline:.1f} | `{_sparkline(t.series)}` |")
    return [*out, ""]


# --------------------------------------------------------------------------- HTML

_CSS = """
body{margin:0;padding:0;background:#f3f3f0;color:#1d1d1b;font:15px/1.5 Georgia,'Times New Roman',serif}
.wrap{max-width:760px;margin:0 auto;padding:24px 28px;background:#ffffff}
h1{font:bold 26px/1.2 Helvetica,Arial,sans-serif;margin:0 0 4px}
h2{font:bold 18px/1.3 Helvetica,Arial,sans-serif;margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid #1d1d1b}
h3{font:bold 15px/1.3 Helvetica,Arial,sans-serif;margin:18px 0 6px;color:#444}
.meta{color:#666;font:13px/1.4 Helvetica,Arial,sans-serif}
ol,ul{padding-left:22px;margin:6px 0}
li{margin:0 0 8px}
table{border-collapse:collapse;width:100%;font:13px/1.4 Helvetica,Arial,sans-serif}
th,td{text-align:left;padding:5px 6px;border-bottom:1px solid #ddd;vertical-align:middle}
th{background:#f0f0ec}
td.n,th.n{text-align:right}
.tag{display:inline-block;background:#eef2f7;color:#2b3f5c;border-radius:3px;padding:0 5px;margin:0 3px 2px 0;font:12px/1.6 Helvetica,Arial,sans-serif}
.note{color:#555;font-style:italic}
"""


def render_html(d: Digest) -> str:
    """The digest as one self-contained HTML page (no scripts, no external assets)."""
    b: list[str] = []
    b.append(f"<h1>Weekly digest {_h(d.week)}</h1>")
    b.append(f'<p class="meta">{_h(_span(d))} · {_h(_headline(d))}</p>')
    if d.empty:
        b.append('<p class="note">There were no new on-topic stories this week.</p>')
    elif d.top_events:
        b += _html_events(d.top_events)
    if not d.empty and not d.top_events:
        b.append("<h2>Top stories</h2><ol>")
        for s in d.top_stories:
            tags = "".join(f'<span class="tag">{_h(t)}</span>' for t in [*s.themes[:3], *s.names[:4]])
            b.append(
                f"<li><strong>{_h_link(s.title, s.url)}</strong><br>"
                f'<span class="meta">{_h(s.source or "unknown source")} · {_h(_when(s))} · '
                f"{_h(_copies_text(s))}</span>"
                + (f"<br>{tags}" if tags else "")
                + "</li>"
            )
        b.append("</ol>")
    b += _html_trends("Rising", d.rising, "#c0392b")
    b += _html_trends("Falling", d.falling, "#2c6fad")
    if not d.empty:
        b.append("<h2>Stories by theme</h2>")
        for g in d.themes:
            b.append(f"<h3>{_h(g.label)} ({g.total})</h3><ul>")
            for s in g.stories:
                extra = f" · {_h(_copies_text(s))}" if s.copies else ""
                b.append(
                    f"<li>{_h_link(s.title, s.url)} "
                    f'<span class="meta">— {_h(s.source or "unknown source")}, {_h(_when(s))}{extra}</span></li>'
                )
            if g.total > len(g.stories):
                b.append(f'<li class="note">… and {g.total - len(g.stories)} more</li>')
            b.append("</ul>")
    b.append("<h2>New names</h2>")
    if d.first_week_with_data:
        b.append('<p class="note">This is the first week with stories: every name is new, so none are listed.</p>')
    elif d.new_names:
        b.append("<ul>")
        for nm in d.new_names:
            b.append(
                f"<li><strong>{_h(nm.label)}</strong> <span class=\"meta\">({_h(nm.facet)})</span>, first in "
                f"{_h_link(nm.first_title, nm.first_url)} "
                f'<span class="meta">— {_h(nm.first_source or "unknown source")}</span></li>'
            )
        b.append("</ul>")
    else:
        b.append('<p class="note">No person or organisation appeared for the first time.</p>')
    b.append("<h2>Source health</h2>")
    problems = d.source_problems
    if not d.sources:
        b.append(f'<p class="note">{NO_SOURCES_YET}</p>')
    elif not problems:
        b.append(f"<p>All {len(d.sources)} sources fetched normally.</p>")
    else:
        b.append(f"<p>{len(problems)} of {len(d.sources)} sources need a look:</p>")
        b.append(
            "<table><tr><th>Source</th><th>Status</th><th>Errors/fetches</th>"
            "<th>Last new article</th><th>Last problem</th></tr>"
        )
        for h in problems:
            rate, last, problem, status = _health_line(h)
            b.append(
                f"<tr><td>{_h(h.source)}</td><td>{_h(status)}</td><td>{_h(rate)}</td>"
                f"<td>{_h(last)}</td><td>{_h(problem, 120)}</td></tr>"
            )
        b.append("</table>")
    if d.sources:
        b.append(f"<p>{_h(_runs_text(d.runs))}</p>")
    b.append(f"<h2>Filtered out</h2><p>{_h(_intake_text(d.intake))}</p>")
    body = "\n".join(b)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Weekly digest {_h(d.week)}</title><style>{_CSS}</style></head>\n"
        '<body style="margin:0;background:#f3f3f0"><div class="wrap" '
        'style="max-width:760px;margin:0 auto;padding:24px 28px;background:#ffffff">\n'
        f"{body}\n</div></body></html>\n"
    )


def _html_trends(title: str, trends: Sequence[Trend], colour: str) -> list[str]:
    if not trends:
        return []
    first, last = trends[0].weeks[0], trends[0].weeks[-1]
    out = [
        f"<h2>{_h(title)}</h2>",
        '<table><tr><th style="width:34%">Concept</th><th class="n" style="width:14%">This week</th>'
        '<th class="n" style="width:18%">8-week baseline</th>'
        f"<th>{_h(first)} → {_h(last)}</th></tr>",
    ]
    for t in trends:
        out.append(
            f'<tr><td>{_h(t.label)}</td><td class="n">{t.stories}</td><td class="n">{t.baseline:.1f}</td>'
            f"<td>{_svg_bars(t.series, t.weeks, colour, t.label)}</td></tr>"
        )
    return [*out, "</table>"]


def _svg_bars(series: Sequence[int], weeks: Sequence[str], colour: str, label: str) -> str:
    """A small inline bar chart; the last (this) week's bar in colour, the rest grey."""
    bar, gap, height = 10, 3, 28
    top = max(series, default=0) or 1
    width = len(series) * (bar + gap)
    rects = []
    for i, (n, w) in enumerate(zip(series, weeks, strict=True)):
        h = max(1, round(n / top * (height - 2))) if n else 1
        fill = colour if i == len(series) - 1 else "#b8b8b2"
        rects.append(
            f'<rect x="{i * (bar + gap)}" y="{height - h}" width="{bar}" height="{h}" fill="{fill}">'
            f"<title>{_h(w)}: {n}</title></rect>"
        )
    summary = _h(f"{label}: " + ", ".join(str(n) for n in series))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{summary}">'
        f"<title>{summary}</title>{''.join(rects)}</svg>"
    )


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
