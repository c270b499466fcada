"""Parse RSS 0.9x/1.0 (RDF)/2.0 and Atom bodies with feedparser, never letting it fetch;
JSON Feed 1.0/1.1 (jsonfeed.org, which feedparser does not read) with the json module.

feedparser reads local files and fetches URLs when handed a string that looks like
one (FACTS.md), so it only ever gets ``io.BytesIO(body)``. A broken feed keeps what
it still yields, and the reason it is broken is returned in ``ParsedFeed.problem``.

Three repairs happen before or after feedparser, each noted in ``ParsedFeed.notes``
(measured on real-world feeds by ``benchmarks/bench_feeds.py``):

- a body that is still gzip-compressed (a server compressing twice, or a ``.xml.gz``
  feed served without Content-Encoding) is decompressed, within the fetch body cap;
- a body that is not UTF-8 and declares no other encoding is read by feedparser as
  windows-1252, which turns Russian or Serbian Cyrillic in windows-1251 or KOI8-R into
  Latin mojibake, and Serbian or Croatian Latin in windows-1250 into è, æ and ð for č, ć
  and đ. The encoding is guessed as for pages (``charsets.guess_undeclared``) and the
  body re-encoded as UTF-8;
- dates with month names in other languages, or zone names feedparser reads as UTC
  (CET, MSK ...), are read by ``feeddates.parse_feed_date``.
"""

from __future__ import annotations

import calendar
import html
import io
import json
import re
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.reading.charsets import guess_undeclared, header_charset, xml_encoding
from monitor.exceptions import FeedError
from monitor.reading.feeddates import parse_feed_date
from monitor.models import FeedEntry, ParsedFeed
from monitor.settings import MAX_BODY_BYTES, MAX_ITEMS_PER_FEED
from monitor.reading.urls import canonicalize_url, is_http_url

__all__ = ["parse_feed", "plausible_date", "EARLIEST_PLAUSIBLE", "FUTURE_TOLERANCE"]

#: Dates before this are placeholders (epoch 0, "1970-01-01") rather than real publication dates.
EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)
#: Clock skew and time-zone mistakes put real items up to a day ahead; beyond that, a date is wrong.
FUTURE_TOLERANCE = timedelta(days=1)


_HARMLESS_BOZO = frozenset({"NonXMLContentType", "CharacterEncodingOverride"})
_GZIP_MAGIC = b"\x1f\x8b"
_JSON_OBJECT_START = re.compile(rb"\s*\{")
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


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


def _gunzip(body: bytes, url: str, cap: int) -> bytes:
    """A body gzip-compressed twice, decompressed; the cap stops a gzip bomb."""
    out = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        data = out.decompress(body, cap + 1)
    except zlib.error as exc:
        raise FeedError(f"{url}: body looks gzip-compressed but does not decompress ({exc})",
                        reason="not_a_feed") from exc
    if len(data) > cap:
        raise FeedError(f"{url}: gzip-compressed body exceeds {cap} bytes once decompressed", reason="too_large")
    return data


def _undeclared_legacy(body: bytes, content_type: str | None) -> str | None:
    """The 8-bit codec of a body that is not UTF-8 and declares nothing (or UTF-8), when
    it is not windows-1252 (what feedparser falls back to)."""
    if body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return None  # a byte-order mark: feedparser reads it
    declared = header_charset(content_type) or xml_encoding(body)
    if declared is not None and declared not in _UTF8_NAMES:
        return None  # a declaration is honoured, as feedparser does
    try:
        body.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    codec = guess_undeclared(body)
    return None if codec == "cp1252" else codec


