"""The dedup index in the warehouse: every known text's anchors, and the checks against them.

What a copy *is* (fingerprints, similarity, which match wins) is decided in
``monitor.judging.dedup``, purely; this module keeps the postings those decisions read
(``dedup_anchors``, ``dedup_docs``) and runs the joins. It sits in storage because it
owns rows of the warehouse: judging never imports storage (the layer test says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import duckdb
import numpy as np
import numpy.typing as npt

from monitor.judging.dedup import (
    BOILERPLATE_ARTICLES,
    COMPILATION_PART,
    CONTAINMENT,
    MIN_SHARED_ANCHORS,
    MIN_WORDS_FOR_SIMILARITY,
    NEAR_JACCARD,
    QUOTED_SHARE,
    DedupDecision,
    Fingerprint,
    Hit,
    Overlap,
    PageKind,
    Quote,
    decide_among,
    decode_shingles,
    distinct_parts,
    fingerprint_text,
    is_compilation,
    judge_overlap,
    measure_overlap,
    quote_between,
)
from monitor.storage.store import claim_numbers, insert_columns, text_list, text_list_sql

__all__ = ["BOILERPLATE_WINDOW", "CANDIDATE_SLACK", "DedupIndex", "Known", "worth_verifying"]

#: dedup_anchors, as insert_columns wants them.
_ANCHOR_COLUMNS = (("anchor", "BIGINT"), ("doc_key", "INTEGER"))
#: The columns of dedup_docs and quotations the writer fills, typed (store.insert_columns:
#: arrays DuckDB scans in place, not list parameters converted value by value).
_DOC_COLUMNS = (("doc_key", "INTEGER"), ("doc_id", "VARCHAR"), ("content_hash", "VARCHAR"),
                ("word_count", "INTEGER"), ("shingle_count", "INTEGER"), ("anchor_count", "INTEGER"),
                ("indexed_at", "TIMESTAMPTZ"), ("shingles", "BLOB"), ("page", "VARCHAR"))
_QUOTE_COLUMNS = (("quoting_id", "VARCHAR"), ("quoted_id", "VARCHAR"), ("quoted_share", "DOUBLE"),
                  ("quoting_share", "DOUBLE"), ("shared_shingles", "INTEGER"), ("run_id", "VARCHAR"),
                  ("saved_at", "TIMESTAMPTZ"))
#: Copy chains are followed to their root at most this many hops (a cycle guard).
_MAX_ROOT_HOPS = 16
#: Anchors only propose: a stored text comes back for verification when its estimated
#: overlap reaches this share of a threshold. The estimate at ~50 anchors has a standard
#: error of ~0.06, so 0.7 of 0.4 / 0.6 lets through what the exact sets could accept.
CANDIDATE_SLACK = 0.7
#: The estimates a candidate must reach (one of them): Jaccard for a copy, the share of
#: the new text's anchors for a part of a compilation, the share of the candidate's for a
#: text the new one quotes.
_SCREEN_NEAR = NEAR_JACCARD * CANDIDATE_SLACK
_SCREEN_PART = COMPILATION_PART * CANDIDATE_SLACK
_SCREEN_QUOTED = min(CONTAINMENT, QUOTED_SHARE) * CANDIDATE_SLACK
#: An outlet's boilerplate is counted over its latest this many indexed articles: a few
#: weeks of a busy outlet, so a background paragraph in current use is seen, and one
#: check reads at most ~1 MB of shingles.
BOILERPLATE_WINDOW = 200
#: Texts checked against the stored ones at a time (``check_many``): what a check holds
#: (the pairs sharing anchors, the candidates' shingles) grows with the texts it checks;
#: the writer's batch (settings.SAVE_BATCH) is cut to this.
CHECK_CHUNK = 200


def worth_verifying(shared: int, new_anchors: int, other_anchors: int) -> bool:
    """Whether a text sharing ``shared`` of its ``other_anchors`` anchors with a new text of
    ``new_anchors`` is worth verifying against it: the screen of ``_candidates`` (there in
    SQL, for stored texts), for the texts of the writer's own batch."""
    return shared >= MIN_SHARED_ANCHORS and (
        shared / (new_anchors + other_anchors - shared) >= _SCREEN_NEAR
        or shared / new_anchors >= _SCREEN_PART
        or shared / other_anchors >= _SCREEN_QUOTED)


