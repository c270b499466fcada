"""Warehouse at scale: trend views and digest queries over N synthetic articles (default 1M).

Bulk-generates articles, tags and fetch log rows with SQL (``INSERT ... SELECT`` from
``range()``) into a file warehouse migrated by ``monitor.storage.warehouse.connect``, spread over
two years up to now, 100 outlets, ~4 tags per article from the real taxonomy, 10% copies,
15% off-topic, one page fetch per article. Bodies are 150 synthetic words (the real
bodies, ~600 words, and the raw pages are left out, so the size per article is a floor).
Then times (best of 3, after one warm-up) the views ``weekly_tag_counts``,
``concept_trends``, ``source_activity``, ``copy_chains`` and ``build_digest`` of the latest
complete week. Writes benchmarks/results/warehouse.json.

    .venv/bin/python benchmarks/bench_warehouse.py [--articles 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import peak_rss_mb, write_result  # noqa: E402

#: The issue's goal for each view and the digest.
GOAL_MS = 200.0
FULL_ARTICLES = 1_000_000
QUICK_ARTICLES = 50_000
ROUNDS = 3
#: Synthetic history: two years of articles, ending now.
DAYS = 730
SOURCES = 100
TAGS_PER_ARTICLE = 4
BODY_WORDS = 150

QUERIES: dict[str, str] = {
    "weekly_tag_counts (all weeks)": "SELECT * FROM weekly_tag_counts",
    "weekly_tag_counts (one concept, by week)":
        "SELECT week, articles FROM weekly_tag_counts WHERE concept_id = $c ORDER BY week",
    "concept_trends (all)": "SELECT * FROM concept_trends",
    "concept_trends (latest week)":
        "SELECT * FROM concept_trends WHERE week_start = (SELECT max(week_start) FROM concept_trends)",
    "source_activity": "SELECT * FROM source_activity",
    "copy_chains (all)": "SELECT count(*), max(hops) FROM copy_chains",
    "copy_chains (one week)":
        "SELECT * FROM copy_chains WHERE copy_at >= now() - INTERVAL 7 DAY",
    "amplification (one week)":
        "SELECT * FROM amplification WHERE published_at >= now() - INTERVAL 7 DAY",
    "weekly_amplification (all)": "SELECT * FROM weekly_amplification",
    "source_links (all)": "SELECT * FROM source_links",
}


def _id(number: str) -> str:
    """SQL for the id of the synthetic article ``number``: "a_" and 16 hex digits, as
    ``urls.article_id`` makes them from a URL's hash. Numbered ids ("a123") sort in the
    order the articles were stored, so a lookup by id skipped row groups by their min/max,
    which real ids never let it: the digest measured 0.32 s at a million with them and
    0.89 s with these (2026-12-07)."""
    return f"('a_' || printf('%016x', hash('a' || ({number}))))"


def populate(con: Any, n: int) -> dict[str, float]:
    """Fill the warehouse with ``n`` synthetic articles, their tags and fetch log; seconds per step."""
    from monitor.pipeline import make_judge
    from monitor.settings import DEFAULT_TAXONOMY
    from monitor.judging.taxonomy import save_taxonomy

    judge = make_judge(DEFAULT_TAXONOMY)
    save_taxonomy(con, judge.taxonomy)
    concepts = [c.id for c in judge.taxonomy.concepts]
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    con.execute(
        "INSERT INTO sources (name, url, owner, country, poll_minutes) "
        "SELECT 'outlet' || lpad(i::VARCHAR, 3, '0'), 'https://outlet' || i || '.example/feed.xml', "
        "['independent','state-affiliated','public','think-tank'][1 + i % 4], "
        "['RS','BA','ME','MK','XK','AL','BG','HR'][1 + i % 8], 60 FROM range($n) t(i)",
        {"n": SOURCES},
    )
    # Articles: published uniformly over DAYS up to now, fetched an hour later.
    con.execute(
        f"""
        INSERT INTO articles (id, kind, source, url, canonical_url, title, published_at, date_source,
                              date_confidence, fetched_at, text, content_hash, word_count, extractor,
                              relevant, relevance, relevance_reason, duplicate_of, duplicate_kind,
                              similarity, taxonomy_version, run_id, saved_at)
        SELECT {_id('i')},
               'article',
               'outlet' || lpad((i % {SOURCES})::VARCHAR, 3, '0'),
               'https://outlet' || (i % {SOURCES}) || '.example/news/' || i,
               'https://outlet' || (i % {SOURCES}) || '.example/news/' || i,
               'Synthetic headline number ' || i,
               now() - to_microseconds(CAST(({DAYS} * 86400e6) * (1 - i / $n) AS BIGINT)),
               'feed', 'high',
               now() - to_microseconds(CAST(({DAYS} * 86400e6) * (1 - i / $n) AS BIGINT)) + INTERVAL 1 HOUR,
               array_to_string(list_transform(range({BODY_WORDS}),
                   lambda x: 'w' || (hash(i, x) % 20000)::VARCHAR), ' '),
               md5(i::VARCHAR),
               {BODY_WORDS},
               'synthetic',
               hash(i, 'rel') % 100 >= 15,
               (hash(i, 'score') % 1000) / 1000.0,
               'synthetic',
               CASE WHEN i > 1000 AND hash(i, 'dup') % 10 = 0 THEN {_id("i - 1 - hash(i, 'of') % 1000")} END,
               CASE WHEN i > 1000 AND hash(i, 'dup') % 10 = 0 THEN 'near' END,
               CASE WHEN i > 1000 AND hash(i, 'dup') % 10 = 0 THEN 0.9 END,
               'bench', 'bench-run', now()
        FROM range($n) t(i)
        """,
        {"n": n},
    )
    timings["articles_s"] = time.perf_counter() - t0
    # Events: every story (an article that is no copy) in an event of up to four consecutive
    # stories, as the writer assigns them when it saves each batch. Without them the first
    # run on the warehouse would assign a million stories first (a warehouse from before
    # events), and the digest's events section would read an empty table.
    t0 = time.perf_counter()
    con.execute(
        f"""
        INSERT INTO event_assignments (article_id, event_id, via, score, evidence, story_at, dated, features,
                                       run_id, assigned_at)
        SELECT id, 'ev_' || {_id('n - n % 4')}, CASE WHEN n % 4 <> 0 THEN {_id('n - n % 4')} END,
               CASE WHEN n % 4 <> 0 THEN 2.0 END, CASE WHEN n % 4 <> 0 THEN ['name:synthetic'] END,
               published_at, true, ['name:synthetic'], 'bench-run', now()
        FROM (SELECT a.id, m.n, a.published_at FROM articles a
              JOIN (SELECT {_id('i')} AS id, i AS n FROM range($n) t(i)) m ON m.id = a.id
              WHERE a.kind = 'article' AND a.duplicate_of IS NULL)
        """,
        {"n": n},
    )
    timings["events_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute(
        f"""
        INSERT INTO article_tags (article_id, concept_id, score, evidence, taxonomy_version, article_fetched_at)
        SELECT x.*, a.fetched_at FROM (
            SELECT DISTINCT ON (article_id, concept_id) article_id, concept_id, score, evidence, 'bench' FROM (
                SELECT i, {_id('i')} AS article_id,
                       $concepts[1 + (hash(i, k) % len($concepts))::INTEGER] AS concept_id,
                       1.0 AS score, 'synthetic evidence' AS evidence
                FROM range($n) t(i), range({TAGS_PER_ARTICLE}) k(k)
            )
            ORDER BY i
        ) x JOIN articles a ON a.id = x.article_id
        ORDER BY a.fetched_at
        """,
        {"n": n, "concepts": concepts},
    )
    timings["tags_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute(
        """
        INSERT INTO fetch_log (id, run_id, fetched_at, source, kind, url, status, bytes, elapsed_ms, outcome, error)
        SELECT row_number() OVER (), 'bench-run', a.fetched_at, a.source, 'page', a.url,
               CASE WHEN hash(a.id) % 50 = 0 THEN 404 ELSE 200 END, 40000, 120.0,
               CASE WHEN hash(a.id) % 50 = 0 THEN 'error' ELSE 'ok' END,
               CASE WHEN hash(a.id) % 50 = 0 THEN 'http_404' END
        FROM articles a WHERE a.kind = 'article'
        """
    )
    timings["fetch_log_s"] = time.perf_counter() - t0
    # Operator ids: each source its own container, pairs of sources one analytics id, and
    # one id every source carries (a theme's: source_links must skip it).
    con.execute(
        f"""
        INSERT INTO site_identifiers (source, kind, identifier, pages, first_seen_at, last_seen_at, example_url, evidence)
        SELECT 'outlet' || lpad(i::VARCHAR, 3, '0'), k.kind,
               CASE k.kind WHEN 'gtm' THEN 'GTM-' || i WHEN 'ga4' THEN 'G-PAIR' || (i // 2) ELSE 'GTM-THEME' END,
               100, now() - INTERVAL 30 DAY, now(), 'https://outlet' || i || '.example/', 'synthetic'
        FROM range({SOURCES}) t(i), (VALUES ('gtm'), ('ga4'), ('theme')) k(kind)
        """
    )
    # Runs and feed state, as a warehouse of that age has them: a scheduled ingest every 15
    # minutes over DAYS, and each source's feed state. Left empty (as they were until
    # 2026-12-07), the digest read two tables DuckLake 1.5.5 keeps no statistics for until
    # their first row, and asks its catalog about column by column at every query
    # (duckdb/ducklake#1313): ~13 ms each that no warehouse in use pays.
    con.execute(
        """
        INSERT INTO runs (run_id, kind, started_at, finished_at, status, stats)
        SELECT 'bench-' || i, 'ingest', now() - to_microseconds(i * 900 * 1000000),
               now() - to_microseconds(i * 900 * 1000000) + INTERVAL 40 SECOND, 'ok', NULL
        FROM range($n) t(i)
        """,
        {"n": DAYS * 96},
    )
    con.execute(
        "INSERT INTO feed_state (source, url, consecutive_failures, last_success_at, last_attempt_at, next_poll_after) "
        "SELECT name, url, 0, now(), now(), now() + INTERVAL 1 HOUR FROM sources"
    )
    t0 = time.perf_counter()
    from monitor.storage.warehouse import location_of, refresh_rollups

    refresh_rollups(con)  # as every writing run does at its end
    if location_of(con) is None:  # a DuckDB file; a lake commits straight to Parquet
        con.execute("CHECKPOINT")
    timings["checkpoint_s"] = time.perf_counter() - t0
    return {k: round(v, 2) for k, v in timings.items()}


def timed(func: Callable[[], object]) -> dict[str, float]:
    """Best and median of ROUNDS runs after one warm-up, in milliseconds."""
    func()
    runs = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        func()
        runs.append((time.perf_counter() - t0) * 1000)
    return {"best_ms": round(min(runs), 1), "median_ms": round(statistics.median(runs), 1)}


def measure(n: int, directory: Path) -> dict[str, Any]:
    """Populate a file warehouse in ``directory`` with ``n`` articles and time every query."""
    from monitor.reports.digest import build_digest
    from monitor.storage.warehouse import close, connect
    from monitor.reports.weeks import last_complete_week

    db = directory / "scale.duckdb"
    con = connect(db)
    try:
        load = populate(con, n)
    finally:
        close(con)
    # The lake: its catalog and every file under its data path.
    size = db.stat().st_size + sum(p.stat().st_size for p in directory.glob("scale.duckdb.data/**/*") if p.is_file())
    # Analysts query a warehouse that is already open; the first open's cost is reported apart.
    t0 = time.perf_counter()
    con = connect(db, read_only=True)
    open_ms = (time.perf_counter() - t0) * 1000
    try:
        concept = con.execute(
            "SELECT concept_id FROM article_tags GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchall()[0][0]
        week = last_complete_week(datetime.now(UTC).date())
        results: dict[str, dict[str, float]] = {}
        for name, sql in QUERIES.items():
            params = {"c": concept} if "$c" in sql else None
            results[name] = timed(lambda sql=sql, params=params: con.execute(sql, params).fetchall())
        results[f"build_digest({week})"] = timed(lambda: build_digest(con, week))
        # `monitor explain` on the most copied story and on one of its copies.
        from monitor.reports.explain import explain_article

        story, copy = con.execute(
            "SELECT story_id, copy_id FROM copy_chains WHERE story_kind = 'article' "
            "ORDER BY count(*) OVER (PARTITION BY story_id) DESC, copy_id LIMIT 1").fetchall()[0]
        results["explain_article (most copied story)"] = timed(lambda: explain_article(con, story))
        results["explain_article (a copy)"] = timed(lambda: explain_article(con, copy))
        counts = con.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_tags), "
            "(SELECT count(*) FROM stories), (SELECT count(*) FROM fetch_log)"
        ).fetchall()[0]
        digest = build_digest(con, week)
    finally:
        con.close()
    slowest = max(v["best_ms"] for v in results.values())
    return {
        "articles": n,
        "rows": {"articles": counts[0], "article_tags": counts[1], "stories": counts[2], "fetch_log": counts[3]},
        "load_s": load,
        "db_bytes": size,
        "bytes_per_article": round(size / n, 1),
        "db_mb": round(size / 1e6, 1),
        "open_ms": round(open_ms, 1),
        "queries": results,
        "digest_week": week,
        "digest_stories": digest.stories,
        "goal_ms": GOAL_MS,
        "slowest_ms": slowest,
        "meets_goal": slowest < GOAL_MS,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "body_words": BODY_WORDS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=None, help=f"default {FULL_ARTICLES:,}")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ARTICLES:,} articles")
    parser.add_argument("--out", type=Path, default=None, help="results directory")
    args = parser.parse_args(argv)
    n = args.articles or (QUICK_ARTICLES if args.quick else FULL_ARTICLES)
    with tempfile.TemporaryDirectory(prefix="monitor-bench-warehouse-") as tmp:
        result = measure(n, Path(tmp))
    result["quick"] = args.quick
    path = write_result("warehouse", result, *([args.out] if args.out else []))
    print(json.dumps(result))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
