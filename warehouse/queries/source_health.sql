-- Which feeds need attention this week: failing, erroring, silent or not polled?
-- (source_activity covers the last 7 days; use source_activity_between(since, until)
-- for another window.)
SELECT source, status, fetches, errors, error_rate, new_articles, new_stories,
       last_article_at::DATE AS last_article, consecutive_failures,
       coalesce(last_error, current_error) AS last_error
FROM source_activity
ORDER BY CASE status WHEN 'failing' THEN 0 WHEN 'errors' THEN 1 WHEN 'silent' THEN 2
                     WHEN 'not_polled' THEN 3 ELSE 4 END, source;
