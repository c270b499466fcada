-- Which stories of the last 30 days were republished most, and by whom?
SELECT s.story_at::DATE AS day,
       s.source,
       left(s.title, 70) AS title,
       c.copies,
       c.copy_sources
FROM stories s
JOIN story_copies c ON c.story_id = s.id
WHERE s.story_at >= now() - INTERVAL 30 DAY
ORDER BY c.copies DESC, s.story_at DESC
LIMIT 15;
