"""Incremental cost: an ingest run where nothing changed (every feed answers 304), 100 sources.

100 outlets with 3 articles each are served on loopback (ETag + 304). A first run stores
everything; then the run that matters, where every feed answers 304 Not Modified, is
timed twice: the library ``run_ingest`` (sequential, in one process) and the Prefect
`ingest` flow (threads, the default) with the ephemeral server's start-up measured apart.
Each variant runs in its own process. The library variant also times a scheduled run in
which no source is due yet (``respect_poll_minutes``): what the every-15-minutes schedule
costs between polls. Writes benchmarks/results/incremental.json.

    .venv/bin/python benchmarks/bench_incremental.py [--sources 100] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    build_site,
    generate_pages,
    loopback_settings,
    run_child,
    serve_site,
    sources_yaml,
    write_result,
)

FULL_SOURCES = 100
QUICK_SOURCES = 20
PAGES_PER_SOURCE = 3
#: The issue's goal: "a few seconds" for a run where nothing changed.
GOAL_S = 3.0


def child(mode: str, n_sources: int) -> dict[str, Any]:
    """First run (stores everything), then the all-304 run, timed; ``mode`` is library or flow."""
    from monitor.runs.ingest import run_ingest

    pages = generate_pages(n_sources * PAGES_PER_SOURCE, n_sources=n_sources)
    site = build_site(pages, n_sources)
    names = sorted({rel.split("/", 1)[0] for rel in site})
    out: dict[str, Any] = {"mode": mode, "sources": len(names)}
    with tempfile.TemporaryDirectory(prefix="monitor-bench-incr-") as tmp, serve_site(site) as (base, server):
        src = Path(tmp) / "sources.yaml"
        src.write_text(sources_yaml(base, names), encoding="utf-8")
        db = Path(tmp) / "w.duckdb"
        settings = loopback_settings(db, src)
        t0 = time.perf_counter()
        first = run_ingest(settings)
        out["first_run_s"] = round(time.perf_counter() - t0, 2)
        out["first_run_articles"] = first.get("articles_total", 0)
        server.stats.clear()
        if mode == "library":
            t0 = time.perf_counter()
            summary = run_ingest(settings)
            out["run_304_s"] = round(time.perf_counter() - t0, 3)
            # A scheduled run (every 15 minutes) in which no source's poll_minutes have passed:
            # no request at all, only opening and closing the warehouse.
            t0 = time.perf_counter()
            idle = run_ingest(settings.with_(respect_poll_minutes=True))
            out["run_nothing_due_s"] = round(time.perf_counter() - t0, 3)
            out["nothing_due_feeds_not_due"] = idle.get("feeds_not_due", 0)
        else:
            from bench_scaleout import run_flow, start_prefect

            out["prefect_startup_s"] = round(start_prefect(), 2)
            seconds, summary = run_flow(db, src, "threads", 4)
            out["run_304_s"] = round(seconds, 3)
            server.stats.clear()
            seconds, summary = run_flow(db, src, "threads", 4)
            out["run_304_again_s"] = round(seconds, 3)
        out["feeds_not_modified"] = summary.get("feeds_not_modified", 0)
        out["articles_added"] = sum(summary.get(k, 0) for k in ("stories", "duplicates", "off_topic"))
        out["http"] = {str(k): v for k, v in server.stats.items()}
    out["per_source_ms"] = round(out["run_304_s"] / len(names) * 1000, 2)
    out["meets_goal"] = out["run_304_s"] <= GOAL_S
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=None, help=f"default {FULL_SOURCES}")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SOURCES} sources")
    parser.add_argument("--no-flow", action="store_true", help="library run only (no Prefect)")
    parser.add_argument("--out", type=Path, default=None, help="results directory")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "SOURCES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return 0
    n = args.sources or (QUICK_SOURCES if args.quick else FULL_SOURCES)
    rows = []
    for mode in ("library",) if args.no_flow else ("library", "flow"):
        t0 = time.perf_counter()
        row = run_child([__file__, "--child", mode, str(n)])
        row["process_s"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
        print(f"done: {mode} 304 run {row['run_304_s']} s", file=sys.stderr)
    result = {"sources": n, "goal_s": GOAL_S, "rows": rows, "quick": args.quick}
    path = write_result("incremental", result, *([args.out] if args.out else []))
    print(json.dumps(result))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
