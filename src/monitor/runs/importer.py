"""`monitor import` and `monitor check`: local .html/.txt files through the same path as feeds.

Import goes extract -> date -> tag -> fingerprint (``pipeline``) -> dedup and save
(``ingest.decide_and_save``), exactly as an ingested page does. Check runs the same
stages and the same dedup decision, and stores nothing.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

import duckdb

from monitor.runs.lifeline import die_with_parent
from monitor.exceptions import ExtractionError
from monitor.runs.ingest import IngestSession, find_url_duplicate
from monitor.models import Document, FetchLogEntry
from monitor.pipeline import Judge, document_from_file, documents_from_files
from monitor.settings import AUTO_MAX_WORKERS, AUTO_WORKERS_MIN_FILES

__all__ = ["IMPORTABLE_SUFFIXES", "choose_workers", "iter_files", "import_paths", "check_path"]

IMPORTABLE_SUFFIXES = (".html", ".htm", ".xhtml", ".txt")
#: Report progress every this many files on long imports.
PROGRESS_EVERY = 500
#: Files judged together in this process (one worker): read and extracted, then tagged,
#: then fingerprinted... (``pipeline.build_documents``: each stage's tables stay in the
#: CPU's caches). 32 documents in flight, ~2 MB. Judging the benchmark's 600 pages took
#: 4.2 ms a page one by one, 3.95 in batches of 25 and 3.85 in batches of 100 (CPU).
STAGE_BATCH = 32
#: Files handed to a worker process at once, judged together as STAGE_BATCH files are
#: here. 16 until 2026-12-07; then 32 took 1-5% less wall time than 16 in each of 4
#: rounds side by side (2 workers, 2,000 generated pages).
FILES_PER_CHUNK = STAGE_BATCH
#: Chunks in flight per worker: enough to keep workers busy while the writer saves,
#: few enough that memory stays flat however many files are imported. A save of 200
#: pages held the writer ~0.4 s, in which a worker judges ~55 pages; with 2 chunks (32
#: files) queued the workers ran dry at every save (174 pages/s on 3000 pages with 2
#: workers, against 182-187 with 8). 8 chunks of 32: ~500 documents, ~30 MB, in flight;
#: about what a worker judges while a save of SAVE_BATCH (800) pages holds the writer.
CHUNKS_AHEAD_PER_WORKER = 8
#: DuckDB threads of the writer while it imports. DuckDB's default, a thread a core, made
#: no import faster and cost CPU the judging needs: on 2,000 generated pages (2 cores)
#: its second thread spent 2.0 ms of CPU a page with 1 worker (process CPU 16.6 -> 14.6
#: ms a page with one thread, wall 26.7 -> 23.9 ms) and 1.7 ms with 2 workers (wall 34.9
#: -> 27.3 ms). A batch's statements are small: their parallel plans cost more than
#: they share out, and the other cores are the judges'.
IMPORT_WRITER_THREADS = 1


@dataclass(frozen=True)
class _FileResult:
    """What a worker made of one file: a document, or why it was skipped."""

    path: Path
    url: str  # the file's URI, resolved in the worker: resolve() costs an lstat a path part
    doc: Document | None
    size: int = 0
    error: str | None = None
    detail: str | None = None


def _judge_files(paths: Sequence[Path], judge: Judge, source: str | None) -> list[_FileResult]:
    """Each file judged, in order; a batch at a time (``documents_from_files``: stage by stage)."""
    urls = _file_uris(paths)
    results: list[_FileResult] = []
    for path, url, doc in zip(paths, urls, documents_from_files(list(zip(paths, urls)), judge=judge, source=source)):
        if isinstance(doc, Document):
            try:
                results.append(_FileResult(path, url, doc, size=path.stat().st_size))
                continue
            except OSError as exc:  # gone since it was read
                doc = exc
        # Returned, not raised: exceptions do not always survive pickling back from a worker.
        reason = doc.reason if isinstance(doc, ExtractionError) else type(doc).__name__
        results.append(_FileResult(path, url, None, error=reason, detail=str(doc)[:2000]))
    return results


def _file_uris(paths: Sequence[Path]) -> list[str]:
    """``path.resolve().as_uri()`` of each path, each directory resolved once.

    resolve() reads every part of a path (an lstat each, ~30 us a file here); a file's
    own link is still followed, so the URI is resolve()'s.
    """
    folders: dict[Path, Path] = {}
    uris = []
    for path in paths:
        if path.is_symlink():
            uris.append(path.resolve().as_uri())
            continue
        folder = folders.get(path.parent)
        if folder is None:
            folder = folders[path.parent] = path.parent.resolve()
        uris.append((folder / path.name).as_uri())
    return uris


#: The judge a worker process was started with (see _start_worker).
_WORKER_JUDGE: tuple[Judge, str | None] | None = None


def _start_worker(judge: Judge, source: str | None) -> None:
    # Sent once per worker, not with every chunk: the compiled matcher pickles to
    # ~120 KB, and the writer process, the import's bottleneck, did that 2 x 3 ms a chunk.
    global _WORKER_JUDGE
    die_with_parent()  # a worker outlives neither its forkserver nor, through the watchdog, the import
    _WORKER_JUDGE = (judge, source)
    # What it holds lives as long as the worker: left out of full collections, and the
    # young generation collected as in the writer (see _import_collector).
    gc.freeze()
    gc.set_threshold(IMPORT_GC_THRESHOLD, *gc.get_threshold()[1:])


def _judge_chunk(paths: Sequence[Path]) -> list[_FileResult]:
    assert _WORKER_JUDGE is not None, "worker started without _start_worker"
    judge, source = _WORKER_JUDGE
    return _judge_files(paths, judge, source)


def _judged_files(
    paths: Iterable[Path], judge: Judge, source: str | None, workers: int
) -> Iterator[_FileResult]:
    """Each file judged (extract, tag, relevance, fingerprint), in input order.

    With ``workers > 1`` the judging runs in a process pool while the caller (the one
    writer) saves; a bounded window of chunks keeps memory flat.
    """
    files = iter(paths)
    if workers <= 1:
        while chunk := list(islice(files, STAGE_BATCH)):
            yield from _judge_files(chunk, judge, source)
        return
    # forkserver: workers start from a clean single-threaded process, not a fork of
    # this one (which holds DuckDB's threads and locks).
    context = multiprocessing.get_context("forkserver")
    # The forkserver imports the pipeline (trafilatura, lxml, numpy: ~0.4 s) and reads
    # the language model (worker_preload: 0.4 s) once and forks workers from it, instead
    # of every worker doing so on the same 2 cores while the writer waits for its first
    # results. No effect once a forkserver runs.
    context.set_forkserver_preload(["monitor.pipeline", "monitor.runs.worker_preload"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_start_worker, initargs=(judge, source)) as pool:
        window: deque[Future[list[_FileResult]]] = deque()
        try:
            while True:
                while len(window) < workers * CHUNKS_AHEAD_PER_WORKER:
                    chunk = list(islice(files, FILES_PER_CHUNK))
                    if not chunk:
                        break
                    window.append(pool.submit(_judge_chunk, chunk))
                if not window:
                    return
                yield from window.popleft().result()
        except BaseException:
            # Stopped (SIGTERM) or failed: the chunks not started are dropped, so leaving
            # the pool waits only for those running, not for the whole window.
            pool.shutdown(wait=False, cancel_futures=True)
            raise


@contextmanager
def _writer_threads(con: duckdb.DuckDBPyConnection, threads: int) -> Iterator[None]:
    """DuckDB runs ``threads`` threads while the block runs, as many as before once it has run.

    Not restored when the block fails: the failing session is closed next, and a statement
    on its connection could raise over the error that is the one to tell.
    """
    row = con.execute("SELECT current_setting('threads')").fetchone()
    assert row is not None
    con.execute(f"SET threads = {int(threads)}")
    yield
    con.execute(f"SET threads = {int(row[0])}")


#: Allocations between two collections of the youngest generation while an import runs
#: (Python's default is 700). A page's judging makes tens of thousands of objects that
#: live until its batch is saved; at 700 each was scanned by several young collections
#: before it died. Measured on an import of 2,000 generated pages: 711 young collections
#: and 0.25-0.30 s of collection, against 35 and 0.11-0.12 s at 10,000 (1.5-3% of the
#: import's CPU); the memory held by uncollected cycles is that of 10,000 objects.
IMPORT_GC_THRESHOLD = 10_000


@contextmanager
def _import_collector() -> Iterator[None]:
    """The cyclic garbage collector as an import wants it while the block runs, then as it was.

    The objects alive when the block starts (the modules, the taxonomy's matcher, the
    language model, the word caches: tens of thousands that live as long as the process)
    are left out of its full passes (``gc.freeze``): on 600 pages these took 0.075 s of a
    3.2 s import, 0.015 s frozen. (Not frozen when something froze objects already:
    unfreezing would give back its objects too.) And the youngest generation is collected
    every IMPORT_GC_THRESHOLD allocations, not 700.
    """
    thresholds = gc.get_threshold()
    freeze = not gc.get_freeze_count()
    if freeze:
        gc.freeze()
    gc.set_threshold(IMPORT_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if freeze:
            gc.unfreeze()


def choose_workers(files: Iterator[Path], workers: int | None) -> tuple[Iterator[Path], int]:
    """``workers`` if given; else one a usable core (at most AUTO_MAX_WORKERS) for an
    import of AUTO_WORKERS_MIN_FILES files or more, 1 below. Returns the files unchanged
    (the first ones are read ahead to count them) and the count.
    """
    if workers is not None:
        return files, max(1, workers)
    head = list(islice(files, AUTO_WORKERS_MIN_FILES))
    if len(head) < AUTO_WORKERS_MIN_FILES:
        return iter(head), 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return chain(head, files), min(cores, AUTO_MAX_WORKERS)


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The importable files named, and those under the directories named, in sorted order."""
    for p in paths:
        if p.is_dir():
            yield from _walk(p)
        else:
            yield p


