"""Turn a fetched page (or an imported .txt file) into a cleaned article.

``extract_article`` decodes the bytes (charsets lie), caps the size, parses once,
reads the page's own metadata from the tree (``pagemeta``) and hands the same tree to
trafilatura for the body, which ``clean_text`` then rids of promo lines and
normalises. trafilatura never fetches anything here and never changes our tree (it
copies what it prunes). Everything is pure: the same bytes always give the same
``Extracted``.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from copy import copy
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import product

import lxml.html
import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.settings import Extractor
from trafilatura.utils import DOCTYPE_TAG, FAULTY_HTML, HTML_PARSER, INVALID_XML_CHARS

from monitor.reading.charsets import guess_undeclared, header_charset, meta_charset, undeclared_cyrillic, xml_encoding
from monitor.exceptions import ExtractionError
from monitor.models import Extracted
from monitor.reading.language import identify_language
from monitor.reading.pagemeta import guess_cyrillic_language, read_page_meta

__all__ = [
    "DEFAULT_OPTIONS",
    "EXTRACTOR",
    "ExtractOptions",
    "with_language",
    "MAX_PAGE_BYTES",
    "MAX_TREE_ELEMENTS",
    "MAX_MARKUP_BYTES",
    "MAX_TEXT_CHARS",
    "cap_text",
    "MIN_ARTICLE_WORDS",
    "clean_text",
    "decode_html",
    "extract_article",
    "extract_text_file",
    "guess_cyrillic_language",
    "is_boilerplate_line",
    "word_count",
]

#: Pages are cut to this size before parsing. lxml + trafilatura cost ~0.12 s and
#: ~10x the input in memory per MB; real article pages are under 2 MB, so 5 MB keeps
#: every real article whole while a bloated page (inline images, endless widgets)
#: cannot hold a worker for seconds. We truncate rather than refuse: the article body
#: sits near the top and the tail of such pages is the bloat.
MAX_PAGE_BYTES = 5 * 1024 * 1024
#: What trafilatura gets at most, once scripts, styles and inline SVG are gone: 512 KiB, 2.4
#: times the largest of Zyte's 181 real pages so stripped (211 KB; median 58 KB). A 5 MB
#: page of 31k real paragraphs took trafilatura 16 s and ~1 GB (issue 27); 512 KiB of it 1.7 s.
MAX_MARKUP_BYTES = 512 * 1024
#: An article's text is cut (at a line end) past this many characters: four times the
#: longest article body of Zyte's 181 real pages (53k characters; 99th percentile 20k).
#: Tagging and fingerprinting cost grows with the text: 4.8 M characters took 21 s.
MAX_TEXT_CHARS = 200_000
#: trafilatura's time grows with the element count, not the bytes: 5 MB of dense
#: markup (350k tiny elements) takes it ~5 s, while real news pages have 1k-30k
#: elements. Above this count we prune element-heavy blocks without paragraphs.
MAX_TREE_ELEMENTS = 60_000
#: Every element costs at least "<a>" in the source; the parser adds only a handful
#: (html, head, body). A page shorter than this times the cap cannot be over it.
MIN_ELEMENT_CHARS = 3
#: A block with this many direct children and no <p> inside is a widget, a link
#: farm or a data dump, never the article; pruned when the tree is over the cap.
WIDE_BLOCK_CHILDREN = 500
#: Where we look for a <meta charset>. The HTML spec prescans 1024 bytes; CMSs that
#: put scripts first push the declaration further, and 8 KB is still free to scan.
CHARSET_SNIFF_BYTES = 8192
#: Fewer words than this after cleaning is not an article (a stub, a link list, a
#: paywall teaser). The shortest wire flashes we follow (TASS, Beta) run ~30 words.
MIN_ARTICLE_WORDS = 20
#: A body whose paragraphs are mostly the page's own link texts is a list of links.
LINK_PARAGRAPH_SHARE = 0.6
#: Lines at most this many words long are candidates for promo/share/credit removal;
#: a real paragraph that happens to start with "Related" is longer than that.
PROMO_MAX_WORDS = 30
#: See ExtractOptions.recall_retry. Precise output under a third of the <p> text
#: happens on ~6% of benchmark pages; the retry costs one more trafilatura pass there.
RETRY_SHARE = 0.35
#: See ExtractOptions.fast_pass_first. The fast text is trusted when it is between
#: these shares of the page's <p> text, and the page has at least this much <p> text.
FAST_TRUSTED_SHARE = (0.5, 1.5)
FAST_TRUSTED_MIN_P_CHARS = 400
#: Sectioning elements that are never the article: trafilatura's cleaning deletes them
#: (its MANUALLY_CLEANED list). See ExtractOptions.drop_chrome_first.
CHROME_TAGS = ("nav", "aside", "footer")
#: Version of our cleaning rules, stored with each article so re-extraction can tell
#: which articles an improved rule set would change.
CLEAN_RULES_VERSION = "5"  # 2: metadata from pagemeta, fast pass first; 3: Albanian promo lines; 4: chrome dropped first; 5: one 8-bit guess (KOI8-R pages)
EXTRACTOR = f"trafilatura-{trafilatura.__version__}+clean{CLEAN_RULES_VERSION}"



@dataclass(frozen=True)
class ExtractOptions:
    """The trafilatura switches we vary; the defaults won on the Zyte benchmark.

    favor_precision drops link blocks and teasers that trafilatura's default keeps
    (benchmarks/bench_extraction.py measures each switch). Reader comments are never
    article text, so include_comments=False is not an option here.
    """

    favor_precision: bool = True
    favor_recall: bool = False
    include_tables: bool = True
    #: Never run trafilatura's readability/justext comparison (its "fast" mode).
    fast: bool = False
    #: Run the fast pass first and the full cascade (readability/justext comparison,
    #: ~2x the cost) only when the fast text is out of proportion with the page's <p>
    #: text (FAST_TRUSTED_SHARE), or the page has too little <p> text to tell. The
    #: comparison changes the result on 6 of Zyte's 181 pages, all of them out of
    #: proportion. False runs the full cascade every time.
    fast_pass_first: bool = True
    #: When the precise pass keeps under RETRY_SHARE of the page's <p> text, run the
    #: default (recall-leaning) pass too and keep it if it is over twice as long:
    #: favor_precision now and then throws the whole body away (odd paywall markup).
    recall_retry: bool = True
    #: Drop the page's <nav>, <aside> and <footer> (CHROME_TAGS) before trafilatura sees
    #: the tree. trafilatura deletes them in every pass anyway, but only after it has
    #: walked the whole raw tree, them included, with its XPath prunes and copied it two
    #: or three times: on pages with a site's menus and sidebars that is over a third of
    #: the extraction time. Never under favor_recall, whose cleaning puts them back when
    #: they hold the only paragraphs.
    drop_chrome_first: bool = True


DEFAULT_OPTIONS = ExtractOptions()

_SINGLE_BYTE_WESTERN = {"iso-8859-1", "latin-1", "windows-1252", "cp1252", "ascii", "us-ascii"}
_HTML_TAG_RE = re.compile(
    r"<(?:!doctype\s+html|html|head|body|p|div|article|main|section|span|table|h[1-6]|br)\b",
    re.I,
)
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b")


# --------------------------------------------------------------------------- decoding


def decode_html(raw: bytes, content_type: str | None = None) -> str:
    """Decode page bytes: BOM, HTTP charset, meta charset, then UTF-8, then the 8-bit guess (``charsets.guess_undeclared``)."""
    return _decode_page(raw, content_type)[0]


def _decode_page(raw: bytes, content_type: str | None) -> tuple[str, bytes | None]:
    """``decode_html``'s text, and ``raw`` when that text is ``raw`` read as (strict) UTF-8:
    ``raw`` is then the text's UTF-8, which the parser reads (``_parse_html``)."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace"), None
    for declared in (_header_charset(content_type), _meta_charset(raw)):
        if declared is None:
            continue
        text = _decode_declared(raw, declared)
        if text is not None:
            return text, raw if declared == "utf-8" else None
    try:
        return raw.decode("utf-8"), raw
    except UnicodeDecodeError:
        return raw.decode(guess_undeclared(raw), errors="replace"), None


