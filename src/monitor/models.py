"""The values that move between pipeline stages.

Every stage takes and returns these frozen dataclasses, so a stage can run in a
thread, another process or a Dask worker (they pickle) and be tested as a plain
function. Nothing here touches the network or the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

DuplicateKind = Literal["url", "exact", "near", "contained"]
DateConfidence = Literal["high", "medium", "low"]
FetchOutcome = Literal["ok", "not_modified", "unchanged", "error", "skipped"]

#: How ``Document.raw`` is compressed, stored in ``pages.encoding`` beside each blob
#: (rows written before 2026-11-22 say 'zlib'; ``pagestore.decompress_page`` reads both).
PAGE_ENCODING = "zstd"


@dataclass(frozen=True)
class Source:
    """One feed from a sources file."""

    name: str
    url: str
    language: str | None = None
    country: str | None = None
    owner: str | None = None  # state-affiliated | state-funded | independent | party | unknown | ...
    poll_minutes: int = 60
    homepage: str | None = None
    notes: str | None = None
    state: str | None = None  # the state behind a state-affiliated or state-funded outlet (ISO code)
    owner_reason: str | None = None  # why the owner label: the evidence an analyst can check
    cited_as: tuple[str, ...] = ()  # the names other outlets credit it by ("Sputnik", "Спутник")


@dataclass(frozen=True)
class FeedState:
    """What we remember about a feed between runs; advanced only after a successful save."""

    source: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    next_poll_after: datetime | None = None


@dataclass(frozen=True)
class FetchLogEntry:
    """One row of fetch_log: every HTTP attempt we made, and how it ended."""

    url: str
    kind: Literal["feed", "page", "robots", "file"]
    outcome: FetchOutcome
    source: str | None = None
    final_url: str | None = None
    status: int | None = None
    bytes: int = 0
    elapsed_ms: float = 0.0
    error: str | None = None  # a short reason code: "http_404", "timeout", "blocked_url", ...
    detail: str | None = None  # the human-readable message
    fetched_at: datetime | None = None


@dataclass(frozen=True)
class FetchResult:
    """A completed HTTP exchange: a body, or a 304, with the headers we need."""

    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    elapsed_ms: float
    fetched_at: datetime

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, as feedparser gave it, with our canonical URL."""

    source: str
    url: str
    canonical_url: str
    guid: str | None = None
    title: str | None = None
    summary: str | None = None
    content_html: str | None = None  # RSS content:encoded / Atom content, when present
    author: str | None = None
    published: datetime | None = None  # UTC; None when the feed gives no usable date
    published_raw: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """What a feed body yielded. ``problem`` says why it is broken, when it is."""

    url: str
    version: str
    title: str | None
    entries: tuple[FeedEntry, ...]
    problem: str | None = None
    skipped: tuple[str, ...] = ()  # reasons for entries dropped (no link, duplicate guid, ...)
    notes: tuple[str, ...] = ()  # what was repaired (double gzip, undeclared encoding, dates)


@dataclass(frozen=True)
class Extracted:
    """The cleaned article from one page or file (trafilatura + our cleaning)."""

    url: str
    canonical_url: str
    title: str | None
    text: str
    author: str | None = None
    published: datetime | None = None
    language: str | None = None
    sitename: str | None = None
    description: str | None = None
    extractor: str = "trafilatura"
    #: Why the text is not all the page had (a size cap), else None.
    note: str | None = None


@dataclass(frozen=True)
class Tag:
    """One taxonomy concept found in a text, with the text that produced it."""

    concept_id: str
    score: float
    evidence: str


@dataclass(frozen=True)
class Relevance:
    """Whether a text is about Russia and the Balkans, with a score and the reason."""

    relevant: bool
    score: float
    reason: str


@dataclass(frozen=True)
class Match:
    """A dedup decision: this text is a copy of ``duplicate_of``."""

    duplicate_of: str
    kind: DuplicateKind
    similarity: float


@dataclass(frozen=True)
class Credit:
    """One credit in a text (``judging.attribution``): the name as written, its key, the cue, the passage."""

    name: str
    key: str  # name_key(name): folded words, one case ending dropped
    cue: str  # label | phrase | verb | dateline | line
    evidence: str


@dataclass(frozen=True, order=True)
class SiteIdentifier:
    """One operator identifier on a page (``reading.sitefingerprint``): kind, value, the markup around it."""

    kind: str
    value: str
    evidence: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Document:
    """An article ready to be judged against the warehouse and saved.

    Built in a worker (fetch, extract, tag, fingerprint are pure or network-only);
    the dedup decision against stored articles is made by the single writer.
    """

    id: str
    source: str | None
    url: str
    canonical_url: str | None  # None for reference documents (they have no URL)
    title: str
    text: str
    fetched_at: datetime
    published_at: datetime | None
    date_source: Literal["feed", "page", "fetched", "file"]
    date_confidence: DateConfidence
    author: str | None = None
    language: str | None = None
    sitename: str | None = None
    guid: str | None = None
    summary: str | None = None
    raw: bytes | None = None  # the raw page, compressed as PAGE_ENCODING says; None for feed-only items
    content_hash: str = ""
    word_count: int = 0
    tags: tuple[Tag, ...] = ()
    relevance: Relevance | None = None
    taxonomy_version: str | None = None
    fingerprint: object | None = None  # monitor.judging.dedup.Fingerprint, opaque to other stages
    extractor: str = "trafilatura"
    notes: tuple[str, ...] = field(default_factory=tuple)
    credits: tuple[Credit, ...] = ()  # who the text says it comes from (judging.attribution)
    script: str | None = None  # cyrillic | latin | mixed: the text's script
    site_ids: tuple[SiteIdentifier, ...] = ()  # operator identifiers in its raw page (reading.sitefingerprint)
