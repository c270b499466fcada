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
        con.execute("INSERT INTO article_tags VALUES (?, ?, ?, ?, '1')", [id, concept, score, concept])


def add_fetches(
    con: duckdb.DuckDBPyConnection, source: str, at: datetime, n: int, *, outcome: str = "ok",
    error: str | None = None, detail: str | None = None,
) -> None:
    for i in range(n):
        con.execute(
            "INSERT INTO fetch_log (fetched_at, source, kind, url, status, outcome, error, detail) "
            "VALUES (?, ?, 'feed', ?, ?, ?, ?, ?)",
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
    assert f"<p>{line}</p>" in render_html(d)


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
    headings = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert headings == [
        "# Weekly digest 2026-W45", "## Top stories", "## Rising", "## Falling", "## Stories by theme",
        "### Arms transfers (5)", "### Information operations (2)", "## New names",
        "## State-media content republished", "## Source health",
        "## Filtered out",
    ]
    assert "| Arms transfers | 5 | 1.0 | `▂▂▂▂▂▂▂▂▂▂▂█` |" in text
    assert "1. [Pantsir deliveries, part 0](https://state-wire.example/w-arms-0)  " in text
    assert "   state-wire · Mon 2 Nov · 2 copies (portal-a, regional)  " in text
    assert "11 articles read: 7 new stories, 1 off-topic, 3 copies of known stories (exact 1, near 1, contained 1)." in text


def test_html_digest_is_one_file_without_scripts_or_external_assets(sample: duckdb.DuckDBPyConnection) -> None:
    page = render_html(build_digest(sample, WEEK))
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == len(build_digest(sample, WEEK).rising) + len(build_digest(sample, WEEK).falling)
    assert not re.search(r"<(script|link|iframe|object)\b", page, re.I)
    assert not re.search(r'<[^>]*\bsrc=|url\(', page)


def test_a_week_without_data_says_so(con: duckdb.DuckDBPyConnection) -> None:
    d = build_digest(con, "2026-W10")
    assert d.empty and d.top_stories == () and d.themes == () and d.sources == ()
    text = render_markdown(d)
    assert "No stories in 2026-W10." in text
    assert "There were no new on-topic stories this week." in text
    assert "No stories in 2026-W10." in render_html(d)


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
