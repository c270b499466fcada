"""`monitor import` and `monitor check`: local .html/.txt files through the same path as feeds.

Import goes extract -> date -> tag -> fingerprint (``pipeline``) -> dedup and save
(``ingest.decide_and_save``), exactly as an ingested page does. Check runs the same
stages and the same dedup decision, and stores nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor import store
from monitor.exceptions import ExtractionError
from monitor.ingest import IngestSession, decide_and_save, find_url_duplicate
from monitor.models import Document, FetchLogEntry
from monitor.pipeline import document_from_file

__all__ = ["IMPORTABLE_SUFFIXES", "iter_files", "import_paths", "check_path"]

IMPORTABLE_SUFFIXES = (".html", ".htm", ".xhtml", ".txt")
#: Report progress every this many files on long imports.
PROGRESS_EVERY = 500


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The importable files named, and those under the directories named, in sorted order."""
    for p in paths:
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in IMPORTABLE_SUFFIXES)
        else:
            yield p


def import_paths(
    session: IngestSession,
    paths: Iterable[Path],
    *,
    source: str | None = None,
    report: Callable[[str], None] = lambda _m: None,
) -> Counter[str]:
    """Import local files in batches of ``settings.save_batch``; a bad file is logged and skipped."""
    counts: Counter[str] = Counter()
    batch: list[Document] = []
    log: list[FetchLogEntry] = []

    def flush() -> None:
        store.save_fetch_log(session.con, session.run_id, log)
        counts.update(decide_and_save(session.con, session.index, batch, run_id=session.run_id))
        batch.clear()
        log.clear()

    for n, path in enumerate(iter_files(paths), start=1):
        url = path.resolve().as_uri()
        try:
            doc = document_from_file(path, judge=session.judge, source=source)
        except (ExtractionError, OSError, UnicodeError) as exc:
            reason = exc.reason if isinstance(exc, ExtractionError) else type(exc).__name__
            log.append(FetchLogEntry(url=url, kind="file", outcome="error", source=source,
                                     error=reason, detail=str(exc)[:2000]))
            counts["errors"] += 1
            report(f"skipped {path}: {exc}")
        else:
            log.append(FetchLogEntry(url=url, kind="file", outcome="ok", source=source,
                                     bytes=path.stat().st_size, fetched_at=doc.fetched_at))
            batch.append(doc)
        if len(batch) >= session.settings.save_batch:
            flush()
        if n % PROGRESS_EVERY == 0:
            report(f"{n} files read, {sum(counts.values()) + len(batch)} processed")
    flush()
    session.counts.update(counts)
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
