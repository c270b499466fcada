-- Core tables: sources, feed state, fetch log, articles (reference documents included),
-- raw pages and runs. Applied once, in order, by monitor.storage.warehouse.migrate().

CREATE TABLE sources (
    name          VARCHAR PRIMARY KEY,
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
    source               VARCHAR PRIMARY KEY,
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

CREATE SEQUENCE fetch_log_id;
CREATE TABLE fetch_log (
    id          BIGINT PRIMARY KEY DEFAULT nextval('fetch_log_id'),
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
    id                VARCHAR PRIMARY KEY,
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
CREATE INDEX articles_content_hash ON articles (content_hash);
-- Not a UNIQUE constraint: DuckDB 2.0's INSERT ... ON CONFLICT DO NOTHING keeps only one
-- of several rows whose unique column is NULL (reference documents have no URL). The
-- single writer checks canonical URLs before it inserts (monitor.runs.ingest.decide_and_save).
CREATE INDEX articles_canonical_url ON articles (canonical_url);

-- Raw pages, zlib-compressed, so extraction can be re-run without refetching.
CREATE TABLE pages (
    article_id   VARCHAR PRIMARY KEY,
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
    taxonomy_version  VARCHAR,
    PRIMARY KEY (article_id, concept_id)
);

CREATE TABLE taxonomy (
    concept_id   VARCHAR PRIMARY KEY,
    facet        VARCHAR NOT NULL,
    label        VARCHAR NOT NULL,
    description  VARCHAR,
    implies      VARCHAR[],
    side         VARCHAR,           -- russia | balkans | other: used by the relevance gate
    version      VARCHAR NOT NULL
);

CREATE TABLE runs (
    run_id       VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,     -- ingest | import | retag | demo
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    status       VARCHAR NOT NULL,     -- running | ok | failed
    stats        JSON
);
