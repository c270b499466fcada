"""Scale-out: the Prefect ingest flow's fan-out on threads, processes and a local Dask cluster.

N generated pages (benchmarks/common.py) over 10 feeds are served on loopback; each
configuration runs the `ingest` flow (``flows.ingest.ingest.with_options(task_runner=...)``,
the single writer kept in the flow's process) on a new warehouse, in its own process:

* threads, 1 worker (the baseline); threads, 4 workers (the default);
* processes, 2 workers (``ProcessPoolTaskRunner``);
* dask, 2 worker processes (``prefect_dask.DaskTaskRunner``, local cluster, started inside
  the run and counted in its time).

Prefect's ephemeral server start-up is measured apart (a no-op flow first). Writes
benchmarks/results/scaleout.json.

    .venv/bin/python benchmarks/bench_scaleout.py [--pages 1000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    build_site,
    generate_pages,
    peak_rss_mb,
    prefect_env,
    run_child,
    serve_site,
    sources_yaml,
    write_result,
)

FULL_PAGES = 1000
QUICK_PAGES = 150
SOURCES = 10
#: (label, task runner, workers, pages per task); the first is the baseline of the speed-ups.
#: Process and Dask runners ship every task run to another process and report its
#: states from there, so they are also measured with 4x coarser page tasks.
CONFIGS: tuple[tuple[str, str, int, int], ...] = (
    ("threads x1", "threads", 1, 25),
    ("threads x4 (default)", "threads", 4, 25),
    ("processes x2", "processes", 2, 25),
    ("processes x2, 100 pages a task", "processes", 2, 100),
    ("dask x2 (local cluster)", "dask", 2, 25),
    ("dask x2, 100 pages a task", "dask", 2, 100),
)


def start_prefect() -> float:
    """Import Prefect and run a no-op flow (starts the ephemeral server); seconds taken."""
    prefect_env()
    t0 = time.perf_counter()
    from prefect import flow
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    @flow(name="bench-noop")
    def noop() -> int:
        return 1

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        noop()
    return time.perf_counter() - t0


def run_flow(db: Path, sources: Path, runner: str, workers: int) -> tuple[float, dict[str, Any]]:
    """One run of the ingest flow with this task runner; (seconds, summary)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.ingest import ingest
    from monitor.cli import _task_runner

    flow = ingest.with_options(task_runner=_task_runner(runner, workers))
    t0 = time.perf_counter()
    # No 1 s heartbeat wait per flow run (FACTS.md), as `monitor ingest` does.
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        summary: dict[str, Any] = flow(
            sources_path=str(sources), db_path=str(db), allow_private_hosts=["127.0.0.1"], per_host_delay=0.0
        )
    return time.perf_counter() - t0, summary


def child(runner: str, workers: int, n_pages: int) -> dict[str, Any]:
    """One configuration, in this (fresh) process."""
    startup = start_prefect()
    pages = generate_pages(n_pages, n_sources=SOURCES)
    site = build_site(pages, SOURCES)
    names = sorted({rel.split("/", 1)[0] for rel in site})
    with tempfile.TemporaryDirectory(prefix="monitor-bench-scaleout-") as tmp, serve_site(site) as (base, _):
        src = Path(tmp) / "sources.yaml"
        src.write_text(sources_yaml(base, names), encoding="utf-8")
        seconds, summary = run_flow(Path(tmp) / "w.duckdb", src, runner, workers)
    saved = sum(summary.get(k, 0) for k in ("stories", "duplicates", "off_topic"))
    return {"runner": runner, "workers": workers, "pages": n_pages, "prefect_startup_s": round(startup, 2),
            "flow_s": round(seconds, 2), "pages_saved": saved, "pages_per_s": round(saved / seconds, 1),
            "page_errors": summary.get("page_errors", 0), "peak_rss_mb_flow_process": round(peak_rss_mb(), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=None, help=f"default {FULL_PAGES}")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PAGES} pages")
    parser.add_argument("--only", nargs="*", help="runner kinds to run (threads, processes, dask)")
    parser.add_argument("--out", type=Path, default=None, help="results directory")
    parser.add_argument("--child", nargs=3, metavar=("RUNNER", "WORKERS", "PAGES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), int(args.child[2]))))
        return 0
    n = args.pages or (QUICK_PAGES if args.quick else FULL_PAGES)
    rows = []
    for label, runner, workers, per_task in CONFIGS:
        if args.only and runner not in args.only:
            continue
        row = run_child([__file__, "--child", runner, str(workers), str(n)],
                        env={"MONITOR_PAGES_PER_TASK": str(per_task)})
        rows.append({"config": label, "pages_per_task": per_task, **row})
        print(f"done: {label} {row['flow_s']} s", file=sys.stderr)
    base = rows[0]["flow_s"] if rows else None
    threads4 = next((r["flow_s"] for r in rows if r["config"].startswith("threads x4")), None)
    for r in rows:
        r["speedup_vs_1_worker"] = round(base / r["flow_s"], 2) if base else None
        r["speedup_vs_threads_x4"] = round(threads4 / r["flow_s"], 2) if threads4 else None
    result = {"pages": n, "sources": SOURCES, "cores": os.cpu_count(), "rows": rows, "quick": args.quick}
    path = write_result("scaleout", result, *([args.out] if args.out else []))
    print(json.dumps(result))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