def _walk(directory: Path) -> Iterator[Path]:
    # The order of sorted(directory.rglob("*")) (sorted by path parts), one directory
    # listing in memory at a time instead of every path of a million-file import. Like
    # rglob, it does not enter symlinked directories and keeps symlinked files.
    with os.scandir(directory) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in IMPORTABLE_SUFFIXES:
            yield Path(entry.path)


def import_paths(
    session: IngestSession,
    paths: Iterable[Path],
    *,
    source: str | None = None,
    report: Callable[[str], None] = lambda _m: None,
    workers: int | None = 1,
) -> Counter[str]:
    """Import local files in batches of ``settings.save_batch``; a bad file is logged and skipped.

    ``workers > 1`` judges files in that many processes; saving stays in this one
    writer, in the order the files are named, so the result is the same. ``None``
    chooses (see ``choose_workers``).
    """
    counts: Counter[str] = Counter()
    batch: list[Document] = []
    log: list[FetchLogEntry] = []

    def flush() -> None:
        counts.update(session.save_documents(batch, fetch_log=log))
        batch.clear()
        log.clear()

    files, workers = choose_workers(iter_files(paths), workers)
    if workers > 1:
        report(f"judging files in {workers} worker processes")
    with _writer_threads(session.con, IMPORT_WRITER_THREADS), _import_collector():
        judged = _judged_files(files, session.judge, source, workers)
        for n, result in enumerate(judged, start=1):
            path, doc, url = result.path, result.doc, result.url
            if doc is None:
                log.append(FetchLogEntry(url=url, kind="file", outcome="error", source=source,
                                         error=result.error, detail=result.detail))
                counts["errors"] += 1
                session.counts["errors"] += 1  # saved with the next batch (IngestSession._record_progress)
                report(f"skipped {path}: {result.detail}")
            else:
                log.append(FetchLogEntry(url=url, kind="file", outcome="ok", source=source,
                                         bytes=result.size, fetched_at=doc.fetched_at))
                batch.append(doc)
            if len(batch) >= session.settings.save_batch:
                flush()
            if n % PROGRESS_EVERY == 0:
                # "repointed" counts stored articles that became copies, not files.
                done = sum(counts.values()) - counts["repointed"] + len(batch)
                report(f"{n} files read, {done} judged or skipped")
        flush()
    return counts


def check_path(session: IngestSession, path: Path) -> dict[str, Any]:
    """Judge one file against the warehouse without storing it: the `monitor check` JSON object."""
    doc = document_from_file(path, judge=session.judge, source=None, fetched_at=datetime.now(UTC))
    root = find_url_duplicate(session.con, doc.canonical_url) if doc.canonical_url else None
    if root is not None:
        match = {"duplicate_of": root, "duplicate_kind": "url", "similarity": 1.0}
    else:
        decision = session.index.check(canonical_url=None, fingerprint=doc.fingerprint,  # type: ignore[arg-type]
                                       published_at=doc.published_at)
        m = decision.match
        match = {
            "duplicate_of": m.duplicate_of if m else None,
            "duplicate_kind": m.kind if m else None,
            "similarity": round(m.similarity, 4) if m else None,
        }
    rel = doc.relevance
    return {
        "relevant": bool(rel and rel.relevant),
        "relevance": round(rel.score, 4) if rel else 0.0,
        **match,
        "tags": sorted(t.concept_id for t in doc.tags),
        "title": doc.title,
        "text": doc.text,
    }
