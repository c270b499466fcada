-- How far do state-affiliated outlets' stories travel? For each state-affiliated source:
-- its stories, how many were copied, and by how many other outlets.
SELECT s.source,
       count(*) AS stories,
       count(*) FILTER (WHERE c.copies > 0) AS copied_stories,
       coalesce(sum(c.copies), 0) AS copies,
       count(DISTINCT cc.copy_source) AS copying_outlets
FROM stories s
JOIN sources src ON src.name = s.source
LEFT JOIN story_copies c ON c.story_id = s.id
LEFT JOIN copy_chains cc ON cc.story_id = s.id
WHERE src.owner = 'state-affiliated'
GROUP BY s.source
ORDER BY copies DESC, s.source;
