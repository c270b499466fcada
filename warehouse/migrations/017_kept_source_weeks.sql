-- Each source's articles and fetches by week, kept by the writer (issue 28: the digest at a
-- million articles). `source_activity_between` needs, besides its window's rows, each
-- source's first fetch and its last article before the window, and every source that has
-- any: it read the whole of `fetch_log` and of `articles` for them (two of the three table
-- scans of the digest's source health, 62 ms of it on the lake at a million). These rows
-- hold them by the week (Monday, UTC) of the fetch; the macro reads them for the weeks
-- before its window's first and the raw rows after, by range. `source_weeks_between(lo, hi)`
-- (views.sql) defines them; the writer recomputes the weeks a run's articles and fetches
-- fall in, at the end of every writing run (monitor.storage.rollups).
-- tests/storage/test_rollups.py checks them against a whole recompute.
CREATE TABLE rollup_source_weeks (
    source           VARCHAR,
    week_start       DATE,         -- Monday (UTC) of the week; NULL: articles never fetched
    articles         BIGINT,       -- its articles (kind 'article') fetched that week
    last_article_at  TIMESTAMPTZ,  -- the last of their fetches
    fetches          BIGINT,       -- its fetch_log rows that week
    first_fetch_at   TIMESTAMPTZ   -- the first of them
);
