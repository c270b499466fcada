"""The relevance gate: both sides named, and a sentence about their relations."""

from __future__ import annotations

import pytest

from monitor.judging.relevance import RELEVANT_FROM, judge_relevance
from monitor.settings import SEEDS_DIR
from monitor.judging.tagging import Matcher, compile_matcher, tag_text
from monitor.judging.taxonomy import Taxonomy, load_taxonomy


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def matcher(taxonomy: Taxonomy) -> Matcher:
    return compile_matcher(taxonomy)


def judge(matcher: Matcher, title: str, text: str) -> tuple[bool, float, str]:
    rel = judge_relevance(matcher, tag_text(matcher, title, text), title, text)
    return rel.relevant, rel.score, rel.reason


def test_arms_delivery_from_russia_to_serbia_is_relevant(matcher: Matcher) -> None:
    relevant, score, reason = judge(matcher, "Serbia receives Pantsir", "Russia delivered Pantsir systems to Serbia.")
    assert relevant and score >= RELEVANT_FROM
    assert "country:russia" in reason and "theme:arms_transfers" in reason


def test_a_tennis_match_between_a_serb_and_a_russian_is_not_relevant(matcher: Matcher) -> None:
    relevant, score, reason = judge(
        matcher, "Djokovic beats Medvedev", "Serbian Novak Djokovic beat Russian Daniil Medvedev in three sets.")
    assert not relevant and score < RELEVANT_FROM
    assert "no sentence about their relations" in reason


def test_a_front_report_from_ukraine_has_no_balkans_side(matcher: Matcher) -> None:
    relevant, _, reason = judge(matcher, "Fighting near Pokrovsk", "Russian troops attacked Ukrainian positions.")
    assert not relevant and reason.startswith("no Balkans-side concept")


def test_a_holiday_on_the_adriatic_is_not_relevant(matcher: Matcher) -> None:
    relevant, _, _ = judge(matcher, "Summer sailing", "We sailed the Adriatic to Montenegro with a Russian couple.")
    assert not relevant


def test_balkan_news_without_russia_is_not_relevant(matcher: Matcher) -> None:
    relevant, _, reason = judge(matcher, "Accession talks", "Albania opened EU accession talks.")
    assert not relevant and reason == "no Russia-side concept"


def test_taxonomy_and_matcher_give_the_same_judgement(matcher: Matcher, taxonomy: Taxonomy) -> None:
    title, text = "Gas deal", "Serbia extended its gas contract with Gazprom."
    tags = tag_text(matcher, title, text)
    assert judge_relevance(taxonomy, tags, title, text) == judge_relevance(matcher, tags, title, text)


def test_empty_text_is_not_relevant(matcher: Matcher) -> None:
    assert not judge_relevance(matcher, (), "", " ").relevant


@pytest.mark.parametrize("seed", sorted(SEEDS_DIR.glob("*.txt")), ids=lambda p: p.stem)
def test_every_seed_is_relevant(matcher: Matcher, seed) -> None:  # type: ignore[no-untyped-def]
    title, _, text = seed.read_text(encoding="utf-8").strip().partition("\n")
    relevant, score, _ = judge(matcher, title, text)
    assert relevant and score >= 0.8


# Relations between actors, in every language of the region (issue 25). Passages written
# for these tests.
@pytest.mark.parametrize(("title", "text", "relation"), [
    ("", "Президентът на Сърбия се срещна с руския посланик в Белград.", "meet"),  # bg, inflected
    ("", "Владата на Северна Македонија ги протера руските дипломати.", "expel"),  # mk
    ("", "Shqipëria dëboi dy diplomatë rusë nga Tirana.", "expel"),  # sq
    ("", "Hrvatska je protjerala ruskog diplomata iz Zagreba.", "expel"),  # hr
    ("", "Dodik se sastao s Putinom u Moskvi.", "meet"),  # bs, inflected
    ("", "Россия поставила Сербии шесть истребителей.", "supply"),  # ru
    ("", "Russia vetoed the resolution on Kosovo.", "veto"),  # en
])
def test_a_relation_cue_in_a_sentence_naming_both_sides_makes_it_relevant(
        matcher: Matcher, title: str, text: str, relation: str) -> None:
    relevant, score, reason = judge(matcher, title, text)
    assert relevant and score >= RELEVANT_FROM
    assert f"relation ({relation}" in reason or f", {relation}" in reason
    assert reason.endswith(text)  # the evidence sentence


def test_a_background_clause_about_russia_does_not_make_balkan_news_relevant(matcher: Matcher) -> None:
    relevant, _, reason = judge(
        matcher, "Parliament debates electoral law",
        "Since Russia's invasion of Ukraine, prices in Serbia have risen. "
        "The parliament in Belgrade debated the electoral law and the powers of the election commission.")
    assert not relevant
    assert reason.startswith("names both sides (country:russia; country:serbia)")


def test_a_theme_makes_a_text_relevant_only_in_a_sentence_naming_the_russia_side(matcher: Matcher) -> None:
    # The sanctions sentence is about the EU and Serbia; Russia is elsewhere, as a tourist origin.
    relevant, _, _ = judge(
        matcher, "", "The EU asked Serbia to align with its sanctions policy. Russian tourists filled the hotels.")
    assert not relevant
    relevant, _, reason = judge(matcher, "", "Serbia refused to impose sanctions on Russia, the minister said.")
    assert relevant and "theme:sanctions" in reason


def test_tourists_and_athletes_are_not_a_relation_between_states(matcher: Matcher) -> None:
    assert not judge(matcher, "", "Руски туристи посетиха Черна гора това лято.")[0]  # bg: tourists visit
    assert not judge(matcher, "", "Российская теннисистка встретится с сербкой в финале турнира.")[0]


def test_a_word_of_another_language_is_not_a_relation_cue(matcher: Matcher) -> None:
    # Russian "таких" has the lemma "такой", which folds to the Albanian cue "takoj" (meets).
    relevant, _, reason = judge(matcher, "", "Вакцину получили такие страны, как Россия и Сербия.")
    assert not relevant and reason.endswith("but no sentence about their relations")


# A city or port stands for its country's side (the taxonomy's places, revision 8).
# Passages written for these tests.
@pytest.mark.parametrize(("text", "country"), [
    ("A Russian military attaché was expelled after he photographed warships in the port of Durrës.",
     "country:albania"),  # en
    ("Руски дипломат бил изгонен, след като снимал кораби в пристанището на Бургас.", "country:bulgaria"),  # bg
    ("Ruski diplomata je proteran nakon što je fotografisao kasarnu u Novom Sadu.", "country:serbia"),  # sr
    ("Rusia dëboi një diplomat pasi fotografoi anijet në portin e Vlorës.", "country:albania"),  # sq
])
def test_a_balkan_city_or_port_is_the_balkans_side(matcher: Matcher, text: str, country: str) -> None:
    relevant, score, reason = judge(matcher, "", text)
    assert relevant and score >= RELEVANT_FROM
    assert f"Balkans-side: a place of {country}" in reason and reason.endswith(text)


def test_a_city_alone_is_not_a_relation(matcher: Matcher) -> None:
    # Both sides named (Russian tourists, Ohrid) but no relation between them.
    relevant, _, reason = judge(matcher, "", "Russian tourists filled the hotels of Ohrid this summer.")
    assert not relevant
    assert reason == "names both sides (country:russia; a place of country:north_macedonia) but no sentence about their relations"
