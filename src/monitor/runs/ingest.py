"""One ingest run: fetch feeds, fetch and judge new pages, save them from one writer.

The stages that touch the network (``fetch_feed``, ``fetch_pages``) are plain
functions of values, run as Prefect tasks in threads, processes or on Dask. The
``IngestSession`` is the single writer: it owns the DuckDB connection, decides
which entries are new, makes the dedup decision and saves, in transactions. A
feed's ETag/Last-Modified/body hash advance only after all its new articles are
saved, so a run killed at any point refetches what it had not saved, and saving
the same article twice is a no-op (ids are keyed on canonical URLs).
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import duckdb

from monitor.storage import events as event_store
from monitor.storage import store
from monitor.judging.coverage import coverage_gap
from monitor.storage.dedup_index import DedupIndex, Known, worth_verifying
from monitor.judging.dedup import (
    COMPILATION_PART,
    MIN_WORDS_FOR_SIMILARITY,
    SIMILARITY_TIE,
    DedupDecision,
    Fingerprint,
    Hit,
    Overlap,
    PageKind,
    Quote,
    decode_shingles,
    distinct_parts,
    is_compilation,
    quote_between,
    rank_roots,
)
from monitor.exceptions import ExtractionError, FeedError, FetchError, WarehouseError, WarehouseLockedError, may_pass
from monitor.reading.extract import extract_article, with_language
from monitor.reading.language import load_language_model
from monitor.reading.feeds import parse_feed
from monitor.fetching.fetch import Fetcher, log_entry
from monitor.models import Document, Extracted, FeedEntry, FeedState, FetchLogEntry, FetchResult, Match, ParsedFeed, Source
from monitor.pipeline import Judge, PageRead, build_document, build_documents, document_from_feed_content, make_judge
from monitor.fetching.robots import RobotsPolicy
from monitor.settings import Settings
from monitor.runs.lifeline import RunStopped, finish_before_stopping, stopping, wait_unless_stopping
from monitor.runs.sources import load_sources
from monitor.judging.events import covered_name_stems
from monitor.judging.taxonomy import save_taxonomy
from monitor.reading.urls import article_id
from monitor.storage.warehouse import (
    connect,
    close,
    fit_memory_limit,
    lift_memory_limit,
    refresh_rollups,
    returning_memory,
)

__all__ = [
    "FeedOutcome",
    "PagesOutcome",
    "IngestSession",
    "fetch_feed",
    "fetch_pages",
    "page_budget",
    "load_reference_corpus",
    "decide_and_save",
    "find_url_duplicate",
    "run_ingest",
    "published_first",
    "story_facts",
    "MAX_BACKOFF",
    "POLL_DUE_SHARE",
    "BOOKS_MAX_FEEDS",
    "BOOKS_MAX_SECONDS",
    "PollDecision",
    "poll_decision",
    "SourceSchedule",
    "load_source_schedule",
]

#: A failing feed is polled less and less often, up to once a day.
MAX_BACKOFF = timedelta(hours=24)
#: With ``respect_poll_minutes``, a source is due once this share of its ``poll_minutes``
#: has passed: a schedule's runs start a few seconds early or late, and a 60-minute source
#: polled at 10:00:04 must not wait for a run after 11:00:04.
POLL_DUE_SHARE = 0.9
#: Feed bookkeeping (fetch_log rows, feed states) is held for at most this many feeds or
#: seconds and saved in one commit (IngestSession._keep_books): ~60 ms a lake commit, so
#: 200 feeds save in one tenth of a second instead of 24 s, and a kill -9 loses the state of
#: at most 200 feeds, which are then read again in full.
BOOKS_MAX_FEEDS = 200
BOOKS_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class PollDecision:
    """Whether a run at some instant polls a source; if not, what it waits for and until when.

    ``wait`` is "due" (poll now), "backoff" (the feed failed and waits out
    ``feed_state.next_poll_after``) or "poll_minutes" (polled successfully too recently).
    ``next_poll_at`` is the earliest instant a run polls it again, None when due now.
    """

    wait: Literal["due", "backoff", "poll_minutes"]
    next_poll_at: datetime | None = None

    @property
    def due(self) -> bool:
        """True when the run polls the source."""
        return self.wait == "due"


def poll_decision(
    source: Source, state: FeedState | None, *, now: datetime, respect_poll_minutes: bool
) -> PollDecision:
    """Whether a run at ``now`` polls ``source``, given its saved feed state (None: never polled).

    A saved state counts only while it is for the same URL: a source whose URL changed
    in the sources file is a new feed, due at once. A failing feed waits out its backoff
    whatever ``respect_poll_minutes`` says. With ``respect_poll_minutes`` (the scheduled
    deployment), a feed is also spaced: due once POLL_DUE_SHARE of its ``poll_minutes``
    has passed since its last successful poll. When both apply, the backoff is what the
    feed waits for and the later of the two instants is when it is next polled.
    """
    if state is None or state.url != source.url:
        return PollDecision("due")
    spaced = (state.last_success_at + timedelta(minutes=source.poll_minutes * POLL_DUE_SHARE)
              if respect_poll_minutes and state.last_success_at else None)
    backoff = state.next_poll_after
    if backoff is not None and backoff > now:
        return PollDecision("backoff", max(backoff, spaced) if spaced is not None else backoff)
    if spaced is not None and spaced > now:
        return PollDecision("poll_minutes", spaced)
    return PollDecision("due")


@dataclass(frozen=True)
class SourceSchedule:
    """One source's polling as a scheduled run sees it: when it last worked, when it is next polled."""

    name: str
    poll_minutes: int
    #: ``source_activity.status`` (the last 7 days); "not_polled" for a source the
    #: warehouse has never heard of, which is what the view says of a source with no fetch.
    status: str
    last_success_at: datetime | None
    decision: PollDecision
    consecutive_failures: int
    current_error: str | None
    #: Coverage gaps recorded in the last 7 days (``source_activity.coverage_gaps``).
    coverage_gaps: int


def load_source_schedule(
    con: duckdb.DuckDBPyConnection, sources: Iterable[Source], *, now: datetime
) -> list[SourceSchedule]:
    """Each source's schedule, in the given order, judged as the scheduled deployment judges it.

    Reads only: ``feed_state`` for the poll decision (``poll_decision`` with
    ``respect_poll_minutes``) and the ``source_activity`` view for the status, the
    current error and the coverage gaps. The view's window ends at DuckDB's own now().
    """
    states = store.load_feed_states(con)
    activity = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT source, status, coverage_gaps, current_error, consecutive_failures FROM source_activity"
        ).fetchall()
    }
    out = []
    for s in sources:
        st = states.get(s.name)
        status, gaps, error, failures = activity.get(s.name, ("not_polled", 0, None, None))
        out.append(SourceSchedule(
            name=s.name, poll_minutes=s.poll_minutes, status=status,
            last_success_at=st.last_success_at if st else None,
            decision=poll_decision(s, st, now=now, respect_poll_minutes=True),
            consecutive_failures=failures or 0, current_error=error, coverage_gaps=gaps or 0,
        ))
    return out


@dataclass(frozen=True)
class FeedOutcome:
    """What fetching one source's feed gave: a parsed feed, a 304, or a recorded failure."""

    source: Source
    previous: FeedState | None
    log: tuple[FetchLogEntry, ...]
    parsed: ParsedFeed | None = None
    fetched: FetchResult | None = None
    body_hash: str | None = None
    unchanged: bool = False
    error: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class PagesOutcome:
    """The documents built from one batch of a source's new entries, and the fetch log."""

    source: str
    documents: tuple[Document, ...]
    log: tuple[FetchLogEntry, ...]


