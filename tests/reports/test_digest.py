"""The weekly digest: built from a warehouse spread over 13 weeks, rendered safely."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from monitor.reports.digest import (
    NO_SOURCES_YET,
    Intake,
    NewName,
    RunTally,
    SourceHealth,
    build_digest,
    busiest_week,
    render_html,
    render_markdown,
    save_digest,
    write_digest,
)
from monitor.exceptions import DigestError
from monitor.storage.warehouse import connect, refresh_rollups
from monitor.reports.weeks import last_complete_week, parse_week
from warehouse_helpers import add_tag

WEEK = "2026-W45"  # Monday 2 November 2026
MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(2)> **b** & &amp;'

TAXONOMY = [
    ("theme:arms_transfers", "theme", "Arms transfers"),
    ("theme:energy", "theme", "Energy"),
    ("theme:information_operations", "theme", "Information operations"),
    ("country:serbia", "country", "Serbia"),
    ("country:russia", "country", "Russia"),
    ("person:aleksandar_vucic", "person", "Aleksandar Vučić"),
    ("person:new_envoy", "person", "Ivan Newman"),
    ("org:rt", "organization", "RT"),
]


def week_day(weeks_before: int, day: int = 0, hour: int = 9) -> datetime:
    """A time in the week ``weeks_before`` weeks before WEEK."""
    return MONDAY - timedelta(weeks=weeks_before) + timedelta(days=day, hours=hour - 9)


def add_article(
    con: duckdb.DuckDBPyConnection,
    id: str,
    *,
    at: datetime,
    source: str = "portal-a",
    title: str | None = None,
    url: str | None = None,
    canonical_url: str | None = None,
    relevant: bool = True,
    duplicate_of: str | None = None,
    duplicate_kind: str | None = None,
    confidence: str = "high",
    fetched_at: datetime | None = None,
    tags: tuple[tuple[str, float], ...] = (),
    kind: str = "article",
    relevance: float = 0.8,
) -> None:
    fetched = fetched_at or at + timedelta(minutes=30)
    published = None if confidence == "low" else at
    con.execute(
        """INSERT INTO articles (id, kind, source, url, canonical_url, title, published_at,
               date_source, date_confidence, fetched_at, relevant, relevance, duplicate_of,
               duplicate_kind, similarity)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            id, kind, source, url or f"https://{source}.example/{id}", canonical_url or f"https://{source}.example/{id}",
            title or f"Story {id}", published, "fetched" if confidence == "low" else "feed",
            confidence, fetched, relevant, relevance, duplicate_of, duplicate_kind,
            None if duplicate_of is None else 0.93,
        ],
    )
    for concept, score in tags:
        add_tag(con, id, concept, score, concept, "1")


def add_fetches(
    con: duckdb.DuckDBPyConnection, source: str, at: datetime, n: int, *, outcome: str = "ok",
    error: str | None = None, detail: str | None = None,
) -> None:
    for i in range(n):
        con.execute(
            "INSERT INTO fetch_log (id, fetched_at, source, kind, url, status, outcome, error, detail) "
            "SELECT coalesce(max(id), 0) + 1, ?, ?, 'feed', ?, ?, ?, ?, ? FROM fetch_log",
            [at + timedelta(hours=i), source, f"https://{source}.example/feed",
             500 if outcome == "error" else 200, outcome, error, detail],
        )


