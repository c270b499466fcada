"""Memory: peak RSS of `monitor import` over 1k, 5k and 10k generated pages.

Each size is imported by ``import_paths`` (1 worker, the default) into a new file
warehouse in its own process, so each peak is its own, with the default "auto" writer
memory cap; the largest size runs again with the cap off, side by side. Goal: flat in
the number of pages (batches of ``settings.save_batch`` are saved and dropped). What
cannot be flat is DuckDB's ART indexes (primary keys, url and content-hash lookups),
which it keeps in memory and which grow with the warehouse (~0.6 KB an article since
migrations 004 and 005 dropped the per-anchor and per-tag ones). Each import also records
its highest RSS in each phase (judging pages, the writer's dedup check, its other writes,
its checkpoints), so the growth can be placed. Writes benchmarks/results/memory.json.

    .venv/bin/python benchmarks/bench_memory.py [--sizes 1000 5000 10000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ZYTE_DATA, current_rss_mb, generate_pages, peak_rss_mb, run_child, write_pages, write_result  # noqa: E402

FULL_SIZES = (1000, 5000, 10000)
QUICK_SIZES = (100, 300)
#: "Flat": the largest size may use at most this much more peak memory than the smallest.
FLAT_TOLERANCE = 1.25


#: Phases of an import whose highest RSS is recorded; a call inside another counts as the inner one.
PHASES = ("judging pages", "batch: dedup check", "batch: other writes and commit", "checkpoint")
# (A lake has no checkpoint: the last phase stays at 0 since issue 28; kept so results compare.)


class PhaseSampler:
    """Highest RSS seen in each phase, sampled every ``interval`` seconds by a thread.

    Wrapped calls set the current phase; everything outside them is "judging pages"
    (reading, extracting, tagging, fingerprinting). Says where the peak is, so the next
    thing to shrink is visible without a profiler.
    """

    def __init__(self, interval: float = 0.002) -> None:
        self.stack = [PHASES[0]]
        self.peaks = dict.fromkeys(PHASES, 0.0)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        rss, phase = current_rss_mb(), self.stack[-1]
        if rss > self.peaks[phase]:
            self.peaks[phase] = rss

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.interval)

    def wrap(self, phase: str, fn: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            # Sampled on entry and exit too: a phase shorter than the interval still gets a value.
            self.sample()
            self.stack.append(phase)
            try:
                return fn(*args, **kwargs)
            finally:
                self.sample()
                self.stack.pop()
        return wrapped

    def __enter__(self) -> PhaseSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def phrase_recurrence(texts: list[str]) -> dict[str, Any]:
    """How often dedup anchors (sampled 5-word phrases) recur across different texts.

    The dedup check joins a batch's anchors with every stored posting of the same
    anchor, so its work grows with how many stored texts share phrases with new ones.
    """
    from collections import Counter

    from monitor.judging.dedup import fingerprint_text

    df = Counter(a for t in texts for a in set(fingerprint_text(t).anchors))
    postings = sum(df.values())
    return {"texts": len(texts), "share_of_postings_in_2_or_more_texts": round(
                sum(n for n in df.values() if n > 1) / max(postings, 1), 3),
            "most_texts_sharing_one_anchor": max(df.values(), default=0),
            "anchor_pairs_per_text": round(sum(n * (n - 1) // 2 for n in df.values()) / max(len(texts), 1), 1)}


def recurrence_real_vs_generated(pages: list[Any]) -> dict[str, Any] | None:
    """Phrase recurrence of Zyte's real article bodies and of as many generated stories.

    Zyte's texts are read from ../shared, never copied; None when it is not beside us.
    """
    truth_file = ZYTE_DATA / "ground-truth.json"
    if not truth_file.exists():
        return None
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    real = [t for t in (v.get("articleBody") or "" for v in truth.values()) if len(t.split()) >= 50]
    # Stories only: copies and teasers share phrases on purpose.
    generated = [" ".join(p.paragraphs) for p in pages if p.kind == "story"][:len(real)]
    return {"real (Zyte ground truth)": phrase_recurrence(real),
            "generated stories": phrase_recurrence(generated)}


def child(n: int, pages_dir: Path) -> dict[str, Any]:
    """Import the first ``n`` generated pages in this process; its peak RSS before and after."""
    from monitor.runs import ingest
    from monitor.runs.importer import import_paths
    from monitor.runs.ingest import IngestSession
    from monitor.storage.pagestore import pages_dir_of
    from monitor.settings import load_settings

    baseline = peak_rss_mb()
    with tempfile.TemporaryDirectory(prefix="monitor-bench-mem-") as tmp:
        # Only the writer's memory cap is taken from the environment, to compare settings.
        knob = {k: v for k, v in os.environ.items() if k == "MONITOR_WRITER_MEMORY"}
        settings = load_settings(environ=knob, db_path=Path(tmp) / "w.duckdb")
        t0 = time.perf_counter()
        # The sampler outlives the session: closing it runs the session's last checkpoint, which is sampled too.
        with PhaseSampler() as phases, IngestSession.open(settings, kind="import") as session:
            session.index.check_many = phases.wrap(PHASES[1], session.index.check_many)  # type: ignore[method-assign]
            # The session calls the module's function by name: wrapped there, in this child only.
            ingest.decide_and_save = phases.wrap(PHASES[2], ingest.decide_and_save)
            counts = import_paths(session, [pages_dir])
            # Between batches, after the last: what the import holds when no batch is in
            # flight. The peak also has the transient work of one batch on top.
            rss_end = current_rss_mb()
            # What DuckDB holds at the end (its ART indexes are not reported once
            # checkpointed): cache the "auto" cap keeps in check.
            held = dict(session.con.execute(
                "SELECT tag, memory_usage_bytes / 2^20 FROM duckdb_memory()").fetchall())
            anchors = session.con.execute("SELECT count(*) FROM dedup_anchors").fetchone()[0]
            cap = session.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        took = time.perf_counter() - t0
        # The lake: its catalog and its Parquet tables; the raw pages apart.
        tables = Path(tmp) / "w.duckdb.data" / "tables"
        db_mb = ((Path(tmp) / "w.duckdb").stat().st_size
                 + sum(p.stat().st_size for p in tables.rglob("*") if p.is_file())) / 1e6
        packs_mb = sum(p.stat().st_size for p in pages_dir_of(settings.db_path).glob("*.pack")) / 1e6
    return {"pages": n, "peak_rss_mb": round(peak_rss_mb(), 1), "rss_after_imports_mb": round(baseline, 1),
            "rss_at_end_mb": round(rss_end, 1),
            "seconds": round(took, 1), "pages_per_s": round(n / took, 1), "db_mb": round(db_mb, 1),
            "packs_mb": round(packs_mb, 2),
            "saved": sum(counts.get(k, 0) for k in ("stories", "duplicates", "off_topic")),
            "anchors": anchors, "duckdb_mb_at_end": round(sum(held.values()), 1),
            "memory_limit_at_end": cap,
            "peak_rss_by_phase_mb": {k: round(v, 1) for k, v in phases.peaks.items()},
            "writer_memory": settings.writer_memory_limit}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=None, help=f"default {FULL_SIZES}")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    parser.add_argument("--out", type=Path, default=None, help="results directory")
    parser.add_argument("--child", nargs=2, metavar=("PAGES", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(int(args.child[0]), Path(args.child[1]))))
        return 0
    sizes = tuple(args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES))
    pages = generate_pages(max(sizes))
    rows = []
    with tempfile.TemporaryDirectory(prefix="monitor-bench-mem-pages-") as tmp:
        for n in sizes:
            # Each size gets its own directory (the same first n pages), written outside the timing.
            directory = Path(tmp) / f"p{n}"
            write_pages(pages[:n], directory)
            rows.append(run_child([__file__, "--child", str(n), str(directory)]))
            print(f"done: {n} pages, peak {rows[-1]['peak_rss_mb']} MB", file=sys.stderr)
        # The largest size again without a cap, side by side: what "auto" saves.
        uncapped = run_child([__file__, "--child", str(sizes[-1]), str(directory)],
                             env={"MONITOR_WRITER_MEMORY": "off"})
        print(f"done: {sizes[-1]} pages uncapped, peak {uncapped['peak_rss_mb']} MB", file=sys.stderr)
    growth = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    result = {"sizes": list(sizes), "rows": rows, "uncapped_largest": uncapped,
              "growth_largest_vs_smallest": round(growth, 2),
              "growth_at_end_largest_vs_smallest": round(rows[-1]["rss_at_end_mb"] / rows[0]["rss_at_end_mb"], 2),
              # Between the two largest sizes: whether the peak has stopped growing.
              "growth_last_step": round(rows[-1]["peak_rss_mb"] / rows[-2]["peak_rss_mb"], 2) if len(rows) > 1 else 1.0,
              "flat_tolerance": FLAT_TOLERANCE, "meets_goal": growth <= FLAT_TOLERANCE, "quick": args.quick,
              "phrase_recurrence": recurrence_real_vs_generated(pages)}
    path = write_result("memory", result, *([args.out] if args.out else []))
    print(json.dumps(result))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
