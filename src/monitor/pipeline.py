"""The per-document stages, in the order data moves: extract -> date -> tag -> judge -> fingerprint -> credit.

Everything here is pure (values in, values out) so it runs in a worker thread, a
worker process or a Dask worker. The dedup decision against stored articles is the
single writer's job (``monitor.runs.ingest``), because it depends on what is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from monitor.judging.attribution import find_credits, text_script
from monitor.judging.dedup import Fingerprint, fingerprint_text
from monitor.exceptions import ExtractionError
from monitor.reading.extract import extract_article, extract_text_file, with_language
from monitor.reading.feeds import plausible_date
from monitor.models import (
    Credit,
    DateConfidence,
    Document,
    Extracted,
    FeedEntry,
    Relevance,
    SiteIdentifier,
    Tag,
)
from monitor.storage.pagestore import compress_page
from monitor.judging.relevance import judge_relevance
from monitor.judging.tagging import Matcher, analyse_text, compile_matcher
from monitor.judging.taxonomy import Taxonomy, load_taxonomy
from monitor.reading.sitefingerprint import fingerprint_site
from monitor.reading.urls import article_id, canonicalize_url, is_http_url

__all__ = [
    "Judge",
    "make_judge",
    "tag_and_judge",
    "choose_canonical_url",
    "choose_date",
    "PageRead",
    "build_document",
    "build_documents",
    "document_from_file",
    "documents_from_files",
    "document_from_feed_content",
]


@dataclass(frozen=True)
class Judge:
    """What tagging and relevance need, compiled once per taxonomy version (picklable)."""

    taxonomy: Taxonomy
    matcher: Matcher

    @property
    def version(self) -> str:
        return self.taxonomy.version


def make_judge(taxonomy_path: Path) -> Judge:
    """Load the taxonomy and compile its matcher."""
    taxonomy = load_taxonomy(taxonomy_path)
    return Judge(taxonomy=taxonomy, matcher=compile_matcher(taxonomy))


def tag_and_judge(
    judge: Judge, title: str, text: str, language: str | None = None,
) -> tuple[tuple[Tag, ...], Relevance]:
    """An article's tags and its relevance, from its title and text (ingest and reextract alike).

    ``language`` is the one reading identified (identified again here when None).
    """
    analysis = analyse_text(judge.matcher, title, text, language)
    return analysis.tags, judge_relevance(judge.taxonomy, analysis.tags, title, text, analysis)


def _site(host: str | None) -> str:
    host = (host or "").lower()
    return host[4:] if host.startswith("www.") else host


def choose_canonical_url(final_url: str, page_canonical: str | None) -> str:
    """The page's declared canonical URL when it is trustworthy, else the URL we fetched.

    Sites get rel=canonical wrong (every page pointing at the home page, or at another
    domain's syndication partner), which would merge distinct articles: we only trust it
    on the same site and when it names a page, not the site root.
    """
    fetched = canonicalize_url(final_url)
    if not page_canonical or not is_http_url(page_canonical):
        return fetched
    declared = canonicalize_url(page_canonical)
    d, f = urlsplit(declared), urlsplit(fetched)
    if not is_http_url(fetched):  # a local file: its declared URL is all we know
        return declared if d.path not in ("", "/") else fetched
    if _site(d.hostname) != _site(f.hostname) or d.path in ("", "/"):
        return fetched
    return declared


def _has_time(value: datetime) -> bool:
    return value.timetz().replace(tzinfo=None) != time(0, 0)


def choose_date(
    *,
    feed_published: datetime | None,
    page_published: datetime | None,
    fetched_at: datetime,
) -> tuple[datetime | None, Literal["feed", "page", "fetched"], DateConfidence]:
    """Pick the publication date we trust most, and say how much we trust it.

    A feed timestamp is precise (FACTS.md: htmldate drops the time of day); a page date
    with a time is as good; a page date without a time is right to the day (medium);
    no plausible date at all means we only know when we fetched it (low), and trend
    views must not count such an article as a spike in its fetch week.
    """
    feed_published = plausible_date(feed_published, fetched_at)
    page_published = plausible_date(page_published, fetched_at)
    if feed_published is not None:
        return feed_published, "feed", "high"
    if page_published is not None:
        return page_published, "page", "high" if _has_time(page_published) else "medium"
    return None, "fetched", "low"


@dataclass(frozen=True)
class PageRead:
    """An extracted page and what is known of its fetch: what ``build_document`` turns into a Document."""

    extracted: Extracted
    fetched_at: datetime
    source: str | None
    entry: FeedEntry | None = None
    final_url: str | None = None
    #: the page's bytes as fetched, kept compressed and read for site identifiers
    raw: bytes | None = None
    date_source: Literal["feed", "page", "fetched", "file"] | None = None
    #: a Document built from the same page body (a feed listing one page under many URLs):
    #: its tags, relevance and fingerprint are taken when title and text match
    same_as: Document | None = None


def build_document(
    extracted: Extracted,
    *,
    judge: Judge,
    fetched_at: datetime,
    source: str | None,
    entry: FeedEntry | None = None,
    final_url: str | None = None,
    raw: bytes | None = None,
    date_source: Literal["feed", "page", "fetched", "file"] | None = None,
    same_as: Document | None = None,
) -> Document:
    """Turn an extracted article into a judged, fingerprinted Document (see ``PageRead``)."""
    page = PageRead(extracted, fetched_at, source, entry, final_url, raw, date_source, same_as)
    return build_documents([page], judge=judge)[0]


def build_documents(pages: Sequence[PageRead], *, judge: Judge) -> list[Document]:
    """``build_document`` of each page, a stage at a time: every text tagged, then every
    text fingerprinted, credited, and every raw page read for identifiers and packed.

    Stage by stage because each stage's tables (the taxonomy's matcher and its word
    caches, the language model, the regexes' code) stay in the CPU's caches through a
    batch, where page by page the stages, and extraction before them, pushed each other
    out: measured side by side on the pipeline benchmark's 600 pages, the import took 5.11
    ms of CPU a page in batches of 32 against 5.47 page by page (``importer.STAGE_BATCH``).
    """
    titles = [(p.extracted.title or (p.entry.title if p.entry else None) or "").strip() for p in pages]
    reused = [_same_judgement(p, title) for p, title in zip(pages, titles)]
    judged = [(r.tags, r.relevance) if r is not None and r.relevance is not None
              else tag_and_judge(judge, title, p.extracted.text, p.extracted.language)
              for p, title, r in zip(pages, titles, reused)]
    prints = [r.fingerprint if r is not None and isinstance(r.fingerprint, Fingerprint)
              else fingerprint_text(p.extracted.text) for p, r in zip(pages, reused)]
    credits = [find_credits(p.extracted.text) for p in pages]
    scripts = [text_script(p.extracted.text) for p in pages]
    site_ids = [fingerprint_site(p.raw) if p.raw is not None else () for p in pages]
    packed = [compress_page(p.raw) if p.raw is not None else None for p in pages]
    return [
        _document(p, title, tags, relevance, fingerprint, credit, script, ids, raw, judge.version)
        for p, title, (tags, relevance), fingerprint, credit, script, ids, raw
        in zip(pages, titles, judged, prints, credits, scripts, site_ids, packed, strict=True)
    ]


def _same_judgement(page: PageRead, title: str) -> Document | None:
    """``page.same_as`` when its title and text are the page's and it was judged."""
    same = page.same_as
    if same is not None and same.title == title and same.text == page.extracted.text \
            and isinstance(same.fingerprint, Fingerprint) and same.relevance is not None:
        return same
    return None


def _document(
    page: PageRead, title: str, tags: tuple[Tag, ...], relevance: Relevance, fingerprint: Fingerprint,
    credits: tuple[Credit, ...], script: str | None, site_ids: tuple[SiteIdentifier, ...],
    raw: bytes | None, taxonomy_version: str,
) -> Document:
    extracted, entry = page.extracted, page.entry
    url = entry.canonical_url if entry else canonicalize_url(extracted.url)
    canonical = choose_canonical_url(page.final_url or extracted.url, extracted.canonical_url)
    published, how, confidence = choose_date(
        feed_published=entry.published if entry else None,
        page_published=extracted.published,
        fetched_at=page.fetched_at,
    )
    text = extracted.text
    return Document(
        id=article_id(canonical),
        source=page.source,
        url=url,
        canonical_url=canonical,
        title=title,
        text=text,
        fetched_at=page.fetched_at,
        published_at=published,
        date_source=page.date_source or how,
        date_confidence=confidence,
        author=extracted.author or (entry.author if entry else None),
        language=extracted.language,
        sitename=extracted.sitename,
        guid=entry.guid if entry else None,
        summary=(entry.summary if entry else None) or extracted.description,
        raw=raw,
        content_hash=fingerprint.content_hash,
        word_count=len(text.split()),
        tags=tags,
        relevance=relevance,
        taxonomy_version=taxonomy_version,
        fingerprint=fingerprint,
        extractor=extracted.extractor,
        credits=credits,
        script=script,
        site_ids=site_ids,
    )


def document_from_feed_content(
    entry: FeedEntry, *, judge: Judge, fetched_at: datetime, reason: str
) -> Document | None:
    """A Document from a feed's own full text (content:encoded), when the page itself failed."""
    if not entry.content_html:
        return None
    # content:encoded is a fragment: give it the document around it the extractor expects.
    page = f"<html><head><title></title></head><body><article>{entry.content_html}</article></body></html>"
    try:
        extracted = extract_article(page.encode("utf-8"), entry.url, fallback_title=entry.title)
    except ExtractionError:
        return None
    doc = build_document(
        Extracted(**{**extracted.__dict__, "extractor": "feed-content", "canonical_url": entry.url,
                     "title": entry.title or extracted.title}),
        judge=judge, fetched_at=fetched_at, source=entry.source, entry=entry, final_url=entry.url,
    )
    return Document(**{**doc.__dict__, "notes": (f"page unavailable ({reason}); text from the feed",)})


def document_from_file(
    path: Path, *, judge: Judge, source: str | None, fetched_at: datetime | None = None, url: str | None = None
) -> Document:
    """Read a local .html/.htm/.txt file into a Document (raises ExtractionError, OSError, UnicodeError).

    ``url``: the file's URI when the caller has it already (``path.resolve().as_uri()``).
    """
    result = documents_from_files([(path, url or path.resolve().as_uri())], judge=judge, source=source,
                                  fetched_at=fetched_at)[0]
    if isinstance(result, Exception):
        raise result
    return result


#: What reading a file can fail with; ``documents_from_files`` returns it in the file's place.
FileError = ExtractionError | OSError | UnicodeError


def documents_from_files(
    files: Sequence[tuple[Path, str]], *, judge: Judge, source: str | None, fetched_at: datetime | None = None
) -> list[Document | FileError]:
    """``document_from_file`` of each (path, its URI), in order: every file read and
    extracted, then the documents built stage by stage (``build_documents``). A file
    that fails has its error in its place; the others go on."""
    fetched_at = fetched_at or datetime.now(UTC)
    read: list[tuple[bytes, str, PageRead] | FileError] = []
    for path, file_url in files:
        try:
            raw = path.read_bytes()
            if path.suffix.lower() in (".txt", ".text", ".md"):
                extracted, stored_raw = extract_text_file(raw.decode("utf-8", errors="replace"), file_url), None
            else:
                # Languages identified below, one text after another, like the stages after.
                extracted, stored_raw = extract_article(raw, file_url, identify=False), raw
        except (ExtractionError, OSError, UnicodeError) as exc:
            read.append(exc)
            continue
        read.append((raw, file_url, PageRead(extracted, fetched_at, source, final_url=file_url, raw=stored_raw)))
    pages = [r[2] for r in read if not isinstance(r, Exception)]
    # The pages' languages, one text after another (a text file's was identified as it was read).
    pages = [replace(p, extracted=with_language(p.extracted)) if p.raw is not None else p for p in pages]
    built = iter(build_documents(pages, judge=judge))
    return [r if isinstance(r, Exception) else _file_document(next(built), r[0], r[1]) for r in read]


def _file_document(doc: Document, raw: bytes, file_url: str) -> Document:
    if doc.canonical_url == canonicalize_url(file_url):
        # No http canonical: key the file by its content so re-importing it is a no-op.
        digest = hashlib.sha1(raw).hexdigest()[:16]
        doc = Document(**{**doc.__dict__, "id": f"f_{digest}", "url": file_url})
    if doc.date_source == "fetched":
        doc = Document(**{**doc.__dict__, "date_source": "file"})
    return doc
