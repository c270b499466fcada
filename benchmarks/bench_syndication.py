"""Dedup on syndicated news: a copy goes under the story it copies, and nothing else does.

    .venv/bin/python benchmarks/bench_syndication.py [--data DIR] [--out DIR]

Built from the real article bodies of Zyte's article-extraction benchmark
(``../shared/data/zyte_aeb/ground-truth.json``, read from there, never copied), cut and
recombined the way wire services, aggregators and outlets do, so the truth is known by
construction. Each family uses its own bodies (no body is in two families), and every
text goes through the real writer (``monitor.runs.ingest.decide_and_save``) into one
warehouse, in arrival order, in small batches:

- **wire rewrites**: one story in six successive versions, each an editor's pass over
  the one before (two sentences cut, 1% of the words changed, a sentence added).
- **briefs in pages**: a long roundup page that embeds a short brief between two other
  stories (stored before), the brief alone, then the full article the brief opens.
- **aggregator**: a page of short snippets (a line each) of many stories, stored
  before them; then the stories, and briefs that are exactly one snippet.
- **outlet background**: one outlet's short articles (70 words of news), each ending with the same
  160 words of background; and one of them republished with light edits (a true copy).
- **galleries**: a page of photo captions, each a fragment of a stored story and a credit.
- **plain copies**: a story and its copies: re-wrapped, syndicated with a byline and footer,
  lightly edited, a teaser (the first half).

Scored on the exact word 5-gram sets of the texts (computed here, independently of the
index): a mark's *Jaccard* and its *containment* (the share of the copy's 5-grams inside
its root). A mark is **sound** at Jaccard >= 0.4 or containment >= 0.6; a **false merge**
puts a text under a root of another story, or marks a text that is a story of its own
(a page, a gallery, an outlet's other article). A **near-verbatim copy** is a text whose
exact Jaccard with an earlier text of its story is >= 0.8 or whose containment in it is
>= 0.9; it is *found* when marked under a root of its story. The same texts in the same
order go through datasketch's MinHashLSH (128 permutations, threshold 0.5) with the same
verification on the exact sets, each text under the root of its best verified candidate.

Prints Markdown tables and writes benchmarks/results/syndication.json.
"""

from __future__ import annotations

import random
import re
import sys
import tempfile
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dedup_real import load_bodies, paragraphs, sentences
from common import ZYTE_DATA, now_iso, zyte_main

from monitor.judging.dedup import fingerprint_text
from monitor.models import Document
from monitor.reading.normalize import normalize_for_comparison
from monitor.runs.ingest import decide_and_save
from monitor.storage.dedup_index import DedupIndex
from monitor.storage.warehouse import connect

#: Texts saved per writer call: small, so that texts meet both stored ones and their own
#: batch's (the writer's two paths), as an hourly run of a few feeds does.
BATCH = 8
#: What makes a mark sound (the project's thresholds, on exact sets).
SOUND_JACCARD, SOUND_CONTAINMENT = 0.4, 0.6
#: What makes a copy near-verbatim (on exact sets, with an earlier text of its story).
VERBATIM_JACCARD, VERBATIM_CONTAINMENT = 0.8, 0.9
_WORD = re.compile(r"[^\W_]+")
_T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@dataclass
class Text:
    """One constructed text: its family, the story it belongs to (None: a story of its own
    that must never be marked nor be a root, e.g. a page or a gallery) and the body."""

    id: str
    family: str
    story: str | None
    source: str
    body: str
    #: A page that is no story (roundup, aggregator, gallery): no text may go under it.
    not_a_story: bool = False


@dataclass
class Corpus:
    texts: list[Text] = field(default_factory=list)

    def add(self, family: str, story: str | None, source: str, body: str, *, not_a_story: bool = False) -> Text:
        t = Text(f"{family[:4]}-{len(self.texts):04d}", family, story, source, body, not_a_story)
        self.texts.append(t)
        return t


def _edit_pass(text: str, rng: random.Random, pool: Sequence[str], cut: int = 2, changed: float = 0.02) -> str:
    """An editor's pass: ``cut`` sentences cut, a share of the words changed, one sentence added."""
    sents = sentences(text)
    for _ in range(min(cut, max(0, len(sents) - 3))):
        del sents[rng.randrange(len(sents))]
    words = " ".join(sents).split()
    for k in rng.sample(range(len(words)), round(len(words) * changed)):
        words[k] = rng.choice(pool)
    sents = sentences(" ".join(words))
    sents.insert(rng.randrange(len(sents) + 1), rng.choice([s for s in sentences(" ".join(pool)) if s] or ["Update."]))
    return " ".join(sents)


