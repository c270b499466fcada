-- The dedup index (monitor.judging.dedup.DedupIndex): one row per indexed document and its
-- anchors, a consistent 1-in-8 sample of its word-5-gram shingle hashes. An anchor
-- shared by two documents means a shared 5-word run; counting shared anchors estimates
-- both Jaccard similarity (near) and containment (teasers, excerpts, quoted copies).
-- `url` and `exact` matches use articles.canonical_url and articles.content_hash.

CREATE SEQUENCE dedup_doc_key;

CREATE TABLE dedup_docs (
    doc_key        INTEGER PRIMARY KEY,      -- compact key used by dedup_anchors
    doc_id         VARCHAR NOT NULL UNIQUE,  -- articles.id (or a reference id)
    content_hash   VARCHAR NOT NULL,         -- sha256 of the normalised text
    word_count     INTEGER NOT NULL,
    shingle_count  INTEGER NOT NULL,         -- distinct word 5-grams
    anchor_count   INTEGER NOT NULL,         -- rows in dedup_anchors (0 when too short)
    indexed_at     TIMESTAMPTZ NOT NULL
);

-- Postings: anchor -> document. The ART index makes a check a few point lookups
-- instead of a scan, so its cost stays flat as the warehouse grows.
CREATE TABLE dedup_anchors (
    anchor   BIGINT NOT NULL,
    doc_key  INTEGER NOT NULL
);
CREATE INDEX dedup_anchors_anchor ON dedup_anchors (anchor);
