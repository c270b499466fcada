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

Anchors only *propose* (issue 26: on a real wire corpus, 10 marks existed only because
the sampled estimate ran high). Every candidate is then *verified* on the full shingle
sets, kept compactly in the warehouse (``Fingerprint.shingles``: the sorted 32-bit tops
of every shingle hash, ~4 bytes a word), against the candidate's *root* itself, so no
chain of partial overlaps joins texts that do not overlap enough themselves. What a mark
records is exact: Jaccard, and containment both ways (``Overlap``). On that:

- A text is a copy of a root only if the two share Jaccard >= ``NEAR_JACCARD`` or the
  text is mostly inside the root (containment >= ``CONTAINMENT``). A text that merely
  embeds a shorter stored one (a roundup or a commentary around a brief) is not its
  copy: that is a *quotation* (``Quote``).
- The root is chosen by verified similarity first (``max(Jaccard, containment)``, ties
  within ``SIMILARITY_TIE``), then a reference text, then the earliest published.
- Pages that are not stories never become roots (``page_kind``): galleries and live
  pages (templated or time-stamped blocks), compilations (a new text made of parts of
  two or more stored stories), and, for a text that is only a small part of them,
  snippet pages (many short blocks that do not continue each other: aggregators).
- Shingles an outlet repeats across its own articles (background paragraphs, a
  disclaimer) weigh ``BOILERPLATE_WEIGHT`` when deciding a copy between two of its
  articles; the recorded overlap stays the plain exact one.
