"""Which language an article is in: identified from its text, among the region's languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.reading.language import identify_language, lemma_language


# One short passage per language, written for these tests.
@pytest.mark.parametrize(("text", "language"), [
    ("The foreign minister met his counterpart in Belgrade to discuss gas supplies for the winter.", "en"),
    ("Министарка је у Београду разговарала са колегом о испорукама гаса за зиму и о ценама.", "sr-Cyrl"),
    ("Ministarka je u Beogradu razgovarala sa kolegom o isporukama gasa za zimu i o cenama.", "sr-Latn"),
    ("Министр встретился в Белграде с коллегой и обсудил поставки газа на зиму и цены.", "ru"),
    ("Министерката во Скопје разговараше со колегата за испораките на гас за зимата и цените.", "mk"),
    ("Министърката обсъди в София с колегата си доставките на газ за зимата и цените.", "bg"),
    ("Ministrja bisedoi në Tiranë me kolegun e saj për furnizimin me gaz për dimrin dhe çmimet.", "sq"),
])
def test_each_language_of_the_region_is_identified(text: str, language: str) -> None:
    assert identify_language(text) == language


def test_a_text_without_letters_has_no_language() -> None:
    assert identify_language("2024 — 15:30 / 12.5%") is None
    assert identify_language("") is None


@pytest.mark.parametrize(("code", "dictionary"), [
    ("sr-Latn", "hbs"), ("sr-Cyrl", "hbs"), ("hr", "hbs"), ("bs", "hbs"), ("sr-Latn-RS", "hbs"),
    ("mk", "mk"), ("bg", "bg"), ("sq", "sq"), ("ru", "ru"), ("EN", "en"),
])
def test_each_language_reads_with_its_lemma_dictionary(code: str, dictionary: str) -> None:
    assert lemma_language(code) == dictionary


def test_a_language_without_a_dictionary_reads_by_form_only() -> None:
    assert lemma_language("ja") is None
    assert lemma_language(None) is None


def _passages() -> list[str]:
    """Texts of our own in every language we read: the seeds, the labelled tagging passages."""
    import yaml

    from monitor.settings import SEEDS_DIR

    labelled = Path(__file__).resolve().parents[1] / "tagging_labelled" / "passages.yaml"
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS_DIR.glob("*.txt"))]
    return texts + [p["text"] for p in yaml.safe_load(labelled.read_text(encoding="utf-8"))["passages"]]


def test_the_remembered_walks_score_every_text_as_py3langid_does() -> None:
    # The identifier remembers each word's walk through the model's automaton; its
    # scores must be py3langid's own to the bit, or a close call could change language.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from monitor.reading.language import LANGUAGES, SAMPLE_CHARS, _identifier

    plain = LanguageIdentifier.from_model_file(MODEL_FILE)
    plain.set_languages(list(LANGUAGES))
    mine = _identifier()
    texts = _passages()
    samples = [t[i:i + SAMPLE_CHARS] for t in texts for i in (0, 7, 211)]
    samples += ["", "   ", "2024", "A  B   C", "ŠUMA  šuma", "Путин  и\tВучић ", "x " * 300]
    assert len(texts) > 50
    for _ in range(2):  # the second time, from the remembered walks
        for sample in samples:
            assert mine._decide(sample).tobytes() == plain._decide(sample).tobytes(), sample
            assert mine.classify(sample) == plain.classify(sample)


def test_the_remembered_walks_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.reading import language

    monkeypatch.setattr(language, "WALKS_KEPT", 50)
    lid = language._identifier()
    for text in _passages()[:40]:
        lid.classify(text[:language.SAMPLE_CHARS])
        # At most one text's words (under 400 characters: under 400 words) past the bound.
        assert len(lid._walks) <= 50 + 400
    assert identify_language("The minister met his counterpart in Belgrade.") == "en"
