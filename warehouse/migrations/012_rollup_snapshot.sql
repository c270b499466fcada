-- The lake snapshot the rollup tables were last computed from. The writer refreshes them
-- from the rows changed since (DuckLake's table_changes): only the weeks and concepts a
-- run touched, not every week (6.6 s at a million articles). No row, or a snapshot since
-- expired: the next refresh recomputes them whole.
CREATE TABLE rollup_snapshot (
    snapshot_id  BIGINT NOT NULL
);
