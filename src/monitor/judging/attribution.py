"""Who a text says it comes from: the credits near its start and end, and its script.

A portal that republishes state media either names its source ("Izvor: Sputnik",
"prema pisanju RT Balkan", "по данным ТАСС", "BEOGRAD (Sputnik) -") or does not. We
look for that credit as *classes of cue*, in every language and script of the region,
and capture the name the cue points at:

- ``label``: a source label and what follows it ("Izvor:", "Извор:", "Source:",
  "Источник:", "Източник:", "Burimi:");
- ``phrase``: a reporting phrase before a name ("prema pisanju", "kako prenosi",
  "according to", "по данным", "со ссылкой на", "според", "sipas", "as reported by");
- ``verb``: a name before or right after a reporting verb ("Sputnik javlja", "ТАСС
  сообщает", "TASS reported", "..., javlja Sputnik.", "..., сообщает РИА Новости.");
- ``dateline``: a name in parentheses in a dateline ("MOSKVA (TASS) -", "(Sputnik) -");
- ``line``: a short last line that is only a name ("(RT)", "Sputnik Srbija").

Only the head and the tail of a text are read (``HEAD_WORDS``, ``TAIL_WORDS``): that is
where a credit sits, while an outlet named in the middle of the body is what the story
is *about* ("Sputnik's headline claimed..."), not where it came from. Photo and video
credits ("Foto: Sputnik / ...") name where a picture came from, not the text, and are
skipped.

Whether a credit names a given origin is decided on name keys (``name_key``): folded
(lower case, Latin, no diacritics), one case ending dropped ("Sputnika", "RT-a",
"TASS-om" are Sputnik, RT, TASS), and compared word by word, so "RTS" is not "RT".
The warehouse compares the same keys (view ``amplification``), against the names each
source is cited by (``cited_as`` in the sources registry).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from monitor.models import Credit
from monitor.reading.normalize import fold

__all__ = [
    "Credit",
    "CueClass",
    "Script",
    "HEAD_WORDS",
    "TAIL_WORDS",
    "find_credits",
    "name_key",
    "credit_naming",
    "text_script",
]

CueClass = Literal["label", "phrase", "verb", "dateline", "line"]
Script = Literal["cyrillic", "latin", "mixed"]

#: Words of the head read for credits: a dateline, the lead and the sentence after it.
#: Portals put "prema pisanju X" in the first or second sentence; 80 words is about two
#: news sentences and a dateline, and no further: the body names outlets it reports on.
HEAD_WORDS = 80
#: Words of the tail read for credits: a closing "Izvor: ..." or "(RT)" line and the
#: sentence before it.
TAIL_WORDS = 50
#: A captured name is at most this many words ("RIA Novosti", "Russia Today Balkan").
MAX_NAME_WORDS = 4
#: Lower-case words a cue may skip before the name: "prema pisanju *ruske državne
#: agencije* Sputnik", "по данным *агентства* ТАСС".
MAX_SKIPPED_WORDS = 3
#: Evidence kept with a credit: the passage around the cue, cut to this length.
EVIDENCE_CHARS = 160
#: A last line longer than this is a sentence, not a credit line.
MAX_CREDIT_LINE_WORDS = 5
#: Share of a text's letters in one script above which the text is in that script.
SCRIPT_SHARE = 0.8
#: Case endings dropped from a name word of at least MIN_STEM + the ending's letters:
#: Serbian, Croatian, Bosnian, Macedonian, Bulgarian and Russian inflect outlet names
#: ("Sputnika", "Sputnikom", "Istoku"), folded to Latin first. Longest first.
_ENDINGS = ("om", "em", "ov", "a", "u", "e", "i", "y")
MIN_STEM = 4
#: A hyphenated case ending on an abbreviation: "RT-a", "TASS-om", "РТ-у".
_HYPHEN_ENDING = re.compile(r"-(?:a|u|om|em|e|ov|i|ja|ju|y)$")

#: The cues, as plain lower-case words (matched at a word start, in any case).
_LABELS = ["izvor", "извор", "source", "sources", "источник", "източник", "burimi", "burim", "vir"]
#: A label word alone is no name ("Source..." closing a text).
_LABEL_KEYS = frozenset({"izvor", "sourc", "source", "istocnik", "iztocnik", "burim", "vir"})


def _each(head: str, tails: str) -> list[str]:
    return [f"{head} {tail}" for tail in tails.split()]


_PHRASES = [
    # Serbian, Croatian, Bosnian, Montenegrin, Latin and Cyrillic
    "prema pisanju", "prema navodima", "prema izveštaju", "prema izvještaju", "prema izvestaju",
    "prema izvjestaju", "prema informacijama",
    *_each("kako", "prenosi piše pise javlja navodi izveštava izvještava saznaje"), "preneo je", "prenijela je",
    "према писању", "према наводима", "према извештају", "према информацијама",
    *_each("како", "преноси пише јавља наводи извештава сазнаје"),
    # Macedonian, Bulgarian
    "според пишувањето на", "според", *_each("како што", "пренесува јавува пишува"),
    *_each("както", "съобщава предава пише"), "по информация на",
    # Russian
    "по данным", "по сообщению", "по информации", "со ссылкой на",
    *_each("как", "сообщает сообщил сообщила сообщило сообщили пишет передает передаёт рассказал рассказала"),
    # English
    "according to", "as reported by", "reported by", *_each("first published", "by in on"),
    *_each("originally published", "by in on"), "republished from", "courtesy of", "via",
    # Albanian
    "sipas", *_each("siç", "raporton shkruan njofton transmeton"), *_each("sic", "raporton shkruan njofton"),
]
_VERBS = [
    "javlja", "javio", "javila", "prenosi", "preneo", "prenela", "piše", "pise", "objavio", "objavila",
    "navodi", "saznaje",
    "јавља", "јавио", "преноси", "пренео", "пише", "објавио", "објавила", "наводи",
    "јавува", "пренесува", "пишува", "съобщава", "съобщи", "предава",
    "сообщает", "сообщил", "сообщила", "сообщило", "сообщили", "передает", "передаёт", "пишет",
    "reports", "reported", "writes", "wrote",
    "njofton", "raporton", "shkruan", "transmeton",
]


def _by_first_word(cues: list[str]) -> dict[str, tuple[str, ...]]:
    """Cues keyed by their first word, longest first (so "според пишувањето на" wins over "според")."""
    index: dict[str, list[str]] = {}
    for cue in sorted(cues, key=len, reverse=True):
        index.setdefault(cue.split()[0], []).append(cue)
    return {k: tuple(v) for k, v in index.items()}


# Cues are looked up by the word a window's words start with, as tagging looks up aliases:
# one pass over ~130 words instead of a regular expression of ~150 alternatives scanning
# every position (0.3-0.8 ms a window with one; re.IGNORECASE on Cyrillic cost 4x more).
_LABEL_INDEX = _by_first_word(_LABELS)
_PHRASE_INDEX = _by_first_word(_PHRASES)
_VERB_INDEX = _by_first_word(_VERBS)
#: The three, merged: a word's cues of each class, in the order of the classes. One lookup
#: a word instead of three (most words start no cue).
_CLASS_INDEXES: tuple[tuple[CueClass, dict[str, tuple[str, ...]]], ...] = (
    ("label", _LABEL_INDEX), ("phrase", _PHRASE_INDEX), ("verb", _VERB_INDEX))
_CUE_INDEX: dict[str, tuple[tuple[CueClass, tuple[str, ...]], ...]] = {
    word: tuple((cls, index[word]) for cls, index in _CLASS_INDEXES if word in index)
    for word in {*_LABEL_INDEX, *_PHRASE_INDEX, *_VERB_INDEX}
}
_WORD_START = re.compile(r"[^\W\d_]+")
#: Media credits: what follows names where a picture or video came from, not the text.
_MEDIA_CREDIT = re.compile(
    r"(?:^|[\s(|/])(?:foto(?:grafija)?|фото(?:графија)?|photo(?:graph)?|image|video|видео|снимка|ilustracija"
    r"|илустрација|illustration|screenshot|скриншот)s?\s*(?::|\bby\b)[^\n]*$",
    re.IGNORECASE,
)

_DATELINE_RE = re.compile(r"\((?P<name>[^()\n]{2,40})\)[ \t]*[-–—:]")
#: A domain named as a source: "sputnikportal.rs", lower case as sites write it.
_DOMAIN = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.(?:rs|ru|com|ba|me|mk|bg|al|hr|net|org|info|su|tv)$")
#: Characters that end a name when they end one of its words.
_NAME_END = ",.;:!?)]»”\"'"
#: Auxiliaries between a name and its verb ("Sputnik je javio", "TASS has reported").
_AUXILIARIES = frozenset({"je", "је", "has", "had", "is"})
_HEAD = re.compile(rf"\s*(?:\S+\s+){{{HEAD_WORDS - 1}}}\S+")
_LETTER = re.compile(r"[^\W\d_]")
#: What _LETTER does not match, in runs: text without it is the letters alone, counted
#: without a list of one-character matches (text_script).
_NOT_LETTERS = re.compile(r"[\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_CYRILLIC_RUNS = re.compile(r"[\u0400-\u04ff]+")
_KEY_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")
_TLD = re.compile(r"\.(?:rs|ru|com|ba|me|mk|bg|al|hr|net|org|info|su|tv)$")
#: Keys a cue must not take for a name: the capitalised first word of a phrase cue
#: ("Kako prenosi", "Как сообщает") or of a sentence ("On javlja", "This reports"), folded.
_NOT_NAMES = frozenset({"kako", "kak", "kao", "as", "sic", "sipas", "he", "she", "it", "they", "we", "the",
                        "on", "ona", "ono", "oni", "to", "ovo", "this", "i"})


def name_key(name: str) -> str:
    """The comparable form of an outlet's name: folded words, one case ending dropped.

    "Sputnika" -> "sputnik", "RT-a" -> "rt", "РИА Новости" -> "ria novost",
    "lat.sputnikportal.rs" -> "lat.sputnikportal".
    """
    words = []
    for raw in _KEY_WORD.findall(name):
        word = _TLD.sub("", fold(raw))
        word = _HYPHEN_ENDING.sub("", word)
        for ending in _ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
                word = word[: -len(ending)]
                break
        if word:
            words.append(word)
    return " ".join(words)


def _windows(text: str) -> list[str]:
    """The head and the tail of ``text`` (one string when the text is short)."""
    # Whether it has more words than the two windows, without splitting all of it: a
    # split stopped after them (a fifth of find_credits' time went to the whole split).
    if len(text.split(None, HEAD_WORDS + TAIL_WORDS)) <= HEAD_WORDS + TAIL_WORDS:
        return [text]
    head = _HEAD.match(text)
    before_tail = text.rsplit(None, TAIL_WORDS)[0]
    return [head.group() if head else text, text[len(before_tail):].lstrip()]


def _evidence(window: str, start: int, end: int) -> str:
    line_start = window.rfind("\n", 0, start) + 1
    line_end = window.find("\n", end)
    line = window[line_start: line_end if line_end >= 0 else len(window)].strip()
    if len(line) <= EVIDENCE_CHARS:
        return line
    offset = max(0, start - line_start - EVIDENCE_CHARS // 3)
    return " ".join(line[offset: offset + EVIDENCE_CHARS].split())


def _in_media_credit(window: str, start: int) -> bool:
    """Whether ``start`` lies after a "Foto:"/"Video:" credit on its own line."""
    line_start = window.rfind("\n", 0, start) + 1
    return _MEDIA_CREDIT.search(window[line_start:start + 1]) is not None


_LABEL_COLON = re.compile(r"[ \t]*[:：]")


def _cues(window: str) -> list[tuple[CueClass, int, int]]:
    """Each cue in ``window``: (its class, start, end), found by its first word."""
    found: list[tuple[CueClass, int, int]] = []
    for m in _WORD_START.finditer(window):
        classes = _CUE_INDEX.get(m.group().lower())
        if classes is None:
            continue
        for cue_class, cues in classes:
            for cue in cues:
                end = m.start() + len(cue)
                after = window[end: end + 1]
                if window[m.start(): end].lower() == cue and not (after.isalnum() or after == "-"):
                    found.append((cue_class, m.start(), end))
                    break
    return found


def _name_like(word: str) -> bool:
    """A word that can be part of an outlet's name: capitalised, a number, or a domain."""
    return bool(word) and (word[0].isupper() or word[0].isdigit() or _DOMAIN.match(word) is not None)


