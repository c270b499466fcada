-- Every view of the warehouse, declared once. Re-applied (CREATE OR REPLACE) on every
-- writable connection by monitor.storage.warehouse.connect(), so changing a view needs no migration.
-- Counts are in stories (canonical, on-topic articles), never in copies.
--
-- Dates. A story is placed in time by `story_at`:
--   * published_at, when the pipeline trusts it (date_confidence 'high' = a feed or page
--     timestamp, 'medium' = a date without time) and it is not in the future of the fetch
--     (more than a day after fetched_at means a wrong time zone or a bogus date);
--   * otherwise fetched_at (date_confidence 'low': the page gave no date).
-- A fetch time is a good date for an article that appeared since our last poll, and a
-- meaningless one for the backlog a feed shows the first time we read it (items of any
-- age, all "fetched" in the same hour). So `date_trusted` is false for an article dated by
-- its fetch time within BACKLOG (1 day) of the first article we ever fetched from that
-- source. Untrusted stories are still stories (they are listed, and counted in
-- `weekly_story_counts.undated`), but the trend views (`weekly_tag_counts`,
-- `concept_trends`) leave them out: a new feed must not make a fake spike.
-- Weeks are ISO weeks (Monday to Sunday) in UTC, whatever the session's TimeZone.

-- The rule above, once: whether a published_at is trusted, and the instant a text falls
-- at. `stories`, `event_summaries` and the digest's queries on `articles` all use these.
CREATE OR REPLACE MACRO published_ok(published_at, fetched_at, date_confidence) AS
    (published_at IS NOT NULL
     AND coalesce(date_confidence, 'high') <> 'low'
     AND (fetched_at IS NULL OR published_at <= fetched_at + INTERVAL 1 DAY));
CREATE OR REPLACE MACRO story_time(published_at, fetched_at, date_confidence) AS
    CASE WHEN published_ok(published_at, fetched_at, date_confidence) THEN published_at
         ELSE coalesce(fetched_at, published_at) END;

-- An instant's ISO week in UTC as a number (weeks since Monday 1970-01-05, floored, so
-- earlier instants count down), and the number's week name. Grouping a million rows by
-- the number and naming the few groups after is 5x cheaper than timezone() and
-- strftime() on every row (weekly_amplification at a million articles: 330 to 70 ms).
CREATE OR REPLACE MACRO utc_week_index(ts) AS
    CAST(floor((epoch_us(ts) - 345600000000) / 604800000000) AS BIGINT);
CREATE OR REPLACE MACRO utc_week_name(week_index) AS
    strftime(make_timestamp(week_index * 604800000000 + 345600000000), '%G-W%V');

-- Whether a story's date is trusted, given its source's first fetched article (above).
CREATE OR REPLACE MACRO story_date_trusted(published_at, fetched_at, date_confidence, first_fetched_at) AS
    CASE
        WHEN published_ok(published_at, fetched_at, date_confidence) THEN true
        WHEN fetched_at IS NULL THEN false
        -- BACKLOG: undated items read in the source's first day are of unknown age
        WHEN fetched_at < first_fetched_at + INTERVAL 1 DAY THEN false
        ELSE true
    END;

-- Canonical, on-topic articles: what analysts count.
CREATE OR REPLACE VIEW stories AS
WITH first_contact AS (
    -- when we first read each source: its first fetched article
    SELECT source, min(fetched_at) AS first_fetched_at
    FROM articles
    WHERE kind = 'article'
    GROUP BY source
),
dated AS (
    SELECT a.*,
           published_ok(a.published_at, a.fetched_at, a.date_confidence) AS published_ok,
           fc.first_fetched_at
    FROM articles a
    LEFT JOIN first_contact fc ON fc.source IS NOT DISTINCT FROM a.source
    WHERE a.kind = 'article'
      AND a.relevant
      AND a.duplicate_of IS NULL
)
SELECT d.* EXCLUDE (published_ok, first_fetched_at),
       CASE WHEN d.published_ok THEN d.published_at ELSE coalesce(d.fetched_at, d.published_at) END
           AS story_at,
       CASE WHEN d.published_ok THEN 'published' ELSE 'fetched' END AS story_date_basis,
       story_date_trusted(d.published_at, d.fetched_at, d.date_confidence, d.first_fetched_at) AS date_trusted,
       strftime(timezone('UTC', story_at), '%G-W%V') AS week,
       CAST(date_trunc('week', timezone('UTC', story_at)) AS DATE) AS week_start
FROM dated d;

