-- The dedup postings lose their ART index. DuckDB 2.0 keeps an ART index wholly in
-- memory once it is used (persisted or not, it is never evicted), and this one took
-- ~58 bytes an anchor, ~5 KB an article: 2.9 GB of RAM at a million stored articles,
-- the one part of a writer's memory that grew with the warehouse. A check now joins
-- the batch's anchors (the hash table's small build side) against a scan of
-- dedup_anchors, which streams through the capped buffer pool: ~115 ms a check at a
-- million stored articles (49.5M postings), shared by every text of a writer's batch
-- (0.7 ms a text in batches of 200; benchmarks/RESULTS.md, dedup).
-- In the lake (issue 28) migration 002 no longer creates the index: nothing to drop.
SELECT 1;
