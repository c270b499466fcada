"""Parse RSS 0.9x/1.0 (RDF)/2.0 and Atom bodies with feedparser, never letting it fetch.

feedparser reads local files and fetches URLs when handed a string that looks like
one (FACTS.md), so it only ever gets ``io.BytesIO(body)``. A broken feed keeps what
it still yields, and the reason it is broken is returned in ``ParsedFeed.problem``.
"""

from __future__ import annotations

import calendar
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.exceptions import FeedError
from monitor.models import FeedEntry, ParsedFeed
from monitor.settings import MAX_ITEMS_PER_FEED
from monitor.urls import canonicalize_url, is_http_url

__all__ = ["parse_feed", "plausible_date", "EARLIEST_PLAUSIBLE", "FUTURE_TOLERANCE"]

#: Dates before this are placeholders (epoch 0, "1970-01-01") rather than real publication dates.
EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)
#: Clock skew and time-zone mistakes put real items up to a day ahead; beyond that, a date is wrong.
FUTURE_TOLERANCE = timedelta(days=1)


_HARMLESS_BOZO = frozenset({"NonXMLContentType", "CharacterEncodingOverride"})


def plausible_date(value: datetime | None, now: datetime) -> datetime | None:
    """The date if it could be a real publication date seen at ``now``, else None."""
    if value is None:
        return None
    if value < EARLIEST_PLAUSIBLE or value > now + FUTURE_TOLERANCE:
        return None
    return value


def _struct_to_datetime(st: time.struct_time | None) -> datetime | None:
    if st is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(st), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _entry_link(entry: Any, base: str) -> str | None:
    link = entry.get("link")
    if not link:
        guid = entry.get("id")
        if isinstance(guid, str) and is_http_url(guid):
            link = guid
    if not link or not isinstance(link, str):
        return None
    absolute = urljoin(base, link.strip())
    return absolute if is_http_url(absolute) else None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def parse_feed(
    body: bytes,
    *,
    url: str,
    source: str,
    content_type: str | None = None,
    max_items: int = MAX_ITEMS_PER_FEED,
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse a feed body; raise FeedError when it is not a feed at all."""
    now = now or datetime.now(UTC)
    if not body.strip():
        raise FeedError(f"{url}: empty body", reason="empty_feed")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    version = parsed.get("version") or ""
    problem: str | None = None
    exc = parsed.get("bozo_exception")
    # A feed served as text/html, or with a charset other than declared, is still a good
    # feed: those two warnings are not problems worth recording.
    if parsed.get("bozo") and type(exc).__name__ not in _HARMLESS_BOZO:
        problem = f"malformed feed: {type(exc).__name__}: {exc}"[:500]
    if not version and not parsed.entries:
        raise FeedError(
            f"{url}: not an RSS/Atom/RDF feed" + (f" ({problem})" if problem else ""),
            reason="not_a_feed",
        )

    entries: list[FeedEntry] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for raw in parsed.entries:
        link = _entry_link(raw, url)
        if link is None:
            skipped.append(f"no usable link: {str(raw.get('title', ''))[:80]!r}")
            continue
        canonical = canonicalize_url(link)
        guid = _text(raw.get("id"))
        key = guid or canonical
        if key in seen or canonical in seen:
            skipped.append(f"duplicate item: {guid or canonical}")
            continue
        seen.update({key, canonical})
        if len(entries) >= max_items:
            skipped.append(f"item cap of {max_items} reached; {len(parsed.entries) - max_items} more not read")
            break
        published_raw = _text(raw.get("published")) or _text(raw.get("updated"))
        published = _struct_to_datetime(raw.get("published_parsed") or raw.get("updated_parsed"))
        if published is not None and plausible_date(published, now) is None:
            skipped.append(f"implausible date {published.isoformat()} ignored for {canonical}")
            published = None
        content = raw.get("content") or []
        content_html = _text(content[0].get("value")) if content else None
        entries.append(
            FeedEntry(
                source=source,
                url=link,
                canonical_url=canonical,
                guid=guid,
                title=_text(raw.get("title")),
                summary=_text(raw.get("summary")),
                content_html=content_html,
                author=_text(raw.get("author")),
                published=published,
                published_raw=published_raw,
            )
        )
    return ParsedFeed(
        url=url,
        version=version or "unknown",
        title=_text(parsed.feed.get("title")),
        entries=tuple(entries),
        problem=problem,
        skipped=tuple(skipped),
    )
