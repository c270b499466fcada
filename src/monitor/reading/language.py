"""Which language a text is in, among the languages the monitor reads.

py3langid (a maintained fork of langid.py, its model inside the wheel) is restricted to
the region's languages and the few large ones that carry the same news, so that a short
Serbian text is not called Slovak. On the 247 excerpts of the real development set
(``benchmarks/bench_real_news.py``) it names the language of each from its first 400
characters (Serbian, Croatian and Bosnian as one), at 0.25 ms a text; 240 of 247 get
the exact tag, Latin Serbian told from Bosnian by its ekavian words (below). Serbian, Croatian, Bosnian and Montenegrin are one language for the
lemmatiser (``hbs``); we keep the code the model gives, and tell Serbian written in Latin
letters from Cyrillic (``sr-Latn``, ``sr-Cyrl``) as the labelled sets do.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

from py3langid.langid import MODEL_FILE, LanguageIdentifier

__all__ = ["LANGUAGES", "LEMMA_LANGUAGE", "SAMPLE_CHARS", "identify_language", "lemma_language", "load_language_model"]

#: The languages the model may answer: the region's, then those that report on it.
LANGUAGES = ("en", "sr", "hr", "bs", "ru", "mk", "bg", "sq", "sl", "ro", "el", "hu", "tr", "uk",
             "de", "fr", "it", "es")
#: Characters read: as many of the development set's excerpts are named right from 300,
#: 400 or 600 (240 of 247 exactly, all 247 as the right language group); the model is
#: linear in the text: 0.25 ms at 400, 0.35 ms at 600.
SAMPLE_CHARS = 400
#: Characters read to tell Latin Serbian from Croatian and Bosnian (the yat reflex).
_HBS_SAMPLE_CHARS = 3000
#: Our language code -> simplemma's (Serbo-Croatian is one dictionary there).
LEMMA_LANGUAGE = {"en": "en", "sr": "hbs", "hr": "hbs", "bs": "hbs", "sr-Latn": "hbs", "sr-Cyrl": "hbs",
                  "ru": "ru", "mk": "mk", "bg": "bg", "sq": "sq", "sl": "sl", "ro": "ro", "el": "el",
                  "hu": "hu", "tr": "tr", "uk": "uk"}
_CYRILLIC_FROM, _CYRILLIC_TO = "\u0400", "\u04ff"
#: Serbian is written "ekavian" (vreme, deca, predsednik), Croatian and Bosnian "ijekavian"
#: (vrijeme, djeca, predsjednik): common words of each reflex, folded to ASCII-insensitive
#: regexes. The model, trained on Cyrillic Serbian, calls Latin Serbian Bosnian: 29 of the
#: 32 Serbian Latin excerpts of the development set before this count, 7 after (ijekavian
#: Serbian of Republika Srpska and Montenegro, or too few of these words, stays "bs").
_EKAVIAN = re.compile(
    r"\b(vreme|vremena|vremenu|reč|reči|deca|dece|deci|mesto|mesta|mestu|cena|cene|ceni|cenu|cenom|cenama|pre|posle|"
    r"predsedni\w*|uvek|gde|lepo|nedelj\w*|rešenj\w*|primer\w*|izveštaj\w*|sever\w*|dve|belo|"
    r"svet|sveta|svetu|sedište|sedišt\w*|zavis\w*|obelež\w*|vest|vesti|vesnik\w*|hteo|htela|"
    r"razume\w*|podrže\w*|mesec\w*|opšt\w*|sprovede\w*|teritorij\w*)\b",
    re.IGNORECASE,
)
_IJEKAVIAN = re.compile(
    r"\b(vrijeme|vremena|riječ\w*|djeca|djece|djeci|mjest\w*|cijen\w*|prije|poslije|predsjedni\w*|"
    r"uvijek|gdje|lijepo|nedjelj\w*|rješenj\w*|primjer\w*|izvještaj\w*|sjever\w*|dvije|bijel\w*|"
    r"svijet\w*|sjedišt\w*|vijest\w*|htio|htjela|razumije\w*|mjesec\w*|općin\w*|provede\w*)\b",
    re.IGNORECASE,
)
_HBS = frozenset({"sr", "hr", "bs"})


#: Word walks remembered by the identifier (``_WordWalks``), about 150 bytes each.
WALKS_KEPT = 50_000


class _WordWalks(LanguageIdentifier):  # type: ignore[misc]  # py3langid ships no types
    """py3langid's identifier, walking its automaton a word at a time, from memory.

    The model reads a text's bytes through an automaton whose states mark the byte
    n-grams it scores. py3langid steps it a byte at a time in Python, over a table of
    a few MB that the extraction before it has pushed out of the CPU's caches. The
    automaton is deterministic: a word (with the spaces after it) entered in a given
    state always leaves it in the same state, having marked the same features. So a
    word's walk is remembered, and most words of a text are one dict lookup: 0.42 ->
    0.28 ms a text inside the pipeline (measured between extractions, where it runs).
    The features come out in the same order, so the scores are the same to the bit
    (tests/reading/test_language.py compares them with py3langid's own).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._walks: dict[tuple[int, bytes], tuple[int, tuple[int, ...]]] = {}

    def _raw_score(self, text: bytes) -> Any:
        nextmove, rowbase, output = self.tk_nextmove, self._rowbase, self.tk_output
        walks = self._walks
        if len(walks) > WALKS_KEPT:
            walks.clear()  # a bound on memory, not an eviction policy: refilled within a few texts
        state, features = 0, list[int]()
        for word in _SPACED_WORD.findall(text):
            walk = walks.get((state, word))
            if walk is None:
                start, marked = state, []
                for byte in word:
                    state = nextmove[rowbase[state] + byte]
                    if output[state] >= 0:
                        marked.append(output[state])
                walk = walks[(start, word)] = (state, tuple(marked))
            state = walk[0]
            features.extend(walk[1])
        if features:
            return self._sparse_score(Counter(features), self.nb_ptc)
        return super()._raw_score(text)  # no features: the model's own floor


#: A word and the spaces after it (or a run of spaces): pieces that recur between texts.
_SPACED_WORD = re.compile(rb"[^ ]* *")


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    # The model (a few MB) is read once per process; it is never changed after loading,
    # so sharing it is not hidden state. The walks it remembers are a pure function's
    # memo: two threads at worst compute one twice.
    lid = _WordWalks.from_model_file(MODEL_FILE)
    lid.set_languages(list(LANGUAGES))
    return lid


def load_language_model() -> None:
    """Read the model now (0.4 s, once a process), not on the first text identified: a run
    loads it with the taxonomy, and an import's worker processes inherit it."""
    _identifier()


def identify_language(text: str) -> str | None:
    """The language of ``text`` (ISO 639-1; Serbian as sr-Latn or sr-Cyrl), None when it has no letters."""
    sample = text[:SAMPLE_CHARS]
    if not any(c.isalpha() for c in sample):  # stops at the first letter, nearly always the first character
        return None
    code = str(_identifier().classify(sample)[0])
    if code in _HBS:
        letters = [c for c in sample if c.isalpha()]
        cyrillic = sum(1 for c in letters if _CYRILLIC_FROM <= c <= _CYRILLIC_TO)
        if cyrillic * 2 > len(letters):
            return "sr-Cyrl"  # Croatian and Bosnian are written in Latin letters
        if code == "sr" or len(_EKAVIAN.findall(text, 0, _HBS_SAMPLE_CHARS)) > len(
                _IJEKAVIAN.findall(text, 0, _HBS_SAMPLE_CHARS)):
            return "sr-Latn"
    return code


def lemma_language(code: str | None) -> str | None:
    """simplemma's code for one of ours (or a BCP 47 tag such as sr-Latn-RS), None when it has no dictionary."""
    if not code:
        return None
    if code in LEMMA_LANGUAGE:
        return LEMMA_LANGUAGE[code]
    return LEMMA_LANGUAGE.get(code.split("-")[0].lower())
