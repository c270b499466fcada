"""Hostile inputs at full size (issue 27): one feed of many links to one 5 MB page, and
`monitor check` on that page alone; peak memory and time of each, in a fresh process.

    .venv/bin/python benchmarks/bench_hostile.py [--items 200] [--page-mb 5]

The page is generated (tests/hostile_server.py: paragraphs about Serbia and Russia), served
from loopback by the hostile test server. Figures before the caps, measured on this machine
when they were added (same page, same feed): 20 pages took 577 s and 1,184 MB peak RSS
(run_ingest, 37 s a page); `monitor check` 26.3 s and 410 MB.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, peak_rss_mb, run_child, write_result  # noqa: E402

#: Figures before issue 27's caps (see the module docstring), kept beside the new ones.
BEFORE = {"feed_pages_measured": 20, "feed_seconds": 577.4, "feed_peak_rss_mb": 1184,
          "check_seconds": 26.3, "check_peak_rss_mb": 410}


def child_feed(items: int, page_bytes: int, workdir: Path) -> dict[str, object]:
    """One ingest run (run_ingest, one process) of a feed of ``items`` links to one page."""
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src"), str(ROOT)]
    import duckdb
    from hostile_server import HostileServer

    from monitor.models import Source
    from monitor.runs.ingest import run_ingest
    from monitor.settings import load_settings

    db = workdir / "w.duckdb"
    with HostileServer(lifetime=3600, big_page_bytes=page_bytes) as srv:
        settings = load_settings(environ={}, db_path=db).with_(
            allow_private_hosts=("127.0.0.1",), per_host_delay=0.0, respect_robots=False)
        started = time.perf_counter()
        summary = run_ingest(settings, sources=[Source(name="onepage", url=srv.url(f"/one-page-feed?n={items}"))])
        took = time.perf_counter() - started
    con = duckdb.connect(str(db), read_only=True)
    (saved, longest), = con.execute("SELECT count(*), max(length(text)) FROM articles WHERE kind = 'article'").fetchall()
    deferred = con.execute("SELECT count(*) FROM fetch_log WHERE error = 'source_budget'").fetchall()[0][0]
    con.close()
    size = sum(p.stat().st_size for p in workdir.rglob("*") if p.is_file())
    return {"seconds": round(took, 1), "peak_rss_mb": round(peak_rss_mb()), "saved": saved, "deferred": deferred,
            "stories": summary.get("net_stories"), "copies": summary.get("net_copies"),
            "longest_text_chars": longest, "warehouse_mb": round(size / 1e6, 1)}


def child_check(page_bytes: int, workdir: Path) -> dict[str, object]:
    """`monitor check` (in process) on the one big page, on a new warehouse."""
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src"), str(ROOT)]
    import contextlib
    import io

    from hostile_server import HostileServer

    from monitor.cli import main

    page = workdir / "big.html"
    page.write_bytes(HostileServer(lifetime=1, big_page_bytes=page_bytes).big_page())
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["check", str(page), "--db", str(workdir / "c.duckdb"), "--json"])
    return {"seconds": round(time.perf_counter() - started, 1), "peak_rss_mb": round(peak_rss_mb()), "exit": code}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200, help="links in the feed (default 200)")
    parser.add_argument("--page-mb", type=float, default=5.0, help="size of the one page in MB (default 5)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    page_bytes = int(args.page_mb * 10**6)
    if args.child:
        kind, workdir = args.child[0], Path(args.child[1])
        out = child_feed(args.items, page_bytes, workdir) if kind == "feed" else child_check(page_bytes, workdir)
        print(json.dumps(out))
        return 0
    here = str(Path(__file__).resolve())
    with tempfile.TemporaryDirectory() as feed_dir, tempfile.TemporaryDirectory() as check_dir:
        common = ["--items", str(args.items), "--page-mb", str(args.page_mb)]
        feed = run_child([here, *common, "--child", "feed", feed_dir])
        check = run_child([here, *common, "--child", "check", check_dir])
    result = {"items": args.items, "page_mb": args.page_mb, "feed": feed, "check": check, "before": BEFORE}
    print(json.dumps(result, indent=2))
    print(write_result("hostile", result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