def _pause(seconds: float) -> None:
    """The fetcher's waits (politeness between requests to a host, backoff before a retry),
    cut short by SIGTERM: a page task waiting its turn would otherwise hold the stop up by
    as long as its wait, then send the request anyway."""
    if wait_unless_stopping(seconds):
        raise FetchError("not fetched: the run was stopped (SIGTERM)", reason="stopped")


def fetch_feed(settings: Settings, source: Source, previous: FeedState | None) -> FeedOutcome:
    """Fetch (conditionally) and parse one source's feed; expected failures are returned, not raised."""
    etag = previous.etag if previous and previous.url == source.url else None
    last_modified = previous.last_modified if previous and previous.url == source.url else None
    started = time.monotonic()
    with Fetcher(settings, sleep=_pause) as fetcher:
        try:
            result = fetcher.fetch(source.url, etag=etag, last_modified=last_modified)
        except FetchError as exc:
            entry = log_entry(source.url, "feed", source.name, exc, (time.monotonic() - started) * 1000)
            return FeedOutcome(source, previous, (entry,), error=exc.reason, detail=str(exc))
    entry = log_entry(source.url, "feed", source.name, result, result.elapsed_ms)
    if result.not_modified:
        return FeedOutcome(source, previous, (entry,), fetched=result, unchanged=True)
    body_hash = hashlib.sha256(result.body).hexdigest()
    if previous is not None and previous.body_hash == body_hash and previous.url == source.url:
        # Some servers send fresh validators for an unchanged feed: the hash catches it.
        entry = replace(entry, outcome="unchanged")
        return FeedOutcome(source, previous, (entry,), fetched=result, body_hash=body_hash, unchanged=True)
    try:
        parsed = parse_feed(
            result.body, url=result.final_url, source=source.name,
            content_type=result.content_type, max_items=settings.max_items_per_feed,
            max_body_bytes=settings.max_body_bytes,
        )
    except FeedError as exc:
        entry = replace(entry, outcome="error", error=exc.reason, detail=str(exc))
        return FeedOutcome(source, previous, (entry,), fetched=result, body_hash=body_hash,
                           error=exc.reason, detail=str(exc))
    notes = "; ".join(([parsed.problem] if parsed.problem else []) + list(parsed.notes) + list(parsed.skipped))
    if notes:
        entry = replace(entry, error="malformed_feed" if parsed.problem else None, detail=notes[:2000])
    return FeedOutcome(source, previous, (entry,), parsed=parsed, fetched=result, body_hash=body_hash)


def page_budget(settings: Settings, pages: int) -> int:
    """Raw bytes a task of ``pages`` entries may fetch: its share of MAX_RAW_BYTES_PER_SOURCE_RUN.

    A source lists at most ``max_items_per_feed`` entries a run, so its tasks together
    never fetch more than the per-run cap, whatever its pages weigh.
    """
    return settings.max_source_bytes_per_run * pages // max(settings.max_items_per_feed, 1)


def fetch_pages(
    settings: Settings, source: str, entries: Sequence[FeedEntry], judge: Judge | None = None
) -> PagesOutcome:
    """Fetch, extract, tag and fingerprint a batch of one source's new entries.

    Bounded whatever the feed does: the batch fetches at most ``page_budget`` raw bytes
    (the entries past it are logged ``source_budget`` and fetched next run), and a page
    body seen earlier in the batch under another URL is not extracted or judged again,
    nor its raw bytes stored twice.
    """
    judge = judge or make_judge(settings.taxonomy_path)
    # In entry order: a document made already (from a feed's own text), or a page to build.
    # Pages are built together after the fetches, a stage at a time (build_documents).
    slots: list[Document | PageRead] = []
    log: list[FetchLogEntry] = []
    budget = page_budget(settings, len(entries))
    fetched_bytes = 0
    #: sha256 of a page body -> the slot of the page first read with it, what it gave, its URL
    same_body: dict[str, tuple[int, Extracted, str]] = {}
    #: slot of a page with a body read before -> the slot of that first page
    copy_of: dict[int, int] = {}
    with Fetcher(settings, sleep=_pause) as fetcher:
        robots = RobotsPolicy(fetcher) if settings.respect_robots else None
        for entry in entries:
            if stopping():  # SIGTERM: the pages not fetched are new entries again next run
                break
            if fetched_bytes >= budget:
                log.append(FetchLogEntry(
                    url=entry.url, kind="page", outcome="error", source=source, error="source_budget",
                    detail=f"this batch already fetched {fetched_bytes:,} bytes, its share of "
                    f"{settings.max_source_bytes_per_run:,} a source a run: fetched next run"))
                continue
            started = time.monotonic()
            fetched_at = datetime.now(UTC)
            try:
                if robots is not None:
                    robots.ensure_allowed(entry.url)
                result = fetcher.fetch(entry.url)
            except FetchError as exc:
                log.append(log_entry(entry.url, "page", source, exc, (time.monotonic() - started) * 1000))
                fallback = document_from_feed_content(entry, judge=judge, fetched_at=fetched_at, reason=exc.reason)
                if fallback is not None:
                    slots.append(fallback)
                continue
            fetched_bytes += len(result.body)
            page_log = log_entry(entry.url, "page", source, result, result.elapsed_ms)
            body_key = hashlib.sha256(result.body).hexdigest()
            seen = same_body.get(body_key)
            try:
                # A page's language is identified with the others' below (with_language).
                extracted = _same_page_at(seen[1], result.final_url) if seen else extract_article(
                    result.body, result.final_url, fallback_title=entry.title, identify=False)
            except ExtractionError as exc:
                log.append(replace(page_log, outcome="error", error=exc.reason, detail=str(exc)))
                fallback = document_from_feed_content(entry, judge=judge, fetched_at=fetched_at, reason=exc.reason)
                if fallback is not None:
                    slots.append(fallback)
                continue
            if seen:
                page_log = replace(page_log, detail=f"same body as {seen[2]}: not extracted again")
                copy_of[len(slots)] = seen[0]
            elif extracted.note:
                page_log = replace(page_log, error="capped", detail=extracted.note)  # an ok fetch, noted
            log.append(page_log)
            same_body.setdefault(body_key, (len(slots), extracted, entry.canonical_url))
            slots.append(PageRead(extracted, result.fetched_at, source, entry, final_url=result.final_url,
                                  raw=None if seen else result.body))
    docs = _built(slots, copy_of, judge)
    return PagesOutcome(source=source, documents=tuple(docs), log=tuple(log))


def _built(slots: list[Document | PageRead], copy_of: dict[int, int], judge: Judge) -> list[Document]:
    """The documents of ``fetch_pages``' slots, in order: pages read first built together
    (languages identified, then each stage over them all), then the pages that repeat a
    body read before, each taking that page's language and judgement (``same_as``)."""
    read = {i: replace(page, extracted=with_language(page.extracted))
            for i, page in enumerate(slots) if isinstance(page, PageRead) and i not in copy_of}
    docs: dict[int, Document] = dict(zip(read, build_documents(list(read.values()), judge=judge), strict=True))
    copies: dict[int, PageRead] = {}
    for i, first in copy_of.items():
        page = slots[i]
        assert isinstance(page, PageRead)
        language = read[first].extracted.language
        copies[i] = replace(page, extracted=replace(page.extracted, language=language), same_as=docs[first])
    docs.update(zip(copies, build_documents(list(copies.values()), judge=judge), strict=True))
    return [slot if isinstance(slot, Document) else docs[i] for i, slot in enumerate(slots)]


