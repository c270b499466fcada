-- What did each week look like: articles read, stories, off-topic, copies?
SELECT i.week, i.articles, i.stories, i.off_topic, i.duplicates,
       coalesce(w.undated, 0) AS undated_stories
FROM weekly_intake i
LEFT JOIN weekly_story_counts w ON w.week = i.week
ORDER BY i.week_start DESC
LIMIT 12;
