"""The relevance gate: is a text about Russia and the Balkans, judged from its tags and sentences.

A text is on topic when a Russia-side concept (Russia, its leaders, state companies and
media, its weapon systems) and a Balkans-side concept (a Balkan state, region, leader or
institution, or one of its cities or ports: the taxonomy's places) are linked by what they
do, in one of two ways:

- a **relation**: one sentence (or the title) names both sides and a relation cue (they
  meet, talk, visit, sign, supply, cut, support, veto, recognise, expel, accuse, recruit,
  fund, broadcast ...; the taxonomy's ``relations``, matched by lemma in every language);
- a **theme involving Russia**: a sentence that reaches a relations theme (arms, energy,
  sanctions, diplomacy ...) names the Russia side, in a text that names a Balkan side.

Naming both sides is not enough: a tennis match between a Serb and a Russian, or a holiday
on the Adriatic with Russian neighbours, has neither. A Balkan country's own affairs with
Russia in a background clause ("since Russia's invasion of Ukraine") have a theme sentence
about something else, without Russia. A Ukraine front report has no Balkans side.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.models import Relevance, Tag
from monitor.judging.tagging import Matcher, TextAnalysis, analyse_text, compile_matcher
from monitor.judging.taxonomy import Taxonomy

__all__ = ["judge_relevance", "RELEVANT_FROM", "RELATION_WINDOW"]

#: Scores at or above this are relevant; the score of an off-topic text stays below it.
RELEVANT_FROM = 0.5
#: Concepts listed per side in the reason (the reason is for people, not for parsing).
_REASON_LIST = 3
#: Sentences either side of a relation cue where the two sides may be named: 0, one sentence.
#: A wider window let background clauses of neighbouring sentences join two stories.
RELATION_WINDOW = 0
#: The evidence sentence quoted in the reason, cut to this length.
_EVIDENCE_CHARS = 200


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


def _sentence(analysis: TextAnalysis, s: int) -> str:
    a, b = analysis.sentences[s]
    text = " ".join(analysis.text[a:b].split())
    return text if len(text) <= _EVIDENCE_CHARS else text[: _EVIDENCE_CHARS - 1] + "\u2026"


def _named_in(analysis: TextAnalysis, concept_ids: list[str]) -> set[int]:
    return {s for cid in concept_ids for s in analysis.concept_sentences.get(cid, ())}


def judge_relevance(
    source: Matcher | Taxonomy, tags: tuple[Tag, ...], title: str, text: str,
    analysis: TextAnalysis | None = None,
) -> Relevance:
    """Relevant when the Russia side and a Balkan side are linked by a relation cue or a theme involving Russia.

    ``source`` gives each concept's side (a compiled Matcher or the Taxonomy); ``analysis``
    is the text's ``analyse_text`` (made here when not given: pass it, tagging made it
    already). The score blends how strongly each side is named with the strongest theme; it
    is at least RELEVANT_FROM exactly when the text is relevant. The reason names the sides,
    the link and its sentence.
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
    if analysis is None:
        matcher = source if isinstance(source, Matcher) else compile_matcher(source)
        analysis = analyse_text(matcher, title, text)
    # A city or port of a Balkan country (the taxonomy's places) stands for its side.
    places = sorted(c for c in analysis.place_sentences if sides.get(c) == "balkans")
    if not (balkans or places):
        return Relevance(False, below, f"no Balkans-side concept (Russia-side: {_names(russia)})")
    named_b = ", ".join(filter(None, [_names(balkans), ", ".join(f"a place of {c}" for c in places)]))
    sides_named = f"Russia-side: {_names(russia)}; Balkans-side: {named_b}"
    if themes:
        sides_named += f"; themes: {_names(themes)}"
    r_sents = _named_in(analysis, [t.concept_id for t in russia])
    b_sents = _named_in(analysis, [t.concept_id for t in balkans])
    b_sents.update(s for c in places for s in analysis.place_sentences[c])
    for s, classes in sorted(analysis.relation_sentences.items()):
        window = range(s - RELATION_WINDOW, s + RELATION_WINDOW + 1)
        if any(w in r_sents for w in window) and any(w in b_sents for w in window):
            return Relevance(
                True, max(base, RELEVANT_FROM),
                f"{sides_named}; relation ({', '.join(classes)}): {_sentence(analysis, s)}",
            )
    with_russia = [t for t in themes if any(s in r_sents for s in analysis.theme_sentences.get(t.concept_id, ()))]
    if with_russia:
        best = max(with_russia, key=lambda t: (t.score, t.concept_id))
        s = next(s for s in analysis.theme_sentences[best.concept_id] if s in r_sents)
        return Relevance(
            True, max(base, RELEVANT_FROM),
            f"{sides_named}; with Russia: {_names(with_russia)}: {_sentence(analysis, s)}",
        )
    if themes:
        return Relevance(
            False, below,
            f"names both sides ({_names(russia)}; {named_b}) but its themes ({_names(themes)}) "
            "are not about the Russia side, and no sentence links them",
        )
    return Relevance(
        False, below,
        f"names both sides ({_names(russia)}; {named_b}) but no sentence about their relations",
    )
