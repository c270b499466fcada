-- How did each theme's weekly story count move over the last 12 weeks? (one row per week,
-- one column per theme; zeros are weeks without stories)
PIVOT (
    SELECT week, replace(concept_id, 'theme:', '') AS theme, stories
    FROM concept_trends
    WHERE facet = 'theme'
      AND week_start > CAST(date_trunc('week', timezone('UTC', now())) AS DATE) - INTERVAL 84 DAY
)
ON theme USING sum(stories)
ORDER BY week;
