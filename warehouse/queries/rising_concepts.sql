-- Which concepts rose or fell in the last complete week, against their 8-week baseline?
-- (Stories with a trusted date only; see the notes at the top of warehouse/views.sql.)
SELECT week, label, facet, stories, baseline, ratio, trend
FROM concept_trends
WHERE week_start = CAST(date_trunc('week', timezone('UTC', now())) AS DATE) - INTERVAL 7 DAY
  AND trend IN ('rising', 'falling')
ORDER BY trend DESC, stories - baseline DESC, label;
