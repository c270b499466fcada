-- The events' summaries, kept by the writer (issue 28: the digest at a million articles).
-- `event_summaries` (views.sql) reads every report of the events it sums up through the
-- articles table: a week's events took 0.2 s of a digest's two readers at a million
-- articles, and the whole `events` view seconds. This table holds one row per event, as
-- `event_summaries` computes it; `events` reads it, `events_live` computes it now. The
-- writer refreshes it with the rollups at the end of every writing run
-- (monitor.storage.rollups): only the events a change reaches (a story assigned, moved
-- by a merge, or edited; a copy filed, moved or edited). tests/storage/test_rollups.py
-- checks the rows against a whole recompute.
CREATE TABLE rollup_events (
    event_id          VARCHAR,
    first_article_id  VARCHAR,
    first_outlet      VARCHAR,
    first_at          TIMESTAMPTZ,
    last_at           TIMESTAMPTZ,
    title             VARCHAR,
    stories           BIGINT,
    copies            BIGINT,
    outlets           BIGINT,
    languages         BIGINT,
    language_list     VARCHAR[],
    relevant          BOOLEAN,
    has_reference     BOOLEAN,
    span_hours        BIGINT,
    week              VARCHAR
);