def _name_after(following: str, max_skipped: int = MAX_SKIPPED_WORDS) -> str | None:
    """The name a cue points at: skip a few lower-case words, then take capitalised ones."""
    words = following.split("\n", 1)[0].split()
    name: list[str] = []
    skipped = 0
    for raw in words[: max_skipped + MAX_NAME_WORDS]:
        word = raw.lstrip("(«„“\"'")
        ends = word != word.rstrip(_NAME_END)
        word = word.rstrip(_NAME_END)
        if _name_like(word):
            name.append(word)
            if ends or len(name) == MAX_NAME_WORDS:
                break
        elif name or skipped == max_skipped or ends:
            break
        else:
            skipped += 1
    return " ".join(name) or None


def _name_before(preceding: str) -> str | None:
    """The name before a reporting verb: the capitalised words that end ``preceding``."""
    line = re.split(r"[\n.!?;:]", preceding)[-1]
    words = line.split()
    if words and words[-1].rstrip(",") in _AUXILIARIES:
        words.pop()
    name: list[str] = []
    for raw in reversed(words[-MAX_NAME_WORDS:]):
        if raw != raw.rstrip(_NAME_END) or not _name_like(raw.strip("(«„“\"'")):
            break
        name.insert(0, raw.strip("(«„“\"'"))
    return " ".join(name) or None


