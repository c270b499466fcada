"""The warehouse views (warehouse/views.sql) and the example queries (warehouse/queries/)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from monitor.settings import WAREHOUSE_DIR
from monitor.storage.warehouse import connect, refresh_rollups
from warehouse_helpers import add_tag

QUERIES = sorted((WAREHOUSE_DIR / "queries").glob("*.sql"))
T0 = datetime(2026, 9, 7, 12, 0, tzinfo=UTC)  # a Monday, ISO week 2026-W37


def art(
    con: duckdb.DuckDBPyConnection,
    id: str,
    *,
    source: str | None = "portal",
    published: datetime | None = None,
    fetched: datetime = T0,
    confidence: str | None = "high",
    relevant: bool = True,
    dup: str | None = None,
    kind: str = "article",
    tags: tuple[str, ...] = (),
) -> None:
    con.execute(
        "INSERT INTO articles (id, kind, source, url, title, published_at, date_confidence, fetched_at,"
        " relevant, duplicate_of, duplicate_kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [id, kind, source, f"https://x.example/{id}", f"T {id}", published, confidence, fetched,
         relevant, dup, None if dup is None else "near"],
    )
    for c in tags:
        add_tag(con, id, c)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    # Rows are inserted with SQL here: refresh the trend tables as a writing run would.
    refresh_rollups(con)
    return con.execute(sql, params or []).fetchall()


def test_story_date_comes_from_trusted_publication_else_fetch(con: duckdb.DuckDBPyConnection) -> None:
    early = T0 - timedelta(days=10)
    art(con, "first", fetched=early - timedelta(days=30))  # the source's first contact, long ago
    art(con, "dated", published=T0 - timedelta(days=3), confidence="high")
    art(con, "day-only", published=T0 - timedelta(days=8), confidence="medium")
    art(con, "undated", published=None, confidence="low")
    art(con, "future", published=T0 + timedelta(days=40), confidence="high")
    art(con, "legacy", published=T0 - timedelta(days=1), confidence=None)
    assert rows(con, "SELECT id, story_at, story_date_basis, date_trusted, week, week_start FROM stories "
                     "WHERE id <> 'first' ORDER BY id") == [
        ("dated", T0 - timedelta(days=3), "published", True, "2026-W36", date(2026, 8, 31)),
        ("day-only", T0 - timedelta(days=8), "published", True, "2026-W35", date(2026, 8, 24)),
        ("future", T0, "fetched", True, "2026-W37", date(2026, 9, 7)),
        ("legacy", T0 - timedelta(days=1), "published", True, "2026-W36", date(2026, 8, 31)),
        ("undated", T0, "fetched", True, "2026-W37", date(2026, 9, 7)),
    ]


def test_undated_backlog_of_a_new_source_is_a_story_but_not_a_spike(con: duckdb.DuckDBPyConnection) -> None:
    # A new source's first read: six undated items of unknown age, all fetched at T0.
    for k in range(6):
        art(con, f"backlog-{k}", source="newcomer", confidence="low", fetched=T0 + timedelta(minutes=k),
            tags=("theme:energy",))
    # Two days later an undated item is new since the last poll: its fetch time is its date.
    art(con, "fresh", source="newcomer", confidence="low", fetched=T0 + timedelta(days=2), tags=("theme:energy",))
    assert rows(con, "SELECT count(*), count(*) FILTER (WHERE date_trusted) FROM stories") == [(7, 1)]
    assert rows(con, "SELECT * FROM weekly_tag_counts") == [("2026-W37", "theme:energy", 1, date(2026, 9, 7))]
    assert rows(con, "SELECT * FROM weekly_story_counts") == [("2026-W37", date(2026, 9, 7), 7, 6)]


def test_weeks_are_utc_whatever_the_session_time_zone(con: duckdb.DuckDBPyConnection) -> None:
    art(con, "late-sunday", published=datetime(2026, 9, 6, 23, 30, tzinfo=UTC), fetched=T0)
    con.execute("SET TimeZone = 'Pacific/Auckland'")
    assert rows(con, "SELECT week, week_start FROM stories") == [("2026-W36", date(2026, 8, 31))]


def test_copies_and_off_topic_articles_are_not_stories(con: duckdb.DuckDBPyConnection) -> None:
    art(con, "orig", published=T0, tags=("theme:energy",))
    art(con, "copy", published=T0, dup="orig", tags=("theme:energy",))
    art(con, "off", published=T0, relevant=False, tags=("theme:energy",))
    art(con, "seed", source=None, kind="reference", tags=("theme:energy",))
    assert rows(con, "SELECT id FROM stories") == [("orig",)]
    assert rows(con, "SELECT week, concept_id, articles FROM weekly_tag_counts") == [
        ("2026-W37", "theme:energy", 1)
    ]


def test_concept_trend_flags_rising_and_falling_against_the_eight_week_baseline(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("INSERT INTO taxonomy VALUES ('theme:energy', 'theme', 'Energy', NULL, NULL, NULL, '1')")
    counts = {"theme:energy": [2, 2, 2, 2, 2, 2, 2, 2, 1, 0], "theme:arms_transfers": [0, 1, 0, 1, 0, 1, 0, 1, 4, 1]}
    for concept, per_week in counts.items():
        for w, n in enumerate(per_week):
            for k in range(n):
                art(con, f"{concept}-{w}-{k}", published=T0 + timedelta(weeks=w, hours=k), fetched=T0 + timedelta(weeks=w, hours=k),
                    tags=(concept,))
    got = rows(con, "SELECT week, concept_id, label, facet, stories, baseline, baseline_weeks, ratio, trend "
                    "FROM concept_trends WHERE week_start <= DATE '2026-11-09' ORDER BY concept_id, week_start")
    energy = [r for r in got if r[1] == "theme:energy"]
    arms = [r for r in got if r[1] == "theme:arms_transfers"]
    assert len(energy) == len(arms) == 10  # a dense grid: weeks without stories are rows with 0
    assert energy[0] == ("2026-W37", "theme:energy", "Energy", "theme", 2, 0.0, 0, None, None)
    assert energy[3][-1] is None and energy[4][-1] == "steady"  # 4 weeks of history before a call
    assert energy[8] == ("2026-W45", "theme:energy", "Energy", "theme", 1, 2.0, 8, 0.5, "falling")
    # the baseline dropped under 2 a week: too small to call a fall
    assert energy[9] == ("2026-W46", "theme:energy", "Energy", "theme", 0, 1.88, 8, 0.0, "steady")
    assert arms[8] == ("2026-W45", "theme:arms_transfers", "theme:arms_transfers", "theme", 4, 0.5, 8, 8.0, "rising")
    assert arms[9][-1] == "steady"


def test_concept_trend_runs_to_the_current_week(con: duckdb.DuckDBPyConnection) -> None:
    art(con, "old", published=T0 - timedelta(weeks=3), tags=("theme:energy",))
    last = rows(con, "SELECT max(week_start), CAST(date_trunc('week', timezone('UTC', now())) AS DATE) FROM concept_trends")
    assert last[0][0] == last[0][1]


def test_copy_chains_follow_a_copy_of_a_copy_to_the_story(con: duckdb.DuckDBPyConnection) -> None:
    art(con, "orig", source="wire", published=T0)
    art(con, "c1", source="portal", published=T0 + timedelta(hours=2), dup="orig")
    art(con, "c2", source="aggregator", published=T0 + timedelta(hours=5), dup="c1")
    art(con, "seed", source=None, kind="reference", fetched=T0)
    art(con, "c3", source="portal", published=None, confidence="low", fetched=T0 + timedelta(hours=1), dup="seed")
    assert rows(con, "SELECT copy_id, copy_source, original_id, story_id, story_kind, story_source, hops, lag_hours "
                     "FROM copy_chains ORDER BY copy_id") == [
        ("c1", "portal", "orig", "orig", "article", "wire", 1, 2.0),
        ("c2", "aggregator", "c1", "orig", "article", "wire", 2, 5.0),
        ("c3", "portal", "seed", "seed", "reference", None, 1, None),
    ]
    assert rows(con, "SELECT * FROM story_copies ORDER BY story_id") == [
        ("orig", 2, 2, ["aggregator", "portal"]),
        ("seed", 1, 1, ["portal"]),
    ]


def test_copy_chains_show_the_verified_overlap_with_the_story_and_quotation_links_name_both_sides(
    con: duckdb.DuckDBPyConnection,
) -> None:
    art(con, "orig", source="wire", published=T0)
    art(con, "c1", source="portal", published=T0 + timedelta(hours=2), dup="orig")
    art(con, "c2", source="mirror", published=T0 + timedelta(hours=3), dup="orig")
    art(con, "roundup", source="digest", published=T0 + timedelta(hours=4))
    con.execute("INSERT INTO copy_overlaps VALUES ('c1', 'orig', 400, 0.91, 0.95, 0.96, $1), "
                "('c2', 'old-root', 90, 0.5, 0.6, 0.7, $1)", [T0])  # c2's row is of a root it had before
    con.execute("INSERT INTO quotations VALUES ('roundup', 'orig', 1.0, 0.25, 120, 'r', $1)", [T0])
    assert rows(con, "SELECT copy_id, story_id, jaccard, containment, root_containment FROM copy_chains "
                     "ORDER BY copy_id") == [("c1", "orig", 0.91, 0.95, 0.96), ("c2", "orig", None, None, None)]
    assert rows(con, "SELECT * EXCLUDE (saved_at) FROM quotation_links") == [
        ("roundup", "digest", "T roundup", "orig", "article", "wire", "T orig", 1.0, 0.25, 120)]


def test_a_duplicate_cycle_does_not_hang_the_copy_chain(con: duckdb.DuckDBPyConnection) -> None:
    art(con, "a", dup="b")
    art(con, "b", dup="a")
    assert rows(con, "SELECT copy_id, story_id, hops FROM copy_chains ORDER BY copy_id") == [
        ("a", "b", 1), ("b", "a", 1)
    ]


def log(con: duckdb.DuckDBPyConnection, source: str, at: datetime, outcome: str = "ok", kind: str = "feed",
        error: str | None = None) -> None:
    con.execute("INSERT INTO fetch_log (id, fetched_at, source, kind, url, outcome, error) "
                "SELECT coalesce(max(id), 0) + 1, ?, ?, ?, 'u', ?, ? FROM fetch_log", [at, source, kind, outcome, error])


def test_source_activity_between_gives_each_source_a_status(con: duckdb.DuckDBPyConnection) -> None:
    for name in ["healthy", "failing", "flaky", "silent", "idle", "future"]:
        con.execute("INSERT INTO sources (name, url, owner) VALUES (?, 'u', 'independent')", [name])
    since, until = T0, T0 + timedelta(days=7)
    for d in range(3):
        log(con, "healthy", T0 + timedelta(days=d))
        log(con, "failing", T0 + timedelta(days=d), "error", error="timeout")
        log(con, "flaky", T0 + timedelta(days=d), "error" if d < 2 else "ok", kind="page", error="http_404")
        log(con, "silent", T0 + timedelta(days=d), "not_modified")
    log(con, "flaky", T0, "ok")
    log(con, "idle", T0 - timedelta(days=30))
    log(con, "future", T0 + timedelta(days=9))
    art(con, "h1", source="healthy", published=T0, fetched=T0 + timedelta(days=1))
    art(con, "f1", source="flaky", published=T0, fetched=T0 + timedelta(days=1), relevant=False)
    art(con, "s1", source="silent", published=T0, fetched=T0 - timedelta(days=20))
    got = rows(con, "SELECT source, status, fetches, errors, error_rate, not_modified, top_error, new_articles, "
                    "new_stories FROM source_activity_between(?, ?) ORDER BY source", [since, until])
    assert got == [
        ("failing", "failing", 3, 3, 1.0, 0, "timeout", 0, 0),
        ("flaky", "errors", 4, 2, 0.5, 0, "http_404", 1, 0),
        ("healthy", "ok", 3, 0, 0.0, 0, None, 1, 1),
        ("idle", "not_polled", 0, 0, None, 0, None, 0, 0),
        ("silent", "silent", 3, 0, 0.0, 3, None, 0, 0),
    ]


def test_source_activity_between_counts_coverage_gaps_in_the_window(con: duckdb.DuckDBPyConnection) -> None:
    for name in ["outrun", "flaky"]:
        con.execute("INSERT INTO sources (name, url, owner) VALUES (?, 'u', 'independent')", [name])
        log(con, name, T0)
        art(con, f"{name}-1", source=name, published=T0, fetched=T0)
    log(con, "flaky", T0 + timedelta(days=1), "error", kind="page", error="timeout")
    log(con, "flaky", T0 + timedelta(days=2), "error", kind="page", error="timeout")

    def gap(source: str, since: datetime, detected: datetime, reason: str) -> None:
        con.execute("INSERT INTO coverage_gaps (source, since, until, detected_at, items, dated, reason) "
                    "VALUES (?, ?, ?, ?, 20, true, ?)", [source, since, detected, detected, reason])

    gap("outrun", T0 - timedelta(days=9), T0 - timedelta(days=8), "before the window")
    gap("outrun", T0, T0 + timedelta(days=1), "first")
    gap("outrun", T0 + timedelta(days=1), T0 + timedelta(days=2), "latest")
    gap("flaky", T0, T0 + timedelta(days=1), "flaky gap")
    got = rows(con, "SELECT source, status, coverage_gaps, last_gap FROM source_activity_between(?, ?) "
                    "ORDER BY source", [T0, T0 + timedelta(days=7)])
    # Errors outrank gaps as a status; the gap is still counted.
    assert got == [("flaky", "errors", 1, "flaky gap"), ("outrun", "gaps", 2, "latest")]


def test_weekly_intake_counts_what_was_filtered(con: duckdb.DuckDBPyConnection) -> None:
    art(con, "s", published=T0)
    art(con, "off", published=T0, relevant=False)
    art(con, "copy", published=T0, dup="s")
    art(con, "seed", source=None, kind="reference")
    assert rows(con, "SELECT * FROM weekly_intake") == [("2026-W37", date(2026, 9, 7), 3, 1, 1, 1, 0, 0, 1, 0)]


def test_views_reapply_on_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    con = connect(path)
    assert {r[0] for r in rows(con, "SELECT view_name FROM duckdb_views() WHERE NOT internal")} >= {
        "stories", "weekly_tag_counts", "weekly_story_counts", "concept_trends", "concept_first_seen",
        "copy_chains", "story_copies", "weekly_intake", "source_activity", "quotation_links",
    }
    con.close()


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem for q in QUERIES])
def test_example_query_says_what_it_answers_and_runs(con: duckdb.DuckDBPyConnection, query: Path) -> None:
    text = query.read_text(encoding="utf-8")
    assert text.startswith("-- ") and "?" in text.splitlines()[0] + text.splitlines()[1]
    con.execute("INSERT INTO sources (name, url, owner) VALUES ('wire', 'u', 'state-affiliated')")
    con.execute("INSERT INTO taxonomy VALUES ('theme:arms_transfers', 'theme', 'Arms transfers', NULL, NULL, NULL, '1')")
    now = datetime.now(UTC)
    art(con, "o", source="wire", published=now - timedelta(days=8), fetched=now - timedelta(days=8),
        tags=("theme:arms_transfers", "country:serbia"))
    art(con, "c", source="portal", published=now - timedelta(days=8), fetched=now - timedelta(days=8), dup="o")
    log(con, "wire", now - timedelta(days=1))
    result = rows(con, text)
    assert isinstance(result, list)


def test_example_queries_exist() -> None:
    assert len(QUERIES) >= 6


def test_the_week_number_names_the_same_iso_week_in_utc_as_strftime(con: duckdb.DuckDBPyConnection) -> None:
    """utc_week_index/utc_week_name (views.sql) against timezone() + strftime(): every
    37 minutes 13 seconds over 80 years around the epoch (before it the division floors),
    and the last and first microsecond of an ISO week, in a session in another zone."""
    con.execute("SET TimeZone = 'America/Los_Angeles'")
    assert con.execute(
        "SELECT count(*), count(*) FILTER (WHERE utc_week_name(utc_week_index(t)) "
        "<> strftime(timezone('UTC', t), '%G-W%V')) "
        "FROM (SELECT TIMESTAMPTZ '1940-01-01 00:00:00+00' + i * INTERVAL 37 MINUTE + i * INTERVAL 13 SECOND AS t "
        "FROM range(1100000) r(i))").fetchall() == [(1_100_000, 0)]
    assert con.execute(
        "SELECT utc_week_name(utc_week_index(TIMESTAMPTZ '2026-01-04 23:59:59.999999+00')), "
        "utc_week_name(utc_week_index(TIMESTAMPTZ '2026-01-05 00:00:00+00')), "
        "utc_week_name(utc_week_index(TIMESTAMPTZ '1969-12-31 23:59:59+00'))").fetchall() == [
        ("2026-W01", "2026-W02", "1970-W01")]
