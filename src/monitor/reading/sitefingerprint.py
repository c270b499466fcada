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

_UA = re.compile(rb"\b(UA-(\d{4,10})-\d{1,4})\b")
_GA4 = re.compile(rb"""['"/=?&\s](G-[A-Z0-9]{8,12})\b""")
_GTM = re.compile(rb"\b(GTM-[A-Z0-9]{4,9})\b")
_ADSENSE = re.compile(rb"\b(?:ca-)?(pub-\d{10,20})\b")
_METRICA = re.compile(
    rb"""(?:mc\.yandex\.(?:ru|com)/watch/|yaCounter|\bym\(\s*['"]?)(\d{5,12})"""
)
_FB_PIXEL = re.compile(
    rb"""(?:fbq\(\s*['"]init['"]\s*,\s*['"]|facebook\.com/tr/?\?id=)(\d{10,20})"""
)
_FB_APP = re.compile(rb"""<meta[^>]+property=["']fb:app_id["'][^>]*content=["'](\d{6,20})["']""", re.IGNORECASE)
_FB_APP_REVERSED = re.compile(rb"""<meta[^>]+content=["'](\d{6,20})["'][^>]*property=["']fb:app_id["']""", re.IGNORECASE)
_VERIFICATION_NAMES = (
    rb"google-site-verification|yandex-verification|msvalidate\.01|facebook-domain-verification"
    rb"|p:domain_verify|norton-safeweb-site-verification|baidu-site-verification"
)
_VERIFY = re.compile(
    rb"""<meta[^>]+name=["'](""" + _VERIFICATION_NAMES + rb""")["'][^>]*content=["']([\w\-.:=+/]{6,100})["']""",
    re.IGNORECASE,
)
_VERIFY_REVERSED = re.compile(
    rb"""<meta[^>]+content=["']([\w\-.:=+/]{6,100})["'][^>]*name=["'](""" + _VERIFICATION_NAMES + rb""")["']""",
    re.IGNORECASE,
)
#: Snippets copied without their values: X-runs, zero-runs, 1234567 sequences, one digit repeated.
_PLACEHOLDER = re.compile(r"X{3,}|x{3,}|0{6,}|123456|^(?:\D*)(\d)\1+$")


def _evidence(page: bytes, start: int, end: int) -> str:
    pad = max(0, (EVIDENCE_CHARS - (end - start)) // 2)
    snippet = page[max(0, start - pad): end + pad].decode("utf-8", errors="replace")
    return " ".join(snippet.split())[:EVIDENCE_CHARS]


def _placeholder(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return _PLACEHOLDER.search(value) is not None or (len(digits) >= 4 and len(set(digits)) == 1)


def fingerprint_site(page: bytes) -> tuple[SiteIdentifier, ...]:
    """Every operator identifier in one raw page, sorted, each once (placeholders and public ids dropped)."""
    page = page[:MAX_READ_BYTES]
    found: dict[str, SiteIdentifier] = {}

    def add(kind: str, value: bytes, start: int, end: int) -> None:
        text = value.decode("ascii", errors="replace").strip()
        ident = SiteIdentifier(kind, text, _evidence(page, start, end))
        if _placeholder(text) or ident.key in PUBLIC_IDENTIFIERS or ident.key in found:
            return
        found[ident.key] = ident

    for m in _UA.finditer(page):
        # The property's account (UA-1234567 of UA-1234567-2): one operator's sites are
        # often separate properties of one account.
        add("ga", b"UA-" + m.group(2), m.start(), m.end())
    for m in _GA4.finditer(page):
        add("ga4", m.group(1), m.start(1), m.end(1))
    for m in _GTM.finditer(page):
        add("gtm", m.group(1), m.start(), m.end())
    for m in _ADSENSE.finditer(page):
        add("adsense", b"ca-" + m.group(1), m.start(), m.end())
    for m in _METRICA.finditer(page):
        add("yandex_metrica", m.group(1), m.start(), m.end())
    for m in _FB_PIXEL.finditer(page):
        add("fb_pixel", m.group(1), m.start(), m.end())
    for m in _FB_APP.finditer(page):
        add("fb_app", m.group(1), m.start(), m.end())
    for m in _FB_APP_REVERSED.finditer(page):
        add("fb_app", m.group(1), m.start(), m.end())
    for m in _VERIFY.finditer(page):
        add("verification", m.group(1).lower() + b"=" + m.group(2), m.start(), m.end())
    for m in _VERIFY_REVERSED.finditer(page):
        add("verification", m.group(2).lower() + b"=" + m.group(1), m.start(), m.end())
    return tuple(sorted(found.values()))