def find_credits(text: str) -> tuple[Credit, ...]:
    """The credits in the head and the tail of ``text``: one per name, by the first cue that found it."""
    found: list[Credit] = []
    seen: set[str] = set()

    def add(window: str, cue: CueClass, name: str | None, start: int, end: int) -> None:
        if not name:
            return
        name = name.strip(" \t.,;:-–—'\"«»„“”")
        key = name_key(name)
        if not key or key in _NOT_NAMES or key in _LABEL_KEYS or key in seen or _in_media_credit(window, start):
            return
        seen.add(key)
        found.append(Credit(name=name, key=key, cue=cue, evidence=_evidence(window, start, end)))

    windows = _windows(text)
    for index, window in enumerate(windows):
        for cue, start, end in _cues(window):
            if cue == "label":
                colon = _LABEL_COLON.match(window, end)
                if colon is not None:
                    add(window, "label", _name_after(window[colon.end(): colon.end() + 200]), start, colon.end())
            elif cue == "phrase":
                if window[end: end + 1] in (" ", "\t"):
                    add(window, "phrase", _name_after(window[end: end + 200]), start, end)
            elif window[start - 1: start] in (" ", "\t"):  # a verb: not the first word of a line
                add(window, "verb", _name_before(window[max(0, start - 120): start]), start, end)
                # "..., javlja Sputnik." / "..., сообщает ТАСС.": the name right after the verb,
                # no word skipped ("javlja da je Vučić..." names no source).
                add(window, "verb", _name_after(window[end: end + 120], max_skipped=0), start, end)
        if index == 0:
            # A dateline opens the text: its parentheses within the first line or two.
            head = window[:200]
            for m in _DATELINE_RE.finditer(head):
                if _name_like(m.group("name").strip()):
                    add(head, "dateline", m.group("name"), m.start(), m.end())
        if index == len(windows) - 1:
            lines = [line.strip() for line in window.splitlines() if line.strip()]
            last = lines[-1] if lines else ""
            # The word count first (its split stops past the bound): the last line is most
            # often a whole paragraph, whose cue and media-credit scans cost a third of find_credits.
            if (
                last
                and len(last.split(None, MAX_CREDIT_LINE_WORDS)) <= MAX_CREDIT_LINE_WORDS
                and not any(cue == "label" and start == 0 for cue, start, _ in _cues(last))
                and not _MEDIA_CREDIT.search(last)
            ):
                parts = [p.strip("()[]©. \t") for p in re.split(r"\s*[/|,]\s*", last)]
                if all(p and all(_name_like(w) for w in p.split()) for p in parts):
                    at = window.rfind(last)
                    for part in parts:
                        add(window, "line", part, at, at + len(last))
    return tuple(found)


def credit_naming(credits: Iterable[Credit], names: Iterable[str]) -> Credit | None:
    """The first credit that names one of ``names`` (an outlet's cited names), or None.

    A name is found in a credit's key word by word: "rt" is in "rt balkan" but not in
    "rts"; "sputnik" is in "agencij sputnik".
    """
    keys = [k for k in (name_key(n) for n in names) if k]
    for credit in credits:
        padded = f" {credit.key} "
        if any(f" {k} " in padded for k in keys):
            return credit
    return None


def text_script(text: str) -> Script | None:
    """'cyrillic', 'latin' or 'mixed' by the share of letters; None for a text without letters."""
    if _CYRILLIC.search(text) is None:
        # No Cyrillic: a share of 0, so Latin if it has a letter at all. Most texts, and
        # two C-level searches instead of counting every letter (~0.25 ms a news article).
        return "latin" if _LETTER.search(text) else None
    letters = len(_NOT_LETTERS.sub("", text))
    if not letters:
        return None
    share = sum(map(len, _CYRILLIC_RUNS.findall(text))) / letters
    if share >= SCRIPT_SHARE:
        return "cyrillic"
    if share <= 1 - SCRIPT_SHARE:
        return "latin"
    return "mixed"
