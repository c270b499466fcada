"""Which language an article is in: identified from its text, among the region's languages."""

from __future__ import annotations

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
