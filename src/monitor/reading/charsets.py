"""What encoding a body is in: what it says (the HTTP header, an XML declaration, an HTML
<meta>), and a guess for 8-bit bytes that say nothing, or say something the bytes disprove.

Declared labels come back as written, lower-cased; which codec a label names, and when to
believe it, is the caller's decision (pages: ``extract.decode_html``; feeds:
``feeds.parse_feed``). Pages and feeds share one guess (``guess_undeclared``), so a
legacy site reads the same in its feed as on its pages. It tells apart the 8-bit
encodings this region's legacy sites use:

- Cyrillic (Russian, Serbian, Macedonian, Bulgarian) in windows-1251 or KOI8-R, by
  charset_normalizer between windows-1252, windows-1251 and KOI8-R only (wider detection
  mistook Portuguese for Baltic), kept only when it reads as Cyrillic prose: Hebrew and
  Japanese otherwise fit a Cyrillic codec best;
- Serbian, Croatian and Bosnian Latin in windows-1250, by its letters č, ć and đ, which
  windows-1252 reads as è, æ and ð;
- anything else is windows-1252, as browsers and feedparser read it.

The guess reads the text between tags (a page's markup is ASCII and would outweigh its
words: charset_normalizer read a KOI8-R page with its menus as windows-1251).
"""

from __future__ import annotations

import re

import charset_normalizer

__all__ = ["guess_undeclared", "header_charset", "meta_charset", "undeclared_cyrillic", "xml_encoding"]

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header."""
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1).lower() if match else None


def xml_encoding(head: bytes) -> str | None:
    """The encoding of an XML declaration at the start of ``head``."""
    match = _XML_ENCODING.match(head)
    return match.group(1).decode("ascii").lower() if match else None


def meta_charset(head: bytes) -> str | None:
    """The charset of the first HTML <meta> in ``head`` that names one."""
    match = _META_CHARSET.search(head)
    return match.group(1).decode("ascii").lower() if match else None


#: How much of a body the guess reads (after dropping markup); a page is one language.
GUESS_SAMPLE_BYTES = 200_000
#: What Cyrillic detection chooses between (see the module docstring).
_CYRILLIC_CANDIDATES = ["cp1252", "cp1251", "koi8_r"]
_CYRILLIC_CODECS = frozenset({"cp1251", "koi8_r"})
#: A detection is kept only when the text reads cleanly (charset_normalizer's "chaos":
#: 0.0 for every real Cyrillic sample, 0.12 for Japanese read as windows-1251) ...
_MAX_CHAOS = 0.05
#: ... has enough Cyrillic letters to judge, and most of them are lower case (our Russian and
#: Serbian samples: over 85%; Hebrew read as KOI8-R: capitals).
_MIN_CYRILLIC_LETTERS = 20
_MIN_LOWER_SHARE = 0.6
_RAW_TEXT_START = re.compile(rb"<(script|style)\b")
#: A tag, or what is left of one: it stops at the next "<", so that a page of unclosed
#: "<" is read in one pass (``<[^>]*>`` tried every "<" against the rest of the page:
#: 14 s for 200 KB of them).
_TAG = re.compile(rb"<[^<>]*>?")
#: č/ć/đ (and capitals) in windows-1250 as windows-1252 reads them: è, æ, ð. æ and ð are
#: rare in Western text except Danish, Norwegian and Icelandic ...
_SOUTH_SLAVIC_TELLS = "æðÆÐ"
#: ... which also write ø, å or þ (in windows-1250: ř, ĺ, ţ, never Serbian or Croatian).
_NORDIC_TELLS = "øåþØÅÞ"
_MIN_SOUTH_SLAVIC_TELLS = 2
#: Latin text has few non-ASCII letters (Serbian Latin, Albanian, French: under 0.15 of
#: letter bytes); a double-byte script (Japanese in Shift_JIS) is mostly non-ASCII, and
#: its bytes can read as æ and ð too (a real Japanese feed did).
_MAX_LATIN_HIGH_BYTE_SHARE = 0.3


def _text_sample(raw: bytes) -> bytes:
    """The first GUESS_SAMPLE_BYTES of ``raw`` without script and style bodies and tags, in linear time."""
    data = raw[:GUESS_SAMPLE_BYTES]
    lower = data.lower()
    kept: list[bytes] = []
    pos = 0
    for m in _RAW_TEXT_START.finditer(lower):
        if m.start() < pos:
            continue  # inside a body already skipped
        kept.append(data[pos:m.start()])
        # str.find, not a lazy regex: an unclosed <script> is one scan to the end, not one per tag.
        end = lower.find(b"</" + m.group(1), m.end())
        pos = len(data) if end < 0 else end
    kept.append(data[pos:])
    # A CDATA section (feeds wrap titles and summaries in them) is text: only its markers go.
    text = b" ".join(kept).replace(b"<![CDATA[", b" ").replace(b"]]>", b" ")
    return _TAG.sub(b" ", text)


def undeclared_cyrillic(raw: bytes) -> str | None:
    """"cp1251" or "koi8_r" when 8-bit ``raw`` is Cyrillic prose in it, else None."""
    return _cyrillic(_text_sample(raw))


def _cyrillic(sample: bytes) -> str | None:
    if sample.isascii():
        return None
    best = charset_normalizer.from_bytes(sample, cp_isolation=_CYRILLIC_CANDIDATES).best()
    if best is None or best.encoding not in _CYRILLIC_CODECS or best.chaos > _MAX_CHAOS:
        return None
    # Among three candidates, anything else non-Latin (Hebrew, Japanese) fits one of the
    # Cyrillic ones (measured on feedparser's own encoding tests). Real Cyrillic prose is
    # mostly lower case; Hebrew read as KOI8-R is nearly all capitals.
    cyrillic = [c for c in str(best) if "\u0400" <= c <= "\u04ff" and c.isalpha()]
    if len(cyrillic) < _MIN_CYRILLIC_LETTERS or sum(c.islower() for c in cyrillic) < _MIN_LOWER_SHARE * len(cyrillic):
        return None
    return best.encoding


def guess_undeclared(raw: bytes) -> str:
    """The codec of 8-bit ``raw`` that declares none: cp1251 or koi8_r, cp1250, else cp1252."""
    sample = _text_sample(raw)
    cyrillic = _cyrillic(sample)
    if cyrillic is not None:
        return cyrillic
    high = sum(1 for b in sample if b >= 0x80)
    letters = high + sum(1 for b in sample if 0x41 <= (b | 0x20) <= 0x7A)
    if not letters or high / letters > _MAX_LATIN_HIGH_BYTE_SHARE:
        return "cp1252"
    latin = sample.decode("cp1252", errors="replace")
    if sum(latin.count(c) for c in _SOUTH_SLAVIC_TELLS) >= _MIN_SOUTH_SLAVIC_TELLS and not any(
        c in latin for c in _NORDIC_TELLS
    ):
        return "cp1250"
    return "cp1252"
