"""Tagging and relevance quality on the hand-labelled passages (tests/tagging_labelled/).

Prints micro precision/recall/F1 for names (country, region, person, organization,
weapon_system) and themes, relevance accuracy, and every remaining confusion.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.judging.relevance import judge_relevance
from monitor.judging.tagging import compile_matcher, tag_text
from monitor.judging.taxonomy import load_taxonomy

LABELLED = Path(__file__).resolve().parents[1] / "tagging_labelled" / "passages.yaml"
#: Targets from the issue.
ENTITY_F1, THEME_F1, RELEVANCE_ACCURACY = 0.95, 0.85, 0.95


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    taxonomy = load_taxonomy()
    matcher = compile_matcher(taxonomy)
    passages = yaml.safe_load(LABELLED.read_text(encoding="utf-8"))["passages"]
    # Counted per language; the pooled figures are their sums.
    by_lang: dict[str, dict[str, list[int]]] = {}
    confusions: list[str] = []
    for p in passages:
        lang = by_lang.setdefault(p["lang"], {"entities": [0, 0, 0], "themes": [0, 0, 0], "relevance": [0, 0]})
        tags = tag_text(matcher, p["title"], p["text"])
        got = {t.concept_id for t in tags}
        for group, gold in (("entities", set(p["entities"])), ("themes", set(p["themes"]))):
            found = {c for c in got if c.startswith("theme:") == (group == "themes")}
            c = lang[group]
            c[0] += len(found & gold)
            c[1] += len(found - gold)
            c[2] += len(gold - found)
            if found != gold:
                confusions.append(f"{p['id']} {group}: extra {sorted(found - gold)} missing {sorted(gold - found)}")
        rel = judge_relevance(taxonomy, tags, p["title"], p["text"])
        lang["relevance"][0] += rel.relevant == p["relevant"]
        lang["relevance"][1] += 1
        if rel.relevant != p["relevant"]:
            confusions.append(f"{p['id']} relevance: said {rel.relevant} ({rel.reason})")
    out = {g: _prf(*(sum(col) for col in zip(*(c[g] for c in by_lang.values())))) for g in ("entities", "themes")}
    correct = sum(c["relevance"][0] for c in by_lang.values())
    print(f"\n{len(passages)} passages")
    for g, (pr, rc, f1) in out.items():
        print(f"{g:9s} P={pr:.3f} R={rc:.3f} F1={f1:.3f}")
    accuracy = correct / len(passages)
    print(f"relevance accuracy={accuracy:.3f}")
    per_language = {
        lang: {"entities": _prf(*c["entities"]), "themes": _prf(*c["themes"]),
               "accuracy": c["relevance"][0] / c["relevance"][1], "passages": c["relevance"][1]}
        for lang, c in by_lang.items()
    }
    for lang, m in per_language.items():
        print(f"{lang:8s} {m['passages']:3d} passages: entities F1={m['entities'][2]:.3f} "
              f"themes F1={m['themes'][2]:.3f} relevance={m['accuracy']:.3f}")
    print("\n".join(["confusions:"] + confusions if confusions else ["no confusions"]))
    return {"passages": passages, "prf": out, "accuracy": accuracy, "per_language": per_language}


def test_the_labelled_set_is_large_and_covers_every_language_and_theme(results: dict[str, object]) -> None:
    passages = results["passages"]
    assert isinstance(passages, list) and len(passages) >= 40
    assert {p["lang"] for p in passages} == {"en", "sr-Latn", "sr-Cyrl", "ru", "sq", "mk", "bg", "hr", "bs"}
    themes = {c.id for c in load_taxonomy().concepts if c.facet == "theme"}
    assert themes <= {t for p in passages for t in p["themes"]}
    assert sum(not p["relevant"] for p in passages) >= 10


def test_entity_f1_meets_the_target(results: dict[str, object]) -> None:
    prf = results["prf"]
    assert isinstance(prf, dict) and prf["entities"][2] >= ENTITY_F1


def test_theme_f1_meets_the_target(results: dict[str, object]) -> None:
    prf = results["prf"]
    assert isinstance(prf, dict) and prf["themes"][2] >= THEME_F1


def test_relevance_accuracy_meets_the_target(results: dict[str, object]) -> None:
    accuracy = results["accuracy"]
    assert isinstance(accuracy, float) and accuracy >= RELEVANCE_ACCURACY


def test_every_language_meets_the_name_and_theme_targets_on_its_own(results: dict[str, object]) -> None:
    # A language the rules barely cover would hide inside the pooled figures: Albanian
    # passages scored entities F1 0.72, themes F1 0.33 and relevance 0.36 before its rules existed.
    per_language = results["per_language"]
    assert isinstance(per_language, dict)
    for lang, m in per_language.items():
        assert m["entities"][2] >= ENTITY_F1, lang
        assert m["themes"][2] >= THEME_F1, lang
