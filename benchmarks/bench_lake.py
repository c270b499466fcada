"""The lake against a DuckDB file, side by side on the same data and the same code (issue 28).

Two warehouses per size, the lake (SQLite catalog + Parquet, the default) and a plain
DuckDB file (``duckdb:PATH``: the same keyless schema in one file, the format before the
lake), each filled by ``bench_warehouse.populate`` with N synthetic articles. Then:

  * views and the digest at N (best of 3 after a warm-up; goal < 200 ms each);
  * bytes per article on disk (catalog + data files);
  * a `monitor import` of P generated pages into each, in its own process, with 10k and N
    articles already stored: pages per second (goal: the lake within 10% of the file; at 10k
    the two run back to back in 3 rounds, each into a fresh copy, ratio per round) and
    the writer's peak RSS (goal: N within 1.25x of 10k, memory no longer grows with the
    warehouse);
  * an analyst's query (the week's stories and a trend) every 0.2 s while that import
    writes: its latency on the lake, and what the file does (refuses the reader).

The DuckDB file here has no keys or indexes either (the migrations declare none): the
figures of the DuckDB 2.0 file with its ART indexes are those recorded in warehouse.json
and memory.json before the lake. Writes benchmarks/results/lake.json.

    .venv/bin/python benchmarks/bench_lake.py [--articles 1000000] [--pages 1000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_warehouse import QUERIES, populate, timed  # noqa: E402
from common import generate_pages, peak_rss_mb, run_child, write_pages, write_result  # noqa: E402

GOAL_MS = 200.0
#: Import throughput of the lake, at least this share of the file's.
THROUGHPUT_GOAL = 0.90
#: Writer peak RSS with N stored, at most this multiple of the one with 10k stored.
RSS_GOAL = 1.25
FULL_ARTICLES = 1_000_000
QUICK_ARTICLES = 20_000
SMALL_ARTICLES = 10_000
FULL_PAGES = 1000
QUICK_PAGES = 150
KINDS = ("file", "lake")
#: Seconds between two analyst queries while an import writes.
ANALYST_EVERY_S = 0.2
#: Rounds of the import into 10k stored, the lake's and the file's back to back in each
#: (their order alternating), each into a fresh copy of the 10k warehouse: the machine's
#: speed drifts 10-20% over minutes, so the ratio is taken within each round and the
#: median reported.
IMPORT_ROUNDS = 3


def target(kind: str, directory: Path, n: int) -> str:
    """How each kind of warehouse is named to ``connect``."""
    return f"duckdb:{directory / f'file{n}.duckdb'}" if kind == "file" else str(directory / f"lake{n}.ducklake")


def disk_bytes(kind: str, directory: Path, n: int) -> int:
    """The warehouse's bytes: the file, or the lake's catalog and every file of its data path."""
    base = directory / (f"file{n}.duckdb" if kind == "file" else f"lake{n}.ducklake")
    files = [base, *Path(f"{base}.data").rglob("*"), Path(f"{base}.wal")]
    return sum(p.stat().st_size for p in files if p.is_file())


def build(kind: str, directory: Path, n: int) -> dict[str, Any]:
    """A warehouse of ``kind`` with ``n`` synthetic articles; load seconds and bytes."""
    from monitor.storage.warehouse import close, connect

    t0 = time.perf_counter()
    con = connect(target(kind, directory, n))
    try:
        load = populate(con, n)
    finally:
        close(con)
    return {"load_s": round(time.perf_counter() - t0, 1), "steps_s": load,
            "bytes": disk_bytes(kind, directory, n), "bytes_per_article": round(disk_bytes(kind, directory, n) / n, 1)}


def views(kind: str, directory: Path, n: int) -> dict[str, Any]:
    """Every view of bench_warehouse and the digest of the last complete week, read-only."""
    from monitor.reports.digest import build_digest
    from monitor.reports.weeks import last_complete_week
    from monitor.storage.warehouse import close, connect

    t0 = time.perf_counter()
    con = connect(target(kind, directory, n), read_only=True)
    open_ms = (time.perf_counter() - t0) * 1000
    try:
        concept = con.execute("SELECT concept_id FROM weekly_tag_counts GROUP BY 1 ORDER BY sum(articles) DESC "
                              "LIMIT 1").fetchall()[0][0]
        week = last_complete_week(datetime.now(UTC).date())
        out: dict[str, dict[str, float]] = {}
        for name, sql in QUERIES.items():
            params = {"c": concept} if "$c" in sql else None
            out[name] = timed(lambda sql=sql, params=params: con.execute(sql, params).fetchall())
        out["build_digest"] = timed(lambda: build_digest(con, week))
    finally:
        close(con)
    return {"open_ms": round(open_ms, 1), "queries": out, "slowest_ms": max(v["best_ms"] for v in out.values())}


def fresh_copy(kind: str, directory: Path, n: int, into: Path) -> str:
    """A copy of the ``kind`` warehouse with ``n`` articles under ``into`` (replaced); its target."""
    src = Path(target(kind, directory, n).removeprefix("duckdb:"))
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    shutil.copy2(src, into / src.name)
    if Path(f"{src}.data").is_dir():
        shutil.copytree(f"{src}.data", into / f"{src.name}.data")
    return target(kind, into, n)


def imports_side_by_side(directory: Path, pages_dir: Path, rounds: int) -> dict[str, Any]:
    """The import into 10k stored, lake and file back to back in each round (see IMPORT_ROUNDS)."""
    runs: list[dict[str, Any]] = []
    for r in range(rounds):
        run: dict[str, Any] = {}
        for kind in (KINDS if r % 2 == 0 else KINDS[::-1]):
            copy = fresh_copy(kind, directory, SMALL_ARTICLES, directory / f"round{r}-{kind}")
            run[kind] = run_child([__file__, "--child", copy, str(pages_dir)])
        run["ratio"] = run["lake"]["pages_per_s"] / run["file"]["pages_per_s"]
        runs.append(run)
        print(f"import round {r + 1}: lake/file {run['ratio']:.3f}", file=sys.stderr)
    median = sorted(runs, key=lambda run: run["ratio"])[len(runs) // 2]
    return {"rounds": [{"ratio": round(run["ratio"], 3),
                        **{kind: run[kind]["pages_per_s"] for kind in KINDS}} for run in runs],
            "ratio": round(statistics.median(run["ratio"] for run in runs), 3),
            "median_round": median}


def child(warehouse: str, pages_dir: str, opened: str | None = None) -> dict[str, Any]:
    """Import the pages into ``warehouse`` in this process: pages/s and peak RSS; touch
    ``opened`` once the writer holds the warehouse."""
    from monitor.runs.importer import import_paths
    from monitor.runs.ingest import IngestSession
    from monitor.settings import load_settings

    settings = load_settings(environ={}).with_(warehouse=warehouse)
    t0 = time.perf_counter()
    with IngestSession.open(settings, kind="import") as session:
        if opened:
            Path(opened).touch()
        counts = import_paths(session, [Path(pages_dir)], workers=1)
    took = time.perf_counter() - t0
    pages = sum(1 for _ in Path(pages_dir).rglob("*.html"))
    return {"seconds": round(took, 1), "pages_per_s": round(pages / took, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
            "saved": sum(counts.get(k, 0) for k in ("stories", "duplicates", "off_topic"))}


ANALYST_SQL = ("SELECT count(*) FROM stories WHERE story_at >= now() - INTERVAL 7 DAY",
               "SELECT week, articles FROM weekly_tag_counts ORDER BY week DESC LIMIT 12")


def import_while_reading(kind: str, directory: Path, n: int, pages_dir: Path) -> dict[str, Any]:
    """Import in a child process while this one queries as an analyst would."""
    from monitor.exceptions import WarehouseError
    from monitor.storage.warehouse import close, connect

    name = target(kind, directory, n)
    opened = directory / f"opened-{kind}"
    proc = subprocess.Popen([sys.executable, __file__, "--child", name, str(pages_dir), str(opened)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    latencies: list[float] = []
    refused: list[str] = []
    # The writer first: on the DuckDB file an analyst's open session would refuse the run
    # itself (issue 28's first complaint), and this measures the analyst's side.
    while not opened.exists() and proc.poll() is None:
        time.sleep(0.05)
    while proc.poll() is None:
        t0 = time.perf_counter()
        try:
            con = connect(name, read_only=True)
            for sql in ANALYST_SQL:
                con.execute(sql).fetchall()
            close(con)
            latencies.append((time.perf_counter() - t0) * 1000)
        except (WarehouseError, Exception) as exc:  # noqa: BLE001 - what the reader meets is the measurement
            refused.append(str(exc).splitlines()[0][:160])
        time.sleep(ANALYST_EVERY_S)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"import child failed: {err[-2000:]}")
    imported = json.loads(out.strip().splitlines()[-1])
    return {"import": imported, "analyst_queries": len(latencies), "analyst_refused": len(refused),
            "analyst_first_refusal": refused[0] if refused else None,
            "analyst_median_ms": round(statistics.median(latencies), 1) if latencies else None,
            "analyst_p95_ms": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))], 1) if latencies else None}


def idle_analyst_ms(kind: str, directory: Path, n: int) -> float:
    from monitor.storage.warehouse import close, connect

    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        con = connect(target(kind, directory, n), read_only=True)
        for sql in ANALYST_SQL:
            con.execute(sql).fetchall()
        close(con)
        runs.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(runs), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=None, help=f"default {FULL_ARTICLES:,}")
    parser.add_argument("--pages", type=int, default=None, help=f"pages imported (default {FULL_PAGES})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ARTICLES:,} articles, {QUICK_PAGES} pages")
    parser.add_argument("--rounds", type=int, default=IMPORT_ROUNDS,
                        help=f"rounds of the side-by-side import into 10k stored (default {IMPORT_ROUNDS})")
    parser.add_argument("--out", type=Path, default=None, help="results directory")
    parser.add_argument("--child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    n = args.articles or (QUICK_ARTICLES if args.quick else FULL_ARTICLES)
    n_pages = args.pages or (QUICK_PAGES if args.quick else FULL_PAGES)
    result: dict[str, Any] = {"articles": n, "pages": n_pages, "quick": args.quick, "goal_ms": GOAL_MS,
                              "throughput_goal": THROUGHPUT_GOAL, "rss_goal": RSS_GOAL, "kinds": {}}
    with tempfile.TemporaryDirectory(prefix="monitor-bench-lake-") as tmp:
        directory = Path(tmp)
        pages_dir = directory / "pages"
        write_pages(generate_pages(n_pages), pages_dir)
        for kind in KINDS:
            row: dict[str, Any] = {}
            for size in (SMALL_ARTICLES, n):
                row[f"build_{size}"] = build(kind, directory, size)
                print(f"{kind}: {size} articles built", file=sys.stderr)
            row["views"] = views(kind, directory, n)
            row["idle_analyst_ms"] = idle_analyst_ms(kind, directory, n)
            row["bytes_per_article"] = row[f"build_{n}"]["bytes_per_article"]
            result["kinds"][kind] = row
        side = imports_side_by_side(directory, pages_dir, args.rounds)
        result["import_rounds"] = side["rounds"]
        for kind in KINDS:
            row = result["kinds"][kind]
            row["import_into_10k"] = side["median_round"][kind]
            row["import_into_n_with_analyst"] = import_while_reading(kind, directory, n, pages_dir)
            print(f"{kind}: done", file=sys.stderr)
    lake, file = result["kinds"]["lake"], result["kinds"]["file"]
    throughput = side["ratio"]
    rss_growth = lake["import_into_n_with_analyst"]["import"]["peak_rss_mb"] / lake["import_into_10k"]["peak_rss_mb"]
    result["summary"] = {
        "lake_slowest_view_ms": lake["views"]["slowest_ms"], "file_slowest_view_ms": file["views"]["slowest_ms"],
        "views_meet_goal": lake["views"]["slowest_ms"] < GOAL_MS,
        "lake_vs_file_import_throughput": round(throughput, 3), "throughput_meets_goal": throughput >= THROUGHPUT_GOAL,
        "lake_writer_rss_n_vs_10k": round(rss_growth, 2), "rss_meets_goal": rss_growth <= RSS_GOAL,
        "lake_bytes_per_article": lake["bytes_per_article"], "file_bytes_per_article": file["bytes_per_article"],
        "lake_analyst_ms_while_writing": lake["import_into_n_with_analyst"]["analyst_median_ms"],
        "lake_analyst_ms_idle": lake["idle_analyst_ms"],
        "file_analyst_refused_while_writing": file["import_into_n_with_analyst"]["analyst_refused"],
    }
    path = write_result("lake", result, *([args.out] if args.out else []))
    print(json.dumps(result["summary"]))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
