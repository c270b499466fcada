"""Dedup on real news texts: distinct articles kept apart, edited copies found, and where that ends.

    .venv/bin/python benchmarks/bench_dedup_real.py [--data DIR] [--out DIR]

The texts are the ground-truth article bodies of Zyte's article-extraction benchmark
(``../shared/data/zyte_aeb/ground-truth.json``, read from there and never copied into the
repository): real news articles by many publishers on many topics, in English mostly.
Our own labelled set (``tests/dedup_labelled/``) is built from the five seed texts, which
all tell one story; these are 179 other people's articles, so they test what the labelled
set cannot: that unrelated real prose is not taken for a copy, and how much editing a
copy of real prose survives.

1. **Distinct articles.** The bodies are stored one by one, each checked first against
   those stored before it, as the writer does. They are different articles, so every
   match is a false positive. Over all pairs, the highest estimated Jaccard and
   containment between two different articles say how far they stay below the thresholds.
2. **Edited copies.** With every body stored, each edit below is applied to every body
   (fixed seeds) and the result is checked as a new text, in the writer's batches. A copy
   is *found* when it is matched to its own original, *wrong* when matched to another
   article, *missed* otherwise. Edits come in grades, so the table shows where recall ends.

Prints a Markdown table and writes benchmarks/results/dedup_real.json.
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ZYTE_DATA, now_iso, zyte_main  # noqa: E402

from monitor.judging.dedup import (  # noqa: E402
    CONTAINMENT,
    MIN_SHARED_ANCHORS,
    MIN_WORDS_FOR_SIMILARITY,
    NEAR_JACCARD,
    Fingerprint,
    classify,
    fingerprint_text,
)
from monitor.settings import SAVE_BATCH, SEEDS_DIR  # noqa: E402
from monitor.storage.dedup_index import DedupIndex  # noqa: E402
from monitor.storage.warehouse import connect  # noqa: E402

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")

#: An edit: (original, its index, every original, a seeded rng) -> the copy's text.
Edit = Callable[[str, int, Sequence[str], random.Random], str]


def load_bodies(data: Path = ZYTE_DATA) -> list[tuple[str, str]]:
    """(page id, article body) for every ground-truth body long enough to compare, by id."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    bodies = [(k, (v or {}).get("articleBody") or "") for k, v in sorted(truth.items())]
    return [(k, b) for k, b in bodies if fingerprint_text(b).word_count >= MIN_WORDS_FOR_SIMILARITY]


def sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE_END.split(" ".join(text.split()))) if s]


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n") if p.strip()]


# -- the edits ------------------------------------------------------------------------------
# Each one is what an editor, a syndication feed or a scraper does to a story. ``other``
# texts come from the other articles, so added words and sentences are real prose too.