def build_sample(con: duckdb.DuckDBPyConnection) -> None:
    """13 weeks of a small warehouse: arms transfers rise in WEEK, energy falls to nothing."""
    for cid, facet, label in TAXONOMY:
        con.execute("INSERT INTO taxonomy VALUES (?, ?, ?, NULL, NULL, NULL, '1')", [cid, facet, label])
    for name, owner in [("portal-a", "independent"), ("state-wire", "state-affiliated"),
                        ("regional", "independent"), ("quiet-blog", "think-tank"),
                        ("broken-feed", "independent")]:
        con.execute("INSERT INTO sources (name, url, owner) VALUES (?, ?, ?)",
                    [name, f"https://{name}.example/feed", owner])
    # The reference document (a seed text) that one article copies.
    add_article(con, "000_seed", at=week_day(20), source=None, kind="reference", title="Seed text")  # type: ignore[arg-type]
    # Background: one arms story a week, three energy stories a week, Vučić throughout.
    for w in range(1, 13):
        add_article(con, f"arms-{w}", at=week_day(w, 1), source="state-wire",
                    tags=(("theme:arms_transfers", 0.9), ("person:aleksandar_vucic", 0.5)))
        for k in range(3):
            add_article(con, f"energy-{w}-{k}", at=week_day(w, 2 + k), source="portal-a",
                        tags=(("theme:energy", 0.8), ("country:serbia", 0.4)))
        add_fetches(con, "quiet-blog", week_day(w, 0), 2)
    # The quiet blog published once, long ago.
    add_article(con, "quiet-1", at=week_day(12, 3), source="quiet-blog", tags=(("theme:energy", 0.7),))
    # WEEK itself: five arms stories, the first copied twice (one copy of a copy).
    for k in range(5):
        add_article(con, f"w-arms-{k}", at=week_day(0, k), source="state-wire",
                    title=f"Pantsir deliveries, part {k}", relevance=0.9 - k / 100,
                    tags=(("theme:arms_transfers", 0.9), ("country:russia", 0.6), ("country:serbia", 0.5)))
    add_article(con, "copy-1", at=week_day(0, 1), source="regional", duplicate_of="w-arms-0",
                duplicate_kind="near")
    add_article(con, "copy-2", at=week_day(0, 2), source="portal-a", duplicate_of="copy-1",
                duplicate_kind="exact")
    add_article(con, "copy-seed", at=week_day(0, 2), source="regional", duplicate_of="000_seed",
                duplicate_kind="contained")
    add_article(con, "w-io", at=week_day(0, 3), source="regional", title="RT opens a new studio",
                tags=(("theme:information_operations", 0.7), ("org:rt", 0.9), ("person:new_envoy", 0.6)))
    add_article(con, "w-hostile", at=week_day(0, 4), source="portal-a", title=HOSTILE,
                url="javascript:alert(3)", canonical_url="javascript:alert(3)",
                tags=(("theme:information_operations", 0.5),))
    add_article(con, "w-offtopic", at=week_day(0, 5), source="portal-a", relevant=False,
                title="Tennis in Belgrade")
    add_fetches(con, "state-wire", week_day(0, 0), 6)
    add_fetches(con, "portal-a", week_day(0, 0), 6)
    add_fetches(con, "regional", week_day(0, 0), 6)
    add_fetches(con, "quiet-blog", week_day(0, 0), 3)
    add_fetches(con, "broken-feed", week_day(0, 0), 4, outcome="error", error="http_500",
                detail="<b>Server</b> said 500")


@pytest.fixture(scope="module")
def sample() -> Iterator[duckdb.DuckDBPyConnection]:
    """The sample warehouse, built once: the digest only reads it."""
    con = connect(":memory:")
    build_sample(con)
    refresh_rollups(con)  # rows were inserted with SQL: refresh as a writing run would
    yield con
    con.close()


def test_week_string_gives_its_monday_and_sunday() -> None:
    assert parse_week("2026-W45") == (date(2026, 11, 2), date(2026, 11, 8))
    assert parse_week("2026w01") == (date(2025, 12, 29), date(2026, 1, 4))


@pytest.mark.parametrize("bad", ["2026-45", "W45", "2026-W54", "2025-W53", "last week", ""])
def test_bad_week_string_raises_digest_error_with_the_expected_form(bad: str) -> None:
    with pytest.raises(DigestError, match="2026-W45|weeks 01 to"):
        parse_week(bad)


def test_default_week_is_the_last_complete_week() -> None:
    assert last_complete_week(date(2026, 11, 9)) == "2026-W45"  # a Monday: the week just ended
    assert last_complete_week(date(2026, 11, 15)) == "2026-W45"  # a Sunday: its week is not over
    assert last_complete_week(date(2026, 1, 2)) == "2025-W52"


def test_top_stories_rank_the_most_copied_first_with_where_they_were_copied(sample: duckdb.DuckDBPyConnection) -> None:
    d = build_digest(sample, WEEK)
    assert d.stories == 7
    assert d.undated == 0
    first = d.top_stories[0]
    assert (first.id, first.copies, first.copy_sources) == ("w-arms-0", 2, ("portal-a", "regional"))
    assert first.themes == ("Arms transfers",)
    assert first.names == ("Russia", "Serbia")
    assert [s.id for s in d.top_stories[1:5]] == ["w-arms-1", "w-arms-2", "w-arms-3", "w-arms-4"]


def test_stories_are_grouped_by_their_strongest_theme(sample: duckdb.DuckDBPyConnection) -> None:
    d = build_digest(sample, WEEK)
    assert [(g.label, g.total, tuple(s.id for s in g.stories)) for g in d.themes] == [
        ("Arms transfers", 5, ("w-arms-0", "w-arms-1", "w-arms-2", "w-arms-3", "w-arms-4")),
        ("Information operations", 2, ("w-hostile", "w-io")),
    ]