"""

from __future__ import annotations

import hashlib
import re
import statistics
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from monitor.models import DuplicateKind, Match
from monitor.reading.normalize import normalize_for_comparison

__all__ = [
    "ANCHOR_MODULUS",
    "BOILERPLATE_ARTICLES",
    "BOILERPLATE_WEIGHT",
    "COMPILATION_PART",
    "CONTAINMENT",
    "MIN_SHARED_ANCHORS",
    "MIN_WORDS_FOR_SIMILARITY",
    "NEAR_JACCARD",
    "QUOTED_SHARE",
    "SAME_SIZE_RATIO",
    "SHINGLE_WORDS",
    "SIMILARITY_TIE",
    "SNIPPET_SHARE",
    "DedupDecision",
    "Fingerprint",
    "Hit",
    "Overlap",
    "PageKind",
    "Quote",
    "classify",
    "decide_among",
    "decode_shingles",
    "distinct_parts",
    "fingerprint_text",
    "is_compilation",
    "judge_overlap",
    "match_rank",
    "measure_overlap",
    "page_kind",
    "quote_between",
    "rank_roots",
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

#: Root ranking: verified similarities this close are equals (an editor's pass moves
#: Jaccard by a few hundredths), so a reference text or the earlier story wins among them.
SIMILARITY_TIE = 0.05
#: A stored text at least this much inside the new one (and not its copy) is quoted by
#: it: a roundup or a commentary that embeds a brief.
QUOTED_SHARE = CONTAINMENT
#: A new text of which two or more stored stories each make up at least this share (and
#: none most of it) is a compilation: a roundup, a digest page. It is never a root.
COMPILATION_PART = 0.15
#: A text that makes up less than this share of a snippet page (an aggregator of short
#: blocks) is one of its snippets, quoted by the page, not a copy of it. 0.2: an
#: aggregator's item is a lead of 60 words in a page of ~900 (0.07); a teaser of 30% of
#: a real article with short paragraphs (which may look like a snippet page) stays a copy.
SNIPPET_SHARE = 0.2
#: A listing is never a root, except of its own near-verbatim copy (the same gallery or
#: live page republished): Jaccard at least this.
LISTING_TWIN_JACCARD = 0.8
#: A shingle found in at least this many other stored articles of the same outlet is its
#: boilerplate (background paragraphs, disclaimers): two texts need not share it to be
#: two stories, so it counts for ``BOILERPLATE_WEIGHT`` of a shingle between them. Two,
#: so that an outlet's single update of its own story (one other article) is unaffected.
BOILERPLATE_ARTICLES = 2
#: 0.2: an outlet's 70-word item over 160 words of its background (the benchmark's
#: family) drops from containment ~0.7 to ~0.35 against another item.
BOILERPLATE_WEIGHT = 0.2

_WORD = re.compile(r"[^\W_]+")
#: ``_WORD``'s words, found without it (a regex scan costs ~25 ns a character; this, a
#: few): the non-ASCII characters that are not word characters become spaces, then the
#: text's UTF-8 bytes go through a table that turns the ASCII ones into spaces (newlines
#: kept, so lines stay lines); a split then gives the words. Same characters as ``_WORD``:
#: both are sre's ``\w`` (str.isalnum) without the underscore.
_NON_ASCII_NON_WORD = re.compile(r"[^\x00-\x7f\w]")
_ASCII_NON_WORD_TO_SPACE = bytes(
    b if b >= 0x80 or b == ord("\n") or chr(b).isalnum() else ord(" ") for b in range(256)
)
#: Pages: many blocks of a template (a gallery's "Photo 3 of 12 ... (credit)") or of a
#: time stamp (a live page's "14:05 ...").
_TIME_STAMP = re.compile(r"^\s*(\d{1,2}[:.]\d{2}|\d{1,2}\s*(am|pm))\b", re.IGNORECASE)
_PAGE_MIN_BLOCKS = 8  # fewer blocks are a short story, whatever their form
_TEMPLATED_SHARE = 0.6  # blocks that start (or end) with the same word: a gallery's captions
_TIMED_SHARE = 0.3  # blocks that start with a time: a live page
_SNIPPET_MIN_BLOCKS = 12  # an aggregator shows a dozen items or more
_SNIPPET_MAX_MEDIAN_WORDS = 45  # an item is a headline and a sentence or two
#: Share of neighbouring blocks sharing a word of 5+ letters (a name, a place): a story's
#: paragraphs continue each other (most real articles >= 0.35), snippets of many stories do not.
_SNIPPET_MAX_COHESION = 0.3

PageKind = Literal["story", "listing", "snippets"]

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
    #: Every shingle, for verification: sorted distinct top 32 bits of the hashes, as bytes
    #: (little-endian uint32). Two sets of ~1000 share a false 32-bit value with odds ~1e-4.
    shingles: bytes = b""
    page: PageKind = "story"  # see page_kind


@dataclass(frozen=True)
class Overlap:
    """Exact overlap of a new text with a stored one, on their full shingle sets."""

    shared: int
    jaccard: float
    containment: float  # share of the new text inside the stored one
    other_containment: float  # share of the stored text inside the new one


@dataclass(frozen=True)
class Quote:
    """A quotation link: ``quoting`` embeds a passage of ``quoted`` and is not its copy."""

    quoting: str
    quoted: str
    quoted_share: float  # share of the quoted text inside the quoting one
    quoting_share: float  # share of the quoting text that the quoted one makes up
    shared: int = 0  # shingles in common


@dataclass(frozen=True)
class DedupDecision:
    """A copy of something known (``match``), or new; ``note`` says why dedup was limited."""

    match: Match | None
    note: str | None = None
    #: The verified overlap with the root (None for url matches and new stories). Not part
    #: of the decision's equality: two decisions are the same when their marks are.
    overlap: Overlap | None = field(default=None, compare=False)
    #: Quotation links with stored texts; ``""`` stands for this (not yet saved) text.
    quotes: tuple[Quote, ...] = field(default=(), compare=False)
    #: The text turned out to be a compilation of stored stories: never a root.
    compilation: bool = field(default=False, compare=False)


def _mix64(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    h = h ^ (h >> np.uint64(30))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(27))
    h = h * _MIX2
    return h ^ (h >> np.uint64(31))


def _word_bytes(text: str) -> bytes:
    """``text`` in UTF-8 with every character that ``_WORD`` does not take as a space
    (newlines kept): ``.split()`` gives ``_WORD.findall(text)``, encoded."""
    if not text.isascii():  # O(1); normalised text mostly is
        text = _NON_ASCII_NON_WORD.sub(" ", text)
    return text.encode().translate(_ASCII_NON_WORD_TO_SPACE)


def _shingle_hashes(words: Sequence[bytes]) -> npt.NDArray[np.uint64]:
    n = len(words) - SHINGLE_WORDS + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    # crc32 is a stable (unsalted) word hash (of the UTF-8 word); 32-bit collisions
    # between two words only merge a few shingles and cannot create a match on their own.
    w = np.fromiter(map(zlib.crc32, words), dtype=np.uint64, count=len(words))  # C-level loop
    h = np.zeros(n, dtype=np.uint64)
    for j in range(SHINGLE_WORDS):
        h = h * _POLY + w[j : j + n]
    return _mix64(h)


def _distinct_sorted(a: npt.NDArray[np.uint64] | npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    """Mask of the first of each run of equal values in sorted ``a``: ``a[mask]`` is
    ``np.unique(a)`` (which costs ~20x a sort on an article's ~700 values: numpy 2's
    unique is hash-based, then sorts)."""
    mask = np.ones(a.size, dtype=np.bool_)
    np.not_equal(a[1:], a[:-1], out=mask[1:])
    return mask


def fingerprint_text(text: str) -> Fingerprint:
    """Normalise ``text`` and compute its content hash, word count, anchors and shingles."""
    norm = normalize_for_comparison(text)
    words = _word_bytes(norm).split()
    shingles = np.sort(_shingle_hashes(words))
    shingles = shingles[_distinct_sorted(shingles)]
    anchors = shingles[shingles % np.uint64(ANCHOR_MODULUS) == 0].view(np.int64)
    tops = (shingles >> np.uint64(32)).astype(np.uint32)  # sorted already, as the shingles
    return Fingerprint(
        content_hash=hashlib.sha256(norm.encode()).hexdigest(),
        word_count=len(words),
        shingle_count=int(shingles.size),
        anchors=tuple(np.sort(anchors).tolist()),
        shingles=tops[_distinct_sorted(tops)].astype("<u4").tobytes(),
        page=page_kind(text),
    )


def decode_shingles(blob: bytes | None) -> npt.NDArray[np.uint32]:
    """A stored shingle set (``Fingerprint.shingles``) as a sorted array."""
    return np.frombuffer(blob or b"", dtype="<u4").astype(np.uint32)


def page_kind(text: str) -> PageKind:
    """``listing`` (a gallery, a live page), ``snippets`` (an aggregator) or ``story``.

    From the text's blocks (lines) alone, so it works on feed text and kept pages alike.
    A listing is never a root; a snippet page is not the root of a text that is only a
    small part of it (``SNIPPET_SHARE``). Measured on Zyte's 181 real articles: 1 is a
    listing (a list of one-line entries); the real articles that look like snippet pages
    (short, loosely linked paragraphs) still take copies that are more than a snippet.
    """
    lines = text.split("\n")
    blocks = [b for b in (line.strip() for line in lines) if b]
    if len(blocks) < _PAGE_MIN_BLOCKS:
        return "story"
    # Each block's _WORD.findall(block.lower()), lower-casing the text at once: only a
    # final sigma's case depends on its neighbours, never across a line break or a space.
    # Kept as each block's words joined by spaces: only its first and last are needed,
    # unless it may be a snippet page (splitting every word was 40% of this function).
    spaced = [s for line, s in zip(lines, _word_bytes(text.lower()).decode().split("\n"), strict=True)
              if line.strip()]
    n = len(blocks)
    firsts = Counter(w[0] for w in (s.split(None, 1) for s in spaced) if w)
    lasts = Counter(w[-1] for w in (s.rsplit(None, 1) for s in spaced) if w)
    templated = max(firsts.most_common(1)[0][1] if firsts else 0, lasts.most_common(1)[0][1] if lasts else 0)
    if templated >= _TEMPLATED_SHARE * n or sum(bool(_TIME_STAMP.match(b)) for b in blocks) >= _TIMED_SHARE * n:
        return "listing"
    if n < _SNIPPET_MIN_BLOCKS:
        return "story"
    words = [s.split() for s in spaced]
    if statistics.median(len(w) for w in words) <= _SNIPPET_MAX_MEDIAN_WORDS:
        names = [{x for x in w if len(x) >= 5} for w in words]
        linked = sum(bool(names[i] & names[i + 1]) for i in range(n - 1))
        if linked <= _SNIPPET_MAX_COHESION * (n - 1):
            return "snippets"
    return "story"


def measure_overlap(
    new: npt.NDArray[np.uint32],
    other: npt.NDArray[np.uint32],
    boilerplate: npt.NDArray[np.uint32] | None = None,
) -> tuple[Overlap, Overlap]:
    """(exact, weighted) overlap of two shingle sets; ``weighted`` counts the shingles in
    ``boilerplate`` (sorted) for ``BOILERPLATE_WEIGHT`` each, and is ``exact`` without it."""
    shared = np.intersect1d(new, other, assume_unique=True)
    exact = _overlap(float(shared.size), float(new.size), float(other.size), int(shared.size))
    if boilerplate is None or not boilerplate.size or not shared.size:
        return exact, exact
    lose = 1.0 - BOILERPLATE_WEIGHT

    def weight(a: npt.NDArray[np.uint32]) -> float:
        return float(a.size) - lose * float(np.isin(a, boilerplate, assume_unique=True).sum())

    return exact, _overlap(weight(shared), weight(new), weight(other), int(shared.size))


def _overlap(shared: float, new: float, other: float, count: int) -> Overlap:
    if shared <= 0 or new <= 0 or other <= 0:
        return Overlap(count, 0.0, 0.0, 0.0)
    return Overlap(count, round(shared / (new + other - shared), 4), round(min(1.0, shared / new), 4),
                   round(min(1.0, shared / other), 4))


def judge_overlap(
    overlap: Overlap, shingles: tuple[int, int], other_page: PageKind = "story"
) -> tuple[DuplicateKind, float] | None:
    """Is the new text a copy of the stored one, on their verified overlap?

    A copy shares Jaccard >= ``NEAR_JACCARD`` with it or is mostly inside it (its own
    containment >= ``CONTAINMENT``): the issue's bar, on exact sets. A text that holds a
    stored one whole but is over two and a half times as long (a roundup, a commentary around a
    brief) is neither: it quotes it. Its kind: ``contained`` when the sizes differ
    (a teaser, an excerpt, a story republished with additions), with the containment of
    the shorter in the longer as similarity; else ``near``, with Jaccard. Never under a
    listing (unless its near-verbatim twin), nor under a snippet page it is only a small
    part of.
    """
    if other_page == "listing" and overlap.jaccard < LISTING_TWIN_JACCARD:
        return None
    if other_page == "snippets" and overlap.other_containment < SNIPPET_SHARE:
        return None
    if overlap.jaccard < NEAR_JACCARD and overlap.containment < CONTAINMENT:
        return None
    new_size, other_size = shingles
    if min(shingles) / max(max(shingles), 1) < SAME_SIZE_RATIO:
        smaller_inside = overlap.containment if new_size <= other_size else overlap.other_containment
        if smaller_inside >= CONTAINMENT:
            return "contained", smaller_inside
    if overlap.jaccard >= NEAR_JACCARD:
        return "near", overlap.jaccard
    return "contained", overlap.containment


def distinct_parts(new: npt.NDArray[np.uint32], others: Sequence[npt.NDArray[np.uint32]]) -> int:
    """How many of ``others`` each make up ``COMPILATION_PART`` of ``new`` with shingles
    no larger part already covers: two stored texts sharing one passage with ``new`` (a
    brief, and a roundup that quotes it) are one part, not two."""
    # Each shared part as its positions in ``new`` (it is inside it), what is covered as a
    # mask over ``new``: the fresh share of a part is then an index, not a set difference
    # (~40% of this function's time on the writer's compilations).
    shared = sorted((np.searchsorted(new, np.intersect1d(new, o, assume_unique=True)) for o in others),
                    key=lambda a: -a.size)
    covered = np.zeros(new.size, dtype=np.bool_)
    count = 0
    for part in shared:
        if part.size - np.count_nonzero(covered[part]) >= COMPILATION_PART * max(new.size, 1):
            count += 1
            covered[part] = True
    return count


def is_compilation(parts: int, most: float) -> bool:
    """A text that two stored stories or more each make up ``COMPILATION_PART`` of, and
    none ``CONTAINMENT`` (most of it), is a compilation: a roundup, a digest page."""
    return parts >= 2 and most < CONTAINMENT


def quote_between(overlap: Overlap, other: str, *, compilation_part: bool = False) -> Quote | None:
    """The quotation link between a new text (``""``) and ``other``, from their exact
    overlap, when neither is the other's copy: the new text embeds most of ``other`` (or,
    being a compilation, a part of it), or ``other`` embeds most of the new text."""
    if overlap.other_containment >= QUOTED_SHARE or (compilation_part and overlap.containment >= COMPILATION_PART):
        return Quote("", other, overlap.other_containment, overlap.containment, overlap.shared)
    if overlap.containment >= QUOTED_SHARE:
        return Quote(other, "", overlap.containment, overlap.other_containment, overlap.shared)
    return None


def rank_roots(similarity: float, reference: bool, published: datetime | None, doc_id: str) -> tuple[float, int, datetime, str]:
    """Sort key of candidate roots, best first: verified similarity (ties within
    ``SIMILARITY_TIE``), then a reference text, then the earliest published."""
    far_future = datetime.max.replace(tzinfo=UTC)
    return (-round(similarity / SIMILARITY_TIE), 0 if reference else 1, published or far_future, doc_id)


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
    #: The share of the new text the stored text makes up (1.0 for url and exact).
    coverage: float = 1.0
    #: The verified overlap (None for url and exact, and for anchor estimates).
    overlap: Overlap | None = None



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
    """The decision for one text from its hits, their roots and the roots' kind and date.

    Verified hits (``Hit.overlap``) are ranked by ``rank_roots``: the story the text is
    most like first, then a reference text, then the earliest published. Hits without a
    verified overlap (url, exact, or estimates) keep the older order: the one that makes
    up most of the text, then a reference, then the earliest.
    """
    # One story per root: its best hit (most of the new text, strongest kind, highest similarity).
    best: dict[str, Hit] = {}
    for h in hits:
        root = roots[h.doc_id]
        cur = best.get(root)
        if cur is None or _hit_rank(h) < _hit_rank(cur):
            best[root] = h
    far_future = datetime.max.replace(tzinfo=UTC)

    def order(root: str) -> tuple[object, ...]:
        kind, published = info.get(root, (None, None))
        hit = best[root]
        if hit.overlap is not None or hit.kind in ("url", "exact"):
            strength = 1.0 if hit.overlap is None else max(hit.overlap.jaccard, hit.overlap.containment)
            return (0, *rank_roots(strength, kind == "reference", published, root))
        return (1, *_cover_rank(hit.coverage), 0 if kind == "reference" else 1, published or far_future, root)

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
    return DedupDecision(Match(duplicate_of=root, kind=hit.kind, similarity=hit.similarity), note,
                         overlap=hit.overlap)
