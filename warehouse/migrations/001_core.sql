-- Core tables: sources, feed state, fetch log, articles (reference documents included),
-- raw pages and runs. Applied once, in order, by monitor.storage.warehouse.migrate().
--
-- The warehouse is a DuckLake (issue 28): it has no primary keys, unique constraints,
-- indexes, sequences or ON CONFLICT, so no migration declares any. What was a key is
-- kept unique by the one writer, per batch (monitor.storage.store; the comment "key:"
-- marks each). Migrations 001-007 lost their keys and indexes when the lake came: a lake
-- is always built from 001, and a DuckDB file of the old format is moved into a lake by
-- `monitor migrate-warehouse`, never migrated in place.

CREATE TABLE sources (
    name          VARCHAR NOT NULL,   -- key: save_sources replaces a name's row
    url           VARCHAR NOT NULL,
    language      VARCHAR,
    country       VARCHAR,
    owner         VARCHAR,            -- independent | state-affiliated | public | think-tank ...
    poll_minutes  INTEGER,
    homepage      VARCHAR,
    notes         VARCHAR,
    updated_at    TIMESTAMPTZ
);

-- What we remember about each feed between runs. Advanced only after the feed's
-- articles are saved, so a run killed in between refetches and loses nothing.
CREATE TABLE feed_state (
    source               VARCHAR NOT NULL,   -- key: save_feed_state replaces a source's row
    url                  VARCHAR NOT NULL,
    etag                 VARCHAR,
    last_modified        VARCHAR,
    body_hash            VARCHAR,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_success_at      TIMESTAMPTZ,
    last_attempt_at      TIMESTAMPTZ,
    last_error           VARCHAR,
    next_poll_after      TIMESTAMPTZ
);

CREATE TABLE fetch_log (
    id          BIGINT NOT NULL,      -- key: save_fetch_log numbers rows after the largest id
    run_id      VARCHAR,
    fetched_at  TIMESTAMPTZ NOT NULL,
    source      VARCHAR,
    kind        VARCHAR NOT NULL,     -- feed | page | robots | file
    url         VARCHAR NOT NULL,
    final_url   VARCHAR,
    status      INTEGER,
    bytes       BIGINT,
    elapsed_ms  DOUBLE,
    outcome     VARCHAR NOT NULL,     -- ok | not_modified | unchanged | error | skipped
    error       VARCHAR,              -- short reason code: http_404, timeout, blocked_url, bad_feed ...
    detail      VARCHAR               -- the human-readable message
);

-- One row per article and per reference document (kind = 'reference', id = seed file stem).
-- Copies are kept: duplicate_of points at the canonical article or reference id.
CREATE TABLE articles (
    id                VARCHAR NOT NULL,   -- key: save_articles skips ids already stored
    kind              VARCHAR NOT NULL DEFAULT 'article',   -- article | reference
    source            VARCHAR,
    url               VARCHAR,
    canonical_url     VARCHAR,      -- unique per article, enforced by the writer (see below)
    guid              VARCHAR,
    title             VARCHAR,
    author            VARCHAR,
    sitename          VARCHAR,
    language          VARCHAR,
    published_at      TIMESTAMPTZ,
    date_source       VARCHAR,      -- feed | page | fetched | file
    date_confidence   VARCHAR,      -- high | medium | low
    fetched_at        TIMESTAMPTZ,
    summary           VARCHAR,
    text              VARCHAR,
    content_hash      VARCHAR,      -- sha256 of the normalised text (dedup 'exact')
    word_count        INTEGER,
    extractor         VARCHAR,
    relevant          BOOLEAN,
    relevance         DOUBLE,
    relevance_reason  VARCHAR,
    duplicate_of      VARCHAR,
    duplicate_kind    VARCHAR,      -- url | exact | near | contained
    similarity        DOUBLE,
    dedup_note        VARCHAR,      -- why dedup was limited (e.g. too short for near/contained)
    taxonomy_version  VARCHAR,
    run_id            VARCHAR,
    saved_at          TIMESTAMPTZ
);
-- canonical_url: the single writer checks canonical URLs before it inserts
-- (monitor.runs.ingest.decide_and_save); reference documents have none.

-- Raw pages, zlib-compressed, so extraction can be re-run without refetching.
CREATE TABLE pages (
    article_id   VARCHAR NOT NULL,   -- key: saved only with the article that added it
    url          VARCHAR,
    fetched_at   TIMESTAMPTZ,
    encoding     VARCHAR NOT NULL DEFAULT 'zlib',
    raw          BLOB
);

CREATE TABLE article_tags (
    article_id        VARCHAR NOT NULL,
    concept_id        VARCHAR NOT NULL,
    score             DOUBLE,
    evidence          VARCHAR,
    taxonomy_version  VARCHAR
    -- key (article_id, concept_id): save_articles and replace_tags write one row each
);

CREATE TABLE taxonomy (
    concept_id   VARCHAR NOT NULL,   -- key: save_taxonomy replaces the table's rows
    facet        VARCHAR NOT NULL,
    label        VARCHAR NOT NULL,
    description  VARCHAR,
    implies      VARCHAR[],
    side         VARCHAR,           -- russia | balkans | other: used by the relevance gate
    version      VARCHAR NOT NULL
);

CREATE TABLE runs (
    run_id       VARCHAR NOT NULL,   -- key: new_run_id is random; start_run inserts it once
    kind         VARCHAR NOT NULL,     -- ingest | import | retag | demo
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    status       VARCHAR NOT NULL,     -- running | ok | failed
    stats        JSON
);