def test_only_the_stories_listed_are_read_whole_every_one_is_counted(
        sample: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    """The week's stories are ranked, grouped and cut in SQL: the top ones and the first of
    each theme come with their labels, the others only in the counts."""
    from monitor.reports import digest

    monkeypatch.setattr(digest, "TOP_STORIES", 2)
    monkeypatch.setattr(digest, "MAX_STORIES_PER_THEME", 1)
    d = build_digest(sample, WEEK)
    assert (d.stories, d.undated) == (7, 0)
    assert [(s.id, s.copies, s.themes, s.names) for s in d.top_stories] == [
        ("w-arms-0", 2, ("Arms transfers",), ("Russia", "Serbia")),
        ("w-arms-1", 0, ("Arms transfers",), ("Russia", "Serbia")),
    ]
    assert [(g.concept_id, g.label, g.total, [(s.id, s.themes, s.names) for s in g.stories]) for g in d.themes] == [
        ("Arms transfers", "Arms transfers", 5, [("w-arms-0", ("Arms transfers",), ("Russia", "Serbia"))]),
        ("Information operations", "Information operations", 2, [("w-hostile", ("Information operations",), ())]),
    ]
    md = render_markdown(d)
    assert "- … and 4 more" in md and "- … and 1 more" in md


def test_arms_transfers_rise_and_energy_falls_with_twelve_weeks_of_history(sample: duckdb.DuckDBPyConnection) -> None:
    d = build_digest(sample, WEEK)
    # Russia is named in this week's stories only: rising from nothing ranks first.
    assert [(t.concept_id, t.stories, t.baseline) for t in d.rising] == [
        ("country:russia", 5, 0.0), ("theme:arms_transfers", 5, 1.0)
    ]
    arms = d.rising[1]
    assert arms.weeks[0] == "2026-W34" and arms.weeks[-1] == WEEK
    assert arms.series == (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5)
    # Serbia (5 against 3) is steady; energy has no row this week and still falls to 0.
    assert [(t.concept_id, t.stories, t.baseline, t.series) for t in d.falling] == [
        ("theme:energy", 0, 3.0, (3,) * 11 + (0,))
    ]


@pytest.mark.parametrize("limit", [1, 2])
def test_each_direction_keeps_its_own_most_moved_concepts_up_to_the_limit(
        sample: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """Both directions come from one read: each is still cut at MAX_TRENDS on its own,
    most moved first, as a query per direction ordered by stories - baseline gives."""
    from monitor.reports import digest

    monkeypatch.setattr(digest, "MAX_TRENDS", limit)
    d = build_digest(sample, WEEK)
    for trends, order in ((d.rising, "DESC"), (d.falling, "ASC")):
        direction = "rising" if order == "DESC" else "falling"
        expected = sample.execute(
            f"SELECT concept_id, stories FROM concept_trends WHERE week = ? AND trend = ? "
            f"ORDER BY stories - baseline {order}, concept_id LIMIT {limit}", [WEEK, direction]).fetchall()
        assert [(t.concept_id, t.stories) for t in trends] == expected
    assert len(d.rising) == limit  # the sample has two rising concepts: the cut is per direction


def test_new_names_are_people_and_organisations_first_seen_this_week(sample: duckdb.DuckDBPyConnection) -> None:
    d = build_digest(sample, WEEK)
    assert d.first_week_with_data is False
    assert d.new_names == (
        NewName("person:new_envoy", "Ivan Newman", "person", "RT opens a new studio",
                "https://regional.example/w-io", "regional"),
        NewName("org:rt", "RT", "organization", "RT opens a new studio",
                "https://regional.example/w-io", "regional"),
    )


def test_source_health_puts_the_failing_feed_first_and_flags_the_silent_blog(sample: duckdb.DuckDBPyConnection) -> None:
    d = build_digest(sample, WEEK)
    assert d.source_problems == (
        SourceHealth("broken-feed", "failing", 4, 4, 1.0, 0, None, "http_500", "<b>Server</b> said 500"),
        SourceHealth("quiet-blog", "silent", 3, 0, 0.0, 0, week_day(12, 3, 9) + timedelta(minutes=30),
                     None, None),
    )
    assert {s.source for s in d.sources if s.status == "ok"} == {"portal-a", "regional", "state-wire"}


def test_stories_link_their_canonical_address_not_the_feed_s_redirect_hop() -> None:
    con = connect(":memory:")  # its own warehouse: `sample` is shared and read-only
    build_sample(con)
    # A feed linked a tracking redirect; the page named its own address (same site).
    add_article(con, "w-hop", at=week_day(0, 6), source="regional", title="Via a redirect",
                url="https://regional.example/go/4821?utm_source=rss",
                canonical_url="https://regional.example/2026/11/via-a-redirect.html")
    refresh_rollups(con)
    text = render_markdown(build_digest(con, WEEK))
    con.close()
    assert "[Via a redirect](https://regional.example/2026/11/via-a-redirect.html)" in text
    assert "/go/4821" not in text


def test_a_week_before_any_poll_says_so_instead_of_claiming_no_sources(sample: duckdb.DuckDBPyConnection) -> None:
    # The demo's digest is of its busiest week, weeks before the corpus was fetched.
    d = build_digest(sample, "2026-W01")
    assert d.sources == ()
    assert NO_SOURCES_YET in render_markdown(d) and NO_SOURCES_YET in render_html(d)
    assert sample.execute("SELECT count(*) FROM sources").fetchall()[0][0] > 0  # they do exist


def test_a_week_without_runs_says_nothing_was_fetched(sample: duckdb.DuckDBPyConnection) -> None:
    # A stopped schedule is not silent: the sources exist, yet no run started this week.
    d = build_digest(sample, WEEK)
    assert d.runs == RunTally()
    line = "No run was recorded this week: nothing was fetched or imported (`monitor runs` lists the last ones)."
    assert line in render_markdown(d).splitlines()
    assert f"<p>{line.replace('`monitor runs`', '<code>monitor runs</code>')}</p>" in render_html(d)


def test_the_week_s_runs_are_counted_and_the_ones_that_broke_are_named() -> None:
    con = connect(":memory:")  # its own warehouse: `sample` is shared and read-only
    build_sample(con)
    con.executemany("INSERT INTO runs (run_id, kind, started_at, finished_at, status) VALUES (?, ?, ?, ?, ?)", [
        ("i1", "ingest", week_day(0, 0), week_day(0, 0), "ok"),
        ("i2", "ingest", week_day(0, 1), week_day(0, 1), "ok"),
        ("i3", "ingest", week_day(0, 2), week_day(0, 2), "failed"),
        ("i4", "ingest", week_day(0, 6, 23), None, "running"),
        ("m1", "import", week_day(0, 3), week_day(0, 3), "ok"),
        ("old", "ingest", week_day(1, 6), None, "running"),  # the week before: not this digest's
    ])
    d = build_digest(con, WEEK)
    assert d.runs == RunTally(runs=5, failed=1, unfinished=1, by_kind=(("import", 1), ("ingest", 4)))
    assert ("5 runs this week (import 1, ingest 4): 1 failed and 1 unfinished (killed, or still running). What a "
            "run saved is kept and the next run fetches the rest; `monitor runs` lists them.") in render_markdown(d)
    con.execute("UPDATE runs SET status = 'ok' WHERE run_id IN ('i3', 'i4')")
    assert "5 runs this week (import 1, ingest 4), all ended normally." in render_markdown(build_digest(con, WEEK))
    con.close()


def test_filtered_counts_cover_off_topic_and_every_kind_of_duplicate(sample: duckdb.DuckDBPyConnection) -> None:
    assert build_digest(sample, WEEK).intake == Intake(
        articles=11, stories=7, off_topic=1, duplicates=3,
        duplicates_by_kind=(("exact", 1), ("near", 1), ("contained", 1)),
    )


def test_hostile_headline_is_inert_in_html(sample: duckdb.DuckDBPyConnection) -> None:
    page = render_html(build_digest(sample, WEEK))
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "<b>Server" not in page
    assert html.escape("<script>alert(1)</script>") in page
    assert "&amp;amp;" in page  # the literal "&amp;" of the headline stays text
    # every link is http(s)
    assert all(h.startswith("https://") for h in re.findall(r'href="([^"]*)"', page))


def test_hostile_headline_is_inert_in_markdown(sample: duckdb.DuckDBPyConnection) -> None:
    text = render_markdown(build_digest(sample, WEEK))
    assert not re.search(r"(?<!\\)[<>]", text)  # every angle bracket is escaped: no raw HTML
    assert r"\[x\](javascript:" in text  # escaped brackets: text, not a link
    line = next(ln for ln in text.splitlines() if "alert(1)" in ln)
    assert r"\<script\>alert(1)\</script\>" in line
    assert r"\[x\]" in line and r"\*\*b\*\*" in line and r"\&amp;" in line
    # only http(s) link targets remain
    assert all(u.startswith("https://") for u in re.findall(r"(?<!\\)\]\(([^)]*)\)", text))


def test_markdown_digest_has_every_section_and_a_sparkline(sample: duckdb.DuckDBPyConnection) -> None:
    text = render_markdown(build_digest(sample, WEEK))
    lines = text.splitlines()
    headings = [ln for ln in lines if ln.startswith("#")]
    assert headings == [
        "# Weekly digest 2026-W45", "## Top stories", "## Rising", "## Falling", "## Stories by theme",
        "### Arms transfers (5)", "### Information operations (2)", "## New names",
        "## State-media content republished", "## Source health", "## Fetched this week",
    ]
    assert "| Arms transfers | 5 | 1.0 | `▂▂▂▂▂▂▂▂▂▂▂█` | 1 1 1 1 1 1 1 1 1 1 1 5 |" in lines
    assert "1. [Pantsir deliveries, part 0](https://state-wire.example/w-arms-0)  " in lines
    assert "   state-wire · Mon 2 Nov · 2 copies (portal-a, regional)  " in lines
    assert ("11 articles fetched during this week: 7 new stories (each counted in the week it was published), "
            "1 off-topic, 3 copies of known stories (exact 1, near 1, contained 1).") in lines


def test_html_digest_is_one_file_without_scripts_or_external_assets(sample: duckdb.DuckDBPyConnection) -> None:
    page = render_html(build_digest(sample, WEEK))
    assert page.startswith("<!DOCTYPE html>")
    # The charts are table cells, which mail clients keep: no SVG, no images.
    assert not re.search(r"<(script|link|iframe|object|svg|img)\b", page, re.I)
    assert not re.search(r'<[^>]*\bsrc=|url\(', page)


def test_a_week_without_data_says_so(con: duckdb.DuckDBPyConnection) -> None:
    d = build_digest(con, "2026-W10")
    assert d.empty and d.top_stories == () and d.themes == () and d.sources == ()
    text = render_markdown(d)
    assert "*2–8 March 2026* · No stories published in 2026-W10." in text.splitlines()
    assert "There were no new on-topic stories published this week." in text.splitlines()
    assert "No stories published in 2026-W10." in render_html(d)


def test_busiest_week_is_the_week_with_most_stories(sample: duckdb.DuckDBPyConnection) -> None:
    assert busiest_week(sample) == WEEK


def test_busiest_week_of_an_empty_warehouse_is_none(con: duckdb.DuckDBPyConnection) -> None:
    assert busiest_week(con) is None


def test_write_digest_puts_the_default_name_in_a_directory(sample: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_digest(sample, WEEK, "html", tmp_path)
    assert path == tmp_path / "digest-2026-W45.html"
    assert path.read_text(encoding="utf-8") == render_html(build_digest(sample, WEEK))
    md = save_digest(build_digest(sample, WEEK), "md", tmp_path / "sub" / "x.md")
    assert md.read_text(encoding="utf-8").startswith("# Weekly digest 2026-W45")


def test_unknown_format_is_a_digest_error(sample: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(DigestError, match="'pdf'"):
        write_digest(sample, WEEK, "pdf", tmp_path)


def test_default_week_comes_from_today(sample: duckdb.DuckDBPyConnection) -> None:
    assert build_digest(sample, today=date(2026, 11, 10)).week == WEEK


def test_markdown_digest_renders_to_html_without_tags_or_script_links(sample: duckdb.DuckDBPyConnection) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    rendered = markdown_it.MarkdownIt("commonmark").render(render_markdown(build_digest(sample, WEEK)))
    assert not re.search(r"<(script|img)\b", rendered)
    assert "<strong>b</strong>" not in rendered
    assert all(h.startswith("https://") for h in re.findall(r'href="([^"]*)"', rendered))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1))" in rendered


# --------------------------------------------------------------------------- every field hostile

MARKUP = '<i onmouseover="alert(1)">M</i> [m](javascript:alert(2)) **m** `m` &amp; # m | m'
#: An http URL trying to break out of its attribute or its Markdown link.
BREAKOUT_URL = 'https://evil.example/a"><b>x</b>(y) z'
_ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "div", "h1", "h2", "h3", "p", "ol", "ul", "li",
                 "strong", "br", "span", "a", "table", "tr", "th", "td", "code", "svg", "rect", "small"}


def _hostile(cls: type, text: str) -> object:
    """An instance of a digest value class with ``text`` in every string, found by its type hints,
    so that a field added later is covered without editing this test."""
    import typing

    def value(hint: object) -> object:
        args = typing.get_args(hint)
        origin = typing.get_origin(hint)
        if hint is str:
            return text
        if hint is bool:
            return False
        if hint is int:
            return 2
        if hint is float:
            return 1.5
        if hint is date:
            return date(2026, 11, 2)
        if hint is datetime:
            return datetime(2026, 11, 3, 9, tzinfo=UTC)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return (value(args[0]), value(args[0]))
        if origin is tuple:
            return tuple(value(a) for a in args)
        if args and type(None) in args:  # X | None: the X
            return value(next(a for a in args if a is not type(None)))
        if isinstance(hint, type):
            return _hostile(hint, text)
        raise AssertionError(f"no hostile value for {hint!r}")

    hints = typing.get_type_hints(cls)
    fields = getattr(cls, "__dataclass_fields__", None) or getattr(cls, "_fields")
    return cls(**{name: value(hints[name]) for name in fields})


class _Tags(__import__("html.parser").parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


@pytest.mark.parametrize("text", [MARKUP, BREAKOUT_URL])
def test_markup_in_every_field_of_a_digest_comes_out_as_text(text: str) -> None:
    from monitor.reports.digest import Digest

    d = _hostile(Digest, text)
    assert isinstance(d, Digest) and d.top_stories and d.new_names and d.source_problems and d.rising
    page = render_html(d)
    parser = _Tags()
    parser.feed(page)
    assert {tag for tag, _ in parser.tags} <= _ALLOWED_TAGS
    for tag, attrs in parser.tags:
        assert not [a for a, _ in attrs if a.startswith("on")], tag
        assert all((v or "").startswith("https://evil.example/a%22%3E%3Cb%3Ex%3C/b%3E%28y%29%20z")
                   for a, v in attrs if a == "href")
    assert text not in page  # escaped wherever it went
    markdown_it = pytest.importorskip("markdown_it")
    text_md = render_markdown(d)
    rendered = markdown_it.MarkdownIt("commonmark").render(text_md)
    parser = _Tags()
    parser.feed(rendered)
    assert {tag for tag, _ in parser.tags} <= {"h1", "h2", "h3", "p", "ol", "ul", "li", "strong", "em", "code",
                                              "a", "table", "thead", "tbody", "tr", "th", "td", "br"}
    assert all(v == "https://evil.example/a%22%3E%3Cb%3Ex%3C/b%3E%28y%29%20z"
               for tag, attrs in parser.tags for a, v in attrs if a == "href")
    # Nothing of the hostile text became markup: its words arrive whole, as text.
    assert "**m**" in rendered or text == BREAKOUT_URL


# --------------------------------------------------------------------------- two clocks, defaults, charts


def _taxonomy(con: duckdb.DuckDBPyConnection) -> None:
    for cid, facet, label in TAXONOMY:
        con.execute("INSERT INTO taxonomy VALUES (?, ?, ?, NULL, NULL, NULL, '1')", [cid, facet, label])


def test_stories_count_in_their_publication_week_and_intake_in_the_fetch_week_and_the_digest_says_so() -> None:
    con = connect(":memory:")
    _taxonomy(con)
    # Published three weeks before WEEK, fetched during WEEK (a backlog, a new source).
    for k in range(2):
        add_article(con, f"late-{k}", at=week_day(3, k), fetched_at=week_day(0, 2), tags=(("theme:energy", 0.8),))
    refresh_rollups(con)
    placement = ("Stories are counted in the week they were published (the week we fetched them when a page gives "
                 "no date we trust); source health, runs and what was fetched and filtered, in the week they happened.")
    published = render_markdown(build_digest(con, "2026-W42")).splitlines()
    assert "*12–18 October 2026* · 2 stories published this week." in published
    assert placement in published
    assert published[-1] == "Nothing was fetched during this week: its stories were fetched later."
    fetched = render_markdown(build_digest(con, WEEK)).splitlines()
    assert "*2–8 November 2026* · No stories published in 2026-W45." in fetched
    assert ("There were no new on-topic stories published this week: the 2 new stories fetched during it were "
            "published in other weeks and are counted there.") in fetched
    assert fetched[-1] == ("2 articles fetched during this week: 2 new stories (each counted in the week it was "
                           "published), 0 off-topic, 0 copies of known stories.")
    con.close()


def test_a_week_that_has_not_begun_is_refused_and_the_current_one_is_said_to_be_unfinished(
    sample: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(DigestError, match=r"^2026-W50 has not begun yet \(today, 2026-12-01, is in 2026-W49\): "
                                          r"the last complete week is 2026-W48\.$"):
        build_digest(sample, "2026-W50", today=date(2026, 12, 1))
    d = build_digest(sample, WEEK, today=date(2026, 11, 4))
    assert d.in_progress_on == date(2026, 11, 4)
    line = ("This week is not over: the digest was made on Wed 4 Nov, and what is published or fetched after that "
            "is not in it.")
    assert line in render_markdown(d).splitlines()
    assert f'<p class="note">{line}</p>' in render_html(d)
    assert build_digest(sample, WEEK, today=date(2026, 11, 9)).in_progress_on is None  # the Monday after


def test_the_default_week_gives_way_to_the_last_week_with_stories_and_says_so() -> None:
    con = connect(":memory:")
    _taxonomy(con)
    add_article(con, "only", at=week_day(3, 1), tags=(("theme:energy", 0.8),))  # in 2026-W42
    refresh_rollups(con)
    today = date(2026, 11, 10)  # the last complete week is WEEK, which has no story
    assert build_digest(con, today=today).week == WEEK  # the scheduled digest keeps its week
    d = build_digest(con, today=today, latest_with_data=True)
    assert (d.week, d.instead_of, d.stories) == ("2026-W42", WEEK, 1)
    line = ("2026-W45, the last complete week, has no stories: this is the digest of 2026-W42, the last week that "
            "has some (`monitor digest --week` picks another).")
    assert line in render_markdown(d).splitlines()
    # A default week that has stories is kept, and an explicit week is never replaced.
    assert build_digest(con, "2026-W45", today=today, latest_with_data=True).instead_of is None
    assert build_digest(con, today=date(2026, 10, 20), latest_with_data=True).instead_of is None
    con.close()


def test_trend_charts_share_one_scale_print_each_week_and_mark_weeks_before_any_data() -> None:
    con = connect(":memory:")
    _taxonomy(con)
    # A young warehouse: five weeks of one arms story a week, then ten in WEEK, five naming Russia.
    for w in range(1, 6):
        add_article(con, f"arms-{w}", at=week_day(w, 1), tags=(("theme:arms_transfers", 0.9),))
    for k in range(10):
        add_article(con, f"now-{k}", at=week_day(0, k % 7),
                    tags=(("theme:arms_transfers", 0.9), *((("country:russia", 0.5),) if k < 5 else ())))
    refresh_rollups(con)
    d = build_digest(con, WEEK)
    assert [(t.label, t.series) for t in d.rising] == [
        ("Arms transfers", (None,) * 6 + (1,) * 5 + (10,)),
        ("Russia", (None,) * 6 + (0,) * 5 + (5,)),
    ]
    lines = render_markdown(d).splitlines()
    # Russia's 5 is half of arms' 10 (on its own scale it was a full bar); · before any data, ▁ none.
    assert "| Arms transfers | 10 | 1.0 | `······▂▂▂▂▂█` | · · · · · · 1 1 1 1 1 10 |" in lines
    assert "| Russia | 5 | 0.0 | `······▁▁▁▁▁▅` | · · · · · · 0 0 0 0 0 5 |" in lines
    assert ("One scale for the table: █ is 10 stories a week, ▁ none; · marks a week before the warehouse's first "
            "story (no data).") in lines
    page = render_html(d)
    assert "height:32px;background:#c0392b" in page and "height:16px;background:#c0392b" in page
    counts = re.findall(r'<td style="padding:1px 1px 0;[^"]*">([^<]*)</td>', page)
    assert counts == ["·"] * 6 + ["1"] * 5 + ["10"] + ["·"] * 6 + ["0"] * 5 + ["5"]  # readable without hovering
    con.close()


def test_the_digest_says_how_top_stories_are_ranked(sample: duckdb.DuckDBPyConnection) -> None:
    d = build_digest(sample, WEEK)
    line = ("Ranked by how many copies other outlets ran, then by how many outlets ran them, then by relevance, "
            "newest first on a tie.")
    lines = render_markdown(d).splitlines()
    assert lines[lines.index("## Top stories") + 2] == line
    assert f'<h2>Top stories</h2>\n<p class="meta">{line}</p>' in render_html(d)


def test_the_digest_value_carries_the_week_s_quotation_links(con: duckdb.DuckDBPyConnection) -> None:
    # Issue 26: a story that quotes another stored text without being its copy.
    from monitor.judging.dedup import fingerprint_text
    from monitor.models import Document, Relevance
    from monitor.reports.digest import QuoteLine
    from monitor.runs.ingest import decide_and_save
    from monitor.storage.dedup_index import DedupIndex

    negatives = Path(__file__).resolve().parents[1] / "dedup_labelled" / "negatives"
    texts = {n: (negatives / f"{n}.txt").read_text(encoding="utf-8")
             for n in ("n1_air_defence", "n2_energy", "n3_republika_srpska")}
    brief = " ".join(texts["n1_air_defence"].split()[:80])
    day = datetime(2026, 10, 20, 9, tzinfo=UTC)  # 2026-W43

    def doc(doc_id: str, hours: int, text: str) -> Document:
        fp = fingerprint_text(text)
        url = f"https://{doc_id}.example/{doc_id}"
        return Document(id=doc_id, source=doc_id, url=url, canonical_url=url, title=doc_id.title(), text=text,
                        fetched_at=day, published_at=day + timedelta(hours=hours), date_source="feed",
                        date_confidence="high", content_hash=fp.content_hash, word_count=fp.word_count,
                        relevance=Relevance(True, 1.0, "test"), fingerprint=fp)

    column = f"{texts['n2_energy']}\n\n{brief}\n\n{texts['n3_republika_srpska']}"
    decide_and_save(con, DedupIndex(con), [doc("brief", 0, brief), doc("column", 2, column)], run_id="r")
    refresh_rollups(con)
    (line,) = build_digest(con, "2026-W43").quotations
    assert line == QuoteLine("column", "Column", "column", "brief", "Brief", "brief", 1.0, line.quoting_share)
    assert 0.1 < line.quoting_share < 0.2
    assert build_digest(con, "2026-W44").quotations == ()
    said = (f'Column (column) quotes "Brief" (brief): 100% of it, {round(line.quoting_share * 100)}% of the story.')
    md = render_markdown(build_digest(con, "2026-W43")).splitlines()
    assert md[md.index("## Quoted, not copied") + 4] == f"- {said}"
    assert f"<li>{said}</li>" in render_html(build_digest(con, "2026-W43"))


def test_the_digest_trusts_the_same_dates_as_the_stories_view() -> None:
    """The digest reads the week's stories from `articles` (two range scans, the first
    contact asked for undated stories' sources only); which dates it trusts must be the
    view's: undated stories in a source's first day are not, later ones are, a source
    without a name is a source too, and a date the feed gave is trusted."""
    con = connect(":memory:")
    _taxonomy(con)
    add_article(con, "old", at=week_day(5), source="portal-b")  # portal-b's first contact, long ago
    add_article(con, "b-undated", at=week_day(0, 2), source="portal-b", confidence="low")
    add_article(con, "c-first", at=week_day(0, 1), source="portal-c", confidence="low")  # its first day
    add_article(con, "c-same-day", at=week_day(0, 1, 15), source="portal-c", confidence="low")
    add_article(con, "c-later", at=week_day(0, 3), source="portal-c", confidence="low")
    add_article(con, "c-dated", at=week_day(0, 1, 10), source="portal-c")
    con.execute("INSERT INTO articles (id, kind, source, published_at, date_confidence, fetched_at, relevant) "
                "VALUES ('anon-first', 'article', NULL, NULL, 'low', ?, true), "
                "('anon-later', 'article', NULL, NULL, 'low', ?, true)", [week_day(0, 0), week_day(0, 4)])
    add_article(con, "next-week", at=week_day(-1, 1), source="portal-c", confidence="low")
    refresh_rollups(con)
    d = build_digest(con, WEEK, today=date(2026, 11, 30))
    view = dict(con.execute("SELECT id, date_trusted FROM stories WHERE week = ?", [WEEK]).fetchall())
    assert view == {"b-undated": True, "c-first": False, "c-same-day": False, "c-later": True, "c-dated": True,
                    "anon-first": False, "anon-later": True}
    assert {s.id: s.date_trusted for s in d.top_stories} == view
    assert (d.stories, d.undated) == (7, 3)
    con.close()


def test_a_run_that_commits_while_the_digest_reads_is_not_half_in_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest's ~16 queries read one snapshot, the one it names: a run committing a
    story and its fetches between two of them changes neither part, and `--as-of` that
    snapshot makes the same digest again."""
    from monitor.reports import digest as digest_module
    from monitor.storage.warehouse import close, current_snapshot
    from warehouse_helpers import opened

    db = tmp_path / "w.ducklake"
    writer = connect(db)
    build_sample(writer)
    refresh_rollups(writer)
    close(writer)

    original = digest_module._week_stories
    committed: list[int] = []

    def then_a_run_commits(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> object:
        stories = original(con, start, end)
        with opened(db) as run:
            add_article(run, "late-story", at=week_day(0, 2), source="regional", tags=(("theme:energy", 0.8),))
            add_fetches(run, "regional", week_day(0, 2), 3)
            committed.append(current_snapshot(run) or 0)
        return stories

    monkeypatch.setattr(digest_module, "_week_stories", then_a_run_commits)
    with opened(db, read_only=True) as reader:
        during = build_digest(reader, WEEK)
    monkeypatch.setattr(digest_module, "_week_stories", original)

    assert committed and during.snapshot is not None and during.snapshot < committed[0]
    assert during.intake.articles == 11  # the week's 11 fetched articles, not the late 12th
    assert next(h for h in during.sources if h.source == "regional").fetches == 6
    with opened(db, read_only=True, snapshot=during.snapshot) as again:
        assert build_digest(again, WEEK) == during
    with opened(db, read_only=True) as now:
        after = build_digest(now, WEEK)
    assert after.snapshot == committed[0] and after.intake.articles == 12


def test_a_part_that_fails_fails_the_digest_and_leaves_the_connection_as_it_was(
        sample: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parts are read on two readers at once: a part's error is the digest's (not a
    digest with a hole), and the caller's connection keeps its threads and reads on."""
    from monitor.reports import digest as digest_module

    whole = build_digest(sample, WEEK)
    threads = sample.execute("SELECT current_setting('threads')").fetchone()

    def broken(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> object:
        raise DigestError("the source-health part broke")

    monkeypatch.setattr(digest_module, "_source_health", broken)
    with pytest.raises(DigestError, match="source-health part broke"):
        build_digest(sample, WEEK)
    monkeypatch.undo()
    assert sample.execute("SELECT current_setting('threads')").fetchone() == threads
    assert build_digest(sample, WEEK) == whole


def test_a_story_s_themes_are_found_whatever_its_fetch_time_or_the_lack_of_one() -> None:
    """The tags of the week's stories are read within their fetch times (migration 014: the
    tags lie in fetch order). A story fetched weeks after it was published, and one with no
    fetch time at all, keep their themes."""
    con = connect(":memory:")
    for cid, facet, label in TAXONOMY:
        con.execute("INSERT INTO taxonomy VALUES (?, ?, ?, NULL, NULL, NULL, '1')", [cid, facet, label])
    add_article(con, "on-time", at=week_day(0, 1), tags=(("theme:energy", 0.9),))
    add_article(con, "late-fetch", at=week_day(0, 2), fetched_at=week_day(-3, 0), tags=(("theme:arms_transfers", 0.8),))
    add_article(con, "unfetched", at=week_day(0, 3), tags=(("theme:energy", 0.7),))
    con.execute("UPDATE articles SET fetched_at = NULL WHERE id = 'unfetched'")
    con.execute("UPDATE article_tags SET article_fetched_at = ? WHERE article_id = 'unfetched'",
                [datetime(1970, 1, 1, tzinfo=UTC)])  # as the writer stores a tag of an article without one
    add_article(con, "other-week", at=week_day(2, 1), tags=(("theme:army", 0.9),))
    refresh_rollups(con)
    d = build_digest(con, WEEK, today=date(2026, 12, 1))
    themes = {s.id: s.themes for s in d.top_stories}
    assert themes == {"on-time": ("Energy",), "late-fetch": ("Arms transfers",), "unfetched": ("Energy",)}
    con.close()
