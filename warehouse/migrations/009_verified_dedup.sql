-- Verified dedup (issue 26). Anchors only propose candidates; every mark is verified on
-- the two texts' full shingle sets, and what it records is exact.
--
-- dedup_docs.shingles: every word-5-gram shingle of the text, as the sorted distinct top
-- 32 bits of its hash, little-endian uint32 bytes (~4 bytes a word; monitor.judging.dedup
-- Fingerprint.shingles). NULL for rows indexed before this migration: the writer fills them
-- from articles.text when it first needs them (DedupIndex.fill_shingles).
-- dedup_docs.page: story | listing | snippets (monitor.judging.dedup.page_kind, or listing
-- for a compilation of stored stories): a listing is never a root.
ALTER TABLE dedup_docs ADD COLUMN shingles BLOB;
ALTER TABLE dedup_docs ADD COLUMN page VARCHAR;

-- One row per copy: its exact overlap with the root it points at (articles.duplicate_of).
-- containment: share of the copy inside its root; root_containment: share of the root
-- inside the copy. Rewritten when a copy is re-pointed. No key: the single writer keeps
-- one row an article (it deletes the old row before it writes the new one).
CREATE TABLE copy_overlaps (
    article_id        VARCHAR NOT NULL,
    duplicate_of      VARCHAR NOT NULL,
    shared_shingles   INTEGER NOT NULL,
    jaccard           DOUBLE NOT NULL,
    containment       DOUBLE NOT NULL,
    root_containment  DOUBLE NOT NULL,
    verified_at       TIMESTAMPTZ NOT NULL
);

-- Quotation links: `quoting_id` embeds a passage of `quoted_id` and is not its copy (a
-- roundup quoting a brief, a commentary quoting a story, an aggregator's snippet).
-- quoted_share: share of the quoted text inside the quoting one; quoting_share: share of
-- the quoting text that passage makes up. Written when the later of the two is saved; one
-- row a pair, kept so by the single writer.
CREATE TABLE quotations (
    quoting_id       VARCHAR NOT NULL,
    quoted_id        VARCHAR NOT NULL,
    quoted_share     DOUBLE NOT NULL,
    quoting_share    DOUBLE NOT NULL,
    shared_shingles  INTEGER NOT NULL,
    run_id           VARCHAR,
    saved_at         TIMESTAMPTZ NOT NULL
);
