"""The identifiers a page carries that tie it to whoever runs the site.

When one operator runs several sites, the sites share accounts: one Google Analytics
or Tag Manager container, one AdSense publisher id, one Yandex Metrica counter, one
Facebook pixel, one search-console verification token. The Information Laundromat
(ASD/GMF) links sites this way; we read the same identifiers from the raw pages we keep,
so they are computed again whenever extraction is (``monitor reextract``), never by
refetching.

Pure: bytes of one page in, the identifiers found in it out. What is *not* an
identifier of an operator is dropped here:

- placeholders from snippets copied without filling in ("UA-XXXXX-Y", "G-XXXXXXXXXX",
  "GTM-XXXX", "ca-pub-0000000000000000", a counter of all one digit);
- ``PUBLIC_IDENTIFIERS``: ids that ship inside public libraries, themes and share
  buttons, so every site that uses them carries the same one (Facebook's own app id of
  its share dialog, the demo ids of popular snippets).

An id that many unrelated sites carry and that is not listed is caught later, in the
warehouse: view ``source_links`` never links sites through an identifier carried by more
than a few sources (see ``warehouse/views.sql``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from monitor.models import SiteIdentifier

__all__ = ["SiteIdentifier", "IDENTIFIER_KINDS", "PUBLIC_IDENTIFIERS", "fingerprint_site"]

#: The kinds of identifier read, and what each one proves when two sites share it.
IDENTIFIER_KINDS = {
    "ga": "Google Analytics (Universal) account, UA-NNNN of its properties UA-NNNN-N: one analytics account",
    "ga4": "Google Analytics 4 measurement id (G-): one analytics property",
    "gtm": "Google Tag Manager container (GTM-): one tag-manager account",
    "adsense": "AdSense publisher id (ca-pub-/pub-): one payee for the ads",
    "yandex_metrica": "Yandex Metrica counter: one analytics account",
    "fb_pixel": "Facebook pixel id: one advertiser account",
    "fb_app": "Facebook app id (fb:app_id): one developer app",
    "verification": "a search-console or platform verification token: one site owner's account",
}

#: Identifiers shipped inside public code that many unrelated sites carry. Each with why.
PUBLIC_IDENTIFIERS = frozenset({
    # Facebook's own app id, set by its share/like plugin and copied in countless themes.
    "fb_app:966242223397117",
    # Facebook's app id of its legacy share dialog snippet.
    "fb_app:87741124305",
    # Google's documentation examples, left in templates.
    "ga:UA-12345678", "ga4:G-12345ABCDE", "gtm:GTM-XXXXXX",
    "adsense:ca-pub-1234567890123456",
})

#: Evidence kept per identifier: the markup around it, cut to this length.
EVIDENCE_CHARS = 120
#: Pages are read up to this many bytes: ids sit in the head and near the end of the body,
#: and a multi-megabyte page should not cost more than a news page.
MAX_READ_BYTES = 2_000_000

# Every candidate is found in one scan: each alternative starts with a literal, so the scan
# jumps between them: ~1.1 ms of CPU on a 170 KB real page (Zyte's 181 pages, whose
# extraction takes ~13 ms), where a pass per kind led by \b took several times that.
# What may precede an id is checked afterwards (``_starts_token``).
_MARKERS = (
    rb"UA-(?P<ua>\d{4,10})-\d{1,4}\b",
    rb"GTM-(?P<gtm>[A-Z0-9]{4,9})\b",
    rb"G-(?P<ga4>[A-Z0-9]{8,12})\b",
    rb"pub-(?P<pub>\d{10,20})\b",
    rb"mc\.yandex\.(?:ru|com)/watch/(?P<ym1>\d{5,12})",
    rb"yaCounter(?P<ym2>\d{5,12})",
    rb"ym\(\s*['\"]?(?P<ym3>\d{5,12})",
    rb"fbq\(\s*['\"]init['\"]\s*,\s*['\"](?P<px1>\d{10,20})",
    rb"facebook\.com/tr/?\?id=(?P<px2>\d{10,20})",
    rb"<(?:meta|META|Meta)\s(?P<meta>[^>]{0,400})>",
)
# The scan is ``re.compile(b"|".join(_MARKERS)).finditer``, run as one regex per first byte
# of the markers, merged (``_scan``): a regex whose alternatives start with different bytes
# tests a set of 7 bytes at every byte (~4 ns a byte), one with a single first byte runs a
# plain byte search (~0.3 ns): 0.17 -> 0.08 ms on a 40 KB generated page. Not IGNORECASE:
# it turns off the literal-prefix skipping (~8x slower, measured).
_SCANS = tuple(
    re.compile(b"|".join(m for m in _MARKERS if m[:1] == first))
    for first in dict.fromkeys(m[:1] for m in _MARKERS)
)


def _scan(page: bytes) -> Iterator[re.Match[bytes]]:
    """The matches of the markers' alternation in ``page``, left to right, none overlapping.

    At each place the alternation finds the leftmost match of any marker, and only the
    regex of that place's byte can match there (the first in ``_MARKERS`` order, as in one
    alternation); a regex's next match that begins inside a match taken is looked for again
    after it, as the alternation's search resumes there.
    """
    pending = [scan.search(page) for scan in _SCANS]
    end = 0
    while True:
        best: re.Match[bytes] | None = None
        for i, m in enumerate(pending):
            if m is not None and m.start() < end:
                m = pending[i] = _SCANS[i].search(page, end)
            if m is not None and (best is None or m.start() < best.start()):
                best = m
        if best is None:
            return
        yield best
        end = best.end()


_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*["']([^"']*)["']""")
_VERIFICATION_NAMES = frozenset({
    b"google-site-verification", b"yandex-verification", b"msvalidate.01", b"facebook-domain-verification",
    b"p:domain_verify", b"norton-safeweb-site-verification", b"baidu-site-verification",
})
_FB_APP_ID = re.compile(rb"\d{6,20}")
_TOKEN = re.compile(rb"[\w\-.:=+/]{6,100}")
#: Snippets copied without their values: X-runs, zero-runs, 1234567 sequences, one digit repeated.
_PLACEHOLDER = re.compile(r"X{3,}|x{3,}|0{6,}|123456|^(?:\D*)(\d)\1+$")