def _same_page_at(extracted: Extracted, url: str) -> Extracted:
    """What an identical body gave, as read at ``url``: its own URL, unless the page names its canonical."""
    declared = extracted.canonical_url not in (None, extracted.url)
    return replace(extracted, url=url, canonical_url=extracted.canonical_url if declared else url)


def find_url_duplicate(
    con: duckdb.DuckDBPyConnection, canonical_url: str, pending: dict[str, str] | None = None
) -> str | None:
    """The canonical root of a stored (or pending, same batch) article at this URL, if any."""
    if pending and canonical_url in pending:
        return pending[canonical_url]
    rows = con.execute(
        "SELECT coalesce(duplicate_of, id) FROM articles WHERE canonical_url = ?", [canonical_url]
    ).fetchall()
    return rows[0][0] if rows else None


def decide_and_save(
    con: duckdb.DuckDBPyConnection,
    index: DedupIndex,
    docs: Iterable[Document],
    *,
    run_id: str | None,
    kind: str = "article",
    then: Callable[[Counter[str], Counter[str]], None] | None = None,
    event_names: frozenset[str] = frozenset(),
) -> Counter[str]:
    """Dedup each document against everything stored (and earlier in the batch), save, assign events.

    One transaction per call: either the whole batch is stored or none of it. The
    warehouse is asked once per batch (ids, URLs, content), not once per document; the
    batch's own documents are compared with each other in memory. A copy points at the
    canonical root, and every mark is verified against that root itself on the full
    shingle sets (``monitor.judging.dedup``), so no chain of partial overlaps joins texts
    that do not overlap enough. Feeds arrive in any order: when a newcomer was published
    before the story it matches, it becomes the root and the old root (with its copies)
    is re-pointed to it, but only if each of them is verified a copy of the newcomer too.
    Reference documents are always roots. Each copy's exact overlap (``copy_overlaps``)
    and the quotation links (``quotations``) are saved with the batch. Each new story
    (a document that is no copy) is then assigned to an event (``storage.events``);
    ``event_names`` are the taxonomy's name stems (``judging.events.covered_name_stems``),
    which the session passes.
    ``then`` is called inside the batch's transaction, so what it records commits with
    the batch or not at all, with the batch's counts and with how the batch moves the
    warehouse's own totals (``store.article_totals``: stories, copies, off_topic), as
    the batch knows them without counting the table again (``_Batch.totals_change``).
    """
    counts: Counter[str] = Counter()
    docs = list(docs)
    batch = _Batch(index=index)
    with store.transaction(con):
        # Stored ids and URLs in one lookup of ``articles`` (each costs ~10 ms on a lake).
        stored_ids, stored_urls = store.stored_ids_and_url_roots(
            con, [d.id for d in docs] + [article_id(d.url) for d in docs],
            [u for d in docs for u in (d.canonical_url, d.url) if u])
        fresh = [d for d in docs if d.id not in stored_ids]
        counts["already_stored"] += len(docs) - len(fresh)
        content = index.check_many([(d.fingerprint, d.published_at) for d in fresh],  # type: ignore[misc]
                                   sources=[d.source for d in fresh])
        # The stored roots matched are what the batch verifies against again (copies of
        # them later in the batch, re-rootings): their texts, copies and dates (who copied
        # whom is decided by dates, those of the URL matches' roots too) in one lookup of
        # ``articles`` and one of the index, not two a root (~10 ms each on a lake; 48
        # lookups in 600 pages).
        batch.prefetch(con, sorted({c.match.duplicate_of for c in content if c.match}),
                       dates=set(stored_urls.values()))
        for doc, stored in zip(fresh, content, strict=True):
            if doc.id in batch.position:
                counts["already_stored"] += 1
                continue
            url_root = batch.urls.get(doc.canonical_url or "") or stored_urls.get(doc.canonical_url or "")
            if url_root is not None:
                own = article_id(doc.url)
                if doc.url == doc.canonical_url or doc.url in stored_urls or doc.url in batch.urls \
                        or own in stored_ids or own in batch.position:
                    counts["already_stored"] += 1
                    continue
                # Another link to a page we have: keep it under its own URL, marked as a copy.
                doc = replace(doc, canonical_url=doc.url, id=own)
                decision = DedupDecision(match=Match(batch.root(url_root), "url", 1.0), note=None)
            else:
                decision = batch.match_within(doc, stored)
                if decision.match is not None:
                    root = batch.root(decision.match.duplicate_of)
                    if root != decision.match.duplicate_of:
                        # Its stored match was re-pointed in this batch: verify against the new root.
                        decision = batch.verified(doc, root, decision)
                if decision.match is not None:
                    match = decision.match
                    if _published_before(con, batch, doc, match.duplicate_of):
                        moved = batch.reroot(con, doc, old=match.duplicate_of, match=match)
                        if moved is not None:
                            counts.update(moved)
                            decision = DedupDecision(
                                match=None, note=f"the original of {match.duplicate_of}: published before it, "
                                "saved after it", quotes=decision.quotes)
            batch.append(doc, kind, decision)
            counts[_bucket(doc, decision)] += 1
        # Each stored root a newcomer displaced, and its stored copies, now point at the
        # batch's final root: two statements a batch, not a table scan per re-pointing.
        store.repoint(con, [(old, batch.root(old), m.kind, m.similarity, _REPOINT_NOTE)
                            for old, m in batch.stored_moves.items()],
                      copies={old: batch.stored_copies[old] for old in batch.stored_moves})
        index.add_many([(d.id, d.fingerprint) for d, _, _ in batch.rows], new=True,  # type: ignore[misc]
                       pages=batch.pages)
        store.save_articles(con, batch.rows, run_id, stored=stored_ids)
        index.save_overlaps(batch.final_overlaps(), new=batch.position)
        index.save_quotes(batch.quotes, run_id)
        # Not added to ``counts``: those sort each document into one bucket (stories,
        # copies, off topic, already stored), and callers add them up.
        event_store.assign_stories(con, [story_facts(d) for d, _, decision in batch.rows if decision.match is None],
                                   covered=event_names, run_id=run_id, displaced=batch.displaced())
        if then is not None:
            then(counts, batch.totals_change())
    return counts


def story_facts(doc: Document) -> event_store.StoryFacts:
    """What event assignment reads of a document: placed in time as the ``stories`` view places it."""
    trusted = (doc.published_at is not None and doc.date_confidence in _ORDERING_CONFIDENCE
               and doc.published_at <= doc.fetched_at + timedelta(days=1))
    return event_store.StoryFacts(doc.id, doc.title, doc.text, tuple(sorted({t.concept_id for t in doc.tags})),
                                  doc.published_at if trusted else doc.fetched_at, dated=trusted)


#: Outlet boilerplate counts, per source (the cache DedupIndex.judge fills once a batch).
_BoilerplateCache = dict[str, Any]


