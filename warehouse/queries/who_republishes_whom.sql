-- Who republishes whom? Pairs of (original source -> copying source), with how many
-- stories were copied, how (url/exact/near/contained) and how fast (median hours).
-- Copies of the reference corpus (the seed texts) show as 'reference'.
SELECT coalesce(story_source, story_kind, 'unknown') AS original_source,
       copy_source,
       count(*) AS copies,
       count(DISTINCT story_id) AS stories,
       list(DISTINCT duplicate_kind ORDER BY duplicate_kind) AS kinds,
       median(lag_hours) AS median_lag_hours
FROM copy_chains
GROUP BY ALL
ORDER BY copies DESC, original_source, copy_source;
