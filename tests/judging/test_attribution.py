"""Credits in a text's head and tail, by class of cue, in the languages and scripts of the region.

Every passage here is written by us.
"""

from __future__ import annotations

import pytest

from monitor.judging.attribution import HEAD_WORDS, TAIL_WORDS, _windows, credit_naming, find_credits, name_key, text_script
from monitor.models import Credit

BODY = " ".join(["Delegacije su razgovarale o saradnji u energetici i o stanju na severu Kosova."] * 12)


def _credits(text: str) -> list[tuple[str, str, str]]:
    return [(c.name, c.key, c.cue) for c in find_credits(text)]


@pytest.mark.parametrize(("text", "expected"), [
    # source labels
    (f"{BODY}\n\nIzvor: Sputnik Srbija", [("Sputnik Srbija", "sputnik srbij", "label")]),
    (f"{BODY}\n\nИзвор: РТ Балкан", [("РТ Балкан", "rt balkan", "label")]),
    (f"{BODY}\n\nSource: TASS", [("TASS", "tass", "label")]),
    (f"{BODY}\n\nBurimi: Sputnik", [("Sputnik", "sputnik", "label")]),
    # reporting phrases before the name, skipping a descriptor
    ("Prema pisanju ruske državne agencije Sputnik, delegacija je stigla u Beograd.",
     [("Sputnik", "sputnik", "phrase")]),
    ("Према писању агенције Спутњик, делегација је стигла у Београд.", [("Спутњик", "sputnjik", "phrase")]),
    ("По данным ТАСС, делегация прибыла в Белград.", [("ТАСС", "tass", "phrase")]),
    ("According to RIA Novosti, the delegation arrived in Belgrade.", [("RIA Novosti", "ria novost", "phrase")]),
    ("Според пишувањето на Спутник, делегацијата пристигна во Скопје.", [("Спутник", "sputnik", "phrase")]),
    ("Sipas agjencisë Sputnik, delegacioni mbërriti në Beograd.", [("Sputnik", "sputnik", "phrase")]),
    ("Kako prenosi RT-a portal, delegacija je stigla.", [("RT-a", "rt", "phrase")]),
    # a name before a reporting verb
    ("Sputnik javlja da je delegacija stigla u Moskvu.", [("Sputnik", "sputnik", "verb")]),
    ("The delegation arrived in Moscow, TASS reported on Monday.", [("TASS", "tass", "verb")]),
    ("ТАСС сообщает, что делегация прибыла.", [("ТАСС", "tass", "verb")]),
    # datelines and closing credit lines
    ("BEOGRAD (Sputnik) – Delegacija je stigla u Beograd.", [("Sputnik", "sputnik", "dateline")]),
    (f"{BODY}\n\n(RT)", [("RT", "rt", "line")]),
])
def test_each_class_of_cue_finds_the_name_it_points_at(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert _credits(text) == expected


@pytest.mark.parametrize("text", [
    # the attribution line removed: nothing left to find
    BODY,
    # a photo credit names where the picture came from, not the text
    f"{BODY}\n\nFoto: Sputnik / Ilja Pitaljev",
    f"{BODY}\n\nФото: РИА Новости",
    # "prema pisanju" pointing at no name
    "Prema pisanju domaćih medija, interesovanje su pokazali investitori.",
])
def test_no_credit_where_no_source_is_named(text: str) -> None:
    assert _credits(text) == []


def test_an_outlet_named_in_the_middle_of_the_body_is_not_a_credit() -> None:
    middle = "Analitičari kažu da Sputnik javlja samo ono što Moskva želi."
    text = f"{BODY} {BODY}\n\n{middle}\n\n{BODY} {BODY}"
    assert _credits(text) == []
    assert _credits(middle) == [("Sputnik", "sputnik", "verb")]  # the same sentence, in a head, is one


def test_case_endings_and_scripts_fold_to_one_key() -> None:
    assert {name_key(n) for n in ("Sputnik", "Sputnika", "Sputnikom", "Спутник", "Спутника")} == {"sputnik"}
    assert {name_key(n) for n in ("RT", "RT-a", "RT-om", "РТ", "РТ-у")} == {"rt"}
    assert name_key("lat.sputnikportal.rs") == "lat.sputnikportal"
    assert name_key("RTS") == "rts"


def test_a_credit_names_an_origin_word_by_word() -> None:
    rt = Credit("RT Balkan", "rt balkan", "label", "Izvor: RT Balkan")
    rts = Credit("RTS", "rts", "verb", "RTS prenosi")
    assert credit_naming([rts, rt], ["RT", "РТ"]) == rt
    assert credit_naming([rts], ["RT"]) is None  # RTS, the Serbian public broadcaster, is not RT
    assert credit_naming([], ["RT"]) is None


def test_script_is_read_from_the_share_of_letters() -> None:
    assert text_script("Делегација је стигла у Београд.") == "cyrillic"
    assert text_script("Delegacija je stigla u Beograd.") == "latin"
    assert text_script("Делегација je stigla u Београд данас.") == "mixed"
    assert text_script("2026 — 1244") is None


def test_script_counts_letters_as_the_share_needs_them() -> None:
    # 4 Cyrillic letters in 5 is the share (0.8): cyrillic; 4 in 6 is mixed, and so is 1 in 4;
    # 1 in 8 is latin. Digits, underscores and punctuation are not letters.
    assert text_script("Жжжж_a 123!") == "cyrillic"
    assert text_script("Жжжж ab") == "mixed"
    assert text_script("Ж abc, 42") == "mixed"
    assert text_script("Ж abcdefg") == "latin"
    # No Cyrillic at all: Latin as soon as there is one letter, whatever the script.
    assert text_script("42 — é") == "latin"
    assert text_script("Αθήνα") == "latin"
    # A Cyrillic sign that is no letter (the thousands sign) still counts as Cyrillic,
    # but a text without letters has no script.
    assert text_script("҂ 1000") is None
    assert text_script("҂҂҂҂ abcd") == "cyrillic"


@pytest.mark.parametrize("words", [HEAD_WORDS + TAIL_WORDS - 1, HEAD_WORDS + TAIL_WORDS, HEAD_WORDS + TAIL_WORDS + 1])
def test_a_text_of_at_most_both_windows_words_is_read_whole(words: int) -> None:
    text = " \n ".join(f"w{i}" for i in range(words)) + " "
    assert (_windows(text) == [text]) == (words <= HEAD_WORDS + TAIL_WORDS)