@dataclass
class _Batch:
    """The rows of one save, before they are inserted (so later rows can refer to them)."""

    index: DedupIndex | None = None
    rows: list[tuple[Document, str, DedupDecision]] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)
    by_hash: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)  # canonical URL -> root id
    moved: dict[str, str] = field(default_factory=dict)  # old root -> new root (re-pointed)
    #: stored old root -> the match that made it a copy; written once per batch (store.repoint)
    stored_moves: dict[str, Match] = field(default_factory=dict)
    #: stored article id -> (kind, published_at, date_confidence), or None when not stored;
    #: columns a re-pointing never changes, so they are read once per batch.
    stored_dates: dict[str, tuple[str, datetime | None, str | None] | None] = field(default_factory=dict)
    #: anchor -> positions of the batch's comparable documents that have it, so a
    #: newcomer meets only the documents it shares anchors with (not all ~200 of them).
    postings: dict[int, list[int]] = field(default_factory=dict)
    #: copy id -> (root, exact overlap), for copy_overlaps; re-pointings overwrite it.
    overlaps: dict[str, tuple[str, Overlap]] = field(default_factory=dict)
    quotes: list[Quote] = field(default_factory=list)
    #: page kinds the writer decided (a compilation is a listing), for the index.
    pages: dict[str, PageKind] = field(default_factory=dict)
    #: stored texts read for verification in this batch, and outlet boilerplate counts.
    known: dict[str, Known | None] = field(default_factory=dict)
    boilerplate: _BoilerplateCache = field(default_factory=dict)
    #: stored root -> its stored copies' ids (read before this batch changes any)
    stored_copies: dict[str, list[str]] = field(default_factory=dict)
    #: stored article id -> its ``relevant``, read with its dates (prefetch): what the
    #: warehouse's story counts lose when a stored root becomes a copy.
    stored_relevant: dict[str, bool | None] = field(default_factory=dict)

    def prefetch(self, con: duckdb.DuckDBPyConnection, stored: list[str], dates: Iterable[str] = ()) -> None:
        """Read the texts (as ``text_of`` would), the stored copies (as ``reroot`` would)
        and the dates (as ``_published_before`` would) of these stored articles, and the
        dates of ``dates``, at once; what is read is what those would read later in the
        batch, since the batch writes nothing before its end."""
        wanted = [d for d in stored if d not in self.known and d not in self.position]
        roots = [d for d in stored if d not in self.stored_copies]
        # Not stored_dates: _published_before may have read an article's dates alone.
        dated = sorted({*dates, *stored} - self.stored_relevant.keys())
        outlets: dict[str, str | None] = {}
        if roots or dated or wanted:
            for root in roots:
                self.stored_copies[root] = []
            looked_up = {*dated, *wanted}
            new_roots = set(roots)
            for doc_id, parent, kind, published_at, confidence, relevant, source in con.execute(
                    "SELECT id, duplicate_of, kind, published_at, date_confidence, relevant, source FROM articles "
                    "WHERE id = ANY($1::VARCHAR[]) OR duplicate_of = ANY($2::VARCHAR[])",
                    [sorted(looked_up), roots]).fetchall():
                if parent in new_roots:
                    self.stored_copies[parent].append(doc_id)
                if doc_id in looked_up:
                    self.stored_dates[doc_id] = (kind, published_at, confidence)
                    self.stored_relevant[doc_id] = relevant
                    outlets[doc_id] = source
            for doc_id in dated:
                self.stored_dates.setdefault(doc_id, None)
                self.stored_relevant.setdefault(doc_id, None)
        if self.index is not None and wanted:
            self.known.update(self.index.known(wanted, outlets=outlets))
            for doc_id in wanted:
                self.known.setdefault(doc_id, None)

    def append(self, doc: Document, kind: str, decision: DedupDecision) -> None:
        position = len(self.rows)
        self.position[doc.id] = position
        self.rows.append((doc, kind, decision))
        fp = doc.fingerprint
        if isinstance(fp, Fingerprint) and fp.word_count >= MIN_WORDS_FOR_SIMILARITY:
            for anchor in fp.anchors:
                self.postings.setdefault(anchor, []).append(position)
        if doc.content_hash:
            self.by_hash.setdefault(doc.content_hash, doc.id)
        if doc.canonical_url:
            self.urls[doc.canonical_url] = decision.match.duplicate_of if decision.match else doc.id
        if decision.match is not None:
            overlap = decision.overlap
            if overlap is None and decision.match.kind == "exact" and isinstance(fp, Fingerprint):
                n = len(decode_shingles(fp.shingles))
                overlap = Overlap(n, 1.0, 1.0, 1.0)
            if overlap is not None:
                self.overlaps[doc.id] = (decision.match.duplicate_of, overlap)
        self.quotes.extend(replace(q, quoting=q.quoting or doc.id, quoted=q.quoted or doc.id) for q in decision.quotes)
        if decision.compilation and decision.match is None:
            self.pages[doc.id] = "listing"

    def root(self, doc_id: str) -> str:
        """The canonical root of an id, following copies and re-pointings of this batch."""
        for _ in range(len(self.rows) + len(self.moved) + 1):
            if doc_id in self.moved:
                doc_id = self.moved[doc_id]
                continue
            i = self.position.get(doc_id)
            match = self.rows[i][2].match if i is not None else None
            if match is None or match.duplicate_of == doc_id:
                return doc_id
            doc_id = match.duplicate_of
        return doc_id

    def text_of(self, doc_id: str) -> Known | None:
        """A pending or stored text as verification needs it (None: not comparable)."""
        i = self.position.get(doc_id)
        if i is not None:
            doc = self.rows[i][0]
            fp = doc.fingerprint
            if not isinstance(fp, Fingerprint) or fp.word_count < MIN_WORDS_FOR_SIMILARITY:
                return None
            return Known(decode_shingles(fp.shingles), self.pages.get(doc_id, fp.page), doc.source)
        if doc_id not in self.known and self.index is not None:
            self.known.update(self.index.known([doc_id]))
            self.known.setdefault(doc_id, None)
        return self.known.get(doc_id)

    def judge(self, doc: Document, root: str) -> tuple[Hit | None, Overlap | None]:
        """Is ``doc`` a copy of the pending or stored ``root``, verified?"""
        other = self.text_of(root)
        fp = doc.fingerprint
        if other is None or self.index is None or not isinstance(fp, Fingerprint):
            return None, None
        pending = []
        if doc.source is not None and other.source == doc.source:
            pending = [decode_shingles(d.fingerprint.shingles) for d, _, _ in self.rows
                       if d.source == doc.source and d.id != root and isinstance(d.fingerprint, Fingerprint)]
        return self.index.judge(decode_shingles(fp.shingles), doc.source, root, other, self.boilerplate, pending)

    def verified(self, doc: Document, root: str, decision: DedupDecision) -> DedupDecision:
        """``decision`` moved to ``root``, if ``doc`` is verified its copy; else a new story."""
        hit, _ = self.judge(doc, root)
        if hit is None:
            return DedupDecision(None, quotes=decision.quotes)
        return replace(decision, match=Match(root, hit.kind, hit.similarity), overlap=hit.overlap)

    def match_within(self, doc: Document, stored: DedupDecision) -> DedupDecision:
        """The best match among this batch's earlier documents' roots, verified, if it
        beats the stored one (``stored``); quotation links with them are added."""
        if stored.match is not None and stored.overlap is not None and any(
                d.source == doc.source for d, _, _ in self.rows if doc.source is not None):
            # Decided before this batch's own articles of the outlet were counted: its
            # boilerplate may be among them (two of its items sharing background paragraphs).
            stored = self.verified(doc, stored.match.duplicate_of, stored)
        same = self.by_hash.get(doc.content_hash) if doc.content_hash else None
        if same is not None and stored.match is None:
            return DedupDecision(match=Match(self.root(same), "exact", 1.0), note=None, quotes=stored.quotes)
        fp = doc.fingerprint
        if not isinstance(fp, Fingerprint) or fp.word_count < MIN_WORDS_FOR_SIMILARITY:
            return stored
        shared = Counter(i for anchor in fp.anchors for i in self.postings.get(anchor, ()))
        # Screened as stored texts are (``worth_verifying``): judging every earlier text
        # sharing three anchors was 32 verifications a page in a batch of 400 generated
        # pages (0.5 ms a page), nearly all of texts that only share a sentence or two.
        mine = len(fp.anchors)
        candidates = sorted(i for i, n in shared.items()  # batch order breaks ties
                            if worth_verifying(n, mine, len(self._anchors_of(i))))
        if not candidates:
            return stored
        best: tuple[tuple[object, ...], Match, Overlap] | None = None
        if stored.match is not None and stored.overlap is not None:
            o = stored.overlap
            # Stored first among equals: it was saved before anything in this batch.
            best = ((-round(max(o.jaccard, o.containment) / SIMILARITY_TIE), 0, datetime.min.replace(tzinfo=UTC), ""),
                    stored.match, o)
        elif stored.match is not None:
            return stored  # exact (or url) matches of stored texts stand
        quotes = list(stored.quotes)
        most = 0.0
        new = decode_shingles(fp.shingles)
        measured: dict[str, Overlap] = {}
        part_sets = []
        for root in dict.fromkeys(self.root(self.rows[i][0].id) for i in candidates):
            hit, overlap = self.judge(doc, root)
            if hit is not None and hit.overlap is not None:
                o = hit.overlap
                rank = (*rank_roots(max(o.jaccard, o.containment), False, self._published(root), root),)
                if best is None or rank < best[0]:
                    best = (rank, Match(root, hit.kind, hit.similarity), o)
            other = self.text_of(root)
            if overlap is not None and other is not None:
                measured[root] = overlap
                if overlap.containment >= COMPILATION_PART and other.page == "story":
                    part_sets.append(other.shingles)
                most = max(most, overlap.containment)
        parts = distinct_parts(new, part_sets) if len(part_sets) > 1 else len(part_sets)
        if is_compilation(parts, most) and best is not None and best[1] != stored.match:
            best = None  # made of two of this batch's stories or more, mostly of none
        chosen = best[1].duplicate_of if best else None
        for root, overlap in measured.items():  # quotation links go to stories (roots)
            quote = quote_between(overlap, root, compilation_part=parts >= 2) if root != chosen else None
            if quote is not None:
                quotes.append(quote)
        if best is None:
            return replace(stored, quotes=tuple(quotes), compilation=stored.compilation or is_compilation(parts, most))
        return DedupDecision(best[1], stored.note if best[1] == stored.match else None, overlap=best[2],
                             quotes=tuple(quotes))

    def _anchors_of(self, position: int) -> tuple[int, ...]:
        fp = self.rows[position][0].fingerprint
        return fp.anchors if isinstance(fp, Fingerprint) else ()

    def _published(self, doc_id: str) -> datetime | None:
        i = self.position.get(doc_id)
        return self.rows[i][0].published_at if i is not None else None

    def reroot(self, con: duckdb.DuckDBPyConnection, doc: Document, *, old: str, match: Match) -> Counter[str] | None:
        """Make ``doc`` the root of ``old``'s story if ``old`` and each of its copies is
        verified a copy of ``doc``; None (nothing changed) otherwise."""
        members = [old] + [d.id for d, _, dec in self.rows if dec.match is not None and dec.match.duplicate_of == old]
        if old not in self.position:
            self.prefetch(con, [old])
            members += self.stored_copies[old]
        fp = doc.fingerprint
        if self.index is None or not isinstance(fp, Fingerprint):
            return None
        mine = Known(decode_shingles(fp.shingles), fp.page, doc.source)
        measured: dict[str, tuple[Hit, Overlap]] = {}
        for member in dict.fromkeys(members):
            text = self.text_of(member)
            if text is None:
                return None
            hit, exact = self.index.judge(text.shingles, text.source, doc.id, mine, self.boilerplate)
            if hit is None:
                return None
            measured[member] = (hit, exact)
        hit_old = measured[old][0]
        # The same text either way keeps its kind; otherwise the old root is measured as the copy.
        turned = replace(match, duplicate_of=doc.id) if match.kind in ("exact", "url") \
            else Match(doc.id, hit_old.kind, hit_old.similarity)
        moved = _make_root(self, old=old, new=doc.id, match=turned)
        for member, (_, exact) in measured.items():
            self.overlaps[member] = (doc.id, exact)
        return moved

    def totals_change(self) -> Counter[str]:
        """How saving this batch moves ``store.article_totals``: each new article counted
        as that query counts it, and each stored root displaced (an article, with what
        prefetch read of it) moved from its bucket to the copies; their copies stay copies."""
        change: Counter[str] = Counter()
        for doc, kind, decision in self.rows:
            if kind != "article":
                continue
            if decision.match is not None:
                change["copies"] += 1
            elif doc.relevance is not None and doc.relevance.relevant:
                change["stories"] += 1
            else:
                change["off_topic"] += 1
        for old in self.stored_moves:
            stored = self.stored_dates.get(old)
            if stored is not None and stored[0] == "article":
                change["stories" if self.stored_relevant.get(old) else "off_topic"] -= 1
                change["copies"] += 1
        return change

    def displaced(self) -> dict[str, list[str]]:
        """The stored articles that point at each of this batch's stories once it is saved
        (store.repoint): the stored roots it displaced and their stored copies, by story."""
        out: dict[str, list[str]] = {}
        for old in self.stored_moves:
            out.setdefault(self.root(old), []).extend([old, *self.stored_copies.get(old, ())])
        return out

    def final_overlaps(self) -> dict[str, tuple[str, Overlap]]:
        """Overlap rows of the copies as they end this batch (roots re-pointed later drop theirs)."""
        out = {}
        for doc_id, (root, overlap) in self.overlaps.items():
            if self.root(doc_id) == doc_id:
                continue  # made a root later in the batch
            out[doc_id] = (self.root(root), overlap)
        return out


