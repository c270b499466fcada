-- Each tag carries the fetch time of the article it tags (issue 28: the digest at a million
-- articles). An article's id is a hash of its URL: it says nothing of where the article's
-- tags lie in `article_tags`, so reading the tags of a week's stories, or of an event's,
-- read the ids of every tag ever stored (~4 an article; 0.15-0.2 s a query at a million).
-- The writer stores an article's tags with the article, so they lie in fetch order: a range
-- of this column is a range of row groups, skipped by their min/max. It is the article's
-- fetched_at exactly (never updated), or 1970-01-01 for an article without one, so a reader
-- that bounds it by its articles' fetch times misses no tag. NOT NULL: a writer that forgets
-- it is refused, never a tag that no bounded read would find. (A new table, as in 005:
-- DuckLake sets NOT NULL on a column only outside the transaction that filled it.)
CREATE TABLE article_tags_timed (
    article_id          VARCHAR NOT NULL,
    concept_id          VARCHAR NOT NULL,
    score               DOUBLE,
    evidence            VARCHAR,
    taxonomy_version    VARCHAR,
    article_fetched_at  TIMESTAMPTZ NOT NULL
);
INSERT INTO article_tags_timed
SELECT t.article_id, t.concept_id, t.score, t.evidence, t.taxonomy_version,
       coalesce(a.fetched_at, TIMESTAMPTZ '1970-01-01 00:00:00+00')
FROM article_tags t LEFT JOIN articles a ON a.id = t.article_id
ORDER BY 6, t.article_id, t.concept_id;
DROP TABLE article_tags;
ALTER TABLE article_tags_timed RENAME TO article_tags;
