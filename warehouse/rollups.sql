-- Refresh the rollup tables of migration 003 from the live views (views.sql). Run by
-- monitor.storage.warehouse.refresh_rollups() when the tables cannot be refreshed from what changed
-- (monitor.storage.rollups, which also records when and from which snapshot), in one transaction.
DELETE FROM rollup_weekly_tags;
INSERT INTO rollup_weekly_tags (week, week_start, concept_id, articles)
SELECT week, week_start, concept_id, articles FROM weekly_tag_counts_live;

DELETE FROM rollup_concept_first_seen;
INSERT INTO rollup_concept_first_seen
SELECT concept_id, label, facet, first_story_at, first_story_id, first_week, stories
FROM concept_first_seen_live;


DELETE FROM rollup_copy_chains;
INSERT INTO rollup_copy_chains BY NAME SELECT * FROM copy_chains_of(NULL);

DELETE FROM rollup_copy_origins;
INSERT INTO rollup_copy_origins BY NAME SELECT * FROM copy_origins_of(NULL);

-- in order of their first report: a week's events are then a few row groups
DELETE FROM rollup_events;
INSERT INTO rollup_events BY NAME SELECT * FROM events_live ORDER BY first_at, event_id;

DELETE FROM rollup_source_weeks;
INSERT INTO rollup_source_weeks BY NAME
SELECT * FROM source_weeks_between('-infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ) ORDER BY week_start, source;
