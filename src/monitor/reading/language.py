"""Which language a text is in, among the languages the monitor reads.

py3langid (a maintained fork of langid.py, its model inside the wheel) is restricted to
the region's languages and the few large ones that carry the same news, so that a short
Serbian text is not called Slovak. On the 247 excerpts of the real development set
(``benchmarks/bench_real_news.py``) it names every one right from its first 600 characters,
at 0.3 ms a text. Serbian, Croatian, Bosnian and Montenegrin are one language for the
lemmatiser (``hbs``); we keep the code the model gives, and tell Serbian written in Latin
letters from Cyrillic (``sr-Latn``, ``sr-Cyrl``) as the labelled sets do.
"""

from __future__ import annotations

from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

__all__ = ["LANGUAGES", "LEMMA_LANGUAGE", "SAMPLE_CHARS", "identify_language", "lemma_language"]

#: The languages the model may answer: the region's, then those that report on it.
LANGUAGES = ("en", "sr", "hr", "bs", "ru", "mk", "bg", "sq", "sl", "ro", "el", "hu", "tr", "uk",
             "de", "fr", "it", "es")
#: Characters read: enough to name the language of every real excerpt of the development
#: set; more costs time (the model is linear in the text) and changes nothing there.
SAMPLE_CHARS = 600
#: Our language code -> simplemma's (Serbo-Croatian is one dictionary there).
LEMMA_LANGUAGE = {"en": "en", "sr": "hbs", "hr": "hbs", "bs": "hbs", "sr-Latn": "hbs", "sr-Cyrl": "hbs",
                  "ru": "ru", "mk": "mk", "bg": "bg", "sq": "sq", "sl": "sl", "ro": "ro", "el": "el",
                  "hu": "hu", "tr": "tr", "uk": "uk"}
_CYRILLIC_FROM, _CYRILLIC_TO = "\u0400", "\u04ff"


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    # The model (a few MB) is read once per process; it is never changed after loading,
    # so sharing it is not hidden state.
    lid = LanguageIdentifier.from_model_file(MODEL_FILE)
    lid.set_languages(list(LANGUAGES))
    return lid


def identify_language(text: str) -> str | None:
    """The language of ``text`` (ISO 639-1; Serbian as sr-Latn or sr-Cyrl), None when it has no letters."""
    sample = text[:SAMPLE_CHARS]
    letters = [c for c in sample if c.isalpha()]
    if not letters:
        return None
    code = str(_identifier().classify(sample)[0])
    if code == "sr":
        cyrillic = sum(1 for c in letters if _CYRILLIC_FROM <= c <= _CYRILLIC_TO)
        return "sr-Cyrl" if cyrillic * 2 > len(letters) else "sr-Latn"
    return code


def lemma_language(code: str | None) -> str | None:
    """simplemma's code for one of ours (or a BCP 47 tag such as sr-Latn-RS), None when it has no dictionary."""
    if not code:
        return None
    if code in LEMMA_LANGUAGE:
        return LEMMA_LANGUAGE[code]
    return LEMMA_LANGUAGE.get(code.split("-")[0].lower())
