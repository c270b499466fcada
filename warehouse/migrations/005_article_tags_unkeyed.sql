-- article_tags loses its primary key. DuckDB keeps a used ART index wholly in memory
-- and never evicts it; this one held ~30 (article, concept) keys an article, 2.2 KB of
-- RAM an article (of ~2.8 KB for all the warehouse's indexes, measured on a 20k-article
-- copy). Nothing looked rows up by it: the writer now inserts tags only for the articles
-- its INSERT actually added (store.save_articles), and retag deletes an article's tags
-- before writing new ones, so each (article_id, concept_id) stays one row.
CREATE TABLE article_tags_unkeyed (
    article_id        VARCHAR NOT NULL,
    concept_id        VARCHAR NOT NULL,
    score             DOUBLE,
    evidence          VARCHAR,
    taxonomy_version  VARCHAR
);
INSERT INTO article_tags_unkeyed
SELECT article_id, concept_id, score, evidence, taxonomy_version FROM article_tags
ORDER BY article_id, concept_id;
DROP TABLE article_tags;
ALTER TABLE article_tags_unkeyed RENAME TO article_tags;