#: What is read of a stored article to follow copies to their root and rank roots:
#: its duplicate_of, kind and published_at.
_Facts = tuple[str | None, str | None, datetime | None]
#: The facts of an id that is not stored.
_NOT_STORED: _Facts = (None, None, None)


@dataclass(frozen=True)
class _Stored:
    """A candidate as the candidates query returns it."""

    known: Known
    parent: str | None  # its duplicate_of, when it is a copy
    kind: str | None
    published_at: datetime | None


@dataclass(frozen=True)
class Known:
    """A stored text as verification needs it: its shingle set, page kind and outlet."""

    shingles: npt.NDArray[np.uint32]
    page: PageKind
    source: str | None


class DedupIndex:
    """The warehouse-backed index of every known text (references and articles)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    # -- writing -------------------------------------------------------------------

    def add(self, doc_id: str, fingerprint: Fingerprint) -> None:
        """Index a saved document (copies too, so later copies of a copy find the root)."""
        self.add_many([(doc_id, fingerprint)])

    def add_many(self, items: Iterable[tuple[str, Fingerprint]], *, new: bool = False,
                 pages: Mapping[str, PageKind] | None = None) -> int:
        """Index many saved documents in two statements; re-adding an id replaces it.

        ``new=True`` promises that no id is indexed yet (the writer's new articles), which
        saves the lookup for old rows to replace. ``pages`` overrides a text's page kind
        (a compilation found by the writer is a listing). One row per doc_id and per
        doc_key is this method's job: the lake has no key to keep it.
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
        # Keys numbered here, after the largest: a lake has no sequence (and no RETURNING).
        first = claim_numbers(self.con, "dedup_docs", "doc_key", len(ids))
        keys = {doc_id: first + i for i, doc_id in enumerate(ids)}
        now = datetime.now(UTC)
        insert_columns(self.con, "dedup_docs", _DOC_COLUMNS, [
            [keys[doc_id] for doc_id in ids],
            ids,
            [fp.content_hash for _, fp in batch],
            [fp.word_count for _, fp in batch],
            [fp.shingle_count for _, fp in batch],
            [len(_indexed_anchors(fp)) for _, fp in batch],
            [now] * len(batch),
            [_indexed_shingles(fp) for _, fp in batch],
            [(pages or {}).get(doc_id, fp.page) for doc_id, fp in batch],
        ])
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
        source: str | None = None,
    ) -> DedupDecision:
        """Decide whether a new text copies a stored one (read only; does not index it)."""
        if canonical_url:
            found = self.con.execute(
                "SELECT id FROM articles WHERE canonical_url = $1", [canonical_url]
            ).fetchall()
            if found:
                return self._decide([Hit(found[0][0], "url", 1.0)], published_at)
        return self.check_many([(fingerprint, published_at)], sources=[source])[0]

    def _decide(self, hits: list[Hit], published_at: datetime | None) -> DedupDecision:
        if not hits:
            return DedupDecision(None)
        roots = self._roots([h.doc_id for h in hits])
        info = self._root_info(sorted(set(roots.values())))
        return decide_among(hits, published_at, roots, info)

    def check_many(
        self,
        items: Sequence[tuple[Fingerprint, datetime | None]],
        *,
        skip_roots: Sequence[str] = (),
        sources: Sequence[str | None] = (),
    ) -> list[DedupDecision]:
        """``check`` for a batch (content levels only: exact, near, contained), in a few queries.

        Same decisions as calling ``check(canonical_url=None, ...)`` for each item against
        what is stored; items are not compared with each other (the writer does that).
        ``skip_roots``, one per item when given: a story whose stored text is being
        replaced is not a match for its own new text, nor are its copies. ``sources``, one
        per item when given: the outlet, whose own boilerplate weighs less against its
        other articles.
        """
        decisions: list[DedupDecision | None] = [None] * len(items)
        hashes = sorted({fp.content_hash for fp, _ in items if fp.word_count > 0})
        exact: dict[str, list[str]] = {}
        # What is read of stored articles here (parent, kind, date), by id: each lookup
        # of ``articles`` costs ~10 ms on a lake, so none is read twice (``_roots``).
        facts: dict[str, _Facts] = {}
        if hashes:
            for h, doc_id, parent, kind, published in self.con.execute(
                "SELECT content_hash, id, duplicate_of, kind, published_at FROM articles "
                f"WHERE content_hash = ANY({text_list_sql('$1')})", [text_list(hashes)]
            ).fetchall():
                exact.setdefault(h, []).append(doc_id)
                facts[doc_id] = (parent, kind, published)
        hits: list[list[Hit]] = [[] for _ in items]
        similar_wanted: list[int] = []
        skip: list[str | None] = [*skip_roots] or [None] * len(items)
        outlets: list[str | None] = [*sources] or [None] * len(items)
        exact_roots = self._roots(sorted({d for ids in exact.values() for d in ids}), facts) \
            if skip_roots and exact else {}
        for i, (fp, _) in enumerate(items):
            same = [d for d in exact.get(fp.content_hash, ()) if skip[i] is None or exact_roots[d] != skip[i]]
            if fp.word_count == 0:
                decisions[i] = DedupDecision(None, "empty text: only the canonical URL was compared")
            elif same:
                hits[i] = [Hit(d, "exact", 1.0) for d in same]
            elif fp.word_count < MIN_WORDS_FOR_SIMILARITY:
                decisions[i] = DedupDecision(None, f"too short for near/contained ({fp.word_count} words < "
                                             f"{MIN_WORDS_FOR_SIMILARITY}): only url and exact compared")
            elif len(fp.anchors) < MIN_SHARED_ANCHORS:
                decisions[i] = DedupDecision(None, f"too few anchors for near/contained ({len(fp.anchors)} < "
                                             f"{MIN_SHARED_ANCHORS}): only url and exact compared")
            else:
                similar_wanted.append(i)
        verified: dict[int, tuple[list[Hit], tuple[Quote, ...], bool]] = {}
        roots: dict[str, str] = {}
        info: dict[str, tuple[str | None, datetime | None]] = {}
        with_sources = any(outlets[i] is not None for i in similar_wanted)
        # CHECK_CHUNK texts at a time: the candidates' shingles and the query's pairs are
        # held for one chunk, whatever the writer's batch.
        for lo in range(0, len(similar_wanted), CHECK_CHUNK):
            chunk = similar_wanted[lo:lo + CHECK_CHUNK]
            candidates, stored = self._candidates([items[i][0] for i in chunk], with_sources=with_sources)
            for doc_id, c in stored.items():
                if c.kind is not None:  # read from articles with the candidates
                    facts.setdefault(doc_id, (c.parent, c.kind, c.published_at))
            found_all = self._verify(
                [items[i][0] for i in chunk], candidates, stored,
                [skip[i] for i in chunk], [outlets[i] for i in chunk], facts)
            for i, result in zip(chunk, found_all, strict=True):
                verified[i] = result
                hits[i] = result[0]
                for h in result[0]:  # verified hits are roots already
                    roots[h.doc_id] = h.doc_id
                    if h.doc_id in stored:
                        info[h.doc_id] = (stored[h.doc_id].kind, stored[h.doc_id].published_at)
        exact_ids = sorted({h.doc_id for hs in hits for h in hs} - set(roots))
        roots.update(self._roots(exact_ids, facts) if exact_ids else {})
        if skip_roots:
            hits = [[h for h in hs if roots[h.doc_id] != skip[i]] for i, hs in enumerate(hits)]
        missing = sorted(set(roots.values()) - set(info))
        info.update(self._root_info(missing, facts) if missing else {})
        out = []
        for i in range(len(items)):
            decision = decisions[i] or (
                decide_among(hits[i], items[i][1], roots, info) if hits[i] else DedupDecision(None))
            if i in verified:
                _, quotes, compilation = verified[i]
                root = decision.match.duplicate_of if decision.match else None
                decision = replace(decision, quotes=tuple(q for q in quotes if root not in (q.quoting, q.quoted)),
                                   compilation=compilation and decision.match is None)
            out.append(decision)
        return out

    def _candidates(
        self, fps: list[Fingerprint], *, with_sources: bool
    ) -> tuple[list[list[str]], dict[str, _Stored]]:
        """Stored texts whose anchors suggest an overlap worth verifying, per fingerprint,
        and what verification needs of each (shingles, page, parent, kind, date, outlet).

        DuckDB joins the postings with the batch's own (document, anchor) pairs and counts
        (postings coming back to Python were the import's memory peak), then keeps the
        pairs whose estimate reaches ``CANDIDATE_SLACK`` of a threshold: a copy (Jaccard,
        containment of either), or a part of a compilation (``COMPILATION_PART`` of the new
        text). The estimate only proposes; ``_verify`` decides on the exact sets. What is
        needed of the candidates comes back in the same query (one round trip a batch).
        """
        # The batch's (document, anchor) pairs as typed arrays that DuckDB scans in place
        # (found by this local's name, as in ``insert_columns``): as list parameters each
        # of the ~30,000 anchors of a 200-document batch became a Python-converted value
        # (~5 us each; measured, 0.2 s of a batch). Same rows either way. Each text's
        # anchor count goes in so too.
        sizes = np.array([len(fp.anchors) for fp in fps], dtype=np.int64)
        _monitor_batch_anchors = {  # noqa: F841 - read by name inside the statement
            "idx": np.repeat(np.arange(len(fps), dtype=np.int32), sizes),
            "anchor": np.fromiter((a for fp in fps for a in fp.anchors), dtype=np.int64),
        }
        _monitor_batch_queries = {"idx": np.arange(len(fps), dtype=np.int32), "anchor_count": sizes}  # noqa: F841
        rows = self.con.execute(
            f"""
            WITH batch AS (
                SELECT CAST(idx AS INTEGER) AS idx, CAST(anchor AS BIGINT) AS anchor FROM _monitor_batch_anchors
            ),
            queries AS (
                SELECT CAST(idx AS INTEGER) AS idx, CAST(anchor_count AS INTEGER) AS anchor_count
                FROM _monitor_batch_queries
            ),
            shared AS (
                SELECT b.idx, p.doc_key, count(*) AS n
                FROM dedup_anchors p JOIN batch b ON b.anchor = p.anchor
                GROUP BY b.idx, p.doc_key
                HAVING count(*) >= $min_shared
            ),
            picked AS (
                SELECT s.idx, d.doc_id, d.shingles, d.page
                FROM shared s
                JOIN queries q ON q.idx = s.idx
                JOIN dedup_docs d ON d.doc_key = s.doc_key
                WHERE d.word_count >= $min_words
                  AND (s.n / (q.anchor_count + d.anchor_count - s.n) >= $near
                       OR s.n / q.anchor_count >= $part
                       OR s.n / d.anchor_count >= $quoted)
            )
            SELECT idx, doc_id, shingles, page FROM picked
            """,
            {
                "min_shared": MIN_SHARED_ANCHORS,
                "min_words": MIN_WORDS_FOR_SIMILARITY,
                "near": _SCREEN_NEAR,
                "part": _SCREEN_PART,
                "quoted": _SCREEN_QUOTED,
            },
        ).fetchall()
        # What verification needs of each candidate's article, read apart: joined in the
        # query above, DuckDB built its hash table on all of `articles` (texts included;
        # 128 MB at a million, past the writer's cap). `id = ANY($ids)` is a filter the
        # scan applies (no index in a lake): 0.1 s at a million, where list_contains or
        # IN (SELECT unnest(...)) took 0.7-1.7 s. Texts only for the few indexed before
        # migration 009 (reading `text` costs a second at a million, however few rows).
        ids = sorted({r[1] for r in rows})
        facts = {r[0]: (*r[1:], None) for r in self.con.execute(
            f"""SELECT id, duplicate_of, kind, published_at, {"source" if with_sources else "NULL"}
                FROM articles WHERE id = ANY($ids)""", {"ids": ids}).fetchall()} if ids else {}
        bare = sorted({r[1] for r in rows if r[2] is None})
        for doc_id, text in self.con.execute("SELECT id, text FROM articles WHERE id = ANY($ids)",
                                             {"ids": bare}).fetchall() if bare else []:
            facts[doc_id] = (*facts[doc_id][:4], text)
        out: list[list[str]] = [[] for _ in fps]
        stored: dict[str, _Stored] = {}
        unfilled: list[tuple[str, Fingerprint]] = []
        for idx, doc_id, blob, page in rows:
            parent, kind, published, source, text = facts.get(doc_id, (None, None, None, None, None))
            out[idx].append(doc_id)
            if doc_id in stored:
                continue
            if blob is None:  # indexed before migration 009
                fp = fingerprint_text(text or "")
                blob, page = fp.shingles, page or fp.page
                unfilled.append((doc_id, fp))
            parent = parent if parent not in (None, doc_id) else None
            stored[doc_id] = _Stored(Known(decode_shingles(blob), page or "story", source), parent, kind, published)
        if unfilled:
            self.fill_shingles(unfilled)
        for found in out:
            found.sort()  # SQL rows come in no set order
        return out, stored

    def _verify(
        self,
        fps: list[Fingerprint],
        candidates: list[list[str]],
        stored: dict[str, _Stored],
        skip: list[str | None],
        sources: list[str | None],
        facts: dict[str, _Facts] | None = None,
    ) -> list[tuple[list[Hit], tuple[Quote, ...], bool]]:
        """Hits (against roots), quotation links and whether it is a compilation, per text,
        all decided on exact shingle sets."""
        # A candidate that is a copy is verified against its root, read separately (few).
        parents = sorted({c.parent for c in stored.values() if c.parent is not None})
        parent_roots = self._roots(parents, facts) if parents else {}
        roots = {d: parent_roots[c.parent] if c.parent is not None else d for d, c in stored.items()}
        known = {d: c.known for d, c in stored.items() if c.parent is None}
        missing = sorted(set(roots.values()) - set(known))
        if missing:
            known.update(self.known(missing, sources=any(s is not None for s in sources)))
        boilerplate: dict[str, tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64], set[str]]] = {}
        out = []
        for fp, cands, skipped, source in zip(fps, candidates, skip, sources, strict=True):
            new = decode_shingles(fp.shingles)
            hits: list[Hit] = []
            quotes: dict[str, Quote] = {}
            most = 0.0
            measured: dict[str, Overlap] = {}
            part_sets = []
            for root in sorted({roots[c] for c in cands} - {skipped}):
                k = known.get(root)
                if k is None or not k.shingles.size:
                    continue
                hit, exact = self.judge(new, source, root, k, boilerplate)
                measured[root] = exact
                if hit is not None:
                    hits.append(hit)
                if exact.containment >= COMPILATION_PART and k.page == "story":
                    part_sets.append(k.shingles)
                most = max(most, exact.containment)
            parts = distinct_parts(new, part_sets) if len(part_sets) > 1 else len(part_sets)
            if is_compilation(parts, most):
                hits = []  # made of two stories or more, mostly of none: it copies none
            copied = {h.doc_id for h in hits}
            # Quotation links go to stories (roots): a copy of a quoted story is that story.
            for root, exact in measured.items():
                if root in copied:
                    continue
                quote = quote_between(exact, root, compilation_part=parts >= 2)
                if quote is not None:
                    quotes[root] = quote
            out.append((hits, tuple(quotes[d] for d in sorted(quotes)), is_compilation(parts, most)))
        return out

    def judge(
        self,
        new: npt.NDArray[np.uint32],
        source: str | None,
        root: str,
        known: Known,
        cache: dict[str, tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64], set[str]]],
        pending: Sequence[npt.NDArray[np.uint32]] = (),
    ) -> tuple[Hit | None, Overlap]:
        """Is a text (its shingles and outlet) a copy of the stored or pending ``root``?

        The hit (None when not a copy) and the exact overlap. Between two texts of one
        outlet, its boilerplate weighs less (counted once per outlet in ``cache``, plus the
        outlet's ``pending`` articles of the writer's batch, other than ``root``).
        """
        weights = None
        if source is not None and known.source == source:
            if source not in cache:
                cache[source] = self._outlet_counts(source)
            counts = cache[source]
            if pending:
                merged, n = np.unique(np.concatenate([np.repeat(counts[0], counts[1]), *pending]),
                                      return_counts=True)
                counts = (merged, n.astype(np.int64), counts[2])
            weights = _outlet_boilerplate(counts, root, known.shingles)
        exact, weighted = measure_overlap(new, known.shingles, weights)
        verdict = judge_overlap(weighted, (int(new.size), int(known.shingles.size)), known.page)
        if verdict is None:
            return None, exact
        kind, _ = verdict
        # Decided on the weighted overlap; what is recorded is the exact one, measured alike.
        _, similarity = judge_overlap(exact, (int(new.size), int(known.shingles.size))) or verdict
        return Hit(root, kind, similarity, exact.containment, exact), exact

    def known(self, doc_ids: Sequence[str], *, sources: bool = True,
              outlets: Mapping[str, str | None] | None = None) -> dict[str, Known]:
        """Shingle set, page kind and (with ``sources``) outlet of stored texts, those indexed
        and long enough.

        ``outlets``: the outlet of each of ``doc_ids``, when the caller has read them
        already (the writer's batch does): ``articles`` is then not read again.
        A row indexed before migration 009 has no shingles yet: they are computed from
        the article's text and kept (``fill_shingles``) when the connection may write.
        """
        if not doc_ids:
            return {}
        rows = self.con.execute(
            "SELECT doc_id, shingles, page FROM dedup_docs WHERE doc_id = ANY($1::VARCHAR[]) AND word_count >= $2",
            [list(doc_ids), MIN_WORDS_FOR_SIMILARITY],
        ).fetchall()
        unfilled = [doc_id for doc_id, blob, _ in rows if blob is None]
        outlet: dict[str, str | None] = {}
        texts: dict[str, str] = {}
        if outlets is not None and not unfilled and all(r[0] in outlets for r in rows):
            outlet = {r[0]: outlets[r[0]] for r in rows}
        elif sources or unfilled:
            for doc_id, source, text in self.con.execute(
                "SELECT id, source, CASE WHEN list_contains($2, id) THEN text END FROM articles "
                "WHERE id = ANY($1::VARCHAR[])", [[r[0] for r in rows], unfilled],
            ).fetchall():
                outlet[doc_id] = source
                if text is not None:
                    texts[doc_id] = text
        out: dict[str, Known] = {}
        missing: list[tuple[str, Fingerprint]] = []
        for doc_id, blob, page in rows:
            if blob is None:
                fp = fingerprint_text(texts.get(doc_id, ""))
                blob, page = fp.shingles, page or fp.page
                missing.append((doc_id, fp))
            out[doc_id] = Known(decode_shingles(blob), page or "story", outlet.get(doc_id))
        if missing:
            self.fill_shingles(missing)
        return out

    def fill_shingles(self, items: Sequence[tuple[str, Fingerprint]]) -> None:
        """Keep the shingles (and page kind) of rows indexed before migration 009; a
        read-only connection (``monitor check`` while a run writes) just recomputes them."""
        try:
            self.con.execute(
                """
                UPDATE dedup_docs SET shingles = f.blob, page = coalesce(dedup_docs.page, f.page)
                FROM (SELECT unnest($ids::VARCHAR[]) AS doc_id, unnest($blobs::BLOB[]) AS blob,
                             unnest($pages::VARCHAR[]) AS page) f
                WHERE dedup_docs.doc_id = f.doc_id AND dedup_docs.shingles IS NULL
                """,
                {"ids": [d for d, _ in items], "blobs": [fp.shingles for _, fp in items],
                 "pages": [fp.page for _, fp in items]},
            )
        except duckdb.InvalidInputException as exc:
            if "read-only" not in str(exc):
                raise
            # A read-only connection (monitor check while a run writes): the next writer keeps them.

    def _outlet_counts(self, source: str) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64], set[str]]:
        """In how many of the outlet's latest ``BOILERPLATE_WINDOW`` indexed articles each
        of their shingles occurs (sorted shingles, counts), and which articles those are."""
        rows = self.con.execute(
            """
            SELECT d.doc_id, d.shingles FROM dedup_docs d JOIN articles a ON a.id = d.doc_id
            WHERE a.source = $1 AND a.kind = 'article' AND d.shingles IS NOT NULL
            ORDER BY d.indexed_at DESC, d.doc_key DESC LIMIT $2
            """,
            [source, BOILERPLATE_WINDOW],
        ).fetchall()
        if not rows:
            return np.zeros(0, np.uint32), np.zeros(0, np.int64), set()
        shingles, counts = np.unique(np.concatenate([decode_shingles(b) for _, b in rows]), return_counts=True)
        return shingles, counts.astype(np.int64), {d for d, _ in rows}

    # -- writing what was decided ------------------------------------------------------

    def save_overlaps(self, overlaps: Mapping[str, tuple[str, Overlap]], *, new: Iterable[str] = ()) -> None:
        """Each copy's exact overlap with its root (article id -> (root, overlap)), replacing
        the row it had (one row an article: a re-pointed copy is measured again). Ids in
        ``new`` are the batch's new articles, which have no row yet."""
        if not overlaps:
            return
        ids = sorted(overlaps)
        fresh = set(new)
        old = [i for i in ids if i not in fresh]
        if old:
            self.con.execute("DELETE FROM copy_overlaps WHERE article_id = ANY($1::VARCHAR[])", [old])
        self.con.execute(
            """
            INSERT INTO copy_overlaps
            SELECT unnest($ids::VARCHAR[]), unnest($roots::VARCHAR[]), unnest($shared::INTEGER[]),
                   unnest($j::DOUBLE[]), unnest($c::DOUBLE[]), unnest($rc::DOUBLE[]), $now
            """,
            {"ids": ids, "roots": [overlaps[i][0] for i in ids], "shared": [overlaps[i][1].shared for i in ids],
             "j": [overlaps[i][1].jaccard for i in ids], "c": [overlaps[i][1].containment for i in ids],
             "rc": [overlaps[i][1].other_containment for i in ids], "now": datetime.now(UTC)},
        )

    def forget_overlaps(self, article_ids: Sequence[str]) -> None:
        """Drop the overlap rows of articles that are no longer copies."""
        if article_ids:
            self.con.execute("DELETE FROM copy_overlaps WHERE article_id = ANY($1::VARCHAR[])", [list(article_ids)])

    def save_quotes(self, quotes: Sequence[Quote], run_id: str | None) -> int:
        """Quotation links of a batch, each pair once. Every pair has one of the batch's new
        articles (the writer skips those already stored), so none is stored yet."""
        pairs: dict[tuple[str, str], Quote] = {}
        for q in quotes:
            if q.quoting != q.quoted and (q.quoted, q.quoting) not in pairs:
                pairs.setdefault((q.quoting, q.quoted), q)
        fresh = [q for _, q in sorted(pairs.items())]
        if fresh:
            now = datetime.now(UTC)
            insert_columns(self.con, "quotations", _QUOTE_COLUMNS, [
                [q.quoting for q in fresh], [q.quoted for q in fresh], [q.quoted_share for q in fresh],
                [q.quoting_share for q in fresh], [q.shared for q in fresh], [run_id] * len(fresh), [now] * len(fresh)])
        return len(fresh)

    def forget_quotes(self, article_ids: Sequence[str]) -> None:
        """Drop the quotation links of texts whose text changed (reextract)."""
        if article_ids:
            self.con.execute("DELETE FROM quotations WHERE quoting_id = ANY($1::VARCHAR[]) "
                             "OR quoted_id = ANY($1::VARCHAR[])", [list(article_ids)])

    def _roots(self, doc_ids: list[str], facts: dict[str, _Facts] | None = None) -> dict[str, str]:
        """Map each id to its canonical root by following articles.duplicate_of.

        ``facts``: what was read of stored articles already (parent, kind, date by id;
        an id not stored has none), used instead of reading them again and completed
        with what is read here.
        """
        facts = {} if facts is None else facts
        roots = {d: d for d in doc_ids}
        for _ in range(_MAX_ROOT_HOPS):
            frontier = sorted(set(roots.values()))
            self._read_facts([d for d in frontier if d not in facts], facts)
            parents = {d: parent for d in frontier if (parent := facts[d][0]) is not None and parent != d}
            if not parents:
                break
            roots = {d: parents.get(r, r) for d, r in roots.items()}
        return roots

    def _root_info(
        self, roots: list[str], facts: dict[str, _Facts] | None = None
    ) -> dict[str, tuple[str | None, datetime | None]]:
        """Kind and publication date of stored roots (``facts``: as in ``_roots``)."""
        facts = {} if facts is None else facts
        self._read_facts([d for d in roots if d not in facts], facts)
        return {d: (facts[d][1], facts[d][2]) for d in roots if d in facts and facts[d] is not _NOT_STORED}

    def _read_facts(self, unread: list[str], facts: dict[str, _Facts]) -> None:
        """Read parent, kind and date of the ``unread`` ids into ``facts`` (an id not stored: _NOT_STORED)."""
        if not unread:
            return
        for doc_id, parent, kind, published in self.con.execute(
                "SELECT id, duplicate_of, kind, published_at FROM articles WHERE id = ANY($1::VARCHAR[])",
                [unread]).fetchall():
            facts[doc_id] = (parent, kind, published)
        for doc_id in unread:
            facts.setdefault(doc_id, _NOT_STORED)


def _outlet_boilerplate(
    counts: tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64], set[str]], root: str, root_shingles: npt.NDArray[np.uint32]
) -> npt.NDArray[np.uint32]:
    """The outlet's shingles found in ``BOILERPLATE_ARTICLES`` of its articles or more,
    not counting ``root`` itself (whose own text is what a copy of it shares)."""
    shingles, n, members = counts
    if not shingles.size:
        return shingles
    if root in members:
        n = n - np.isin(shingles, root_shingles, assume_unique=True)
    return shingles[n >= BOILERPLATE_ARTICLES]


def _indexed_shingles(fp: Fingerprint) -> bytes:
    # As for anchors: a text too short to compare is not verified against.
    return fp.shingles if fp.word_count >= MIN_WORDS_FOR_SIMILARITY else b""


def _indexed_anchors(fp: Fingerprint) -> tuple[int, ...]:
    # A stored text too short to compare gets no anchors: otherwise every longer
    # article that repeats it would be "contained" around it.
    return fp.anchors if fp.word_count >= MIN_WORDS_FOR_SIMILARITY else ()