def rewrapped(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
    """Hard-wrapped at 64 columns, typographic quotes and dashes made plain."""
    plain = text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-"}))
    return "\n\n".join(textwrap.fill(p, 64) for p in paragraphs(plain))


def wrapped_in_boilerplate(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
    """A syndicated copy: the partner's byline and credit on top, its footer below."""
    return ("By Staff Writers | Republished with permission of our partner agency. All rights reserved.\n\n"
            f"{text}\n\nThis story was syndicated through a news partner. Subscribe to our newsletter "
            "for the day's top stories, and follow us on social media.")


def words_replaced(share: float) -> Edit:
    def edit(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
        words = text.split()
        pool = bodies[(i + 1) % len(bodies)].split()
        for k in rng.sample(range(len(words)), round(len(words) * share)):
            words[k] = rng.choice(pool)
        return " ".join(words)
    edit.__doc__ = f"{share:.0%} of the words, scattered, replaced by words of another article"
    return edit


def words_deleted(share: float) -> Edit:
    def edit(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
        words = text.split()
        gone = set(rng.sample(range(len(words)), round(len(words) * share)))
        return " ".join(w for k, w in enumerate(words) if k not in gone)
    edit.__doc__ = f"{share:.0%} of the words, scattered, deleted"
    return edit


def sentences_cut(share: float) -> Edit:
    def edit(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
        sents = sentences(text)
        gone = set(rng.sample(range(len(sents)), min(len(sents) - 1, round(len(sents) * share))))
        return " ".join(s for k, s in enumerate(sents) if k not in gone)
    edit.__doc__ = f"{share:.0%} of the sentences cut"
    return edit


#: A borrowed sentence is at most this long: a list or a table has no full stops, so its
#: one "sentence" would be the whole article, and a text that holds it is its copy too.
FOREIGN_SENTENCE_WORDS = 40


def foreign_sentence(bodies: Sequence[str], i: int, rng: random.Random) -> str:
    """A sentence of an article other than ``i``, drawn at random (so no one article is
    borrowed from much: a text holding most of another one would be its copy too)."""
    while True:
        k = rng.randrange(len(bodies) - 1)
        fit = [s for s in sentences(bodies[k + (k >= i)]) if len(s.split()) <= FOREIGN_SENTENCE_WORDS]
        if fit:
            return rng.choice(fit)


def _seed_sentences() -> list[str]:
    # Our five reference texts: prose that is in no index here, for commentary around a quote.
    out: list[str] = []
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        out += [s for s in sentences(path.read_text(encoding="utf-8").partition("\n")[2])
                if 8 <= len(s.split()) <= FOREIGN_SENTENCE_WORDS]
    return out


COMMENTARY = _seed_sentences()


def commentary(words: int, rng: random.Random) -> list[str]:
    """Sentences of commentary, ``words`` long or a little more, none of them stored."""
    out: list[str] = []
    while len(" ".join(out).split()) < words:
        out.append(rng.choice(COMMENTARY))
    return out


def sentences_added(share: float) -> Edit:
    def edit(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
        sents = sentences(text)
        for _ in range(max(1, round(len(sents) * share))):
            sents.insert(rng.randrange(len(sents) + 1), foreign_sentence(bodies, i, rng))
        return " ".join(sents)
    edit.__doc__ = f"sentences of other articles added, {share:.0%} of the sentence count, anywhere"
    return edit


def reordered(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
    """Paragraphs in another order (blocks of three sentences when there are fewer than three)."""
    parts = paragraphs(text)
    if len(parts) < 3:
        sents = sentences(text)
        parts = [" ".join(sents[k:k + 3]) for k in range(0, len(sents), 3)]
    rng.shuffle(parts)
    return "\n\n".join(parts)


def lead_kept(share: float) -> Edit:
    def edit(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
        words = text.split()
        return " ".join(words[: max(1, round(len(words) * share))])
    edit.__doc__ = f"a teaser: the first {share:.0%} of the words"
    return edit


def excerpt(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
    """An excerpt: 30% of the words from the middle."""
    words = text.split()
    n = round(len(words) * 0.3)
    start = (len(words) - n) // 2
    return " ".join(words[start:start + n])


def quoted_whole(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
    """Quoted whole in a commentary half as long as it, before and after the quote."""
    comment = commentary(len(text.split()) // 2, rng)
    half = len(comment) // 2
    return " ".join([*comment[:half], text, *comment[half:]])


def lightly_edited(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
    """An editor's pass: 10% of the sentences cut, 3% of the words changed, two sentences added."""
    cut = sentences_cut(0.10)(text, i, bodies, rng)
    changed = words_replaced(0.03)(cut, i, bodies, rng)
    sents = sentences(changed)
    for _ in range(2):
        sents.insert(rng.randrange(len(sents) + 1), foreign_sentence(bodies, i, rng))
    return " ".join(sents)


def one_sentence_quoted(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
    """Not a copy: one sentence of it (15-40 words) quoted in a 500-word commentary.

    Empty (skipped) when no such sentence is at most half of the text: a text our sentence
    splitter reads as one sentence (a list, Japanese) would be quoted whole.
    """
    half_text = len(text.split()) / 2
    sents = [s for s in sentences(text) if 15 <= len(s.split()) <= min(FOREIGN_SENTENCE_WORDS, half_text)]
    if not sents:
        return ""
    comment = commentary(500, rng)
    half = len(comment) // 2
    return " ".join([*comment[:half], f'As one report put it: "{rng.choice(sents)}"', *comment[half:]])


def retold_from_shuffled_words(text: str, i: int, bodies: Sequence[str], rng: random.Random) -> str:
    """Not a copy: the same words (names, places, figures) in another order, sentence by sentence."""
    out = []
    for sent in sentences(text):
        words = sent.split()
        rng.shuffle(words)
        out.append(" ".join(words))
    return " ".join(out)


#: Texts that are not copies of the article they are made from: any match is false.
NOT_COPIES: tuple[tuple[str, Edit], ...] = (
    ("one sentence quoted in a commentary", one_sentence_quoted),
    ("the same words shuffled within each sentence", retold_from_shuffled_words),
)


@dataclass(frozen=True)
class Grade:
    edit: str
    level: str
    apply: Edit
    #: What a tool that collapses copies should do with it: every grade here is a copy of
    #: its original; the heaviest grades are kept to show where matching ends, not as goals.
    goal: bool


GRADES: tuple[Grade, ...] = (
    Grade("same text, re-wrapped and plain quotes", "-", rewrapped, True),
    Grade("syndicated, partner's byline and footer", "-", wrapped_in_boilerplate, True),
    Grade("paragraphs reordered", "-", reordered, True),
    Grade("lightly edited (10% sentences cut, 3% words, 2 sentences added)", "-", lightly_edited, True),
    *(Grade("words replaced, scattered", f"{p}%", words_replaced(p / 100), p <= 5) for p in (1, 2, 5, 8, 10, 15, 20)),
    *(Grade("words deleted, scattered", f"{p}%", words_deleted(p / 100), p <= 5) for p in (2, 5, 10, 20)),
    *(Grade("sentences cut", f"{p}%", sentences_cut(p / 100), p <= 50) for p in (10, 25, 50, 75)),
    *(Grade("sentences of other articles added", f"{p}%", sentences_added(p / 100), p <= 50)
      for p in (10, 25, 50, 100)),
    *(Grade("teaser: the lead kept", f"{p}%", lead_kept(p / 100), p >= 30) for p in (15, 30, 50, 70)),
    Grade("excerpt from the middle", "30%", excerpt, True),
    Grade("quoted whole inside another article", "-", quoted_whole, True),
)


# -- the runs -------------------------------------------------------------------------------

def _store(con: Any, index: DedupIndex, items: Sequence[tuple[str, Fingerprint]]) -> None:
    con.execute(
        "INSERT INTO articles (id, kind, content_hash, word_count) "
        "SELECT unnest($1::VARCHAR[]), 'article', unnest($2::VARCHAR[]), unnest($3::INTEGER[])",
        [[d for d, _ in items], [f.content_hash for _, f in items], [f.word_count for _, f in items]],
    )
    index.add_many(items, new=True)


def distinct_articles(con: Any, index: DedupIndex, fps: Sequence[tuple[str, Fingerprint]]) -> dict[str, Any]:
    """Store the bodies in order, each checked first: every match is a false positive."""
    false_matches = []
    for doc_id, fp in fps:
        decision = index.check(canonical_url=None, fingerprint=fp)
        if decision.match is not None:
            m = decision.match
            false_matches.append({"text": doc_id, "matched": m.duplicate_of, "kind": m.kind,
                                  "similarity": m.similarity})
        _store(con, index, [(doc_id, fp)])
    # Every pair, from the anchors: how close two different real articles come.
    best_j = best_c = 0.0
    best_shared, pairs_sharing = 0, 0
    sets = [(doc_id, set(fp.anchors), fp.shingle_count) for doc_id, fp in fps]
    for a in range(len(sets)):
        for b in range(a + 1, len(sets)):
            shared = len(sets[a][1] & sets[b][1])
            if not shared:
                continue
            pairs_sharing += 1
            best_shared = max(best_shared, shared)
            n_a, n_b = len(sets[a][1]), len(sets[b][1])
            best_j = max(best_j, shared / (n_a + n_b - shared))
            best_c = max(best_c, shared / min(n_a, n_b))
            # classify() is what the index applies; a pair it accepts is a false positive too.
            if classify(shared, (n_a, n_b), (sets[a][2], sets[b][2])) is not None:
                false_matches.append({"text": sets[b][0], "matched": sets[a][0], "kind": "pair", "similarity": None})
    pairs = len(sets) * (len(sets) - 1) // 2
    return {"articles": len(fps), "pairs": pairs, "false_matches": false_matches,
            "pairs_sharing_an_anchor": pairs_sharing, "most_shared_anchors": best_shared,
            "highest_jaccard": round(best_j, 4), "highest_containment": round(best_c, 4)}


def edited_copies(index: DedupIndex, fps: Sequence[tuple[str, Fingerprint]], texts: Sequence[str],
                  grades: Sequence[Grade] = GRADES) -> list[dict[str, Any]]:
    """Check every grade's copy of every body against the stored bodies."""
    rows = []
    for g_no, grade in enumerate(grades):
        copies = [grade.apply(t, i, texts, random.Random(1000 * g_no + i)) for i, t in enumerate(texts)]
        copy_fps = [fingerprint_text(c) for c in copies]
        decisions = []
        for lo in range(0, len(copy_fps), SAVE_BATCH):
            decisions += index.check_many([(fp, None) for fp in copy_fps[lo:lo + SAVE_BATCH]])
        found, wrong, kinds, sims = 0, 0, Counter[str](), []
        for (doc_id, _), d in zip(fps, decisions, strict=True):
            if d.match is None:
                continue
            if d.match.duplicate_of == doc_id:
                found += 1
                kinds[d.match.kind] += 1
                sims.append(d.match.similarity)
            else:
                wrong += 1
        short = sum(fp.word_count < MIN_WORDS_FOR_SIMILARITY for fp in copy_fps)
        rows.append({"edit": grade.edit, "level": grade.level, "goal": grade.goal, "copies": len(copies),
                     "found": found, "wrong": wrong, "missed": len(copies) - found - wrong,
                     "recall": round(found / len(copies), 4), "kinds": dict(sorted(kinds.items())),
                     "median_similarity": round(median(sims), 3) if sims else None,
                     "under_min_words": short,
                     "median_words": int(median(fp.word_count for fp in copy_fps))})
    return rows


def not_copies(index: DedupIndex, fps: Sequence[tuple[str, Fingerprint]], texts: Sequence[str]) -> list[dict[str, Any]]:
    """Check texts made from each body that are not its copies: every match is false."""
    rows = []
    for n, (name, make) in enumerate(NOT_COPIES):
        made = [fingerprint_text(make(t, i, texts, random.Random(500_000 + 1000 * n + i)))
                for i, t in enumerate(texts)]
        decisions = []
        for lo in range(0, len(made), SAVE_BATCH):
            decisions += index.check_many([(fp, None) for fp in made[lo:lo + SAVE_BATCH]])
        false = [{"text": doc_id, "matched": d.match.duplicate_of, "kind": d.match.kind,
                  "similarity": d.match.similarity}
                 for (doc_id, _), d in zip(fps, decisions, strict=True) if d.match is not None]
        skipped = sum(fp.word_count == 0 for fp in made)
        rows.append({"text": name, "texts": len(made) - skipped, "skipped": skipped,
                     "false_matches": len(false), "examples": false[:5]})
    return rows


#: Our own goals (not an issue's): no false match at all, and this share of the copies
#: within the grades a monitor should collapse (``Grade.goal``) found under their original.
GOAL_RECALL = 0.95


def run(data: Path = ZYTE_DATA) -> dict[str, Any]:
    bodies = load_bodies(data)
    texts = [b for _, b in bodies]
    t0 = time.perf_counter()
    fps = [(doc_id, fingerprint_text(b)) for doc_id, b in bodies]
    with tempfile.TemporaryDirectory(prefix="monitor-bench-dedup-real-") as tmp:
        con = connect(Path(tmp) / "w.duckdb")
        try:
            index = DedupIndex(con)
            distinct = distinct_articles(con, index, fps)
            rows = edited_copies(index, fps, texts)
            negatives = not_copies(index, fps, texts)
        finally:
            con.close()
    goal_rows = [r for r in rows if r["goal"]]
    found = sum(r["found"] for r in goal_rows)
    copies = sum(r["copies"] for r in goal_rows)
    words = sorted(fp.word_count for _, fp in fps)
    return {
        "measured_at": now_iso(),
        "data": "zyte_aeb ground-truth bodies (read from ../shared, never copied)",
        "bodies": len(bodies), "median_words": words[len(words) // 2], "min_words": words[0],
        "thresholds": {"near_jaccard": NEAR_JACCARD, "containment": CONTAINMENT,
                       "min_shared_anchors": MIN_SHARED_ANCHORS, "min_words": MIN_WORDS_FOR_SIMILARITY},
        "distinct": distinct,
        "edited": rows,
        "not_copies": negatives,
        "copies_within_goal": copies,
        "found_within_goal": found,
        "recall_within_goal": round(found / copies, 4),
        "copies_under_min_words": sum(r["under_min_words"] for r in goal_rows),
        "wrong_matches": sum(r["wrong"] for r in rows),
        "false_matches": len(distinct["false_matches"]) + sum(r["false_matches"] for r in negatives),
        "goal_recall": GOAL_RECALL,
        "meets_goal": found / copies >= GOAL_RECALL and not (
            distinct["false_matches"] or any(r["false_matches"] for r in negatives) or any(r["wrong"] for r in goal_rows)),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def markdown(d: dict[str, Any]) -> str:
    dist = d["distinct"]
    lines = [
        f"{d['bodies']} real article bodies (median {d['median_words']} words). Distinct articles: "
        f"{len(dist['false_matches'])} false matches in {dist['pairs']} pairs; the closest two share "
        f"{dist['most_shared_anchors']} anchors, highest Jaccard {dist['highest_jaccard']} (threshold "
        f"{d['thresholds']['near_jaccard']}), highest containment {dist['highest_containment']} "
        f"(threshold {d['thresholds']['containment']}).",
        "",
        f"Edited copies within the grades a monitor should collapse (all but those marked beyond): "
        f"{d['found_within_goal']} of {d['copies_within_goal']} found under their original "
        f"({d['recall_within_goal']:.1%}; {d['copies_under_min_words']} of the misses are under "
        f"{d['thresholds']['min_words']} words, where only url and exact apply), "
        f"{sum(r['wrong'] for r in d['edited'] if r['goal'])} under another article.",
        "",
        "| edit | level | copies | found | as | wrong | missed | median similarity | under 50 words |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in d["edited"]:
        kinds = ", ".join(f"{k} {n}" for k, n in r["kinds"].items()) or "-"
        mark = "" if r["goal"] else " (beyond)"
        lines.append(f"| {r['edit']}{mark} | {r['level']} | {r['copies']} | {r['found']} ({r['recall']:.0%}) | "
                     f"{kinds} | {r['wrong']} | {r['missed']} | {r['median_similarity'] or '-'} | "
                     f"{r['under_min_words']} |")
    lines += ["", "Texts made from each article that are not its copies (any match is false):", "",
              "| text | texts | false matches | skipped (no sentence short enough) |", "|---|---|---|---|"]
    lines += [f"| {r['text']} | {r['texts']} | {r['false_matches']} | {r['skipped']} |" for r in d["not_copies"]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    return zyte_main(argv, doc=__doc__ or "", name="dedup_real", run=run, markdown=markdown)


if __name__ == "__main__":
    raise SystemExit(main())
