-- Gaps in coverage (monitor.judging.coverage): a poll after a successful one found that none of
-- the feed's items had been seen before and that the feed no longer reaches back to the
-- last poll, so items published between `since` and `until` may have left the feed
-- unread. One row per gap: a run killed and resumed finds the same gap again (same
-- source, same last poll) and adds nothing.
CREATE TABLE coverage_gaps (
    source      VARCHAR NOT NULL,
    since       TIMESTAMPTZ NOT NULL,  -- the last successful poll before the gap
    until       TIMESTAMPTZ NOT NULL,  -- the oldest item in the feed then (or detected_at if undated)
    detected_at TIMESTAMPTZ NOT NULL,
    run_id      VARCHAR,
    items       INTEGER NOT NULL,      -- items in the feed, none seen before
    dated       BOOLEAN NOT NULL,      -- whether `until` is an item's date
    reason      VARCHAR NOT NULL
    -- key (source, since): save_coverage_gap records a gap once
);
