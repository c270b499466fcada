-- Every view of the warehouse, declared once. Re-applied (CREATE OR REPLACE) on every
-- connection by monitor.warehouse.connect(), so changing a view needs no migration.
-- Counts are in stories (canonical, on-topic articles), never in copies.

-- Canonical, on-topic articles: what analysts count.
CREATE OR REPLACE VIEW stories AS
SELECT a.*,
       coalesce(a.published_at, a.fetched_at) AS story_at
FROM articles a
WHERE a.kind = 'article'
  AND a.relevant
  AND a.duplicate_of IS NULL;

-- Stories per ISO week and concept.
CREATE OR REPLACE VIEW weekly_tag_counts AS
SELECT strftime(s.story_at, '%G-W%V') AS week,
       t.concept_id,
       count(DISTINCT s.id) AS articles
FROM stories s
JOIN article_tags t ON t.article_id = s.id
GROUP BY ALL;
