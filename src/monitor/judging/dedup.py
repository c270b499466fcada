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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import numpy.typing as npt

from monitor.models import DuplicateKind, Match
from monitor.normalize import normalize_for_comparison
from monitor.store import insert_columns

__all__ = [
    "ANCHOR_MODULUS",
    "CONTAINMENT",
    "MIN_SHARED_ANCHORS",
    "MIN_WORDS_FOR_SIMILARITY",
    "NEAR_JACCARD",
    "SAME_SIZE_RATIO",
    "SHINGLE_WORDS",
    "DedupDecision",
    "DedupIndex",
    "Fingerprint",
    "classify",
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
#: dedup_anchors, as insert_columns wants them.
_ANCHOR_COLUMNS = (("anchor", "BIGINT"), ("doc_key", "INTEGER"))

# Polynomial combination of word hashes, then the splitmix64 finaliser so that the
# low bits (used for sampling) are uniform.
_POLY = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_KIND_RANK: dict[DuplicateKind, int] = {"url": 0, "exact": 1, "near": 2, "contained": 3}
_MAX_ROOT_HOPS = 16


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
class _Hit:
    doc_id: str
    kind: DuplicateKind
    similarity: float
    #: The share of the new text's anchors the stored text shares: how much of the new
    #: text it makes up (1.0 for url and exact).
    coverage: float = 1.0


class DedupIndex:
    """The warehouse-backed index of every known text (references and articles)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    # -- writing -------------------------------------------------------------------

    def add(self, doc_id: str, fingerprint: Fingerprint) -> None:
        """Index a saved document (copies too, so later copies of a copy find the root)."""
        self.add_many([(doc_id, fingerprint)])

    def add_many(self, items: Iterable[tuple[str, Fingerprint]], *, new: bool = False) -> int:
        """Index many saved documents in two statements; re-adding an id replaces it.

        ``new=True`` promises that no id is indexed yet (the writer's new articles), which
        saves the lookup for old rows to replace.
        """
        batch = list(items)
        if not batch:
            return 0
        ids = [doc_id for doc_id, _ in batch]
        if len(set(ids)) != len(ids):
            # DuckDB keeps only the first of duplicate keys in one statement: keep the last.
            batch = list({doc_id: fp for doc_id, fp in batch}.items())
            ids = [doc_id for doc_id, _ in batch]
        if not new:
            self._remove(ids)
        rows = self.con.execute(
            """
            INSERT INTO dedup_docs
            SELECT nextval('dedup_doc_key'), d.doc_id, d.content_hash, d.word_count,
                   d.shingle_count, d.anchor_count, $now
            FROM (SELECT unnest($ids::VARCHAR[]) AS doc_id, unnest($hashes::VARCHAR[]) AS content_hash,
                         unnest($words::INTEGER[]) AS word_count, unnest($shingles::INTEGER[]) AS shingle_count,
                         unnest($anchors::INTEGER[]) AS anchor_count) d
            RETURNING doc_id, doc_key
            """,
            {
                "ids": ids,
                "hashes": [fp.content_hash for _, fp in batch],
                "words": [fp.word_count for _, fp in batch],
                "shingles": [fp.shingle_count for _, fp in batch],
                "anchors": [len(_indexed_anchors(fp)) for _, fp in batch],
                "now": datetime.now(UTC),
            },
        ).fetchall()
        keys = dict(rows)
        anchor_col: list[int] = []
        key_col: list[int] = []
        for doc_id, fp in batch:
            anchors = _indexed_anchors(fp)
            anchor_col.extend(anchors)
            key_col.extend([keys[doc_id]] * len(anchors))
        if anchor_col:
            insert_columns(self.con, "dedup_anchors", _ANCHOR_COLUMNS,
                           [np.array(anchor_col, dtype=np.int64), np.array(key_col, dtype=np.int32)])
        return len(batch)

    def _remove(self, ids: list[str]) -> None:
        old = self.con.execute(
            "SELECT doc_key FROM dedup_docs WHERE doc_id = ANY($1::VARCHAR[])", [ids]
        ).fetchall()
        if old:
            old_keys = [k for (k,) in old]
            self.con.execute("DELETE FROM dedup_anchors WHERE doc_key = ANY($1::INTEGER[])", [old_keys])
            self.con.execute("DELETE FROM dedup_docs WHERE doc_key = ANY($1::INTEGER[])", [old_keys])

    def index_missing(self) -> int:
        """Fingerprint and index every ``articles`` row (references included) not yet indexed."""
        rows = self.con.execute(
            """
            SELECT a.id, coalesce(a.text, '') FROM articles a
            WHERE NOT EXISTS (SELECT 1 FROM dedup_docs d WHERE d.doc_id = a.id)
            ORDER BY a.id
            """
        ).fetchall()
        return self.add_many((doc_id, fingerprint_text(text)) for doc_id, text in rows)

    # -- reading -------------------------------------------------------------------

    def check(
        self,
        *,
        canonical_url: str | None,
        fingerprint: Fingerprint,
        published_at: datetime | None = None,
    ) -> DedupDecision:
        """Decide whether a new text copies a stored one (read only; does not index it)."""
        if canonical_url:
            found = self.con.execute(
                "SELECT id FROM articles WHERE canonical_url = $1", [canonical_url]
            ).fetchall()
            if found:
                return self._decide([_Hit(found[0][0], "url", 1.0)], published_at)
        fp = fingerprint
        if fp.word_count == 0:
            return DedupDecision(None, "empty text: only the canonical URL was compared")
        same = self.con.execute(
            "SELECT id FROM articles WHERE content_hash = $1", [fp.content_hash]
        ).fetchall()
        if same:
            return self._decide([_Hit(doc_id, "exact", 1.0) for (doc_id,) in same], published_at)
        if fp.word_count < MIN_WORDS_FOR_SIMILARITY:
            return DedupDecision(
                None,
                f"too short for near/contained ({fp.word_count} words < "
                f"{MIN_WORDS_FOR_SIMILARITY}): only url and exact compared",
            )
        if len(fp.anchors) < MIN_SHARED_ANCHORS:
            return DedupDecision(
                None,
                f"too few anchors for near/contained ({len(fp.anchors)} < "
                f"{MIN_SHARED_ANCHORS}): only url and exact compared",
            )
        return self._decide(self._similar_many([fp])[0], published_at)

    def _decide(self, hits: list[_Hit], published_at: datetime | None) -> DedupDecision:
        if not hits:
            return DedupDecision(None)
        roots = self._roots([h.doc_id for h in hits])
        info = self._root_info(sorted(set(roots.values())))
        return _decide_among(hits, published_at, roots, info)

    def check_many(
        self, items: Sequence[tuple[Fingerprint, datetime | None]], *, skip_roots: Sequence[str] = ()
    ) -> list[DedupDecision]:
        """``check`` for a batch (content levels only: exact, near, contained), in a few queries.

        Same decisions as calling ``check(canonical_url=None, ...)`` for each item against
        what is stored; items are not compared with each other (the writer does that).
        ``skip_roots``, one per item when given: a story whose stored text is being
        replaced is not a match for its own new text, nor are its copies.
        """
        decisions: list[DedupDecision | None] = [None] * len(items)
        hashes = sorted({fp.content_hash for fp, _ in items if fp.word_count > 0})
        exact: dict[str, list[str]] = {}
        if hashes:
            for h, doc_id in self.con.execute(
                f"SELECT content_hash, id FROM articles WHERE content_hash IN ({_sql_strings(hashes)})"
            ).fetchall():
                exact.setdefault(h, []).append(doc_id)
        hits: list[list[_Hit]] = [[] for _ in items]
        similar_wanted: list[int] = []
        skip: list[str | None] = [*skip_roots] or [None] * len(items)
        exact_roots = self._roots(sorted({d for ids in exact.values() for d in ids})) if skip_roots and exact else {}
        for i, (fp, _) in enumerate(items):
            same = [d for d in exact.get(fp.content_hash, ()) if skip[i] is None or exact_roots[d] != skip[i]]
            if fp.word_count == 0:
                decisions[i] = DedupDecision(None, "empty text: only the canonical URL was compared")
            elif same:
                hits[i] = [_Hit(d, "exact", 1.0) for d in same]
            elif fp.word_count < MIN_WORDS_FOR_SIMILARITY:
                decisions[i] = DedupDecision(None, f"too short for near/contained ({fp.word_count} words < "
                                             f"{MIN_WORDS_FOR_SIMILARITY}): only url and exact compared")
            elif len(fp.anchors) < MIN_SHARED_ANCHORS:
                decisions[i] = DedupDecision(None, f"too few anchors for near/contained ({len(fp.anchors)} < "
                                             f"{MIN_SHARED_ANCHORS}): only url and exact compared")
            else:
                similar_wanted.append(i)
        if similar_wanted:
            for i, found in zip(similar_wanted, self._similar_many([items[i][0] for i in similar_wanted]),
                                strict=True):
                hits[i] = found
        all_ids = sorted({h.doc_id for hs in hits for h in hs})
        roots = self._roots(all_ids) if all_ids else {}
        if skip_roots:
            hits = [[h for h in hs if roots[h.doc_id] != skip[i]] for i, hs in enumerate(hits)]
        info = self._root_info(sorted(set(roots.values()))) if roots else {}
        return [
            decisions[i] or (_decide_among(hits[i], items[i][1], roots, info) if hits[i] else DedupDecision(None))
            for i in range(len(items))
        ]

    def _similar_many(self, fps: list[Fingerprint]) -> list[list[_Hit]]:
        """near/contained hits of each fingerprint, shared anchors counted inside DuckDB.

        Postings used to come back to Python as (anchor, doc_key) rows and be counted
        in dicts. Where stories share paragraphs (wire copy, seed-derived text), a batch
        of 200 matched ~200k postings at 5k stored articles, growing with the
        warehouse: that list was the import's memory peak and most of its slowdown. Now
        DuckDB joins the postings with the batch's own (document, anchor) pairs, counts,
        and keeps only pairs that the thresholds could accept (a loose superset of
        ``classify``, which still gives the verdict on the few rows that come back).
        """
        owners = [i for i, fp in enumerate(fps) for _ in fp.anchors]
        owned = [a for fp in fps for a in fp.anchors]
        rows = self.con.execute(
            """
            WITH batch AS (
                SELECT unnest($owners::INTEGER[]) AS idx, unnest($owned::BIGINT[]) AS anchor
            ),
            queries AS (
                SELECT unnest($indexes::INTEGER[]) AS idx, unnest($sizes::INTEGER[]) AS anchor_count,
                       unnest($shingles::INTEGER[]) AS shingle_count
            ),
            shared AS (
                SELECT b.idx, p.doc_key, count(*) AS n
                FROM dedup_anchors p JOIN batch b ON b.anchor = p.anchor
                GROUP BY b.idx, p.doc_key
                HAVING count(*) >= $min_shared
            )
            SELECT s.idx, d.doc_id, s.n, d.anchor_count, d.shingle_count
            FROM shared s
            JOIN queries q ON q.idx = s.idx
            JOIN dedup_docs d ON d.doc_key = s.doc_key
            WHERE d.word_count >= $min_words
              AND (
                s.n / (q.anchor_count + d.anchor_count - s.n) >= $near - 1e-9
                OR (least(q.shingle_count, d.shingle_count) / greatest(q.shingle_count, d.shingle_count, 1)
                        < $same_size + 1e-9
                    AND s.n / least(q.anchor_count, d.anchor_count) >= $contained - 1e-9)
              )
            """,
            {
                "owners": owners,
                "owned": owned,
                "indexes": list(range(len(fps))),
                "sizes": [len(fp.anchors) for fp in fps],
                "shingles": [fp.shingle_count for fp in fps],
                "min_shared": MIN_SHARED_ANCHORS,
                "min_words": MIN_WORDS_FOR_SIMILARITY,
                "near": NEAR_JACCARD,
                "same_size": SAME_SIZE_RATIO,
                "contained": CONTAINMENT,
            },
        ).fetchall()
        out: list[list[_Hit]] = [[] for _ in fps]
        for idx, doc_id, shared, stored_anchors, stored_shingles in rows:
            fp = fps[idx]
            verdict = classify(
                int(shared), (len(fp.anchors), int(stored_anchors)), (fp.shingle_count, int(stored_shingles))
            )
            if verdict is not None:
                out[idx].append(_Hit(doc_id, verdict[0], verdict[1], int(shared) / len(fp.anchors)))
        for found in out:
            found.sort(key=lambda h: h.doc_id)  # SQL rows come in no set order
        return out

    def _roots(self, doc_ids: list[str]) -> dict[str, str]:
        """Map each id to its canonical root by following articles.duplicate_of."""
        roots = {d: d for d in doc_ids}
        for _ in range(_MAX_ROOT_HOPS):
            frontier = sorted(set(roots.values()))
            parents = dict(
                self.con.execute(
                    "SELECT id, duplicate_of FROM articles WHERE id = ANY($1::VARCHAR[]) "
                    "AND duplicate_of IS NOT NULL AND duplicate_of <> id",
                    [frontier],
                ).fetchall()
            )
            if not parents:
                break
            roots = {d: parents.get(r, r) for d, r in roots.items()}
        return roots

    def _root_info(self, roots: list[str]) -> dict[str, tuple[str | None, datetime | None]]:
        rows = self.con.execute(
            "SELECT id, kind, published_at FROM articles WHERE id = ANY($1::VARCHAR[])", [roots]
        ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}


def _indexed_anchors(fp: Fingerprint) -> tuple[int, ...]:
    # A stored text too short to compare gets no anchors: otherwise every longer
    # article that repeats it would be "contained" around it.
    return fp.anchors if fp.word_count >= MIN_WORDS_FOR_SIMILARITY else ()


def _sql_strings(values: Iterable[str]) -> str:
    """A literal SQL list of hex digests (validated: nothing but hex reaches the SQL text)."""
    out = []
    for v in values:
        if not _HEX.fullmatch(v):
            raise ValueError(f"not a hex digest: {v!r}")
        out.append(f"'{v}'")
    return ",".join(out)


_HEX = re.compile(r"[0-9a-f]{1,128}")


def _cover_rank(coverage: float) -> tuple[bool, float]:
    """Texts that make up most of the new one first, as equals; then by the part they cover."""
    most = coverage >= CONTAINMENT - 1e-9
    return (not most, 0.0 if most else -coverage)


def match_rank(kind: DuplicateKind, similarity: float, coverage: float) -> tuple[bool, float, int, float]:
    """Sort key of the matches of one text, best first: one that makes up most of it (see
    the module's docstring), then the strongest kind, then the highest similarity. Used
    for stored matches and for the writer's batch alike."""
    return (*_cover_rank(coverage), _KIND_RANK[kind], -similarity)


def _hit_rank(hit: _Hit) -> tuple[bool, float, int, float]:
    return match_rank(hit.kind, hit.similarity, hit.coverage)


def _decide_among(
    hits: list[_Hit],
    published_at: datetime | None,
    roots: dict[str, str],
    info: dict[str, tuple[str | None, datetime | None]],
) -> DedupDecision:
    """The decision for one text from its hits, their roots and the roots' kind and date."""
    # One story per root: its best hit (most of the new text, strongest kind, highest similarity).
    best: dict[str, _Hit] = {}
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