def _lead(text: str, words: int) -> str:
    return " ".join(text.split()[:words])


def build(bodies: Sequence[str], rng: random.Random) -> Corpus:
    """The six families from disjoint bodies (long ones where a family needs length)."""
    order = sorted(range(len(bodies)), key=lambda i: -len(bodies[i].split()))
    long_ids = [i for i in order if len(bodies[i].split()) >= 250]
    rest = [i for i in order if i not in set(long_ids)]
    rng.shuffle(long_ids)
    rng.shuffle(rest)
    take_long = iter(long_ids)
    take_any = iter(rest)
    spare = [bodies[i] for i in rest[-10:]]  # words for edits, never stored whole
    pool = " ".join(spare).split()

    def long_body() -> str:
        return bodies[next(take_long)]

    def any_body() -> str:
        try:
            return bodies[next(take_any)]
        except StopIteration:
            return long_body()

    c = Corpus()
    # 1. wire rewrites: 10 stories x 6 versions
    for s in range(10):
        text = long_body()
        for v in range(6):
            c.add("wire rewrites", f"wire{s}", f"wire{v % 3}", text)
            text = _edit_pass(text, rng, pool, cut=2, changed=0.01)
    # 2. briefs in pages: the roundup first (two stored stories around the brief), then
    #    the brief, then the article; and the other order (article, roundup, brief).
    for s in range(6):
        article, a1, a2 = long_body(), any_body(), any_body()
        brief = _lead(article, 70)
        c.add("briefs in pages", f"bp{s}a", "roundups", a1)
        c.add("briefs in pages", f"bp{s}b", "roundups", a2)
        page = "\n\n".join([*paragraphs(a1)[:6], brief, *paragraphs(a2)[:6]])
        if s % 2 == 0:
            c.add("briefs in pages", None, "roundups", page, not_a_story=True)
            c.add("briefs in pages", f"bp{s}", "briefs", brief)
            c.add("briefs in pages", f"bp{s}", "wire0", article)
        else:
            c.add("briefs in pages", f"bp{s}", "wire0", article)
            c.add("briefs in pages", None, "roundups", page, not_a_story=True)
            c.add("briefs in pages", f"bp{s}", "briefs", brief)
    # 3. aggregator: one page of 16 snippets first, then the 16 stories, then 4 briefs
    #    that are exactly a (longer) snippet of 4 more stories that never arrive whole.
    stories = [any_body() for _ in range(16)]
    extra = [any_body() for _ in range(4)]
    snippets = [" ".join(sentences(b)[:2]) for b in stories] + [_lead(b, 60) for b in extra]
    rng.shuffle(snippets)
    c.add("aggregator", None, "aggregator", "\n".join(snippets), not_a_story=True)
    for k, b in enumerate(stories):
        c.add("aggregator", f"ag{k}", f"wire{k % 3}", b)
    for k, b in enumerate(extra):
        c.add("aggregator", f"agx{k}", "briefs", _lead(b, 60))
    # 4. outlet background: 10 short articles of one outlet, each with the same background
    #    paragraphs; the third republished with light edits later (a true copy).
    background = "\n\n".join(paragraphs(long_body())[:4])
    background = _lead(background, 160)
    own = []
    for k in range(10):
        news = _lead(any_body(), 70)
        own.append(f"{news}\n\n{background}")
        c.add("outlet background", f"ob{k}", "outlet", own[-1])
    c.add("outlet background", "ob2", "outlet", _edit_pass(own[2], rng, pool))
    # 5. galleries: a stored story, then a page of 12 captions of it (a fragment of a
    #    sentence and a credit each).
    for s in range(4):
        story = long_body()
        c.add("galleries", f"ga{s}", "wire1", story)
        frags = [" ".join(x.split()[:8]) for x in sentences(story) if len(x.split()) >= 8][:12]
        caps = [f"Photo {k + 1} of {len(frags)}: {f}. (Agency photo / Staff photographer)" for k, f in enumerate(frags)]
        c.add("galleries", None, "gallery", "\n".join(caps), not_a_story=True)
    # 6. plain copies: 30 stories, each with 4 copies.
    for s in range(30):
        story = long_body()
        c.add("plain copies", f"pc{s}", "wire0", story)
        plain = story.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-"}))
        c.add("plain copies", f"pc{s}", "portal1", "\n\n".join(textwrap.fill(p, 64) for p in paragraphs(plain)))
        c.add("plain copies", f"pc{s}", "portal2",
              f"By Staff Writers | Republished with permission.\n\n{story}\n\nSubscribe to our newsletter.")
        c.add("plain copies", f"pc{s}", "portal3", _edit_pass(story, rng, pool))
        c.add("plain copies", f"pc{s}", "portal4", _lead(story, len(story.split()) // 2))
    return c


# -- exact overlap ----------------------------------------------------------------------------

def shingles(text: str) -> frozenset[tuple[str, ...]]:
    """The exact word 5-grams of the normalised text (the index's unit, unhashed)."""
    w = _WORD.findall(normalize_for_comparison(text))
    return frozenset(tuple(w[i:i + 5]) for i in range(len(w) - 4))


def overlap(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> tuple[float, float]:
    """(Jaccard, containment of ``a`` in ``b``)."""
    shared = len(a & b)
    if not a or not shared:
        return 0.0, 0.0
    return shared / len(a | b), shared / len(a)


# -- the two methods --------------------------------------------------------------------------

def run_writer(corpus: Corpus) -> tuple[dict[str, str | None], float]:
    """Every text through the real writer in arrival order; text id -> root id, seconds."""
    docs = []
    for n, t in enumerate(corpus.texts):
        fp = fingerprint_text(t.body)
        at = _T0 + timedelta(minutes=10 * n)
        docs.append(Document(
            id=t.id, source=t.source, url=f"https://{t.source}.example/{t.id}",
            canonical_url=f"https://{t.source}.example/{t.id}", title=t.id, text=t.body,
            fetched_at=at, published_at=at, date_source="feed", date_confidence="high",
            content_hash=fp.content_hash, word_count=fp.word_count, fingerprint=fp))
    with tempfile.TemporaryDirectory(prefix="monitor-bench-syndication-") as tmp:
        con = connect(Path(tmp) / "w.duckdb")
        try:
            index = DedupIndex(con)
            t0 = time.perf_counter()
            for lo in range(0, len(docs), BATCH):
                decide_and_save(con, index, docs[lo:lo + BATCH], run_id="bench")
            took = time.perf_counter() - t0
            rows = dict(con.execute("SELECT id, duplicate_of FROM articles").fetchall())
            quotes = _quotations(con)
        finally:
            con.close()
    return {t.id: rows.get(t.id) for t in corpus.texts} | {"__quotations__": quotes}, took  # type: ignore[dict-item]


def _quotations(con: Any) -> int | None:
    try:
        return int(con.execute("SELECT count(*) FROM quotations").fetchall()[0][0])
    except Exception:  # noqa: BLE001 - the table exists only from migration 009 on
        return None


def run_minhash(corpus: Corpus, sets: dict[str, frozenset[tuple[str, ...]]]) -> tuple[dict[str, str | None], float]:
    """datasketch MinHashLSH with exact verification, each text under its best candidate's root."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    root: dict[str, str | None] = {}
    t0 = time.perf_counter()
    for t in corpus.texts:
        s = sets[t.id]
        mh = MinHash(num_perm=128)
        mh.update_batch([" ".join(g).encode() for g in s])
        best: tuple[float, str] | None = None
        for cand in lsh.query(mh) if s else ():
            r = root[cand] or cand
            j, cont = overlap(s, sets[r])
            if j >= SOUND_JACCARD or cont >= SOUND_CONTAINMENT:
                score = max(j, cont)
                if best is None or score > best[0]:
                    best = (score, r)
        root[t.id] = best[1] if best else None
        if s:
            lsh.insert(t.id, mh)
    return root, time.perf_counter() - t0


# -- scoring ----------------------------------------------------------------------------------

def score(corpus: Corpus, roots: dict[str, str | None], sets: dict[str, frozenset[tuple[str, ...]]]) -> dict[str, Any]:
    """Per family: marks, sound marks, false merges, near-verbatim copies found."""
    by_id = {t.id: t for t in corpus.texts}
    seen: list[Text] = []
    fam: dict[str, Counter[str]] = defaultdict(Counter)
    bad: list[dict[str, Any]] = []
    for t in corpus.texts:
        f = fam[t.family]
        f["texts"] += 1
        verbatim = t.story is not None and any(
            o.story == t.story and (lambda jc: jc[0] >= VERBATIM_JACCARD or jc[1] >= VERBATIM_CONTAINMENT)(
                overlap(sets[t.id], sets[o.id])) for o in seen)
        seen.append(t)
        root = roots.get(t.id)
        f["verbatim"] += verbatim
        if root is None:
            continue
        f["marks"] += 1
        j, cont = overlap(sets[t.id], sets[root])
        f["containment_ok"] += cont >= SOUND_CONTAINMENT
        f["sound"] += j >= SOUND_JACCARD or cont >= SOUND_CONTAINMENT
        r = by_id[root]
        false = t.story is None or r.story != t.story
        f["false_merges"] += false
        f["found"] += verbatim and not false
        if false or not (j >= SOUND_JACCARD or cont >= SOUND_CONTAINMENT):
            bad.append({"text": t.id, "root": root, "family": t.family, "jaccard": round(j, 3),
                        "containment": round(cont, 3), "false_merge": false})
    rows = []
    for name, f in fam.items():
        rows.append({"family": name, "texts": f["texts"], "marks": f["marks"],
                     "containment_ok": f["containment_ok"], "sound": f["sound"],
                     "false_merges": f["false_merges"], "verbatim": f["verbatim"], "found": f["found"]})
    tot = Counter[str]()
    for r in rows:
        tot.update({k: v for k, v in r.items() if isinstance(v, int)})
    return {"families": rows, "total": dict(tot), "unsound_or_false": bad}


def run(data: Path = ZYTE_DATA) -> dict[str, Any]:
    bodies = [b for _, b in load_bodies(data)]
    corpus = build(bodies, random.Random(26))
    sets = {t.id: shingles(t.body) for t in corpus.texts}
    ours, ours_s = run_writer(corpus)
    quotes = ours.pop("__quotations__")
    theirs, theirs_s = run_minhash(corpus, sets)
    return {
        "measured_at": now_iso(),
        "data": "zyte_aeb ground-truth bodies, recombined (read from ../shared, never copied)",
        "texts": len(corpus.texts), "batch": BATCH,
        "sound": {"jaccard": SOUND_JACCARD, "containment": SOUND_CONTAINMENT},
        "verbatim": {"jaccard": VERBATIM_JACCARD, "containment": VERBATIM_CONTAINMENT},
        "monitor": {**score(corpus, ours, sets), "seconds": round(ours_s, 2), "quotations": quotes},
        "minhash_lsh": {**score(corpus, theirs, sets), "seconds": round(theirs_s, 2)},
    }


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d:.0%})" if d else "-"


def markdown(d: dict[str, Any]) -> str:
    lines = [
        f"{d['texts']} texts built from Zyte's real article bodies, through the writer in batches of {d['batch']}. "
        f"A mark is sound at exact Jaccard >= {d['sound']['jaccard']} or containment (of the copy in its root) "
        f">= {d['sound']['containment']}; a near-verbatim copy has Jaccard >= {d['verbatim']['jaccard']} or "
        f"containment >= {d['verbatim']['containment']} with an earlier text of its story.",
        "",
        "| family | texts | method | marks | containment >= 0.6 | sound | false merges | near-verbatim found |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method, label in (("monitor", "monitor"), ("minhash_lsh", "MinHashLSH + verification")):
        m = d[method]
        for r in [*m["families"], {"family": "**all**", **m["total"]}]:
            lines.append(f"| {r['family']} | {r['texts']} | {label} | {r['marks']} | "
                         f"{_pct(r['containment_ok'], r['marks'])} | {_pct(r['sound'], r['marks'])} | "
                         f"{r['false_merges']} | {_pct(r['found'], r['verbatim'])} |")
    m = d["monitor"]
    lines += ["", f"Writer time for all texts: {m['seconds']} s (MinHashLSH in memory: {d['minhash_lsh']['seconds']} s). "
              f"Quotation links recorded: {m['quotations'] if m['quotations'] is not None else 'none (no table)'}."]
    return "\n".join(lines)


def _print_faults(result: dict[str, Any]) -> None:
    for b in result["monitor"]["unsound_or_false"]:
        print(b)


def main(argv: Sequence[str] | None = None) -> int:
    return zyte_main(argv, doc=__doc__ or "", name="syndication", run=run, markdown=markdown, after=_print_faults)


if __name__ == "__main__":
    raise SystemExit(main())

