-- How well does each source date its articles? Share of stories dated by the feed/page
-- ('published') versus by our fetch time, and how many were left out of the trends.
SELECT source,
       count(*) AS stories,
       count(*) FILTER (WHERE story_date_basis = 'published') AS dated,
       count(*) FILTER (WHERE story_date_basis = 'fetched') AS fetch_dated,
       count(*) FILTER (WHERE NOT date_trusted) AS left_out_of_trends,
       round(count(*) FILTER (WHERE story_date_basis = 'published') / count(*), 2) AS dated_share
FROM stories
GROUP BY source
ORDER BY dated_share, source;