def _evidence(page: bytes, start: int, end: int) -> str:
    pad = max(0, (EVIDENCE_CHARS - (end - start)) // 2)
    snippet = page[max(0, start - pad): end + pad].decode("utf-8", errors="replace")
    return " ".join(snippet.split())[:EVIDENCE_CHARS]


#: What may stand right before an id: quotes, URL and script punctuation, whitespace.
_TOKEN_START = frozenset(b"'\"/=?&,;:( \t\r\n")


def _starts_token(page: bytes, start: int) -> bool:
    return start == 0 or page[start - 1] in _TOKEN_START


def _meta(attributes: bytes, start: int, end: int, add: Callable[[str, bytes, int, int], None]) -> None:
    """A Facebook app id or a verification token from one meta tag's attributes, in any order."""
    attrs = {k.lower(): v for k, v in _ATTRIBUTE.findall(attributes)}
    content = attrs.get(b"content", b"")
    if attrs.get(b"property", b"").lower() == b"fb:app_id" and _FB_APP_ID.fullmatch(content):
        add("fb_app", content, start, end)
    name = attrs.get(b"name", b"").lower()
    if name in _VERIFICATION_NAMES and _TOKEN.fullmatch(content):
        add("verification", name + b"=" + content, start, end)


def _placeholder(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return _PLACEHOLDER.search(value) is not None or (len(digits) >= 4 and len(set(digits)) == 1)


def fingerprint_site(page: bytes) -> tuple[SiteIdentifier, ...]:
    """Every operator identifier in one raw page, sorted, each once (placeholders and public ids dropped)."""
    page = page[:MAX_READ_BYTES]
    found: dict[str, SiteIdentifier] = {}

    def add(kind: str, value: bytes, start: int, end: int) -> None:
        text = value.decode("ascii", errors="replace").strip()
        key = f"{kind}:{text}"
        if key in found or key in PUBLIC_IDENTIFIERS or _placeholder(text):
            return
        found[key] = SiteIdentifier(kind, text, _evidence(page, start, end))

    for m in _scan(page):
        kind = m.lastgroup
        start, end = m.start(), m.end()
        if kind == "meta":
            attributes = m.group("meta")
            # Most meta tags are descriptions, Open Graph and viewport: parse only ours.
            if b"fb:app_id" in attributes or b"verif" in attributes or b"msvalidate" in attributes:
                _meta(attributes, start, end, add)
        elif kind in ("ym1", "ym2", "ym3"):
            add("yandex_metrica", m.group(kind), start, end)
        elif kind in ("px1", "px2"):
            add("fb_pixel", m.group(kind), start, end)
        elif kind == "pub":
            if _starts_token(page, start) or page[max(0, start - 3): start].lower() == b"ca-":
                add("adsense", b"ca-pub-" + m.group(kind), start, end)
        elif kind == "ua" and _starts_token(page, start):
            # The property's account (UA-1234567 of UA-1234567-2): one operator's sites are
            # often separate properties of one account.
            add("ga", b"UA-" + m.group(kind), start, end)
        elif kind in ("gtm", "ga4") and _starts_token(page, start):
            add(kind, (b"GTM-" if kind == "gtm" else b"G-") + m.group(kind), start, end)
    return tuple(sorted(found.values()))
