-- Raw pages of a warehouse on disk live in pack files beside it (monitor.storage.pagestore):
-- DuckDB's checkpoints of a BLOB column of large pages could not stay under the
-- writer's memory cap. Rows saved before keep their bytes in `raw`; new rows leave
-- `raw` NULL and point at `pack_length` bytes at `pack_offset` of the file `pack`.
-- A warehouse in memory still keeps them in `raw`.
ALTER TABLE pages ADD COLUMN pack VARCHAR;
ALTER TABLE pages ADD COLUMN pack_offset BIGINT;
ALTER TABLE pages ADD COLUMN pack_length BIGINT;
