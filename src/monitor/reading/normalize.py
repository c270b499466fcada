"""Normalise article text for comparison (dedup), never for display.

Two copies of one story differ in ways a reader ignores: curly or straight quotes,
``Vučić``/``Vucic``/``Вучић``, an en dash or a hyphen, a no-break space, ``&amp;`` left
over from a feed, lines wrapped at 72 columns, a different byline, "READ MORE: ..." promo
lines and newsletter or copyright footers. ``normalize_for_comparison`` removes all of
these, so that the content hash (``exact``) and the shingles (``near``/``contained``) see
only the words of the story. The result is one line of lower-case ASCII-ish words and
punctuation separated by single spaces: paragraph and line structure is dropped on
purpose, because wrapping differs between copies.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

__all__ = ["normalize_for_comparison", "is_boilerplate_line", "fold", "MAX_BOILERPLATE_WORDS"]

#: A line longer than this is never dropped as boilerplate: promo lines, bylines and
#: footers are short, and dropping a real paragraph would hide content from dedup.
#: (The longest promo line in the seeds, "READ: New Serbian MiG-29s ... NATO", has 15.)
MAX_BOILERPLATE_WORDS = 30

# Serbian (and, for robustness, Russian/Macedonian/Ukrainian) Cyrillic to the Latin
# letters that Serbian Latin uses *after* diacritics are stripped (ч/ћ -> c, ж -> z,
# ђ -> dj), so "Вучић", "Vučić" and "Vucic" become the same word. Lower case only:
# the text is case-folded first.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "dj", "е": "e", "ж": "z",
    "з": "z", "и": "i", "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n",
    "њ": "nj", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "c", "у": "u",
    "ф": "f", "х": "h", "ц": "c", "ч": "c", "џ": "dz", "ш": "s",
    # Russian
    "ё": "e", "й": "j", "ы": "y", "э": "e", "ю": "ju", "я": "ja", "щ": "sc", "ъ": "", "ь": "",
    # Macedonian, Ukrainian
    "ѓ": "gj", "ќ": "kj", "ѕ": "dz", "і": "i", "ї": "ji", "є": "je", "ґ": "g",
}
# Latin letters that NFKD does not decompose into base + combining mark.
_LATIN_SPECIAL = {"đ": "dj", "ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th", "ð": "d"}
_QUOTES = {c: "'" for c in "‘’‚‛′`´ʼ"} | {c: '"' for c in "“”„‟″«»‹›"}
_DASHES = {c: "-" for c in "‐‑‒–—―−⁃"}
_INVISIBLE = {c: "" for c in "\u00ad\u200b\u200c\u200d\u2060\ufeff"}
_TABLE = str.maketrans(_CYRILLIC | _LATIN_SPECIAL | _QUOTES | _DASHES | _INVISIBLE)
#: The ASCII characters _TABLE changes (the backtick): the only ones ASCII text can need.
_ASCII_TRANSLATABLE = "".join(chr(c) for c in sorted(_TABLE) if c < 128)
#: Deleted from a text's UTF-8, these leave its non-ASCII characters (``_non_ascii``).
_ASCII_BYTES = bytes(range(128))
#: str.translate with a dict table costs ~45 ns a character whatever it changes. When
#: non-ASCII characters (counted by the UTF-8 bytes they add) are under this share, as
#: in Latin-script news where only quotes and dashes need it, only those characters
#: are replaced; Cyrillic text goes through translate whole.
SPARSE_NON_ASCII_SHARE = 1 / 16

_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_BREAK_TAG = re.compile(r"<\s*(?:br|/?p)\s*/?\s*>", re.IGNORECASE)

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
#: Boilerplate lines, by how they start (matched at the line's start only: as one
#: pattern with the two below, searched, every branch was tried at every character,
#: ~3x the cost on real news).
_BOILERPLATE_START = re.compile(
    "|".join(
        [
            # promo links: "READ MORE: ...", "READ: ...", "See also: ..."
            r"(?:read more|read also|also read|read|see also|more|watch|listen)\s*:",
            r"(?:related|related content|related articles|related stories|related news"
            r"|more stories|more on this( story| topic)?|recommended|you may also like"
            r"|most read|trending|advertisement|ad)\s*:?$",
            # bylines and credits
            r"by (?:[a-z.'\-]+ ){0,4}[a-z.'\-]+(?:\s*[,|]\s*[a-z0-9 .'\-]{0,40})?$",
            r"(?:written|reported|edited|compiled) by\b",
            r"ed\. \S+$",
            r"(?:photo|image|video|foto|source|izvor)\b\s*[:.]",
            r"source\s*\.\.\.$",
            # newsletters, sharing, copyright
            r"(?:subscribe|sign up|get our|join our|unsubscribe)\b",
            r"(?:share|share this( article| story)?|tweet|print|email|follow us\b.*|click here\b.*)$",
            r"(?:copyright|\(c\)|©)",
            # a line that is only a date and time ("12:38 pm est, november 11, 2023")
            rf"(?:\d{{1,2}}:\d{{2}}\s*(?:am|pm)?\s*[a-z]{{0,4}},?\s*)?(?:[a-z]+day,?\s*)?"
            rf"(?:\d{{1,2}}\s+{_MONTH}|{_MONTH}\s+\d{{1,2}}),?\s*\d{{4}}"
            rf"(?:,?\s*\d{{1,2}}:\d{{2}}\s*(?:am|pm)?\s*[a-z]{{0,4}})?$",
        ]
    )
)
#: Boilerplate lines, by what they hold anywhere: a newsletter, a copyright footer.
_BOILERPLATE_ANYWHERE = re.compile(r"\bnewsletter\b|all rights reserved")


#: Serbian and Russian Cyrillic to Latin, and Latin letters NFKD does not decompose.
_WORD_TRANSLIT: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "dj", "е": "e", "ё": "e", "ж": "z",
    "з": "z", "и": "i", "й": "j", "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n",
    "њ": "nj", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "c", "у": "u", "ф": "f",
    "х": "h", "ц": "c", "ч": "c", "џ": "dz", "ш": "s", "щ": "sc", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "ju", "я": "ja", "і": "i", "ї": "i", "є": "e", "ґ": "g", "ѓ": "g", "ќ": "k",
    "ѕ": "dz", "đ": "dj", "ł": "l", "ß": "ss", "æ": "ae", "ø": "o", "ı": "i", "œ": "oe",
}
_WORD_TRANSLIT_TABLE = str.maketrans(_WORD_TRANSLIT)


def fold(word: str) -> str:
    """One word as tagging and feed dates compare it: lower-case, transliterate Cyrillic and drop diacritics: "Србији" -> "srbiji"."""
    s = word.lower().translate(_WORD_TRANSLIT_TABLE)
    if not s.isascii():
        s = "".join(ch for ch in unicodedata.normalize("NFKD", s) if not unicodedata.combining(ch))
    return s


def is_boilerplate_line(line: str) -> bool:
    """True when an already normalised, stripped line is a byline, promo link or footer."""
    return _is_boilerplate(line, len(line.split()))


def _is_boilerplate(line: str, words: int) -> bool:
    """``is_boilerplate_line`` for a line of ``words`` words (counted by the caller)."""
    if words > MAX_BOILERPLATE_WORDS:
        return False
    return _BOILERPLATE_START.match(line) is not None or _BOILERPLATE_ANYWHERE.search(line) is not None


def _fold_characters(text: str) -> str:
    # Until stable: feeds sometimes escape already escaped text ("&amp;amp;").
    while (unescaped := html.unescape(text)) != text:
        text = unescaped
    text = _BREAK_TAG.sub("\n", text)
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _translate(text)
    if text.isascii():  # O(1): no marks to strip (the scan for them costs ~3 ns a character)
        return text
    # Strip diacritics: decompose, drop the combining marks, recompose what is left.
    # NFKD decomposes each character on its own (then reorders runs of marks, which all
    # go here): when every non-ASCII character left is ASCII and marks (č, ć, é: Latin
    # script news), each is replaced by its letters, ~5x cheaper than the passes below
    # over the whole text. NFC keeps ASCII as it is; the table changes only a backtick.
    bare_chars = {c: _COMBINING.sub("", unicodedata.normalize("NFKD", c)) for c in _non_ascii(text.encode())}
    if all(b.isascii() and "`" not in b for b in bare_chars.values()):
        for char, bare_char in bare_chars.items():
            text = text.replace(char, bare_char)
        return text
    bare, marks = _COMBINING.subn("", unicodedata.normalize("NFKD", text))
    text = unicodedata.normalize("NFC", bare)
    # Again where marks went: a letter the table does not list can be a listed one plus a
    # mark (Cyrillic ѝ and ӭ are и and э with one, ǿ is ø with one); without this pass
    # such a letter folds one step a call, and the fold of a fold differs (42 code points
    # did). Translated text is mostly ASCII, so the pass takes the cheap path.
    # (Translating only after stripping would turn й, и with a breve, into i, not j.)
    return _translate(text) if marks else text


def _translate(text: str) -> str:
    """``text.translate(_TABLE)``, at a fraction of the cost on mostly-ASCII text."""
    chars: Iterable[str]
    if text.isascii():  # O(1)
        chars = _ASCII_TRANSLATABLE
    elif len(encoded := text.encode("utf-8")) - len(text) > SPARSE_NON_ASCII_SHARE * len(text):
        return text.translate(_TABLE)
    else:
        chars = _non_ascii(encoded) | set(_ASCII_TRANSLATABLE)
    # Each distinct character, replaced all at once: the table's replacements are ASCII
    # letters and punctuation that are not keys, so the order of the replaces is moot.
    for char in chars:
        if (replacement := _TABLE.get(ord(char))) is not None:
            text = text.replace(char, replacement)
    return text


def _non_ascii(encoded: bytes) -> set[str]:
    """The distinct non-ASCII characters of a text, from its UTF-8 (``encoded``), where
    each of their bytes is >= 0x80: two C passes over the bytes, ~1 ns a character, where
    a regular expression's scan for them costs ~3."""
    return set(encoded.translate(None, _ASCII_BYTES).decode("utf-8"))


#: A line ending in a letter and a hyphen: the first half of a compound a wrap broke.
_WRAPPED_AT_HYPHEN = re.compile(r"[^\W\d_]-$")


def normalize_for_comparison(text: str) -> str:
    """Fold ``text`` to the form dedup compares: one line of case-, accent- and script-folded words."""
    kept: list[str] = []
    for raw_line in _fold_characters(text).splitlines():
        words = raw_line.split()
        line = " ".join(words)
        if not line or _is_boilerplate(line, len(words)):
            continue
        # endswith first: the regex alone scans the whole previous line for its last two
        # characters (a third of this function's time on news text).
        if kept and line[0].isalpha() and kept[-1].endswith("-") and _WRAPPED_AT_HYPHEN.search(kept[-1]):
            # A hard wrap after a compound's hyphen ("off-" / "balance"), as most
            # wrappers break: the copy that was not wrapped reads "off-balance".
            kept[-1] += line
        else:
            kept.append(line)
    return " ".join(kept)
