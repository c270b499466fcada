"""The relevance gate: is a text about Russia and the Balkans, judged from its tags.

A text is on topic when it names a Russia-side concept (Russia, its leaders, state
companies and media, its weapon systems) and a Balkans-side concept (a Balkan state,
region, leader or institution), and at least one sentence is about one of the
relations themes (arms, energy, sanctions, diplomacy ...). Naming both sides is not
enough: a tennis match between a Serb and a Russian, or a holiday on the Adriatic with
Russian neighbours, has no theme sentence. A Ukraine front report has no Balkans side.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.models import Relevance, Tag
from monitor.judging.tagging import Matcher
from monitor.judging.taxonomy import Taxonomy

__all__ = ["judge_relevance", "RELEVANT_FROM"]

#: Scores at or above this are relevant; the score of an off-topic text stays below it.
RELEVANT_FROM = 0.5
#: Concepts listed per side in the reason (the reason is for people, not for parsing).
_REASON_LIST = 3


def _sides(source: Matcher | Taxonomy) -> Mapping[str, str]:
    if isinstance(source, Matcher):
        return source.sides
    return {c.id: c.side for c in source.concepts}


def _strongest(tags: list[Tag]) -> float:
    return max((t.score for t in tags), default=0.0)


def _names(tags: list[Tag]) -> str:
    ranked = sorted(tags, key=lambda t: (-t.score, t.concept_id))
    shown = ", ".join(t.concept_id for t in ranked[:_REASON_LIST])
    return shown + (f" (+{len(ranked) - _REASON_LIST})" if len(ranked) > _REASON_LIST else "")


def judge_relevance(source: Matcher | Taxonomy, tags: tuple[Tag, ...], title: str, text: str) -> Relevance:
    """Relevant when a Russia-side and a Balkans-side concept meet in a text with a relations theme.

    ``source`` gives each concept's side (a compiled Matcher or the Taxonomy). The score
    blends how strongly each side is named with the strongest theme; it is at least
    RELEVANT_FROM exactly when the text is relevant.
    """
    if not (title.strip() or text.strip()):
        return Relevance(False, 0.0, "empty text")
    sides = _sides(source)
    russia = [t for t in tags if sides.get(t.concept_id) == "russia"]
    balkans = [t for t in tags if sides.get(t.concept_id) == "balkans"]
    themes = [t for t in tags if t.concept_id.startswith("theme:")]
    r, b, th = _strongest(russia), _strongest(balkans), _strongest(themes)
    base = round(0.25 * r + 0.25 * b + 0.5 * th, 3)
    below = min(base, RELEVANT_FROM - 0.01)
    if not russia:
        return Relevance(False, below, "no Russia-side concept")
    if not balkans:
        return Relevance(False, below, f"no Balkans-side concept (Russia-side: {_names(russia)})")
    if not themes:
        return Relevance(
            False, below,
            f"names both sides ({_names(russia)}; {_names(balkans)}) but no sentence about their relations",
        )
    return Relevance(
        True,
        max(base, RELEVANT_FROM),
        f"Russia-side: {_names(russia)}; Balkans-side: {_names(balkans)}; themes: {_names(themes)}",
    )
