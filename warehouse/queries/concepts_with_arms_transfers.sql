-- Which concepts appear together with arms transfers (stories since the start of data)?
SELECT coalesce(tx.label, t2.concept_id) AS concept,
       count(DISTINCT s.id) AS stories
FROM stories s
JOIN article_tags t1 ON t1.article_id = s.id AND t1.concept_id = 'theme:arms_transfers'
JOIN article_tags t2 ON t2.article_id = s.id AND t2.concept_id <> 'theme:arms_transfers'
LEFT JOIN taxonomy tx ON tx.concept_id = t2.concept_id
GROUP BY ALL
ORDER BY stories DESC, concept
LIMIT 20;
