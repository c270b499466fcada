-- Who copies whom, kept by the writer (issue 28: views and the digest at a million
-- articles). `copy_chains` and `copy_origins` follow every copy to what it copies through
-- the whole articles table: 0.3-0.4 s each at a million articles, in a DuckDB file as in a
-- lake. These tables hold their rows; views.sql's `copy_chains_of(ids)` and
-- `copy_origins_of(ids)` define them, and the views read them. The writer refreshes them
-- with the rollups at the end of every writing run (monitor.storage.rollups): only the
-- copies whose rows a change reaches, found by `deps`, the ids each row was computed
-- from (the copy, each copy on its way, what it copies). tests/storage/test_kept_copies.py
-- checks the columns match the macros' and the rows a whole recompute.
CREATE TABLE rollup_copy_chains (
    copy_id           VARCHAR,
    copy_source       VARCHAR,
    copy_title        VARCHAR,
    copy_url          VARCHAR,
    copy_at           TIMESTAMPTZ,
    duplicate_kind    VARCHAR,
    similarity        DOUBLE,
    original_id       VARCHAR,
    story_id          VARCHAR,
    story_kind        VARCHAR,
    story_source      VARCHAR,
    story_title       VARCHAR,
    story_url         VARCHAR,
    hops              INTEGER,
    lag_hours         DOUBLE,
    jaccard           DOUBLE,
    containment       DOUBLE,
    root_containment  DOUBLE,
    deps              VARCHAR[]
);

CREATE TABLE rollup_copy_origins (
    article_id           VARCHAR,
    outlet               VARCHAR,
    outlet_owner         VARCHAR,
    title                VARCHAR,
    url                  VARCHAR,
    published_at         TIMESTAMPTZ,
    week                 VARCHAR,
    origin_id            VARCHAR,
    origin_outlet        VARCHAR,
    origin_owner         VARCHAR,
    origin_state         VARCHAR,
    origin_title         VARCHAR,
    origin_url           VARCHAR,
    origin_published_at  TIMESTAMPTZ,
    lag_hours            DOUBLE,
    attributed           BOOLEAN,
    attributed_as        VARCHAR,
    attribution_cue      VARCHAR,
    attribution          VARCHAR,
    credited             VARCHAR[],
    duplicate_kind       VARCHAR,
    similarity           DOUBLE,
    origin_script        VARCHAR,
    script               VARCHAR,
    script_changed       BOOLEAN,
    title_changed        BOOLEAN,
    origin_words         INTEGER,
    words                INTEGER,
    length_changed       BOOLEAN,
    deps                 VARCHAR[]
);
