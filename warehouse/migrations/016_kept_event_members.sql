-- Each kept event names the articles assigned to it (issue 28: the digest at a million
-- articles). The reports under a week's top events were found by looking their event ids
-- up in `event_assignments`: an event id is a story's URL hash, which says nothing of
-- where its rows lie, so every assignment was read (0.9M at a million articles: 44 ms of
-- a digest's 0.24 s on the lake). The kept row holds them: `event_summaries` lists them,
-- and the writer's refresh already recomputes an event whenever one of its assignments
-- changes. The writer's open after this migration recomputes the kept rows whole.
ALTER TABLE rollup_events ADD COLUMN assigned_ids VARCHAR[];
