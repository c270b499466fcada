-- Events (issue 30): stories that report one happening, across outlets and languages
-- (monitor.judging.events decides, monitor.storage.events saves). One row per story (an
-- article or reference text that is no copy), written by the single writer when the story
-- is saved; a copy belongs to its story's event through articles.duplicate_of (view
-- `event_stories`), so a copy is never split from its story. No keys (DuckLake has none):
-- the writer assigns a story once and checks each batch.
CREATE TABLE event_assignments (
    article_id   VARCHAR NOT NULL,   -- the story
    event_id     VARCHAR NOT NULL,   -- 'ev_' || the id of the story that started the event; never reused
    via          VARCHAR,            -- the stored story it was linked to; NULL when it started the event
    score        DOUBLE,             -- weight of the shared evidence (monitor.judging.events.WEIGHTS)
    evidence     VARCHAR[],          -- what it shares with `via` ("name:grams", "number:102", "concept:...")
    story_at     TIMESTAMPTZ,        -- when the story appeared: published_at, else fetched_at
    dated        BOOLEAN,            -- false: story_at is a fetch time, not a trusted publication date
    features     VARCHAR[],          -- the story's own evidence, compared with later stories
    run_id       VARCHAR,
    assigned_at  TIMESTAMPTZ NOT NULL
);

-- When a later story showed two events to be one happening: `merged_event_id`'s stories
-- moved to `into_event_id` (the older event), and this row keeps the old id findable.
CREATE TABLE event_merges (
    merged_event_id  VARCHAR NOT NULL,
    into_event_id    VARCHAR NOT NULL,
    article_id       VARCHAR NOT NULL,   -- the story that linked both
    score            DOUBLE,
    evidence         VARCHAR[],
    run_id           VARCHAR,
    merged_at        TIMESTAMPTZ NOT NULL
);