#: Dates we trust enough to decide who copied whom (a fetch time says nothing about that).
_ORDERING_CONFIDENCE = ("high", "medium")


def _published_before(con: duckdb.DuckDBPyConnection, batch: _Batch, doc: Document, other: str) -> bool:
    """True when ``doc`` was published before the stored (or pending) article ``other``."""
    if doc.published_at is None or doc.date_confidence not in _ORDERING_CONFIDENCE:
        return False
    i = batch.position.get(other)
    if i is not None:
        o, kind, _ = batch.rows[i]
        return published_first((doc.published_at, doc.date_confidence), (kind, o.published_at, o.date_confidence))
    if other not in batch.stored_dates:
        batch.stored_dates.update(store.stored_dates(con, [other]))
    found = batch.stored_dates.get(other)
    return found is not None and published_first((doc.published_at, doc.date_confidence), found)


def published_first(
    mine: tuple[datetime | None, str | None], other: tuple[str, datetime | None, str | None]
) -> bool:
    """True when a text published at ``mine`` (date, confidence) came before the stored
    ``other`` (kind, date, confidence): then it is the story's root and ``other`` its copy.

    Only trusted dates decide, and a reference document is always the root.
    """
    (at, confidence), (other_kind, other_at, other_conf) = mine, other
    if at is None or confidence not in _ORDERING_CONFIDENCE:
        return False
    if other_kind != "article" or other_at is None or other_conf not in _ORDERING_CONFIDENCE:
        return False
    return bool(at < other_at)


_REPOINT_NOTE = "saved as a story first; its original, published earlier, arrived later"


