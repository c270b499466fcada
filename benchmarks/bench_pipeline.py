"""End-to-end throughput: `monitor import` and a library ingest run against bare trafilatura.

Generates N news pages (benchmarks/common.py: seed-derived text, ~40 KB realistic HTML,
a mix of stories, off-topic pieces, syndicated copies and teasers), then, in one run:

* bare ``trafilatura.extract`` of every page, one core (CPU time) and 2 processes (wall);
* ``import_paths`` (what `monitor import` runs) with 1 worker, each stage timed in place
  (extract, tag, relevance, fingerprint, dedup lookups and check, index add, save);
* ``import_paths`` with ``--workers 2`` (judging in 2 processes, one writer);
* ``run_ingest`` (library, sequential) over the same pages served on loopback;
* for reference, bare extraction and the 1-worker import of Zyte's 181 real news pages
  (``../shared/data/zyte_aeb``, read from there; skipped when it is absent): the generated
  pages are cheap to extract next to tagging and dedup, real ones are not.

Bare extraction on one core and the two imports run back to back in 3 rounds; each
ratio is taken within its round and the median reported (the machine's speed drifts
from one minute to the next).

Writes benchmarks/results/pipeline.json.

    .venv/bin/python benchmarks/bench_pipeline.py [--pages 2000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    ZYTE_DATA,
    build_site,
    generate_pages,
    loopback_settings,
    serve_site,
    sources_yaml,
    write_pages,
    write_result,
)

#: The issue's goal: the whole pipeline on one core within 1.3x of bare extraction.
GOAL_RATIO_ONE_CORE = 1.3
QUICK_PAGES = 150
FULL_PAGES = 2000
#: Rounds of bare extraction and imports back to back (see measure).
FULL_ROUNDS = 3


def _bare_extract(path: Path) -> int:
    import trafilatura

    return len(trafilatura.extract(path.read_bytes()) or "")


def bare_extraction(paths: list[Path], workers: int) -> dict[str, float]:
    """Bare ``trafilatura.extract`` (default options) of every page: CPU and wall seconds."""
    if workers <= 1:
        _bare_extract(paths[0])  # warm-up: imports and lazy tables
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for p in paths:
            _bare_extract(p)
        return {"cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0}
    # spawn, not forkserver: the forkserver is one a process, started with what its first
    # user preloads, and the 2-worker import's must be the one `monitor import` starts.
    with get_context("spawn").Pool(workers) as pool:
        pool.map(_bare_extract, paths[:workers])  # start the workers before the clock
        wall0 = time.perf_counter()
        pool.map(_bare_extract, paths, chunksize=16)
        return {"wall_s": time.perf_counter() - wall0}


class StageTimer:
    """Wraps pipeline functions in place and adds up the wall time spent in each stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()

    def wrap(self, stage: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - t0
                self.calls[stage] += 1

        return timed

    @contextmanager
    def patched(self, session: Any) -> Iterator[None]:
        """Time the stages of ``import_paths`` / ``run_ingest`` while the block runs."""
        import monitor.runs.importer
        import monitor.runs.ingest
        import monitor.pipeline
        import monitor.storage.events
        import monitor.storage.store

        targets = [
            (monitor.pipeline, "extract_article", "extract"),
            (monitor.pipeline, "extract_text_file", "extract"),
            # Since 2026-12-07 (evening) the import identifies a batch's languages after
            # extracting it (they were part of "extract" before).
            (monitor.pipeline, "with_language", "language"),
            (monitor.runs.ingest, "extract_article", "extract"),
            (monitor.runs.ingest, "with_language", "language"),
            (monitor.pipeline, "analyse_text", "tag"),
            (monitor.pipeline, "judge_relevance", "relevance"),
            (monitor.pipeline, "fingerprint_text", "fingerprint"),
            (monitor.pipeline, "compress_page", "compress raw page"),
            (monitor.storage.store, "stored_ids_and_url_roots", "dedup: id/url lookups"),
            (monitor.storage.store, "save_articles", "save"),
            (monitor.storage.store, "save_fetch_log", "save"),
            # Named apart since 2026-12-07: they were most of "other" (1.6 ms a page).
            (monitor.pipeline, "find_credits", "attribution"),
            (monitor.pipeline, "fingerprint_site", "site ids"),
            (monitor.storage.events, "assign_stories", "events"),
        ]
        saved = [(mod, name, getattr(mod, name)) for mod, name, _ in targets]
        index = session.index
        try:
            for mod, name, stage in targets:
                setattr(mod, name, self.wrap(stage, getattr(mod, name)))
            # The writer asks once per batch (check_many / add_many).
            index.check_many = self.wrap("dedup: check", index.check_many)  # type: ignore[method-assign]
            index.add_many = self.wrap("dedup: index add", index.add_many)  # type: ignore[method-assign]
            yield
        finally:
            for mod, name, orig in saved:
                setattr(mod, name, orig)
            del index.check_many, index.add_many


def run_import(paths_root: Path, db: Path, workers: int, timer: StageTimer | None = None) -> dict[str, Any]:
    """``import_paths`` into a new warehouse; session open timed apart from the import."""
    from monitor.runs.importer import import_paths
    from monitor.runs.ingest import IngestSession
    from monitor.settings import load_settings

    settings = load_settings(environ={}, db_path=db)
    t0 = time.perf_counter()
    with IngestSession.open(settings, kind="import") as session:
        opened = time.perf_counter()
        cpu0 = time.process_time()
        if timer is not None:
            with timer.patched(session):
                counts = import_paths(session, [paths_root], workers=workers)
        else:
            counts = import_paths(session, [paths_root], workers=workers)
        took = time.perf_counter() - opened
        cpu = time.process_time() - cpu0
    return {"open_s": round(opened - t0, 3), "wall_s": round(took, 3), "cpu_s_this_process": round(cpu, 3),
            "counts": dict(counts)}


def run_library_ingest(pages: list[Any], tmp: Path, n_sources: int) -> dict[str, Any]:
    """``run_ingest`` (sequential, library) over the pages served on loopback."""
    from monitor.runs.ingest import run_ingest

    site = build_site(pages, n_sources)
    names = sorted({rel.split("/", 1)[0] for rel in site})
    with serve_site(site) as (base, server):
        src = tmp / "sources.yaml"
        src.write_text(sources_yaml(base, names), encoding="utf-8")
        settings = loopback_settings(tmp / "ingest.duckdb", src)
        t0 = time.perf_counter()
        summary = run_ingest(settings)
        took = time.perf_counter() - t0
        http = dict(server.stats)
    saved = sum(summary.get(k, 0) for k in ("stories", "duplicates", "off_topic"))
    return {"wall_s": round(took, 3), "pages_saved": saved, "pages_per_s": round(saved / took, 1),
            "feeds": len(names), "http": http,
            "counts": {k: v for k, v in summary.items() if isinstance(v, int)}}


#: Zyte's article-extraction benchmark, beside the repository (never copied in).
REAL_PAGES = ZYTE_DATA / "html"


def measure_real_pages(directory: Path, rounds: int) -> dict[str, Any] | None:
    """Bare extraction and the 1-worker import of real pages, ratio per round as in ``measure``."""
    sources = sorted(directory.glob("*.html.gz"))
    if not sources:
        return None
    ratios: list[float] = []
    with tempfile.TemporaryDirectory(prefix="monitor-bench-real-") as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "site").mkdir()
        paths = []
        for src in sources:
            paths.append(tmp / "site" / src.name.removesuffix(".gz"))
            paths[-1].write_bytes(gzip.decompress(src.read_bytes()))
        mean_kb = sum(p.stat().st_size for p in paths) / len(paths) / 1024
        runs = []
        for r in range(rounds):
            bare1 = bare_extraction(paths, 1)
            one = run_import(tmp / "site", tmp / f"real-{r}.duckdb", 1)
            ratios.append(one["cpu_s_this_process"] / bare1["cpu_s"])
            runs.append((bare1, one))
    bare1, one = runs[sorted(range(rounds), key=ratios.__getitem__)[rounds // 2]]
    return {
        "pages": len(paths),
        "directory": "/".join(directory.parts[-3:]),
        "mean_page_kb": round(mean_kb, 1),
        "bare_ms_per_page": round(bare1["cpu_s"] / len(paths) * 1000, 3),
        "import_ms_per_page_cpu": round(one["cpu_s_this_process"] / len(paths) * 1000, 3),
        "counts": one["counts"],
        "round_ratios": [round(x, 3) for x in ratios],
        "ratio_one_core_vs_bare": round(statistics.median(ratios), 2),
    }


def measure(n_pages: int, *, ingest: bool = True, rounds: int = 1) -> dict[str, Any]:
    """Every figure of this benchmark for ``n_pages`` generated pages.

    Bare extraction, the 1-worker import and the 2-worker import run back to back in
    each of ``rounds`` rounds, and each ratio is taken within its round: the machine's
    speed drifts by 10-20% over minutes, and a ratio of two runs minutes apart would
    measure the drift. The headline ratios are the medians over the rounds; the table
    shows the round with the median 2-worker ratio.
    """
    pages = generate_pages(n_pages)
    timer = StageTimer()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="monitor-bench-pipeline-") as tmpdir:
        tmp = Path(tmpdir)
        paths = write_pages(pages, tmp / "site")
        mean_kb = sum(p.stat().st_size for p in paths) / len(paths) / 1024
        bare2 = bare_extraction(paths, 2)
        for r in range(rounds):
            bare1 = bare_extraction(paths, 1)
            one = run_import(tmp / "site", tmp / f"w1-{r}.duckdb", 1, timer)
            two = run_import(tmp / "site", tmp / f"w2-{r}.duckdb", 2)
            runs.append({"bare1": bare1, "one": one, "two": two,
                         "ratio_one": one["cpu_s_this_process"] / bare1["cpu_s"],
                         "ratio_two": two["wall_s"] / bare1["wall_s"]})
        lib = run_library_ingest(pages, tmp, 10) if ingest else None
    seconds = rounds * n_pages
    stage_ms = {k: round(v / seconds * 1000, 3) for k, v in sorted(timer.seconds.items(), key=lambda kv: -kv[1])}
    other = sum(run["one"]["wall_s"] for run in runs) - sum(timer.seconds.values())
    stage_ms["other (read file, build document, batching)"] = round(other / seconds * 1000, 3)
    ratio_one = statistics.median(run["ratio_one"] for run in runs)
    ratio_two = statistics.median(run["ratio_two"] for run in runs)
    shown = sorted(runs, key=lambda run: run["ratio_two"])[len(runs) // 2]
    bare1, one, two = shown["bare1"], shown["one"], shown["two"]
    bare_ms = bare1["cpu_s"] / n_pages * 1000
    return {
        "pages": n_pages,
        "rounds": rounds,
        "round_ratios": [{"one_core": round(run["ratio_one"], 3), "two_workers": round(run["ratio_two"], 3),
                          "bare_ms_per_page": round(run["bare1"]["cpu_s"] / n_pages * 1000, 3)} for run in runs],
        "mean_page_kb": round(mean_kb, 1),
        "mix": dict(Counter(p.kind for p in pages)),
        "bare_extract": {
            "one_core_cpu_s": round(bare1["cpu_s"], 3),
            "one_core_wall_s": round(bare1["wall_s"], 3),
            "ms_per_page": round(bare_ms, 3),
            "pages_per_s_one_core": round(n_pages / bare1["cpu_s"], 1),
            "two_processes_wall_s": round(bare2["wall_s"], 3),
            "pages_per_s_two_processes": round(n_pages / bare2["wall_s"], 1),
        },
        "import_one_worker": {**one, "pages_per_s": round(n_pages / one["wall_s"], 1),
                              "ms_per_page_cpu": round(one["cpu_s_this_process"] / n_pages * 1000, 3)},
        "import_two_workers": {**two, "pages_per_s": round(n_pages / two["wall_s"], 1)},
        "stage_ms_per_page": stage_ms,
        "ratio_one_core_vs_bare": round(ratio_one, 2),
        "ratio_two_workers_vs_bare_one_core": round(ratio_two, 2),
        "goal_ratio_one_core": GOAL_RATIO_ONE_CORE,
        "meets_goal_one_core": ratio_one <= GOAL_RATIO_ONE_CORE,
        "meets_goal_two_cores": ratio_two < 1,
        "library_ingest": lib,
        "note": "one-core figures are CPU time of this process, all its threads (DuckDB's too; the machine "
        "may be shared); stage times are wall time inside the 1-worker import, per page",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=None, help=f"pages to generate (default {FULL_PAGES})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PAGES} pages")
    parser.add_argument("--no-ingest", action="store_true", help="skip the loopback ingest run")
    parser.add_argument("--real-pages", type=Path, default=REAL_PAGES,
                        help="directory of real .html.gz pages for the reference rows (default: Zyte's, in ../shared)")
    parser.add_argument("--no-real-pages", action="store_true", help="skip the real-page reference rows")
    parser.add_argument("--rounds", type=int, default=None,
                        help=f"rounds of bare + import runs, ratios taken within each (default {FULL_ROUNDS}; 1 with --quick)")
    parser.add_argument("--out", type=Path, default=None, help="results directory")
    args = parser.parse_args(argv)
    n = args.pages or (QUICK_PAGES if args.quick else FULL_PAGES)
    rounds = args.rounds or (1 if args.quick else FULL_ROUNDS)
    result = measure(n, ingest=not args.no_ingest, rounds=rounds)
    result["real_pages"] = None if args.no_real_pages else measure_real_pages(args.real_pages, rounds)
    result["quick"] = args.quick
    path = write_result("pipeline", result, *([args.out] if args.out else []))
    print(json.dumps(result))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
