"""Find copies: is this text the same story as something already known?

Four levels, cheapest first, each recorded with its kind and similarity:

- ``url``: the same canonical URL is already stored (``articles.canonical_url``).
- ``exact``: the same normalised text (``articles.content_hash``).
- ``near``: most word 5-gram shingles are shared (estimated Jaccard >= ``NEAR_JACCARD``):
  syndicated copies, typo fixes, re-wrapped or re-ordered paragraphs, light edits.
- ``contained``: most shingles of the shorter text are inside the longer one
  (estimated containment >= ``CONTAINMENT``): a teaser, an abridged copy, or a longer
  piece that quotes a stored one whole. Jaccard alone misses these (a half-length
  teaser has Jaccard 0.5 with its source at best), so both are measured.

Near and contained use *anchors*: the shingle hashes that are 0 modulo
``ANCHOR_MODULUS``. This sample is consistent (the same shingle is sampled in every
document), so for two documents with ``a`` and ``b`` anchors of which ``s`` are shared,
``s/(a+b-s)`` estimates Jaccard and ``s/min(a, b)`` estimates containment. Anchors are
stored in the warehouse (``dedup_anchors``), so the index survives restarts and grows
past memory. They have no ART index on purpose (migration 004: DuckDB pins a loaded
ART index in RAM, 5 KB an article): a check is one hash join of the texts' anchors
against a scan of the postings, which streams through the capped buffer pool, and
which a batch of texts shares (``check_many``, what the writer uses).

A duplicate points at the canonical root of what it matched: if the match is itself a
copy, its ``duplicate_of``. Among several matching stories, one that makes up most of
the new text (its shared anchors cover at least ``CONTAINMENT`` of the new text's) comes
first: an updated article that also quotes a short brief whole is a copy of the article,
not of the brief (measured on real news by ``benchmarks/bench_dedup_real.py``). Among
those, a reference document first, then the earliest published one. When none makes up
most of it (a piece that quotes stories), the one that covers the largest part.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from monitor.models import DuplicateKind, Match
from monitor.reading.normalize import normalize_for_comparison

__all__ = [
    "ANCHOR_MODULUS",
    "CONTAINMENT",
    "MIN_SHARED_ANCHORS",
    "MIN_WORDS_FOR_SIMILARITY",
    "NEAR_JACCARD",
    "SAME_SIZE_RATIO",
    "SHINGLE_WORDS",
    "DedupDecision",
    "Hit",
    "Fingerprint",
    "classify",
    "decide_among",
    "fingerprint_text",
    "match_rank",
    "similarity",
]

#: Shingle length in words. 5-grams almost never repeat between independently written
#: articles on the same topic (measured Jaccard <= 0.02 between our same-topic negatives,
#: which share names like "Aleksandar Vucic" and "S-400"), while one typo only breaks 5.
SHINGLE_WORDS = 5
#: Keep 1 shingle in 8 as an anchor. Denser sampling lowers the variance of the
#: estimates but grows the index (a 400-word article gives ~50 anchor rows at 8).
ANCHOR_MODULUS = 8
#: Below this many words only `url` and `exact` apply: a title or a one-line summary
#: has ~5 anchors or fewer, too few to estimate similarity, and would otherwise be
#: "contained" in every longer article that repeats it.
MIN_WORDS_FOR_SIMILARITY = 50
#: A candidate must share at least this many anchors (three separate 5-word runs):
#: one quoted sentence shares one or two.
MIN_SHARED_ANCHORS = 3
#: Estimated Jaccard at or above which two texts of similar size are the same story
#: (`near`). Measured on tests/dedup_labelled: the lowest same-size positive is 0.59
#: (three sentences paraphrased), the highest negative 0.05 (one quoted sentence); 0.4
#: keeps ~3 standard errors of the anchor estimate (~0.06 at 50 anchors) from both.
NEAR_JACCARD = 0.4
#: Estimated containment of the shorter text in the longer one at or above which it is
#: a teaser, excerpt or quoted copy (`contained`). Measured: teasers, abridged and quoted
#: copies >= 0.88; the highest negative (one quoted sentence) 0.13.
CONTAINMENT = 0.6
#: Two texts whose shingle counts differ by less than this ratio are versions of one
#: text (`near`); when one is much shorter it is a teaser, an abridged copy or it is
#: quoted inside the other (`contained`), and containment is its similarity.
SAME_SIZE_RATIO = 0.8

_WORD = re.compile(r"[^\W_]+")

# Polynomial combination of word hashes, then the splitmix64 finaliser so that the
# low bits (used for sampling) are uniform.
_POLY = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_KIND_RANK: dict[DuplicateKind, int] = {"url": 0, "exact": 1, "near": 2, "contained": 3}


@dataclass(frozen=True)
class Fingerprint:
    """What dedup needs of a text; computed in workers, compared by the writer."""

    content_hash: str  # hex sha256 of the normalised text
    word_count: int  # words of the normalised text
    shingle_count: int  # distinct word 5-grams
    anchors: tuple[int, ...]  # sorted signed 64-bit shingle hashes that are 0 mod ANCHOR_MODULUS


@dataclass(frozen=True)
class DedupDecision:
    """A copy of something known (``match``), or new; ``note`` says why dedup was limited."""

    match: Match | None
    note: str | None = None


def _mix64(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    h = h ^ (h >> np.uint64(30))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(27))
    h = h * _MIX2
    return h ^ (h >> np.uint64(31))


def _shingle_hashes(words: Sequence[str]) -> npt.NDArray[np.uint64]:
    n = len(words) - SHINGLE_WORDS + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    # crc32 is a stable (unsalted) word hash; 32-bit collisions between two words only
    # merge a few shingles and cannot create a match on their own.
    w = np.fromiter(map(zlib.crc32, map(str.encode, words)), dtype=np.uint64, count=len(words))  # C-level loop
    h = np.zeros(n, dtype=np.uint64)
    for j in range(SHINGLE_WORDS):
        h = h * _POLY + w[j : j + n]
    return _mix64(h)


def fingerprint_text(text: str) -> Fingerprint:
    """Normalise ``text`` and compute its content hash, word count and anchors."""
    norm = normalize_for_comparison(text)
    words = _WORD.findall(norm)
    shingles = np.unique(_shingle_hashes(words))
    anchors = shingles[shingles % np.uint64(ANCHOR_MODULUS) == 0].view(np.int64)
    return Fingerprint(
        content_hash=hashlib.sha256(norm.encode()).hexdigest(),
        word_count=len(words),
        shingle_count=int(shingles.size),
        anchors=tuple(int(a) for a in np.sort(anchors)),
    )


def similarity(shared: int, anchors_a: int, anchors_b: int) -> tuple[float, float]:
    """Estimated (Jaccard, containment of the smaller in the larger) from anchor counts."""
    if shared <= 0 or anchors_a <= 0 or anchors_b <= 0:
        return 0.0, 0.0
    jaccard = shared / (anchors_a + anchors_b - shared)
    return jaccard, min(1.0, shared / min(anchors_a, anchors_b))


def classify(
    shared: int, anchors: tuple[int, int], shingles: tuple[int, int]
) -> tuple[DuplicateKind, float] | None:
    """near / contained / no match for one pair, from shared anchors and sizes."""
    if shared < MIN_SHARED_ANCHORS:
        return None
    jaccard, contained = similarity(shared, *anchors)
    size_ratio = min(shingles) / max(max(shingles), 1)
    if size_ratio < SAME_SIZE_RATIO and contained >= CONTAINMENT:
        return "contained", round(contained, 4)
    if jaccard >= NEAR_JACCARD:
        return "near", round(jaccard, 4)
    return None


@dataclass(frozen=True)
class Hit:
    """One stored text a new text matches, with how."""

    doc_id: str
    kind: DuplicateKind
    similarity: float
    #: The share of the new text's anchors the stored text shares: how much of the new
    #: text it makes up (1.0 for url and exact).
    coverage: float = 1.0



def _cover_rank(coverage: float) -> tuple[bool, float]:
    """Texts that make up most of the new one first, as equals; then by the part they cover."""
    most = coverage >= CONTAINMENT - 1e-9
    return (not most, 0.0 if most else -coverage)


def match_rank(kind: DuplicateKind, similarity: float, coverage: float) -> tuple[bool, float, int, float]:
    """Sort key of the matches of one text, best first: one that makes up most of it (see
    the module's docstring), then the strongest kind, then the highest similarity. Used
    for stored matches and for the writer's batch alike."""
    return (*_cover_rank(coverage), _KIND_RANK[kind], -similarity)


def _hit_rank(hit: Hit) -> tuple[bool, float, int, float]:
    return match_rank(hit.kind, hit.similarity, hit.coverage)


def decide_among(
    hits: list[Hit],
    published_at: datetime | None,
    roots: dict[str, str],
    info: dict[str, tuple[str | None, datetime | None]],
) -> DedupDecision:
    """The decision for one text from its hits, their roots and the roots' kind and date."""
    # One story per root: its best hit (most of the new text, strongest kind, highest similarity).
    best: dict[str, Hit] = {}
    for h in hits:
        root = roots[h.doc_id]
        cur = best.get(root)
        if cur is None or _hit_rank(h) < _hit_rank(cur):
            best[root] = h
    far_future = datetime.max.replace(tzinfo=UTC)

    def order(root: str) -> tuple[bool, float, int, datetime, str]:
        kind, published = info.get(root, (None, None))
        return (*_cover_rank(best[root].coverage), 0 if kind == "reference" else 1, published or far_future, root)

    root = min(best, key=order)
    hit = best[root]
    root_published = info.get(root, (None, None))[1]
    note = None
    if published_at is not None and root_published is not None:
        if published_at.tzinfo is None:
            published_at = published_at.replace(tzinfo=UTC)  # the warehouse stores UTC
        if published_at < root_published:
            note = (
                f"published before its match {root} ({root_published.isoformat()}): "
                "the stored one may be the copy"
            )
    return DedupDecision(Match(duplicate_of=root, kind=hit.kind, similarity=hit.similarity), note)