def _make_root(batch: _Batch, *, old: str, new: str, match: Match) -> Counter[str]:
    """Re-point ``old`` and every copy of it at ``new``; return the change in this batch's counts.

    The batch's own rows change here; stored ones are noted for ``store.repoint`` at the
    end of the batch (a pending ``old`` has no stored copies: stored rows point at stored
    roots).
    """
    if old not in batch.position:
        batch.stored_moves[old] = match
    batch.moved[old] = new
    delta: Counter[str] = Counter()
    for i, (doc, kind, decision) in enumerate(batch.rows):
        if doc.id == old:
            delta[_bucket(doc, decision)] -= 1
            decision = DedupDecision(match=replace(match, duplicate_of=new), note=_REPOINT_NOTE)
            delta[_bucket(doc, decision)] += 1
        elif decision.match is not None and decision.match.duplicate_of == old:
            decision = replace(decision, match=replace(decision.match, duplicate_of=new))
        else:
            continue
        batch.rows[i] = (doc, kind, decision)
    delta["repointed"] += 1
    return delta


def _bucket(doc: Document, decision: DedupDecision) -> str:
    if decision.match is not None:
        return "duplicates"
    if doc.relevance is not None and not doc.relevance.relevant:
        return "off_topic"
    return "stories"


def _reference_count(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT count(*) FROM articles WHERE kind = 'reference'").fetchall()[0][0])


def load_reference_corpus(
    con: duckdb.DuckDBPyConnection, index: DedupIndex, seeds_dir: Path, judge: Judge
) -> int:
    """Store the seed texts as reference documents (id = file stem) if they are not yet stored,
    in the caller's transaction."""
    from monitor.reading.extract import extract_text_file

    docs = []
    paths = sorted(seeds_dir.glob("*.txt"))
    # One query for every seed (one a seed was a scan each, ~2 s of a writer's open at 1M).
    stored = store.existing_ids(con, [path.stem for path in paths])
    for path in paths:
        if path.stem in stored:
            continue
        extracted = extract_text_file(path.read_text(encoding="utf-8"), path.resolve().as_uri())
        doc = build_document(extracted, judge=judge, fetched_at=datetime.now(UTC), source="reference",
                             final_url=extracted.url, date_source="file")
        docs.append(replace(doc, id=path.stem, canonical_url=None, url=f"seed:{path.stem}"))
    if not docs:
        return 0
    # One add for all of them: two lookups of the index a call (~70 ms on a lake).
    index.add_many([(doc.id, doc.fingerprint) for doc in docs])  # type: ignore[misc]
    # What was stored was read above, and the new texts have no event yet.
    store.save_articles(con, [(d, "reference", None) for d in docs], None, stored=stored)
    event_store.assign_stories(con, [story_facts(d) for d in docs],
                               covered=covered_name_stems(judge.taxonomy), run_id=None, displaced={})
    return len(docs)


#: How DuckDB (and the OS, strerror(ENOSPC)) says a write found the disk full; DuckDB's
#: exceptions carry no errno.
_DISK_FULL = "No space left on device"


@dataclass
class _FeedProgress:
    outcome: FeedOutcome
    pending_batches: int
    failed: bool = False
    #: Pages that failed for a reason that may pass (a timeout, a 5xx) and were not saved
    #: from the feed's own content instead.
    pages_to_retry: int = 0


_F = TypeVar("_F", bound=Callable[..., Any])
_T = TypeVar("_T")


def _finished_before_stopping(method: _F) -> _F:
    """A session step that writes: a SIGTERM meanwhile stops the run once it is done (lifeline)."""
    @functools.wraps(method)
    def step(*args: Any, **kwargs: Any) -> Any:
        with finish_before_stopping():
            return method(*args, **kwargs)
    return cast(_F, step)


@dataclass
class IngestSession:
    """The single writer of one run: owns the connection; every save goes through it."""

    settings: Settings
    con: duckdb.DuckDBPyConnection
    judge: Judge
    index: DedupIndex
    run_id: str
    kind: str = "ingest"
    record: bool = True
    report: Callable[[str], None] = lambda _msg: None
    counts: Counter[str] = field(default_factory=Counter)
    #: The taxonomy's name stems, left out of the names events compare (judging.events).
    event_names: frozenset[str] = frozenset()
    _feeds: dict[str, _FeedProgress] = field(default_factory=dict)
    _memory_uncapped: bool = False
    #: a reader's session (`monitor check`): nothing is saved, no writer lock is held
    read_only: bool = False
    #: store.article_totals when the run began; the run's net_* counters are measured from it.
    _baseline: dict[str, int] = field(default_factory=dict)
    #: How the totals moved since the run began, as of its last committed batch; and the
    #: net_* counters of the batch being saved (committed with it).
    _moved: Counter[str] = field(default_factory=Counter)
    _net: dict[str, int] = field(default_factory=dict)
    _opened: float = field(default_factory=time.monotonic)
    #: Feed bookkeeping not saved yet (_keep_books): fetch_log rows and feed states, and since when.
    _pending_log: list[FetchLogEntry] = field(default_factory=list)
    _pending_states: list[tuple[FeedState, datetime, str | None]] = field(default_factory=list)
    _pending_since: float | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        kind: str = "ingest",
        report: Callable[[str], None] | None = None,
        record: bool = True,
        read_only: bool = False,
    ) -> IngestSession:
        """Open the warehouse (migrated), load the taxonomy and the reference corpus, start a run.

        ``record=False`` records no run: nothing but the warehouse's own setup (schema,
        taxonomy, reference corpus) is written. ``read_only=True`` (`monitor check`) takes
        no writer lock and writes nothing, so it works while a run writes; a warehouse
        without that setup yet (new, or older than the seeds) gets it first, unless
        another run is writing, which has done it.
        """
        judge = make_judge(settings.taxonomy_path)
        # Every text read has its language identified: the model is loaded with the
        # taxonomy, not in the middle of the first batch (0.4 s: 0.2 ms a page of a
        # 2,000-page import, counted as judging).
        load_language_model()
        if read_only:
            con = connect(settings.warehouse_target, read_only=True, data_path=settings.data_path)
            if _reference_count(con) < len(list(settings.seeds_dir.glob("*.txt"))):
                close(con)
                try:
                    cls.open(replace(settings, writer_wait=0.0), kind=kind, record=False).close()
                except WarehouseLockedError:
                    pass  # a writer holds it, and a writer loads the references when it opens
                con = connect(settings.warehouse_target, read_only=True, data_path=settings.data_path)
            return cls(settings=settings, con=con, judge=judge, index=DedupIndex(con), run_id=store.new_run_id(kind),
                       kind=kind, record=False, report=report or (lambda _msg: None), read_only=True)
        con = connect(settings.warehouse_target, memory_limit=settings.writer_memory_limit,
                      data_path=settings.data_path, writer_wait=settings.writer_wait, report=report)
        index = DedupIndex(con)
        run_id = store.new_run_id(kind)
        event_names = covered_name_stems(judge.taxonomy)
        backfilled: Counter[str] = Counter()
        # The setup in one transaction, one lake snapshot: each write alone was a commit of
        # its own. (Measured on a 10k lake: the open and close of a run together ~10 ms
        # faster, and a run that stores nothing makes 2 snapshots, not 3.)
        with returning_memory(con), store.transaction(con):
            save_taxonomy(con, judge.taxonomy)
            load_reference_corpus(con, index, settings.seeds_dir, judge)
            if record:
                store.start_run(con, run_id, kind)
                # A warehouse saved before events (migration 010) has its stories assigned once.
                backfilled = event_store.assign_unassigned(con, covered=event_names, run_id=run_id)
            baseline = store.article_totals(con)
        if backfilled.total():
            (report or (lambda _msg: None))(f"events: assigned {backfilled.total()} stories saved before events")
        session = cls(settings=settings, con=con, judge=judge, index=index, run_id=run_id, kind=kind,
                      record=record, report=report or (lambda _msg: None), event_names=event_names)
        session._baseline = baseline
        session.counts.update({f"net_{k}": 0 for k in session._baseline})  # a run that saves nothing says 0
        session._fit_memory()
        return session

    def __enter__(self) -> IngestSession:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            # After SIGTERM, any error is the stop's doing (DuckDB answers a signal that lands
            # during a query with "Query interrupted"): the run was stopped, not failed.
            self.close(failed=True, stopped=isinstance(exc, RunStopped) or stopping())
        except (duckdb.Error, OSError, WarehouseError) as closing:
            # The run's own error is the one to tell, once (a full disk fails the close
            # too): the run then stays 'unfinished' in `runs`, with the counters of what
            # it saved, recorded batch by batch (_record_progress).
            if isinstance(exc, BaseException):
                exc.add_note(f"and recording the end of the run failed: {str(closing).splitlines()[0]}")

    # -- planning ---------------------------------------------------------------------
    @_finished_before_stopping
    def due_sources(self, sources: Iterable[Source] | None = None) -> list[tuple[Source, FeedState | None]]:
        """Register the sources and return those due now (a failing feed waits out its backoff)."""
        sources = list(sources) if sources is not None else load_sources(self.settings.sources_path)
        store.save_sources(self.con, sources)
        states = store.load_feed_states(self.con)
        now = datetime.now(UTC)
        due = []
        for s in sources:
            st = states.get(s.name)
            decision = poll_decision(s, st, now=now, respect_poll_minutes=self.settings.respect_poll_minutes)
            if decision.wait == "backoff" and st is not None and st.next_poll_after is not None:
                self.counts["feeds_backing_off"] += 1
                self.report(f"{s.name}: backing off after {st.consecutive_failures} failures "
                            f"(next try after {st.next_poll_after:%Y-%m-%d %H:%M} UTC)")
                continue
            if decision.wait == "poll_minutes":
                self.counts["feeds_not_due"] += 1  # not reported one by one: most runs skip most feeds
                continue
            due.append((s, st))
        return due

    @_finished_before_stopping
    def new_entries(self, outcome: FeedOutcome) -> list[list[FeedEntry]]:
        """Log a feed fetch and return its new entries in batches for ``fetch_pages``."""
        name = outcome.source.name
        self._save_books_if_due()
        self._keep_books(log=outcome.log)
        self._feeds[name] = _FeedProgress(outcome, 0)
        if outcome.error is not None:
            self.counts["feeds_failed"] += 1
            self.report(f"{name}: feed failed ({outcome.error}: {outcome.detail})")
            self._finish_feed(name)
            return []
        if outcome.unchanged or outcome.parsed is None:
            self.counts["feeds_not_modified" if outcome.fetched and outcome.fetched.not_modified
                        else "feeds_unchanged"] += 1
            self._finish_feed(name)
            return []
        entries = list(outcome.parsed.entries)
        urls = [e.canonical_url for e in entries]
        known = store.known_urls(self.con, urls)
        tried = store.page_attempts(self.con, [e.url for e in entries])
        fresh = [e for e in entries if e.canonical_url not in known and not tried.get(e.url)]
        self.counts["feeds_ok"] += 1
        self.counts["entries_seen"] += len(entries)
        self.counts["entries_known"] += len(entries) - len(fresh)
        # Seen before: stored, or tried as a page whatever came of it (a page that failed
        # last time is no sign of a gap).
        self._check_coverage(outcome, entries, seen=sum(
            1 for e in entries if e.canonical_url in known or e.url in tried))
        size = self.settings.pages_per_task
        batches = [fresh[i:i + size] for i in range(0, len(fresh), size)]
        self._feeds[name].pending_batches = len(batches)
        self.report(f"{name}: {len(entries)} items, {len(fresh)} new"
                    + (f" (feed problem: {outcome.parsed.problem})" if outcome.parsed.problem else ""))
        if not batches:
            self._finish_feed(name)
        return batches

    def _keep_books(self, *, log: Sequence[FetchLogEntry] = (),
                    state: tuple[FeedState, datetime, str | None] | None = None) -> None:
        """Hold a feed's fetch_log rows and its new state for the next _save_books.

        On a lake every commit is a snapshot in the catalog: ~60 ms here, so one for each
        feed's log and one for its state cost a 5,000-source run most of 10 minutes while
        almost every feed was unchanged. Held, they are saved together, before the next
        page batch (the fetch_log ids stay in the order things happened) or once
        BOOKS_MAX_FEEDS feeds or BOOKS_MAX_SECONDS have gone by. A kill -9 loses at most
        those: their feeds are read again in full next run, and what they link to is known.
        """
        if self._pending_since is None:
            self._pending_since = time.monotonic()
        self._pending_log.extend(log)
        if state is not None:
            self._pending_states.append(state)

    def _save_books_if_due(self) -> None:
        if self._pending_since is not None and (
                len(self._pending_states) >= BOOKS_MAX_FEEDS
                or time.monotonic() - self._pending_since >= BOOKS_MAX_SECONDS):
            self._save_books()

    def _save_books(self) -> None:
        """Save the held feed bookkeeping in one transaction (one snapshot)."""
        if self._pending_since is None:
            return
        with store.transaction(self.con):
            store.save_fetch_log(self.con, self.run_id, self._pending_log)
            store.save_feed_states(self.con, self._pending_states)
        self._pending_log, self._pending_states, self._pending_since = [], [], None

    def _check_coverage(self, outcome: FeedOutcome, entries: Sequence[FeedEntry], *, seen: int) -> None:
        """Record a gap when this poll's items do not overlap the last poll's (monitor.judging.coverage)."""
        prev = outcome.previous
        last = prev.last_success_at if prev is not None and prev.url == outcome.source.url else None
        now = datetime.now(UTC)
        gap = coverage_gap(outcome.source.name, entries, seen=seen, last_success_at=last,
                           now=now, poll_minutes=outcome.source.poll_minutes)
        if gap is None:
            return
        # Counted and reported once: a resumed run finds the gap its killed run recorded.
        if store.save_coverage_gap(self.con, self.run_id, gap, detected_at=now):
            self.counts["coverage_gaps"] += 1
            self.report(f"{outcome.source.name}: {gap.reason}")

    # -- saving -----------------------------------------------------------------------
    @_finished_before_stopping
    def save_documents(self, documents: Sequence[Document],
                       fetch_log: Sequence[FetchLogEntry] = ()) -> Counter[str]:
        """Judge against the warehouse and save one batch (one transaction: one lake snapshot).

        ``fetch_log`` rows (the batch's files, read or refused) commit with the batch: one
        lake commit a batch, not two (a commit costs 70-100 ms on a SQLite catalog).

        The "auto" cap is an estimate: if DuckDB still runs out under it, the batch
        (rolled back whole by its transaction) is saved again without a cap, and the
        session stays uncapped, so "auto" never fails a run that "off" would finish.
        A fixed cap that is too small is the user's setting: a clear error instead.
        """
        def then(batch_counts: Counter[str], totals_change: Counter[str]) -> None:
            store.save_fetch_log(self.con, self.run_id, fetch_log)
            self._record_progress(batch_counts, totals_change)

        counts = self._within_memory("this batch", lambda: decide_and_save(
            self.con, self.index, documents, run_id=self.run_id, event_names=self.event_names,
            then=then))
        self.counts.update(counts)
        self._moved = Counter({key.removeprefix("net_"): value for key, value in self._net.items()})
        for key, value in self._net.items():  # assigned, not added: totals since the run began
            self.counts[key] = value
        self._fit_memory()
        return counts

    def _within_memory(self, what: str, transaction: Callable[[], _T]) -> _T:
        """Run one transaction (rolled back whole when it fails) under the writer's cap;
        under "auto", once more uncapped if DuckDB runs out, and the session stays uncapped."""
        limit = self.settings.writer_memory_limit
        try:
            return transaction()
        except duckdb.OutOfMemoryException as exc:
            if limit != "auto" or self._memory_uncapped:
                raise WarehouseError(
                    f"DuckDB ran out of memory under MONITOR_WRITER_MEMORY={limit}: raise it above the "
                    f"largest batch's needs or set it to auto ({exc})"
                ) from exc
            self._memory_uncapped = True
            lift_memory_limit(self.con)
            self.report(f"writer memory: the auto cap was too small for {what}; continuing uncapped")
            return transaction()

    def _record_progress(self, batch_counts: Counter[str], totals_change: Counter[str]) -> None:
        """Save the run's counters with the batch they include (inside its transaction).

        What ``runs`` says is then what the warehouse holds, however the run ends: a full
        disk, a SIGTERM or a kill -9 leaves the counters of the last committed batch. The
        net_* counters are the warehouse's own count (store.article_totals) against the
        run's start: a story that became a copy when its earlier original arrived, in this
        batch or a later one, is counted once, where it ended up. They are kept here, the
        batch's change added to those of the batches committed before (this writer is the
        only one: counting the table again cost a scan of ``articles`` a batch, ~15 ms on
        a lake).
        """
        # Added key by key: Counter's + drops what is not positive, and a net can be.
        self._net = {f"net_{k}": self._moved[k] + totals_change[k] for k in self._baseline}
        if self.record:
            # The net_* replace, not add to (Counter.update), the last batch's that
            # self.counts holds (save_documents): added, from the second batch on a run cut
            # short (kill -9) read as having saved more than it did.
            store.record_progress(self.con, self.run_id, {**(self.counts + batch_counts), **self._net})

    def _fit_memory(self) -> None:
        """Set the "auto" cap (no-op otherwise, or once a batch needed more)."""
        if self.settings.writer_memory_limit == "auto" and not self._memory_uncapped:
            fit_memory_limit(self.con)

    @_finished_before_stopping
    def save_pages(self, pages: PagesOutcome) -> Counter[str]:
        """Dedup and save a batch; when it is the feed's last batch, advance the feed's state."""
        self._save_books()
        store.save_fetch_log(self.con, self.run_id, pages.log)
        self.counts["page_errors"] += sum(1 for e in pages.log if e.outcome == "error")
        counts = self.save_documents(pages.documents)
        progress = self._feeds.get(pages.source)
        if progress is not None:
            saved = {d.url for d in pages.documents}
            progress.pages_to_retry += sum(1 for e in pages.log if e.outcome == "error" and e.kind == "page"
                                           and may_pass(e.error) and e.url not in saved)
            progress.pending_batches -= 1
            if progress.pending_batches <= 0:
                self._finish_feed(pages.source)
        self.report(f"{pages.source}: saved {counts.get('stories', 0)} stories, "
                    f"{counts.get('duplicates', 0)} copies, {counts.get('off_topic', 0)} off-topic")
        return counts

    @_finished_before_stopping
    def abandon(self, source: str, reason: str) -> None:
        """A page batch crashed: keep the feed's old state so the next run fetches it again."""
        progress = self._feeds.get(source)
        if progress is not None:
            progress.failed = True
        self.counts["page_batches_failed"] += 1
        self._keep_books(log=[FetchLogEntry(
            url=progress.outcome.source.url if progress else source, kind="feed", outcome="error",
            source=source, error="batch_failed", detail=reason[:2000])])
        self._save_books_if_due()
        self.report(f"{source}: a batch of pages failed ({reason}); the feed will be read again next run")

    def _finish_feed(self, name: str) -> None:
        progress = self._feeds[name]
        if progress.failed:
            return
        o = progress.outcome
        now = datetime.now(UTC)
        prev = o.previous or FeedState(source=name, url=o.source.url)
        if o.error is not None:
            failures = (prev.consecutive_failures if prev.url == o.source.url else 0) + 1
            wait = min(timedelta(minutes=o.source.poll_minutes) * 2 ** (failures - 1), MAX_BACKOFF)
            state = replace(prev, url=o.source.url, consecutive_failures=failures, next_poll_after=now + wait)
        else:
            fetched = o.fetched
            # The fetch time, not now: coverage gaps are judged against what the feed
            # held when it was read, and saving its pages may have taken minutes.
            state = replace(
                prev, url=o.source.url, consecutive_failures=0,
                last_success_at=fetched.fetched_at if fetched else now, next_poll_after=None,
                etag=(fetched.etag or prev.etag) if fetched else prev.etag,
                last_modified=(fetched.last_modified or prev.last_modified) if fetched else prev.last_modified,
                body_hash=o.body_hash or prev.body_hash,
            )
            if progress.pages_to_retry:
                # Forget the validators: an unchanged feed would answer 304 and its failed
                # pages would wait for its next change, or leave it untried. Read in full next
                # run, they are new entries again and fetched again.
                state = replace(state, etag=None, last_modified=None, body_hash=None)
        self._keep_books(state=(state, now, o.error))

    def close(self, *, failed: bool = False, stopped: bool = False) -> dict[str, Any]:
        """Record the run's outcome (ok, failed, or stopped by a signal) and close the connection; return the counters."""
        stats = dict(self.counts)
        try:
            if self.read_only:
                pass
            elif self.record and (failed or stopped):
                # First what the run saved and how it ended: the trend tables can wait for
                # the next run, and after a full disk they would fail again.
                store.finish_run(self.con, self.run_id, "stopped" if stopped else "failed", stats)
                # Then, if the warehouse still takes it, what the finished feeds told us.
                # Failing here loses bookkeeping only: those feeds are read again in full.
                with suppress(duckdb.Error):
                    self._save_books()
            else:
                self._save_books()
                if self.record:
                    def finish() -> None:
                        stats.update(event_store.run_counts(self.con, self.run_id))
                        store.finish_run(self.con, self.run_id, "ok", stats)
                    # The run's end commits with the refreshed tables: one lake commit, not two.
                    self._within_memory("the trend and copy tables", lambda: refresh_rollups(self.con, then=finish))
        finally:
            close(self.con)
        return stats

    def summary(self) -> dict[str, Any]:
        """Counters so far, plus warehouse totals."""
        totals = self.con.execute(
            "SELECT count(*) FILTER (kind = 'article'), count(*) FILTER (kind = 'article' AND duplicate_of IS NULL "
            "AND relevant), count(*) FILTER (kind = 'reference') FROM articles"
        ).fetchall()[0]
        return {"run_id": self.run_id, **dict(self.counts), "articles_total": totals[0],
                "stories_total": totals[1], "reference_documents": totals[2],
                "run_seconds": round(time.monotonic() - self._opened, 3)}


def run_ingest(
    settings: Settings,
    *,
    sources: Iterable[Source] | None = None,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """One ingest run in this process, sequentially: the same stages the Prefect flow fans out.

    For tests, benchmarks and debugging; scheduled runs use ``flows/ingest.py``.
    """
    with IngestSession.open(settings, report=report) as session:
        for source, previous in session.due_sources(sources):
            outcome = fetch_feed(settings, source, previous)
            for batch in session.new_entries(outcome):
                session.save_pages(fetch_pages(settings, source.name, batch, session.judge))
        return session.summary()