def _header_charset(content_type: str | None) -> str | None:
    label = header_charset(content_type)
    return _codec_name(label) if label else None


def _meta_charset(raw: bytes) -> str | None:
    head = raw[:CHARSET_SNIFF_BYTES]
    label = xml_encoding(head) or meta_charset(head)
    return _codec_name(label) if label else None


def _codec_name(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _decode_declared(raw: bytes, codec: str) -> str | None:
    """Honour a declared charset unless the bytes prove it wrong (then None)."""
    if codec.startswith("utf-16") or codec.startswith("utf-32"):
        # A page that reached us as ASCII-compatible bytes with a utf-16 meta tag is
        # lying (the tag itself would be unreadable otherwise); sniff instead.
        return None
    if codec == "utf-8":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if codec in {_codec_name(c) for c in _SINGLE_BYTE_WESTERN}:
        # The most common lie: a CMS template says latin-1 while the content is UTF-8
        # or windows-1251. Valid multi-byte UTF-8 does not happen by accident.
        try:
            text = raw.decode("utf-8")
            if not text.isascii():
                return text
        except UnicodeDecodeError:
            pass
        cyrillic = undeclared_cyrillic(raw)
        if cyrillic is not None:
            return raw.decode(cyrillic, errors="replace")
    return raw.decode(codec, errors="replace")


def _is_binary(raw: bytes) -> bool:
    return raw.startswith(_BINARY_MAGIC) or b"\x00" in raw[:1024]


def _cap_size(html: str) -> str:
    """Drop script/style bodies and then truncate a page over MAX_MARKUP_BYTES."""
    if len(html) <= MAX_MARKUP_BYTES:
        return html
    for tag in ("script", "style", "svg"):
        html = _drop_elements(html, tag)
        if len(html) <= MAX_MARKUP_BYTES:
            return html
    return html[:MAX_MARKUP_BYTES]


def cap_text(text: str) -> tuple[str, str | None]:
    """``text`` cut at the last line end before MAX_TEXT_CHARS, and why (None when whole)."""
    if len(text) <= MAX_TEXT_CHARS:
        return text, None
    cut = text.rfind("\n", 0, MAX_TEXT_CHARS)
    kept = text[: cut if cut > 0 else MAX_TEXT_CHARS].rstrip()
    return kept, f"text cut at {len(kept):,} of {len(text):,} characters (MAX_TEXT_CHARS)"


def _drop_elements(html: str, tag: str) -> str:
    """Remove <tag ...>...</tag> spans with str.find (linear; a regex could backtrack)."""
    lower = html.lower()
    opening, closing = f"<{tag}", f"</{tag}>"
    parts: list[str] = []
    pos = 0
    while (start := lower.find(opening, pos)) != -1:
        end = lower.find(closing, start)
        if end == -1:
            break
        parts.append(html[pos:start])
        pos = end + len(closing)
    parts.append(html[pos:])
    return "".join(parts)


# --------------------------------------------------------------------------- cleaning

#: The spaces _SPACE_RE folds but the plain one: without these or a double space, folding
#: is a no-op. Each of clean_text's regex passes is skipped when the text holds none of the
#: characters it looks for: one str.find per character costs ~1/30 of a regex scan of the
#: text (0.06 ms a page for the three), and most texts hold none.
_ODD_SPACES = "\t\f\v\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
_SPACE_RE = re.compile(f"[ {_ODD_SPACES}]+")
_INVISIBLES = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE_RE = re.compile(f"[{_INVISIBLES}]")
_LINE_BREAKS = "\r\u2028\u2029\x85"
_LINE_BREAKS_RE = re.compile(f"\r\n|[{_LINE_BREAKS}]")

# Lines that point elsewhere ("READ MORE: ...", "Related: ..."), in the languages we
# read. Anchored at the start and requiring the marker's own punctuation or layout,
# so that a sentence beginning with "Related to..." is left alone.
_PROMO_PREFIX_RE = re.compile(
    r"""^[\[(]?\s*(?:
        (?:read\s+(?:more|also|next)|also\s+read|see\s+(?:also|more)|more|related(?:\s+(?:articles?|stories|posts?|news|coverage|content))?
        |recommended(?:\s+for\s+you)?|more\s+on\s+this(?:\s+story)?|most\s+read|don'?t\s+miss|you\s+may\s+also\s+like
        |you\s+might\s+also\s+like|watch|video
        |pročitajte\s+(?:još|i|više)|procitajte\s+(?:jos|i|vise)|vezane\s+vesti|povezane\s+vijesti|povezano|vidi\s+još
        |прочитајте\s+(?:још|и|више)|повезане\s+вести|везане\s+вести|погледајте\s+још
        |читайте\s+также|читать\s+также|смотрите\s+также|подробнее|по\s+теме|см\.\s+также|ещё\s+по\s+теме
        |lexo(?:ni)?\s+(?:edhe|gjithashtu|më\s+shumë|me\s+shume)|shiko\s+edhe|(?:lajme\s+)?të\s+ngjashme
        |më\s+të\s+lexuarat
        )\s*(?:[:\-–—|»>]|\.\.\.|…|$)
        |also\s+on\s+[\w-]+\.[\w.]+\s   # RT's inline teaser: "Also on rt.com <headline>"
    )""",
    re.I | re.X,
)
# Headline teasers with a section tag, as UK tabloids put them mid-article.
_TEASER_TAG_RE = re.compile(
    r"\[(?:INSIGHT|VIDEO|PICTURES|PICS|PHOTOS|REACTION|NEWS|WARNING|ANALYSIS|POLL|LATEST|REVEAL|"
    r"REPORT|UPDATE|EXCLUSIVE|LIVE|MAP|CHART)\]\s*\|?$"
)
# Calls to follow, subscribe or share, when the line starts with one ...
_CALL_TO_ACTION_START_RE = re.compile(
    r"""^(?:
        follow\b|like\s+us\b|join\s+us\b|sign\s+up\b|subscribe\b|click\s+here\b|tap\s+here\b
        |share\s+(?:this|it|on)\b|download\s+(?:our|the)\b|get\s+(?:the|our)\s+(?:latest|day'?s|best)\b
        |have\s+a\s+(?:news\s+)?tip\b|like\s+this\s+(?:story|article)\b
        |pratite\b|prijavite\s+se\b|pretplatite\s+se\b|podelite\b|podijelite\b|preuzmite\b
        |пратите\b|пријавите\s+се\b|претплатите\s+се\b|поделите\b|преузмите\b
        |подписывайтесь\b|подпишитесь\b|следите\s+за\b|читайте\s+(?:нас|\S+\s+в)\b|скачайте\b
        |abonohu(?:ni)?\b|regjistrohu(?:ni)?\b|shpërndaje(?:ni)?\b
    )""",
    re.I | re.X,
)
# ... or carries one anywhere (checked on short lines only).
_CALL_TO_ACTION_ANY_RE = re.compile(
    r"""(?:
        \bfollow\s+(?:us|him|her|them|me)\s+(?:on|at|@)|\blike\s+us\s+on\b
        |\bshare\s+(?:it|this(?:\s+story|\s+article)?)\s+with\b
        |\bour\s+newsletters?\b|\bnewsletters?\b.*\b(?:inbox|sign\s+up|subscrib\w*)|\b(?:sign\s+up|subscrib\w*)\b.*\bnewsletters?\b
        |\bnewsletter$
        |pratite\s+nas\b|пратите\s+нас\b|подписывайтесь\s+на\b|подпишитесь\s+на\b
        |\bna\s+ndiqni\b|\bndiqni\s+na\b
    )""",
    re.I | re.X,
)
_COOKIE_RE = re.compile(
    r"\bcookies?\b.*\b(?:use|uses|using|accept|consent|policy|site|website|browsing|experience)\b"
    r"|колачић|kolačić|файлы\s+cookie",
    re.I,
)
_COPYRIGHT_RE = re.compile(
    r"^(?:©|\(c\)|copyright\b)|all\s+rights\s+reserved|sva\s+prava\s+zadržana|сва\s+права\s+задржана"
    r"|все\s+права\s+защищены|të\s+gjitha\s+të\s+drejtat\s+(?:e\s+)?(?:rezervuara|të\s+rezervuara)",
    re.I,
)
#: For each of the three patterns above, words one of which every branch of it holds (matched
#: case-blind as there): a line without one cannot match it. Their branches, each led by
#: ``\b`` or a case-blind letter, keep the regex engine from skipping ahead, so a search
#: tries every branch at every position of a short line (0.25 ms on a real page, ~15 short
#: lines); the words are found for less than half that, and few lines hold one.
_CALL_TO_ACTION_WORDS_RE = re.compile("follow|like|share|newsletter|pratite|пратите|подпи|ndiqni", re.I)
_COOKIE_WORDS_RE = re.compile("cookie|колачић|kolačić", re.I)
_COPYRIGHT_WORDS_RE = re.compile(r"©|\(c\)|copyright|rights|prava|права|drejtat", re.I)
_SHARE_WORDS = frozenset(
    """share shares tweet email e-mail print facebook twitter x whatsapp viber telegram linkedin
    pinterest reddit messenger flipboard copy link comments comment podeli podijeli подели
    поделиться копирај штампај štampaj вконтакте вк ok одноклассники shpërndaj shpërndaje printo""".split()
)
# Wire credits, tag lists and "Updated at" stamps: about the article, not its text,
# and they differ between copies of one story (which hurts dedup).
_CREDIT_RE = re.compile(
    r"""^[\[(]?\s*(?:
        (?:with\s+)?(?:additional\s+)?reporting\s+by|editing\s+by|writing\s+by|compiled\s+by
        |tags?\s*:|теги\s*:|тагови\s*:|tagovi\s*:|ključne\s+reči\s*:|кључне\s+речи\s*:|etiket(?:a|at|ë)?\s*:|fjalë\s+kyçe\s*:
    )""",
    re.I | re.X,
)
_STAMP_RE = re.compile(
    r"^(?:updated|last\s+updated|published|posted|ažurirano|objavljeno|ажурирано|објављено"
    r"|обновлено|опубликовано|përditësuar|publikuar)\b(?=.*\d).{0,50}$",
    re.I,
)
_LIST_ITEM_RE = re.compile(r"^[-–•*·]\s")
#: After a "Related:" / "Read more" marker, this many following link-like lines go too.
RELATED_RUN_MAX = 8
#: A line this short without sentence punctuation after such a marker is a link title.
LINK_TITLE_MAX_WORDS = 14


def clean_text(text: str, *, line_per_paragraph: bool = False) -> str:
    """Normalise whitespace and drop promo, share, newsletter, cookie and credit lines.

    Paragraphs come out separated by one blank line. With ``line_per_paragraph`` (how
    trafilatura writes its output) every line is a paragraph. Otherwise, in text that
    has blank lines between paragraphs, single line breaks are hard wraps and are
    joined; text without any blank line has one paragraph per line.
    """
    if _holds_any(text, _LINE_BREAKS):
        text = _LINE_BREAKS_RE.sub("\n", text)
    text = unicodedata.normalize("NFC", text)
    if _holds_any(text, _INVISIBLES):
        text = _INVISIBLE_RE.sub("", text)
    if "  " in text or _holds_any(text, _ODD_SPACES):
        text = _SPACE_RE.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    hard_wrapped = not line_per_paragraph and any(not line for line in lines)
    return "\n\n".join(_drop_boilerplate(_paragraphs(lines, hard_wrapped=hard_wrapped)))


def _holds_any(text: str, chars: str) -> bool:
    return any(char in text for char in chars)


def _paragraphs(lines: list[str], *, hard_wrapped: bool) -> Iterator[str]:
    if not hard_wrapped:
        yield from (line for line in lines if line)
        return
    block: list[str] = []
    for line in [*lines, ""]:
        if line and not is_boilerplate_line(line):
            block.append(line)
        elif not line and block:
            yield " ".join(block)
            block = []


def _drop_boilerplate(paragraphs: Iterable[str]) -> Iterator[str]:
    """Drop boilerplate lines and the run of link titles that follows a "Related" marker."""
    run = 0  # how many more link-like lines to drop after a marker
    for paragraph in paragraphs:
        if is_boilerplate_line(paragraph):
            run = RELATED_RUN_MAX if _PROMO_PREFIX_RE.match(paragraph) else 0
            continue
        if run and _looks_like_link_title(paragraph):
            run -= 1
            continue
        run = 0
        yield paragraph


def _looks_like_link_title(line: str) -> bool:
    if _LIST_ITEM_RE.match(line):
        return True
    return len(line.split()) <= LINK_TITLE_MAX_WORDS and not line.endswith((".", "!", "?", ":", '"', "”", "»"))


def is_boilerplate_line(line: str) -> bool:
    """True for a promo, share-button, newsletter, cookie, copyright or credit line."""
    # Splitting stops past PROMO_MAX_WORDS: the count only has to tell a long line, and
    # most lines are long paragraphs.
    words = line.split(maxsplit=PROMO_MAX_WORDS)
    if not words:
        return True
    if _PROMO_PREFIX_RE.match(line) or _CREDIT_RE.match(line) or _STAMP_RE.match(line):
        return True
    if len(words) > PROMO_MAX_WORDS:
        return False
    bare = [w.strip("|·•,.:!()[]").lower() for w in words]
    if all(w in _SHARE_WORDS for w in bare if w):
        return True
    if _LIST_ITEM_RE.match(line):
        return False  # list items ("- Sign up for ...") are content in how-to and deal pieces
    return bool(
        _TEASER_TAG_RE.search(line)
        or _CALL_TO_ACTION_START_RE.match(line)
        or (_CALL_TO_ACTION_WORDS_RE.search(line) and _CALL_TO_ACTION_ANY_RE.search(line))
        or (_COOKIE_WORDS_RE.search(line) and _COOKIE_RE.search(line))
        or (_COPYRIGHT_WORDS_RE.search(line) and _COPYRIGHT_RE.search(line))
    )


def _drop_leading_title(text: str, title: str | None) -> str:
    """Drop a first paragraph that repeats the title: it is stored apart."""
    if not title:
        return text
    first, _, rest = text.partition("\n\n")
    head, tail = _split_head(first)
    head_key, title_key = _comparable(head), _comparable(title)
    # The first paragraph's key starts with its head's: most first paragraphs differ from
    # the title there, and the rest of them needs no regex pass.
    if title_key.startswith(head_key) and _continued_key(head_key, tail) == title_key:
        return rest
    return text


def _comparable(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


# --------------------------------------------------------------------------- extraction


def extract_article(
    html: bytes | str,
    url: str,
    *,
    fallback_title: str | None = None,
    fallback_published: datetime | None = None,
    content_type: str | None = None,
    options: ExtractOptions = DEFAULT_OPTIONS,
    identify: bool = True,
) -> Extracted:
    """The cleaned article and metadata of one page; ExtractionError when there is none.

    ``content_type`` is the HTTP header, whose charset outranks the page's own.
    ``published``: a page timestamp with a time of day, else ``fallback_published``
    (the feed's, which has one), else the page's date at midnight UTC.
    ``language``: identified from the text, else the page's lang attribute; with
    ``identify=False`` the attribute alone, for a caller that identifies many texts in a
    row (``with_language``).
    """
    # Emptiness told by isspace, which stops at the first other character: strip() copies the page.
    utf8: bytes | None = None  # the page's UTF-8, when it is the bytes as read
    if isinstance(html, bytes):
        if not html or html.isspace():
            raise ExtractionError(f"empty page: {url}", reason="empty_page")
        if _is_binary(html):
            raise ExtractionError(f"not HTML (binary content): {url}", reason="not_html")
        html, utf8 = _decode_page(html, content_type)
    if not html or html.isspace():
        raise ExtractionError(f"empty page: {url}", reason="empty_page")
    if not _HTML_TAG_RE.search(html[:MAX_PAGE_BYTES]):
        raise ExtractionError(f"not HTML (no HTML tags): {url}", reason="not_html")
    whole = html
    html = _strip_xml_declaration(_cap_size(html))

    tree = _parse_html(html, utf8 if html is whole else None)
    if tree is None:
        raise ExtractionError(f"HTML could not be parsed: {url}", reason="not_html")
    _bound_tree_size(tree, url, len(html))
    page = read_page_meta(tree, url)  # before the strip below: JSON-LD lives in <script>
    # trafilatura deletes these in its own cleaning, but only after copying the tree two
    # or three times a pass; dropping them first saves ~0.3 ms a page, same text (checked
    # on the Zyte pages and the pipeline benchmark's). The tails are text of the page.
    etree.strip_elements(tree, "script", "style", with_tail=False)
    if options.drop_chrome_first and not options.favor_recall:
        # Measured when added: the same text on all 181 Zyte pages and 400 generated
        # ones, 13.5 -> 12.0 and 4.1 -> 2.3 ms a page (bench_extraction.py keeps the
        # comparison: its "page chrome left in" row).
        etree.strip_elements(tree, *CHROME_TAGS, with_tail=False)
    raw_text = _body_text(tree, url, options)
    title = page.title or fallback_title
    text = _drop_leading_title(clean_text(raw_text, line_per_paragraph=True), title)
    _require_article(text, tree, url)
    text, note = cap_text(text)
    if note is None and len(html) >= MAX_MARKUP_BYTES:
        note = f"page cut at {MAX_MARKUP_BYTES:,} characters of markup before extraction (MAX_MARKUP_BYTES)"
    return Extracted(
        url=url,
        canonical_url=page.canonical_url,
        title=title,
        text=text,
        author=page.author,
        published=page.published or fallback_published or page.day,
        # Identified from the text: a page's lang attribute is often its template's.
        language=(identify_language(text) if identify else None) or page.language,
        sitename=page.sitename,
        description=page.description,
        extractor=EXTRACTOR,
        note=note,
    )


def with_language(extracted: Extracted) -> Extracted:
    """An article extracted with ``identify=False``, its language identified as ``extract_article`` does."""
    return replace(extracted, language=identify_language(extracted.text) or extracted.language)


def _body_text(tree: HtmlElement, url: str, options: ExtractOptions) -> str:
    """trafilatura's body text: the fast pass, the full cascade when the fast text is out
    of proportion, the recall retry when the text is very short.

    Each pass gets the same tree: trafilatura copies before pruning (checked in tests).
    """
    # A childless element's text is all its text: text_content (an XPath call) is not needed.
    paragraph_chars = _folded_chars([p.text_content() if len(p) else p.text or "" for p in tree.iter("p")])
    if options.fast or not options.fast_pass_first:
        text = _run_trafilatura(tree, url, options)  # one pass, as configured
    else:
        text = _run_trafilatura(tree, url, replace(options, fast=True))
        if not _fast_text_trusted(len(text), paragraph_chars):
            text = _run_trafilatura(tree, url, options)
    if options.recall_retry and options.favor_precision and len(text) < RETRY_SHARE * paragraph_chars:
        retry = _run_trafilatura(tree, url, replace(options, favor_precision=False))
        if len(retry) > 2 * len(text):
            text = retry
    return text


def _folded_chars(texts: list[str]) -> int:
    """``sum(len(" ".join(text.split())) for text in texts)``, the length of each text with
    its white space folded, without a str per word on the usual text.

    Folding makes a str of each word (~0.04 ms for a page's <p> texts). When newlines and
    single spaces are the only white space (``isprintable`` is False for all other white
    space), the texts joined by spaces fold by trimming the ends alone, and the sum is that
    less the spaces the join put between the texts that hold a word (``nonempty``).
    """
    nonempty = sum(1 for text in texts if text and not text.isspace())
    joined = " ".join(texts).replace("\n", " ")
    if nonempty and "  " not in joined and joined.isprintable():
        return len(joined) - joined.startswith(" ") - joined.endswith(" ") - (nonempty - 1)
    return sum(len(" ".join(text.split())) for text in texts)


def _fast_text_trusted(text_chars: int, paragraph_chars: int) -> bool:
    low, high = FAST_TRUSTED_SHARE
    return paragraph_chars >= FAST_TRUSTED_MIN_P_CHARS and low * paragraph_chars <= text_chars <= high * paragraph_chars


def _bound_tree_size(tree: HtmlElement, url: str, html_chars: int) -> None:
    """Prune paragraph-less giant blocks from a tree over MAX_TREE_ELEMENTS; refuse if still over."""
    if html_chars < MIN_ELEMENT_CHARS * MAX_TREE_ELEMENTS:
        return  # too short to hold that many elements: skip the count
    count = sum(1 for _ in tree.iter())
    if count <= MAX_TREE_ELEMENTS:
        return
    for tag in ("script", "style", "svg", "noscript", "template"):
        for el in list(tree.iter(tag)):
            _remove(el)
    for el in list(tree.iter()):
        if len(el) >= WIDE_BLOCK_CHILDREN and next(el.iter("p"), None) is None:
            _remove(el)
    count = sum(1 for _ in tree.iter())
    if count > MAX_TREE_ELEMENTS:
        raise ExtractionError(
            f"page too complex to extract ({count} elements, cap {MAX_TREE_ELEMENTS}): {url}",
            reason="page_too_complex",
        )


def _remove(el: HtmlElement) -> None:
    parent = el.getparent()
    if parent is not None:
        parent.remove(el)


def _run_trafilatura(tree: HtmlElement, url: str, options: ExtractOptions) -> str:
    """The body text of one trafilatura pass; "" when it finds none.

    with_metadata=False: pagemeta reads the head for a fraction of the cost. (When it
    was on, htmldate had to be kept from free-text dates: a footer's "(c) 2026" read as
    1 January made a fake spike in every trend. pagemeta reads markup dates only.)
    """
    doc = trafilatura.bare_extraction(tree, url=url, options=_trafilatura_options(options, url))
    if doc is None:
        return ""
    text = doc.get("text") if isinstance(doc, dict) else doc.text
    return text if isinstance(text, str) else ""


def _extractor(*, fast: bool, precision: bool, recall: bool, tables: bool, url: str | None) -> Extractor:
    """The options bare_extraction builds from these keyword arguments (see _run_trafilatura)."""
    return Extractor(
        output_format="python",
        fast=fast,
        precision=precision,
        recall=recall,
        comments=False,
        tables=tables,
        url=url,
        with_metadata=False,
    )


#: bare_extraction's options, built once for each switch setting: building them reads
#: trafilatura's config and the clock (~45 us a pass), a copy costs a tenth. Never changed
#: after this: each pass gets its own copy (_trafilatura_options). Precision with recall
#: is left out, so that trafilatura's warning about it still comes with each pass. The
#: date they hold is for metadata, which is off.
_EXTRACTORS = {
    (fast, precision, recall, tables): _extractor(fast=fast, precision=precision, recall=recall, tables=tables, url=None)
    for fast, precision, recall, tables in product((False, True), repeat=4)
    if not (precision and recall)
}


def _trafilatura_options(options: ExtractOptions, url: str) -> Extractor:
    """Options for one bare_extraction pass on ``url``, the same as it would build itself."""
    key = (options.fast, options.favor_precision, options.favor_recall, options.include_tables)
    template = _EXTRACTORS.get(key)
    if template is None:
        return _extractor(fast=key[0], precision=key[1], recall=key[2], tables=key[3], url=url)
    extractor = copy(template)
    extractor.url = url
    # as Extractor.__init__ sets it (its source, for log lines, is the url when there is one)
    extractor.source = url.encode("utf-8", "replace").decode("utf-8") if url else None
    return extractor


def _strip_xml_declaration(html: str) -> str:
    # lxml refuses a str that still carries an encoding declaration; we decoded already.
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", html, count=1)


# --------------------------------------------------------------------------- parsing

#: 0 for each byte that trafilatura's repair deletes (INVALID_XML_CHARS: the C0 controls
#: but tab, LF and CR), 1 for the others; see _has_invalid_xml_chars.
_INVALID_XML_BYTE_FLAGS = bytes(0 if b < 0x20 and b not in b"\t\n\r" else 1 for b in range(256))
#: The white space a page starts with (see _parse_html).
_LEADING_SPACE_RE = re.compile(r"\s*")


def _parse_html(html: str, utf8: bytes | None = None) -> HtmlElement | None:
    """The tree trafilatura.load_html makes of our decoded page, for less work.

    load_html runs a regex over the whole page to delete control characters that pages
    almost never hold (~0.2 ms for a 77 KB page); the same test on the UTF-8 bytes
    costs a sixth of that (``_has_invalid_xml_chars``), so its repair runs only when
    there is something to delete. libxml2 also reads the UTF-8 bytes faster than a str
    it must convert, into the same tree: checked element by element on the 600
    generated pages and Zyte's 181 real ones, and kept by tests. ``utf8``, when given, is
    ``html`` encoded (the page as read, when it was UTF-8): encoding it again cost ~20 us.
    """
    # lxml.html.fromstring tells a whole document from a fragment by its start, where \s
    # on a str also takes U+00A0, U+3000, ...; lone surrogates (only in a str passed in)
    # have no UTF-8. Such pages take load_html's own way.
    leading = _LEADING_SPACE_RE.match(html)  # always matches, if only ""
    if leading is None or not leading.group().isascii():
        return trafilatura.load_html(html)
    try:
        data = html.encode("utf-8") if utf8 is None else utf8
    except UnicodeEncodeError:
        return trafilatura.load_html(html)
    beginning = html[:50].lower()
    repaired = _repair_faulty_html(html, beginning, _has_invalid_xml_chars(html, data))
    if repaired is not html:
        data = repaired.encode("utf-8")
    try:
        tree: HtmlElement = lxml.html.fromstring(data, parser=HTML_PARSER)
    except etree.LxmlError:  # "Document is empty": nothing but comments, say
        return None
    if "html" not in beginning and len(tree) < 2:
        return None  # load_html's test: not (well-formed) HTML at all
    return tree


def _has_invalid_xml_chars(html: str, data: bytes) -> bool:
    """Whether ``html`` (``data`` its UTF-8) holds a character of trafilatura's
    INVALID_XML_CHARS: its C0 controls are single bytes of the UTF-8; U+FFFE and U+FFFF
    are looked for in the str, where a search for a character wider than any it holds
    costs nothing (a 3-byte search of the UTF-8 cost 25 us a page)."""
    return b"\x00" in data.translate(_INVALID_XML_BYTE_FLAGS) or "\ufffe" in html or "\uffff" in html


def _repair_faulty_html(html: str, beginning: str, invalid_chars: bool) -> str:
    """trafilatura's ``utils.repair_faulty_html``, the same string, whole-page work only when
    it changes something; ``html`` itself (the same object) when nothing is to repair."""
    if invalid_chars:
        html = INVALID_XML_CHARS.sub("", html)
    if "doctype" in beginning:
        # It deletes a doctype whose first line holds a "/" (XHTML's) and rejoins the first
        # line with a newline, which adds one to a page of a single line.
        end = html.find("\n")
        if end < 0 or DOCTYPE_TAG.match(html, 0, end):
            first_line, _, rest = html.partition("\n")
            html = DOCTYPE_TAG.sub("", first_line, count=1) + "\n" + rest
    for line in html[:4096].splitlines()[:4]:
        if "<html" in line and line.endswith("/>"):
            html = FAULTY_HTML.sub(r"\1>", html, count=1)
            break
    return html


#: Links whose text could equal a paragraph of ``$n`` comparable characters or more
#: (see _require_article); evaluated in C, so menus' short links never reach Python.
_LONG_ENOUGH_LINKS = etree.XPath("//a[2 * string-length(normalize-space(.)) >= $n]")


#: Paragraph keys are first taken of each paragraph's head, cut at the first space past
#: this many characters (see _require_article).
KEY_HEAD_CHARS = 64


def _require_article(text: str, tree: HtmlElement, url: str) -> None:
    paragraphs = text.split("\n\n") if text else []
    # Every whitespace-separated token holds at least one word_count word, so the cheap
    # split (stopped at the floor) settles the common case; the exact count is needed
    # only below it.
    words = len(text.split(maxsplit=MIN_ARTICLE_WORDS))
    if words < MIN_ARTICLE_WORDS and (words := word_count(text)) < MIN_ARTICLE_WORDS:
        raise ExtractionError(
            f"no article text ({words} words after cleaning, need {MIN_ARTICLE_WORDS}): {url}"
        )
    # Normalising drops punctuation and runs of spaces and lengthens only through
    # casefold (ß -> ss, at most 2x), so an anchor under half the shortest paragraph key
    # cannot equal one: most of a page's hundreds of links (menus, tags) are skipped
    # before the regex pass. A paragraph's key starts with the key of its head, so the
    # shortest head key is a first, lower, bound: when no link is even that long (most
    # generated pages, once the chrome is gone), no paragraph can be a link's text and
    # the regex pass over the rest of the text (~0.1 ms a page) is not needed.
    heads = [_split_head(p) for p in paragraphs]
    head_keys = [_comparable(head) for head, _ in heads]
    shortest = min(len(k) for k in head_keys)
    links = _LONG_ENOUGH_LINKS(tree, n=shortest)
    if not links:
        return
    keys = [_continued_key(key, rest) for key, (_, rest) in zip(head_keys, heads)]
    wanted = set(keys)
    if (shortest_key := min(len(w) for w in wanted)) > shortest:  # the bound let shorter links in
        links = _LONG_ENOUGH_LINKS(tree, n=shortest_key)
    texts = {a.text_content() for a in links}  # menus repeat links
    link_texts = {_comparable(t) for t in texts} & wanted
    linked = sum(1 for k in keys if k in link_texts)
    if linked / len(paragraphs) > LINK_PARAGRAPH_SHARE:
        raise ExtractionError(
            f"no article text (a list of links: {linked} of {len(paragraphs)} paragraphs): {url}",
            reason="link_list",
        )


def _split_head(paragraph: str) -> tuple[str, str]:
    """The paragraph cut at its first space past KEY_HEAD_CHARS. casefold maps character
    by character and the space is no word character, so the key of the whole is the keys
    of the two parts, joined (``_continued_key``)."""
    cut = paragraph.find(" ", KEY_HEAD_CHARS)
    return (paragraph, "") if cut < 0 else (paragraph[:cut], paragraph[cut:])


def _continued_key(head_key: str, rest: str) -> str:
    """The key of a paragraph from the key of its head and the rest (``_split_head``)."""
    rest_key = _comparable(rest) if rest else ""
    return f"{head_key} {rest_key}" if head_key and rest_key else head_key or rest_key


# Scripts written without spaces: each character counts as a word.
_WORD_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\s\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+")


def word_count(text: str) -> int:
    """Words in a text; a Chinese or Japanese character counts as one word."""
    return len(_WORD_RE.findall(text))


#: Most words a section label glued before a headline has ("News", "World news"): a
#: longer lead before the repeated headline is a title of its own, not a label.
MAX_GLUED_LABEL_WORDS = 3


def _title_without_glued_label(lines: Sequence[str]) -> str:
    """The first line as the title, unless it is a section label glued to the headline.

    Text copied from a web page often starts with the page's section label run into the
    headline ("NewsIs Putin turning to the Balkans?") followed by the headline again on a
    line of its own. When the next non-empty line is the end of the first one, behind a
    short lead of at most MAX_GLUED_LABEL_WORDS words and fewer words than itself, that
    line is the title (a lone last word repeated below is not a headline).
    """
    first = " ".join(lines[0].split())
    following = next((" ".join(line.split()) for line in lines[1:] if line.strip()), "")
    if following and first != following and first.endswith(following):
        lead = first[: -len(following)]
        if len(lead.split()) <= min(MAX_GLUED_LABEL_WORDS, len(following.split()) - 1):
            return following
    return first


def extract_text_file(text: str, url: str) -> Extracted:
    """An imported .txt article: the first non-empty line is the title, the rest the body."""
    lines = text.lstrip("\ufeff").splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise ExtractionError(f"empty text file: {url}", reason="empty_page")
    title = _title_without_glued_label(lines)
    body = clean_text("\n".join(lines[1:]))
    if not body:
        raise ExtractionError(f"text file has a title but no body: {url}")
    return Extracted(
        url=url,
        canonical_url=url,
        title=title,
        text=body,
        language=identify_language(body),
        extractor=f"text+clean{CLEAN_RULES_VERSION}",
    )
