-- Which feeds need attention this week: failing, erroring, losing items between polls
-- (coverage gaps), silent or not polled?
-- (source_activity covers the last 7 days; use source_activity_between(since, until)
-- for another window; every gap, with its bounds, is a row of coverage_gaps.)
SELECT source, status, fetches, errors, error_rate, new_articles, new_stories,
       last_article_at::DATE AS last_article, coverage_gaps, consecutive_failures,
       coalesce(last_error, current_error, last_gap) AS last_problem
FROM source_activity
ORDER BY CASE status WHEN 'failing' THEN 0 WHEN 'errors' THEN 1 WHEN 'gaps' THEN 2 WHEN 'silent' THEN 3
                     WHEN 'not_polled' THEN 4 ELSE 5 END, source;