def _json_feed(body: bytes) -> tuple[str, str | None, list[dict[str, Any]]] | None:
    """(version, title, items shaped like feedparser's entries) of a JSON Feed, else None."""
    if not _JSON_OBJECT_START.match(body):  # not lstrip(): no copy of every feed body
        return None
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or "jsonfeed.org/version/" not in version or not isinstance(doc.get("items"), list):
        return None
    entries: list[dict[str, Any]] = []
    for item in doc["items"]:
        if not isinstance(item, dict):
            continue
        content = _text(item.get("content_html"))
        plain = _text(item.get("content_text"))
        if content is None and plain is not None:
            content = "".join(f"<p>{html.escape(p)}</p>" for p in plain.split("\n\n") if p.strip())
        authors: list[Any] = item["authors"] if isinstance(item.get("authors"), list) else [item.get("author")]
        names = [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
        entry: dict[str, Any] = {
            "link": item.get("url") or item.get("external_url"),
            "id": str(item["id"]) if isinstance(item.get("id"), (str, int)) else None,
            "title": item.get("title"),
            "summary": item.get("summary"),
            "content": [{"value": content}] if content else [],
            "author": ", ".join(names) or None,
        }
        for key, field in (("published", "date_published"), ("updated", "date_modified")):
            value = item.get(field)
            if isinstance(value, str):
                entry[key] = value
                entry[f"{key}_parsed"] = _rfc3339(value)
        entries.append(entry)
    title = doc.get("title") if isinstance(doc.get("title"), str) else None
    return ("json11" if version.rstrip("/").endswith("1.1") else "json1"), title, entries


def _rfc3339(value: str) -> time.struct_time | None:
    try:
        when = datetime.fromisoformat(value.strip())
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # as feedparser reads ISO 8601 without a zone
        return when.astimezone(UTC).timetuple()
    except (ValueError, OverflowError):  # not a date; year 9999 pushed past the calendar by its zone
        return None


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
    max_body_bytes: int = MAX_BODY_BYTES,
) -> ParsedFeed:
    """Parse a feed body; raise FeedError when it is not a feed at all."""
    now = now or datetime.now(UTC)
    notes: list[str] = []
    if body.startswith(_GZIP_MAGIC):
        body = _gunzip(body, url, max_body_bytes)
        notes.append("body was gzip-compressed inside the response: decompressed")
    if not body.strip():
        raise FeedError(f"{url}: empty body", reason="empty_feed")
    json_feed = _json_feed(body)
    codec = None if json_feed else _undeclared_legacy(body, content_type)
    if codec is not None:
        # Re-encoded, the body is UTF-8, which is what its declaration (none, or UTF-8) says.
        body = body.decode(codec, errors="replace").encode("utf-8")
        content_type = f"{(content_type or 'application/xml').split(';')[0]}; charset=utf-8"
        notes.append(f"encoding not declared: read as {codec} (detected)")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    problem: str | None = None
    if json_feed is not None:
        version, feed_title, raw_entries = json_feed
    else:
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
        version = parsed.get("version") or ""
        exc = parsed.get("bozo_exception")
        # A feed served as text/html, or with a charset other than declared, is still a good
        # feed: those two warnings are not problems worth recording.
        if parsed.get("bozo") and type(exc).__name__ not in _HARMLESS_BOZO:
            problem = f"malformed feed: {type(exc).__name__}: {exc}"[:500]
        if not version and not parsed.entries:
            raise FeedError(
                f"{url}: not an RSS/Atom/RDF or JSON feed" + (f" ({problem})" if problem else ""),
                reason="not_a_feed",
            )
        feed_title, raw_entries = _text(parsed.feed.get("title")), parsed.entries

    entries: list[FeedEntry] = []
    skipped: list[str] = []
    seen: set[str] = set()
    local_dates = 0
    for raw in raw_entries:
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
        published_raw, published, read_by_us = _entry_date(raw)
        if read_by_us:
            local_dates += 1
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
    if len(entries) > max_items:
        dropped = len(entries) - max_items
        entries = _newest(entries, max_items)
        skipped.append(f"item cap of {max_items} reached; {dropped} more not read "
                       "(the newest kept, by date where the items have one)")
    if local_dates:
        notes.append(f"{local_dates} date{'s' if local_dates > 1 else ''} read by month or zone name "
                     "(feedparser found no date, or read the zone as UTC)")
    return ParsedFeed(
        url=url,
        version=version or "unknown",
        title=_text(feed_title),
        entries=tuple(entries),
        problem=problem,
        skipped=tuple(skipped),
        notes=tuple(notes),
    )


def _newest(entries: list[FeedEntry], cap: int) -> list[FeedEntry]:
    """The ``cap`` newest entries, in feed order.

    Most feeds list their newest items first, but some list oldest first, and a cap that
    kept the first ``cap`` would then drop exactly the new items, silently, every run.
    Dated items rank by date, newest first; undated ones rank after them in feed order
    (for an undated feed that is the first ``cap``, the only order it gives).
    """
    def rank(i: int) -> tuple[bool, float, int]:
        published = entries[i].published
        return published is None, -published.timestamp() if published else 0.0, i

    ranked = sorted(range(len(entries)), key=rank)
    keep = sorted(ranked[:cap])
    return [entries[i] for i in keep]


def _entry_date(raw: Any) -> tuple[str | None, datetime | None, bool]:
    """(raw date text, the date, whether feeddates read it where feedparser could not).

    The published date, else the updated one. feedparser's reading is kept unless
    ``parse_feed_date`` reads the text differently: a localised month name it missed, or
    a zone name it took for UTC.
    """
    for key in ("published", "updated"):
        text = _text(raw.get(key))
        if text is None:
            continue
        theirs = _struct_to_datetime(raw.get(f"{key}_parsed"))
        ours = parse_feed_date(text)
        if ours is not None and ours != theirs:
            return text, ours, True
        if theirs is not None:
            return text, theirs, False
    return _text(raw.get("published")) or _text(raw.get("updated")), None, False
