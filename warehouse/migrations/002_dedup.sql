-- The dedup index (monitor.judging.dedup.DedupIndex): one row per indexed document and its
-- anchors, a consistent 1-in-8 sample of its word-5-gram shingle hashes. An anchor
-- shared by two documents means a shared 5-word run; counting shared anchors estimates
-- both Jaccard similarity (near) and containment (teasers, excerpts, quoted copies).
-- `url` and `exact` matches use articles.canonical_url and articles.content_hash.

CREATE TABLE dedup_docs (
    doc_key        INTEGER NOT NULL,         -- compact key used by dedup_anchors (key: numbered by the writer)
    doc_id         VARCHAR NOT NULL,         -- articles.id (or a reference id); key: add_many replaces an id's rows
    content_hash   VARCHAR NOT NULL,         -- sha256 of the normalised text
    word_count     INTEGER NOT NULL,
    shingle_count  INTEGER NOT NULL,         -- distinct word 5-grams
    anchor_count   INTEGER NOT NULL,         -- rows in dedup_anchors (0 when too short)
    indexed_at     TIMESTAMPTZ NOT NULL
);

-- Postings: anchor -> document. Unindexed (migration 004 says why): a check joins a
-- batch's anchors against a scan of the postings.
CREATE TABLE dedup_anchors (
    anchor   BIGINT NOT NULL,
    doc_key  INTEGER NOT NULL
);
