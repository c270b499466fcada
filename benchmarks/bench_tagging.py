"""Tagging throughput on one core: 800-word articles through analyse_text + judge_relevance.

Each article's language is identified first, as reading does before tagging (its cost is
reported apart: ``language_ms_per_article``); tagging then reads each word by its form and
by its lemma in that language.

Articles are built from the five seed texts and the labelled passages (mixed English,
Serbian Latin and Cyrillic, Russian, Albanian), cut to 800 words. Prints the figures and writes
them to benchmarks/results/tagging.json.

Also, when ../shared/data/zyte_aeb is beside the checkout (read there, never copied): the
181 real news articles of Zyte's benchmark, nearly all on other topics (games, markets,
Hong Kong, impeachment, recipes), tagged and judged: how many are judged relevant, and
how many theme tags real prose on other topics draws. Themes are rules of words; this is
where a rule that fires on ordinary words shows.

    .venv/bin/python benchmarks/bench_tagging.py [--articles 400]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import random
import time
from pathlib import Path

import yaml

from monitor.judging.relevance import judge_relevance
from monitor.settings import SEEDS_DIR
from monitor.judging.tagging import analyse_text, compile_matcher, tag_text
from monitor.reading.language import identify_language
from monitor.judging.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "tagging.json"
LABELLED = ROOT / "tests" / "tagging_labelled" / "passages.yaml"
WORDS = 800
TARGET_PER_SECOND = 200
ROUNDS = 3


def build_articles(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """n articles of WORDS words, paragraphs shuffled from seeds and labelled passages."""
    paragraphs: list[str] = []
    for p in sorted(SEEDS_DIR.glob("*.txt")):
        paragraphs += [x.strip() for x in p.read_text(encoding="utf-8").split("\n\n") if x.strip()]
    for p in yaml.safe_load(LABELLED.read_text(encoding="utf-8"))["passages"]:
        paragraphs.append(p["text"])
    rng = random.Random(seed)
    articles = []
    for _ in range(n):
        words: list[str] = []
        body: list[str] = []
        while len(words) < WORDS:
            para = rng.choice(paragraphs)
            body.append(para)
            words += para.split()
        text = " ".join(words[:WORDS])
        articles.append((" ".join(body[0].split()[:10]), text))
    return articles


#: Beside the checkout, or where MONITOR_SHARED_DATA says (as benchmarks/common.py reads it).
ZYTE_TRUTH = (Path(os.environ.get("MONITOR_SHARED_DATA") or ROOT.parent / "shared" / "data")
              / "zyte_aeb" / "ground-truth.json")


def off_topic_real(matcher) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Tags and relevance of Zyte's real article bodies (empty when the data is not beside us)."""
    if not ZYTE_TRUTH.exists():
        return {}
    truth = json.loads(ZYTE_TRUTH.read_text(encoding="utf-8"))
    themes: dict[str, int] = {}
    relevant, with_theme = [], 0
    for key, page in sorted(truth.items()):
        title, text = page.get("headline") or "", page.get("articleBody") or ""
        tags = tag_text(matcher, title, text)
        found = [t.concept_id for t in tags if t.concept_id.startswith("theme:")]
        for t in found:
            themes[t] = themes.get(t, 0) + 1
        with_theme += bool(found)
        rel = judge_relevance(matcher, tags, title, text)
        if rel.relevant:
            relevant.append({"page": key[:12], "url": page.get("url"), "reason": rel.reason})
    return {
        "real_articles": len(truth),
        "real_judged_relevant": len(relevant),
        "real_theme_tags": sum(themes.values()),
        "real_articles_with_a_theme": with_theme,
        "real_themes": dict(sorted(themes.items(), key=lambda kv: -kv[1])),
        "real_relevant": relevant,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=400)
    args = ap.parse_args()
    t0 = time.perf_counter()
    taxonomy = load_taxonomy()
    t1 = time.perf_counter()
    matcher = compile_matcher(taxonomy)
    t2 = time.perf_counter()
    blob = pickle.dumps(matcher)
    t3 = time.perf_counter()
    pickle.loads(blob)
    t4 = time.perf_counter()
    articles = build_articles(args.articles)
    tag_text(matcher, *articles[0])  # warm up
    cpu_lang = time.process_time()
    languages = [identify_language(f"{title}\n\n{text}") for title, text in articles]
    cpu_lang = time.process_time() - cpu_lang
    # CPU time of this process is the one-core figure (the machine may be shared, which
    # inflates wall time); best of ROUNDS, wall time reported alongside.
    cpu_runs, wall_runs = [], []
    tags_total = relevant = 0
    for _ in range(ROUNDS):
        tags_total = relevant = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for (title, text), language in zip(articles, languages):
            analysis = analyse_text(matcher, title, text, language)
            tags = analysis.tags
            rel = judge_relevance(matcher, tags, title, text, analysis)
            tags_total += len(tags)
            relevant += rel.relevant
        cpu_runs.append(time.process_time() - cpu0)
        wall_runs.append(time.perf_counter() - wall0)
    elapsed = min(cpu_runs)
    per_second = len(articles) / elapsed
    result = {
        "articles": len(articles),
        "words_per_article": WORDS,
        "rounds": ROUNDS,
        "cpu_seconds_best": round(elapsed, 3),
        "wall_seconds_best": round(min(wall_runs), 3),
        "articles_per_second": round(per_second, 1),
        "articles_per_second_wall": round(len(articles) / min(wall_runs), 1),
        "ms_per_article": round(1000 * elapsed / len(articles), 3),
        "language_ms_per_article": round(1000 * cpu_lang / len(articles), 3),
        "target_articles_per_second": TARGET_PER_SECOND,
        "meets_target": per_second >= TARGET_PER_SECOND,
        "mean_tags_per_article": round(tags_total / len(articles), 1),
        "relevant_share": round(relevant / len(articles), 3),
        "load_taxonomy_ms": round(1000 * (t1 - t0), 1),
        "compile_matcher_ms": round(1000 * (t2 - t1), 1),
        "matcher_pickle_bytes": len(blob),
        "pickle_dumps_ms": round(1000 * (t3 - t2), 1),
        "pickle_loads_ms": round(1000 * (t4 - t3), 1),
        "taxonomy_version": taxonomy.version,
        "concepts": len(taxonomy.concepts),
        "python": platform.python_version(),
        "single_core": True,
        **off_topic_real(matcher),
    }
    for k, v in result.items():
        print(f"{k:28s} {v}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
