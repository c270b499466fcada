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
