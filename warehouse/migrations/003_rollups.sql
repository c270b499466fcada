-- Pre-aggregated trend counts. Joining stories with their tags takes ~1 s at a million
-- articles; the trend views and the digest read these tables instead (milliseconds).
-- Every writing run refreshes them at its end (monitor.storage.warehouse.refresh_rollups, with
-- warehouse/rollups.sql), so they are as fresh as the last ingest, import or retag.
CREATE TABLE rollup_weekly_tags (
    week        VARCHAR NOT NULL,
    week_start  DATE NOT NULL,
    concept_id  VARCHAR NOT NULL,
    articles    BIGINT NOT NULL
);

CREATE TABLE rollup_concept_first_seen (
    concept_id      VARCHAR NOT NULL,
    label           VARCHAR,
    facet           VARCHAR,
    first_story_at  TIMESTAMPTZ,
    first_story_id  VARCHAR,
    first_week      VARCHAR,
    stories         BIGINT
);

CREATE TABLE rollup_state (
    refreshed_at  TIMESTAMPTZ NOT NULL
);
