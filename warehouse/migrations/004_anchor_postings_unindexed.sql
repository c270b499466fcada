-- The dedup postings lose their ART index. DuckDB 2.0 keeps an ART index wholly in
-- memory once it is used (persisted or not, it is never evicted), and this one took
-- ~58 bytes an anchor, ~5 KB an article: 2.9 GB of RAM at a million stored articles,
-- the one part of a writer's memory that grew with the warehouse. A check now joins
-- the batch's anchors (the hash table's small build side) against a scan of
-- dedup_anchors, which streams through the capped buffer pool: 3.5 ms per batch at 1M
-- postings, ~130 ms at 50M (benchmarks/RESULTS.md), shared by every text in the batch.
DROP INDEX IF EXISTS dedup_anchors_anchor;