-- Stories per ISO week and concept (stories with a trusted date only, see the top).
-- (article_id, concept_id) is the key of article_tags, so count(*) counts stories.
-- The live computation; `weekly_tag_counts` reads its rollup (see below).
-- `weekly_tag_counts_between(lo, hi)` counts the stories placed in [lo, hi) only (the
-- writer's incremental refresh of the rollup: the weeks a run touched, not every week).
-- A story's time is its published_at or its fetched_at, so testing those raw columns
-- first lets DuckDB skip most of `articles` by its min/max zone maps.
CREATE OR REPLACE MACRO weekly_tag_counts_between(lo, hi) AS TABLE
SELECT s.week,
       t.concept_id,
       count(*) AS articles,
       s.week_start
FROM stories s
JOIN article_tags t ON t.article_id = s.id
WHERE s.date_trusted
  AND ((s.published_at >= lo AND s.published_at < hi) OR (s.fetched_at >= lo AND s.fetched_at < hi))
  AND s.story_at >= lo AND s.story_at < hi
GROUP BY ALL;

CREATE OR REPLACE VIEW weekly_tag_counts_live AS
SELECT * FROM weekly_tag_counts_between('-infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ);

-- What analysts and the trend views read: the same rows, as of the last writing run
-- (rollup_weekly_tags, refreshed by every ingest, import and retag; ~1 s saved per
-- query at a million articles).
CREATE OR REPLACE VIEW weekly_tag_counts AS
SELECT week, concept_id, articles, week_start FROM rollup_weekly_tags;

-- Stories per ISO week: all of them, and how many are undated (left out of the trends).
CREATE OR REPLACE VIEW weekly_story_counts AS
SELECT week,
       week_start,
       count(*) AS stories,
       count(*) FILTER (WHERE NOT date_trusted) AS undated
FROM stories
GROUP BY ALL;

-- Each concept's week against its trailing baseline: the mean of the 8 weeks before it
-- (zeros included; weeks before the warehouse's first story do not exist, so a young
-- warehouse has a short baseline). One row per concept and week, from the first week with
-- a dated story to the current week, so empty weeks are rows with 0.
-- trend: 'rising', 'falling', 'steady', or NULL when there is too little history.
CREATE OR REPLACE VIEW concept_trends AS
WITH params AS (
    SELECT 4   AS min_history_weeks,    -- fewer prior weeks: no call (a baseline of 1-3 weeks is noise)
           3   AS rising_min_stories,   -- 1 -> 2 stories is a doubling and means nothing
           2.0 AS rising_ratio,         -- at least twice the baseline
           2.0 AS falling_min_baseline, -- a concept averaging < 2 a week cannot visibly fall
           0.5 AS falling_ratio         -- at most half the baseline
),
counts AS (
    SELECT week_start, concept_id, articles AS stories FROM weekly_tag_counts
),
span AS (
    SELECT min(week_start) AS first_week,
           greatest(max(week_start), CAST(date_trunc('week', timezone('UTC', now())) AS DATE)) AS last_week
    FROM counts
),
weeks AS (
    SELECT CAST(unnest(generate_series(first_week, last_week, INTERVAL 7 DAY)) AS DATE) AS week_start
    FROM span
    WHERE first_week IS NOT NULL
),
grid AS (
    SELECT w.week_start, c.concept_id, coalesce(n.stories, 0) AS stories
    FROM weeks w
    CROSS JOIN (SELECT DISTINCT concept_id FROM counts) c
    LEFT JOIN counts n ON n.week_start = w.week_start AND n.concept_id = c.concept_id
),
windowed AS (
    SELECT g.*,
           avg(g.stories) OVER w8 AS baseline,
           count(*) OVER w8 AS baseline_weeks
    FROM grid g
    WINDOW w8 AS (PARTITION BY g.concept_id ORDER BY g.week_start
                  ROWS BETWEEN 8 PRECEDING AND 1 PRECEDING)
)
SELECT strftime(w.week_start, '%G-W%V') AS week,
       w.week_start,
       w.concept_id,
       coalesce(tx.label, w.concept_id) AS label,
       coalesce(tx.facet, split_part(w.concept_id, ':', 1)) AS facet,
       w.stories,
       round(coalesce(w.baseline, 0), 2) AS baseline,
       w.baseline_weeks,
       CASE WHEN w.baseline > 0 THEN round(w.stories / w.baseline, 2) END AS ratio,
       CASE
           WHEN w.baseline_weeks < p.min_history_weeks THEN NULL
           WHEN w.stories >= p.rising_min_stories
                AND w.stories >= p.rising_ratio * w.baseline THEN 'rising'
           WHEN w.baseline >= p.falling_min_baseline
                AND w.stories <= p.falling_ratio * w.baseline THEN 'falling'
           ELSE 'steady'
       END AS trend
FROM windowed w
CROSS JOIN params p
LEFT JOIN taxonomy tx ON tx.concept_id = w.concept_id;

-- When each concept was first seen in a story (for "new names" in the digest). The live
-- computation; `concept_first_seen` reads its rollup, like weekly_tag_counts.
CREATE OR REPLACE VIEW concept_first_seen_live AS
SELECT t.concept_id,
       coalesce(any_value(tx.label), t.concept_id) AS label,
       coalesce(any_value(tx.facet), split_part(t.concept_id, ':', 1)) AS facet,
       min(s.story_at) AS first_story_at,
       arg_min(s.id, s.story_at) AS first_story_id,
       arg_min(s.week, s.story_at) AS first_week,
       count(*) AS stories
FROM article_tags t
JOIN stories s ON s.id = t.article_id
LEFT JOIN taxonomy tx ON tx.concept_id = t.concept_id
GROUP BY t.concept_id;

-- The same columns from these articles' tags only: the writer's incremental refresh
-- adds what a run changed to the rollup (monitor.storage.rollups). Both sides filtered,
-- the labels joined after the aggregate (taxonomy has one row a concept): written as the
-- view is, DuckDB built the whole of `stories` first (2.3 s at a million, not 0.1).
CREATE OR REPLACE MACRO concept_first_seen_from(articles) AS TABLE
WITH counted AS (
    SELECT t.concept_id,
           min(s.story_at) AS first_story_at,
           arg_min(s.id, s.story_at) AS first_story_id,
           arg_min(s.week, s.story_at) AS first_week,
           count(*) AS stories
    FROM article_tags t
    JOIN stories s ON s.id = t.article_id
    WHERE t.article_id IN (SELECT unnest(articles)) AND s.id IN (SELECT unnest(articles))
    GROUP BY t.concept_id
)
SELECT c.concept_id,
       coalesce(tx.label, c.concept_id) AS label,
       coalesce(tx.facet, split_part(c.concept_id, ':', 1)) AS facet,
       c.first_story_at, c.first_story_id, c.first_week, c.stories
FROM counted c
LEFT JOIN taxonomy tx ON tx.concept_id = c.concept_id;

CREATE OR REPLACE VIEW concept_first_seen AS
SELECT concept_id, label, facet, first_story_at, first_story_id, first_week, stories
FROM rollup_concept_first_seen;

-- Who republished whom: every copy with the story it copies. duplicate_of points at the
-- canonical article or a reference document; a copy of a copy is followed to its root
-- (story_id), so a story's copies are counted once whatever the chain.
-- Each copy carries its exact overlap with the story it is filed under (issue 26,
-- copy_overlaps: Jaccard, the share of the copy inside the story and of the story inside
-- the copy; NULL for a url match, or a copy saved before migration 009).
-- `copy_chains_of(ids)` computes the rows of the copies `ids` (NULL: every copy), each with
-- `deps`, the ids it was computed from (the copy, each copy on its way, the story): the
-- writer keeps them in rollup_copy_chains (migration 013), which `copy_chains` reads;
-- `copy_chains_live` is the same computed now, for a check or a warehouse changed by hand.
CREATE OR REPLACE MACRO copy_chains_of(ids) AS TABLE
WITH RECURSIVE copies AS MATERIALIZED (
    -- the hops are only ever copies: each step joins these (a tenth of the articles),
    -- not every article, and the table is read once, not once a step
    SELECT id, duplicate_of FROM articles WHERE duplicate_of IS NOT NULL
),
chain(copy_id, original_id, depth, path) AS (
    SELECT id, duplicate_of, 1, [id]
    FROM copies
    WHERE ids IS NULL OR id IN (SELECT unnest(ids))
    UNION ALL
    SELECT c.copy_id, a.duplicate_of, c.depth + 1, list_append(c.path, a.id)
    FROM chain c
    JOIN copies a ON a.id = c.original_id
    WHERE NOT list_contains(c.path, a.duplicate_of)   -- a cycle would never end
      AND c.depth < 20
),
root AS MATERIALIZED (
    SELECT copy_id, arg_max(original_id, depth) AS story_id, max(depth) AS hops, arg_max(path, depth) AS path
    FROM chain
    GROUP BY copy_id
),
-- the articles these chains name (copies and stories), in one read of `articles`: a
-- refresh of a few hundred copies reads it once, not once per side of the join
named AS MATERIALIZED (
    SELECT id, kind, source, title, url, published_at, fetched_at, duplicate_kind, similarity, duplicate_of
    -- the ids as one list, unnested: a list's size is known to the planner, so it hashes
    -- these few ids, not the million articles (it guessed the recursion's result far
    -- larger: 255 MB of the writer's memory for a refresh of a thousand copies)
    FROM articles WHERE id IN (SELECT unnest((SELECT list(copy_id) || list(story_id) FROM root)))
)
SELECT c.id AS copy_id,
       c.source AS copy_source,
       c.title AS copy_title,
       c.url AS copy_url,
       coalesce(c.published_at, c.fetched_at) AS copy_at,
       c.duplicate_kind,
       c.similarity,
       c.duplicate_of AS original_id,
       r.story_id,
       s.kind AS story_kind,                 -- article | reference | NULL (id not stored)
       s.source AS story_source,
       s.title AS story_title,
       s.url AS story_url,
       r.hops,
       -- A reference text has no publication date (its fetched_at is when it was loaded).
       CASE WHEN s.kind = 'article' THEN
           round(date_diff('minute', coalesce(s.published_at, s.fetched_at),
                           coalesce(c.published_at, c.fetched_at)) / 60.0, 1)
       END AS lag_hours,
       o.jaccard,                            -- exact, on the full shingle sets
       o.containment,                        -- share of the copy inside the story
       o.root_containment,                   -- share of the story inside the copy
       list_append(r.path, r.story_id) AS deps
FROM named c
JOIN root r ON r.copy_id = c.id
LEFT JOIN named s ON s.id = r.story_id
LEFT JOIN copy_overlaps o ON o.article_id = c.id AND o.duplicate_of = r.story_id;

CREATE OR REPLACE VIEW copy_chains_live AS SELECT * EXCLUDE (deps) FROM copy_chains_of(NULL);
CREATE OR REPLACE VIEW copy_chains AS SELECT * EXCLUDE (deps) FROM rollup_copy_chains;

-- How many copies each story (or reference document) had, and where.
CREATE OR REPLACE VIEW story_copies AS
SELECT story_id,
       count(*) AS copies,
       count(DISTINCT copy_source) AS copy_source_count,
       list(DISTINCT copy_source ORDER BY copy_source) FILTER (WHERE copy_source IS NOT NULL)
           AS copy_sources
FROM copy_chains
GROUP BY story_id;

-- What the pipeline took in each week (by fetch time) and what it filtered out.
CREATE OR REPLACE VIEW weekly_intake AS
SELECT strftime(timezone('UTC', fetched_at), '%G-W%V') AS week,
       CAST(date_trunc('week', timezone('UTC', fetched_at)) AS DATE) AS week_start,
       count(*) AS articles,
       count(*) FILTER (WHERE relevant AND duplicate_of IS NULL) AS stories,
       count(*) FILTER (WHERE NOT coalesce(relevant, false) AND duplicate_of IS NULL) AS off_topic,
       count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS duplicates,
       count(*) FILTER (WHERE duplicate_kind = 'url') AS duplicates_url,
       count(*) FILTER (WHERE duplicate_kind = 'exact') AS duplicates_exact,
       count(*) FILTER (WHERE duplicate_kind = 'near') AS duplicates_near,
       count(*) FILTER (WHERE duplicate_kind = 'contained') AS duplicates_contained
FROM articles
WHERE kind = 'article' AND fetched_at IS NOT NULL
GROUP BY ALL;

-- Each source's articles and fetches by the week (Monday, UTC) they were fetched, for the
-- fetches in [lo, hi), and its articles never fetched (week NULL) when lo is -infinity:
-- the rows the writer keeps in rollup_source_weeks (migration 017) for the history that
-- source_activity_between needs from before its window.
CREATE OR REPLACE MACRO source_weeks_between(lo, hi) AS TABLE
WITH arts AS (
    SELECT source, CAST(date_trunc('week', timezone('UTC', fetched_at)) AS DATE) AS week_start,
           count(*) AS articles, max(fetched_at) AS last_article_at
    FROM articles
    WHERE kind = 'article' AND source IS NOT NULL
      AND ((fetched_at >= lo AND fetched_at < hi) OR (fetched_at IS NULL AND lo = '-infinity'::TIMESTAMPTZ))
    GROUP BY ALL
),
fetches AS (
    SELECT source, CAST(date_trunc('week', timezone('UTC', fetched_at)) AS DATE) AS week_start,
           count(*) AS fetches, min(fetched_at) AS first_fetch_at
    FROM fetch_log
    WHERE source IS NOT NULL AND fetched_at >= lo AND fetched_at < hi
    GROUP BY ALL
)
SELECT source, week_start, coalesce(a.articles, 0) AS articles, a.last_article_at,
       coalesce(f.fetches, 0) AS fetches, f.first_fetch_at
FROM arts a FULL JOIN fetches f USING (source, week_start);

-- The instant a UTC ISO week begins: Monday 00:00 UTC of the week `ts` is in.
CREATE OR REPLACE MACRO utc_monday(ts) AS timezone('UTC', date_trunc('week', timezone('UTC', ts)));

-- Per-source activity between two instants: fetches, errors, new articles, and a status:
--   not_polled  no fetch attempt in the window (scheduler down, or source disabled)
--   failing     feed fetched but never successfully
--   errors      at least 2 errors and >= 25% of fetches failed (pages or feed)
--   gaps        a coverage gap was found: the feed no longer reached back to the last poll,
--               so items may have left it unread (coverage_gaps; poll it more often)
--   silent      fetches work but no new article for SILENT (14) days before `until`
--   ok
-- Sources first fetched after `until` did not exist yet and are left out.
-- What it needs from before the window (each source's first fetch, its last article, that it
-- has any) it reads from the writer's kept weeks (rollup_source_weeks, as of the last writing
-- run's end) up to the week `since` falls in, and from that week on from fetch_log and
-- articles by range: whole scans of both took 62 ms at a million articles on a lake.
CREATE OR REPLACE MACRO source_activity_between(since, until) AS TABLE
WITH kept AS MATERIALIZED (
    SELECT source, articles, last_article_at, fetches, first_fetch_at FROM rollup_source_weeks
    WHERE week_start IS NULL
       OR week_start < CAST(timezone('UTC', utc_monday(CAST(since AS TIMESTAMPTZ))) AS DATE)
),
fetched AS MATERIALIZED (
    SELECT source, fetched_at, kind, outcome, error, detail FROM fetch_log
    WHERE fetched_at >= utc_monday(CAST(since AS TIMESTAMPTZ))
),
first_fetch AS (
    SELECT source, min(first_fetch_at) AS first_fetch_at
    FROM (SELECT source, first_fetch_at FROM kept WHERE fetches > 0
          UNION ALL
          SELECT source, fetched_at FROM fetched)
    GROUP BY source
),
log AS (
    SELECT source,
           count(*) AS fetches,
           count(*) FILTER (WHERE outcome = 'error') AS errors,
           count(*) FILTER (WHERE kind = 'feed') AS feed_fetches,
           count(*) FILTER (WHERE kind = 'feed' AND outcome IN ('ok', 'not_modified', 'unchanged'))
               AS feed_successes,
           count(*) FILTER (WHERE outcome = 'not_modified') AS not_modified,
           mode(error) FILTER (WHERE outcome = 'error') AS top_error,
           arg_max(coalesce(detail, error), fetched_at) FILTER (WHERE outcome = 'error') AS last_error,
           max(fetched_at) FILTER (WHERE outcome IN ('ok', 'not_modified', 'unchanged'))
               AS last_success_at
    FROM fetched
    WHERE fetched_at >= CAST(since AS TIMESTAMPTZ) AND fetched_at < CAST(until AS TIMESTAMPTZ)
    GROUP BY source
),
recent_arts AS (
    SELECT source,
           count(*) FILTER (WHERE fetched_at >= CAST(since AS TIMESTAMPTZ)
                              AND fetched_at < CAST(until AS TIMESTAMPTZ)) AS new_articles,
           count(*) FILTER (WHERE fetched_at >= CAST(since AS TIMESTAMPTZ)
                              AND fetched_at < CAST(until AS TIMESTAMPTZ)
                              AND relevant AND duplicate_of IS NULL) AS new_stories,
           max(fetched_at) FILTER (WHERE fetched_at < CAST(until AS TIMESTAMPTZ)) AS last_article_at
    FROM articles
    WHERE kind = 'article' AND fetched_at >= utc_monday(CAST(since AS TIMESTAMPTZ))
    GROUP BY source
),
arts AS (
    SELECT source, r.new_articles, r.new_stories, greatest(r.last_article_at, k.last_article_at) AS last_article_at
    FROM recent_arts r
    FULL JOIN (SELECT source, max(last_article_at) AS last_article_at FROM kept WHERE articles > 0 GROUP BY source) k
        USING (source)
),
gaps AS (
    SELECT source, count(*) AS coverage_gaps, arg_max(reason, detected_at) AS last_gap
    FROM coverage_gaps
    WHERE detected_at >= CAST(since AS TIMESTAMPTZ) AND detected_at < CAST(until AS TIMESTAMPTZ)
    GROUP BY source
),
registry AS MATERIALIZED (SELECT name, owner, country FROM sources),
-- Every source named anywhere: the registry, feed states, and from first_fetch and arts
-- every source that was ever fetched or has an article.
names AS (
    SELECT name AS source FROM registry
    UNION SELECT source FROM feed_state
    UNION SELECT source FROM first_fetch WHERE source IS NOT NULL
    UNION SELECT source FROM arts WHERE source IS NOT NULL
)
SELECT n.source,
       s.owner,
       s.country,
       coalesce(l.fetches, 0) AS fetches,
       coalesce(l.errors, 0) AS errors,
       CASE WHEN l.fetches > 0 THEN round(l.errors / l.fetches, 3) END AS error_rate,
       coalesce(l.not_modified, 0) AS not_modified,
       l.top_error,
       l.last_error,
       l.last_success_at,
       coalesce(a.new_articles, 0) AS new_articles,
       coalesce(a.new_stories, 0) AS new_stories,
       a.last_article_at,
       coalesce(g.coverage_gaps, 0) AS coverage_gaps,
       g.last_gap,
       CASE
           WHEN coalesce(l.fetches, 0) = 0 THEN 'not_polled'
           WHEN l.feed_fetches > 0 AND l.feed_successes = 0 THEN 'failing'
           WHEN l.errors >= 2 AND l.errors >= 0.25 * l.fetches THEN 'errors'
           WHEN g.coverage_gaps > 0 THEN 'gaps'
           WHEN a.last_article_at IS NULL
                OR a.last_article_at < CAST(until AS TIMESTAMPTZ) - INTERVAL 14 DAY THEN 'silent'
           ELSE 'ok'
       END AS status
FROM names n
LEFT JOIN registry s ON s.name = n.source
LEFT JOIN first_fetch f ON f.source = n.source
LEFT JOIN log l ON l.source = n.source
LEFT JOIN arts a ON a.source = n.source
LEFT JOIN gaps g ON g.source = n.source
WHERE f.first_fetch_at IS NULL OR f.first_fetch_at < CAST(until AS TIMESTAMPTZ);

-- The last 7 days of source_activity_between, with the feed's current state.
CREATE OR REPLACE VIEW source_activity AS
SELECT sa.*,
       fs.consecutive_failures,
       fs.last_error AS current_error,
       fs.next_poll_after
FROM source_activity_between(now() - INTERVAL 7 DAY, now()) sa
LEFT JOIN feed_state fs ON fs.source = sa.source;

-- Issue 26: verified dedup. copy_chains (above) carries each copy's exact overlap;
-- quotation_links: who quoted whom, and how much.
CREATE OR REPLACE VIEW quotation_links AS
SELECT q.quoting_id,
       a.source AS quoting_source,
       a.title AS quoting_title,
       q.quoted_id,
       b.kind AS quoted_kind,
       b.source AS quoted_source,
       b.title AS quoted_title,
       q.quoted_share,                        -- share of the quoted text inside the quoting one
       q.quoting_share,                       -- share of the quoting text the quote makes up
       q.shared_shingles,
       q.saved_at
FROM quotations q
LEFT JOIN articles a ON a.id = q.quoting_id
LEFT JOIN articles b ON b.id = q.quoted_id;

-- ---------------------------------------------------------------------------------------
-- Events (issue 30): stories that report one happening (monitor.judging.events).
-- Every stored article with its event: a story through its own assignment, a copy through
-- its story's (so a copy is never split from it). Contract: exactly these two columns.
CREATE OR REPLACE VIEW event_stories AS
SELECT e.event_id, a.id AS article_id
FROM articles a
JOIN event_assignments e ON e.article_id = coalesce(a.duplicate_of, a.id);

-- One row per event: its first report (outlet and time, copies included: a copy can be
-- the first one we saw), counts of stories, copies, outlets and languages, and its time
-- span. Placed in time as `stories` places a story: a trusted published_at, else fetched_at.
-- `event_summaries(lo, hi, ids)` computes the rows of the events with a story dated in
-- [lo, hi) or whose id is in `ids` only (one `explain`, the writer's refresh of the events
-- a run changed): `events_live` aggregates every article (seconds at half a million), so
-- `events` reads the rows the writer keeps (migration 015). `assigned_ids` lists the
-- articles assigned to the event (a story later filed as a copy keeps its assignment, and
-- its reports count under its story's event), so that its reports are found without
-- looking its id up among every assignment (migration 016).
CREATE OR REPLACE MACRO event_summaries(lo, hi, ids) AS TABLE
WITH picked AS (
    -- two selections, not one OR: DuckDB skips row groups by min/max for the range alone
    -- (a week's events at a million articles: 10k assignments read, not 900k)
    SELECT event_id FROM event_assignments WHERE story_at >= lo AND story_at < hi
    UNION
    SELECT event_id FROM event_assignments WHERE len(ids) > 0 AND event_id IN (SELECT unnest(ids))
),
assigned AS (
    SELECT e.article_id, e.event_id FROM event_assignments e SEMI JOIN picked p ON p.event_id = e.event_id
),
assigned_ids AS (
    SELECT event_id, list(article_id ORDER BY article_id) AS assigned_ids FROM assigned GROUP BY event_id
),
-- a story through its own assignment, a copy through its story's (as `event_stories`):
-- both in one read of `articles`, by the story each article is or copies (as two joins,
-- one by id and one by duplicate_of, it read the million articles twice: 325 against
-- 215 ms for a week's events on one thread, measured 2026-12-07)
joined AS (
    SELECT s.event_id, a.* FROM assigned s JOIN articles a ON s.article_id = coalesce(a.duplicate_of, a.id)
),
member AS (
    SELECT event_id, id, title, language, relevant, kind,
           duplicate_of IS NULL AS is_story,
           coalesce(source, sitename) AS outlet,
           story_time(published_at, fetched_at, date_confidence) AS report_at
    FROM joined
),
summary AS (
    SELECT event_id,
           arg_min(id, row(report_at, id)) AS first_article_id,
           arg_min(outlet, row(report_at, id)) AS first_outlet,
           min(report_at) AS first_at,
           max(report_at) AS last_at,
           arg_min(title, row(report_at, id)) FILTER (WHERE is_story) AS title,
           count(*) FILTER (WHERE is_story) AS stories,
           count(*) FILTER (WHERE NOT is_story) AS copies,
           count(DISTINCT outlet) AS outlets,
           count(DISTINCT language) AS languages,
           list(DISTINCT language ORDER BY language) FILTER (WHERE language IS NOT NULL) AS language_list,
           bool_or(relevant AND is_story) AS relevant,
           bool_or(kind = 'reference') AS has_reference,
           date_diff('hour', min(report_at), max(report_at)) AS span_hours,
           strftime(timezone('UTC', min(report_at)), '%G-W%V') AS week
    FROM member
    GROUP BY event_id
)
SELECT s.*, i.assigned_ids FROM summary s JOIN assigned_ids i ON i.event_id = s.event_id;

CREATE OR REPLACE VIEW events_live AS
SELECT * FROM event_summaries('-infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ, []::VARCHAR[]);
-- the same rows as kept by the writer (migration 015), as of the end of the last writing run
CREATE OR REPLACE VIEW events AS SELECT * FROM rollup_events;

-- On-topic events per ISO week of their first report, and the stories and outlets behind them.
CREATE OR REPLACE VIEW weekly_event_counts AS
SELECT week,
       count(*) AS events,
       count(*) FILTER (WHERE outlets > 1) AS multi_outlet_events,
       count(*) FILTER (WHERE languages > 1) AS multilingual_events,
       sum(stories) AS stories,
       sum(copies) AS copies
FROM events
WHERE relevant
GROUP BY week;

-- ---------------------------------------------------------------------------------
-- Amplification (issue 31): whose content travels, how fast, and which sites are run
-- together. Sources carry their owner type, the state behind them and the names others
-- credit them by (`cited_as`, compared as `cite_keys`); each text's credits, script and
-- title key are in `article_provenance`; the operator ids on each source's pages in
-- `site_identifiers` (monitor.judging.attribution, monitor.reading.sitefingerprint).

-- Every copy of a stored article with its origin: the root of the copy's chain, the
-- earliest published article of the story. The writer keeps every copy one hop from its
-- root (it re-points the copies of a displaced root), so the chain is followed by joins,
-- up to three hops (copy_chains follows hand-made chains to any depth, at ~6x the cost:
-- 50k articles, 361 against 52 ms). With the origin: its outlet's owner type and state,
-- the lag, and how the copy treats it:
--   attributed      the copy credits its origin: a credit in its head or tail (a source
--                   label, a reporting phrase or verb, a dateline, a closing credit line)
--                   whose name key holds one of the origin outlet's cite keys, word by word
--                   ("RT-a" is RT, "RTS" is not); attributed_as, attribution_cue and
--                   attribution say which and where
--   credited        whom the copy credits when it credits someone else (laundering through
--                   another agency shows here)
--   script_changed  the copy is in another script (Cyrillic to Latin, mostly)
--   title_changed   the titles differ once case, accents and script are folded
--   length_changed  the copy is more than 20% shorter or longer (cut, or padded with
--                   comment): small edits of a sentence or a byline are not a change
-- Computed by `copy_origins_of(ids)` (NULL: every copy) and kept by the writer in
-- rollup_copy_origins (migration 013), as copy_chains is: `copy_origins` reads the kept
-- rows, `copy_origins_live` computes them now.
CREATE OR REPLACE MACRO copy_origins_of(ids) AS TABLE
-- the hops are only ever copies: a hash table of the copies, not of every article
WITH hops AS MATERIALIZED (
    SELECT id, duplicate_of FROM articles WHERE duplicate_of IS NOT NULL
),
-- the copies asked for and their way to their origin, from the hops alone; then the
-- articles they name in one read of `articles`. Joined the other way round, the writer's
-- refresh of a few hundred copies built a hash table of every article (out of its 256 MB
-- at a million).
routes AS MATERIALIZED (
    SELECT c.id AS copy_id, h1.id AS h1_id, h2.id AS h2_id,
           coalesce(h2.duplicate_of, h1.duplicate_of, c.duplicate_of) AS origin_id
    FROM hops c
    LEFT JOIN hops h1 ON h1.id = c.duplicate_of
    LEFT JOIN hops h2 ON h2.id = h1.duplicate_of
    WHERE ids IS NULL OR c.id IN (SELECT unnest(ids))
),
named AS MATERIALIZED (
    SELECT id, kind, source, title, url, published_at, fetched_at, duplicate_kind, similarity, word_count
    FROM articles
    -- as one list (copy_chains_of says why)
    WHERE id IN (SELECT unnest((SELECT list(copy_id) || list(origin_id) FROM routes)))
),
joined AS (
    SELECT c.id AS article_id,
           list_filter([c.id, r.h1_id, r.h2_id, o.id], lambda x: x IS NOT NULL) AS deps,
           c.source AS outlet,
           coalesce(cs.owner, 'unknown') AS outlet_owner,
           c.title,
           c.url,
           coalesce(c.published_at, c.fetched_at) AS published_at,
           o.id AS origin_id,
           o.source AS origin_outlet,
           coalesce(os.owner, 'unknown') AS origin_owner,
           os.state AS origin_state,
           o.title AS origin_title,
           o.url AS origin_url,
           coalesce(o.published_at, o.fetched_at) AS origin_published_at,
           -- the first credit that names the origin (an expression, not a LATERAL join:
           -- that kept a filter on one article from reaching the scan)
           list_filter(cp.credits, lambda x: list_bool_or(list_transform(
               os.cite_keys, lambda k: contains(' ' || x.key || ' ', ' ' || k || ' '))))[1] AS credit,
           cp.credits,
           c.duplicate_kind,
           c.similarity,
           op.script AS origin_script,
           cp.script,
           op.title_key AS origin_title_key,
           cp.title_key,
           o.word_count AS origin_words,
           c.word_count AS words
    FROM routes r
    JOIN named c ON c.id = r.copy_id AND c.kind = 'article'
    JOIN named o ON o.id = r.origin_id AND o.kind = 'article'
    LEFT JOIN sources os ON os.name = o.source
    LEFT JOIN sources cs ON cs.name = c.source
    LEFT JOIN article_provenance cp ON cp.article_id = c.id
    LEFT JOIN article_provenance op ON op.article_id = o.id
)
SELECT article_id,
       outlet,
       outlet_owner,
       title,
       url,
       published_at,
       strftime(timezone('UTC', published_at), '%G-W%V') AS week,
       origin_id,
       origin_outlet,
       origin_owner,
       origin_state,
       origin_title,
       origin_url,
       origin_published_at,
       round(date_diff('minute', origin_published_at, published_at) / 60.0, 1) AS lag_hours,
       credit IS NOT NULL AS attributed,
       credit.name AS attributed_as,
       credit.cue AS attribution_cue,
       credit.evidence AS attribution,
       CASE WHEN credit IS NULL THEN list_transform(credits, lambda x: x.name) END AS credited,
       duplicate_kind,
       similarity,
       origin_script,
       script,
       coalesce(origin_script <> script, false) AS script_changed,
       coalesce(origin_title_key <> title_key, false) AS title_changed,
       origin_words,
       words,
       coalesce(abs(words - origin_words) > 0.2 * origin_words, false) AS length_changed,
       deps
FROM joined;

CREATE OR REPLACE VIEW copy_origins_live AS SELECT * EXCLUDE (deps) FROM copy_origins_of(NULL);
CREATE OR REPLACE VIEW copy_origins AS SELECT * EXCLUDE (deps) FROM rollup_copy_origins;

-- Amplification: copies whose origin is a state-affiliated outlet's article, by another
-- outlet (a copy by the origin's own outlet, under a second URL, is not amplification).
CREATE OR REPLACE VIEW amplification AS
SELECT * FROM copy_origins
WHERE origin_owner = 'state-affiliated'
  AND outlet IS DISTINCT FROM origin_outlet;

-- Per ISO week and outlet: how much of what it published came from state-affiliated
-- origins, how much of that it credited, and how fast it followed (median lag).
-- published: every article the outlet published that week (copies included: a copy is
-- what it published), by publication time, else fetch time.
CREATE OR REPLACE VIEW weekly_amplification AS
WITH published AS (
    SELECT outlet, utc_week_name(week_index) AS week, published
    FROM (SELECT source AS outlet,
                 utc_week_index(coalesce(published_at, fetched_at)) AS week_index,
                 count(*) AS published
          FROM articles
          WHERE kind = 'article' AND source IS NOT NULL
          GROUP BY ALL)
),
amplified AS (
    SELECT outlet,
           week,
           count(*) AS state_copies,
           count(*) FILTER (WHERE attributed) AS attributed,
           count(*) FILTER (WHERE script_changed) AS script_changed,
           count(DISTINCT origin_outlet) AS origin_outlets,
           list(DISTINCT origin_outlet ORDER BY origin_outlet) AS origins,
           median(lag_hours) AS median_lag_hours
    FROM amplification
    GROUP BY ALL
)
SELECT a.week,
       a.outlet,
       coalesce(p.published, 0) AS published,
       a.state_copies,
       round(a.state_copies / nullif(p.published, 0), 3) AS state_share,
       a.attributed,
       a.state_copies - a.attributed AS unattributed,
       a.script_changed,
       a.origin_outlets,
       a.origins,
       a.median_lag_hours
FROM amplified a
LEFT JOIN published p ON p.outlet = a.outlet AND p.week = a.week;

-- Sources that share an operator identifier (an analytics account, a tag-manager
-- container, an ad publisher id, a Yandex Metrica counter, a Facebook pixel or app, a
-- verification token), one row per pair and identifier, with the evidence.
-- An identifier carried by more than 8 sources links none of them: that is a public
-- library's or a theme's id every site copies, not one operator's account (the ids known
-- to be public are dropped before they are stored: monitor.reading.sitefingerprint).
-- Eight is above the networks of two to six sites the influence research we follow
-- documents for one operator in the region; a wider id shows in `shared_identifiers`.
CREATE OR REPLACE MACRO too_common_identifier(sources) AS sources > 8;

CREATE OR REPLACE VIEW shared_identifiers AS
SELECT kind,
       identifier,
       count(DISTINCT source) AS sources,
       list(DISTINCT source ORDER BY source) AS source_names,
       too_common_identifier(count(DISTINCT source)) AS too_common
FROM site_identifiers
GROUP BY ALL;

-- site_identifiers read once, its carriers counted over it: as a join of two reads with
-- `shared_identifiers` (a third), the digest's new links took 11 ms on a lake, 5 this way.
CREATE OR REPLACE VIEW source_links AS
WITH carried AS MATERIALIZED (
    SELECT *, count(DISTINCT source) OVER (PARTITION BY kind, identifier) AS carried_by FROM site_identifiers
)
SELECT a.source AS source_a,
       b.source AS source_b,
       a.identifier,
       a.kind,
       a.carried_by,
       greatest(a.first_seen_at, b.first_seen_at) AS linked_at,
       format('{} {} on {} page(s) of {} (e.g. {}) and {} page(s) of {} (e.g. {}): {}',
              a.kind, a.identifier, a.pages, a.source, a.example_url, b.pages, b.source,
              b.example_url, a.evidence) AS evidence
FROM carried a
JOIN carried b
  ON b.kind = a.kind AND b.identifier = a.identifier AND a.source < b.source
WHERE NOT too_common_identifier(a.carried_by);
