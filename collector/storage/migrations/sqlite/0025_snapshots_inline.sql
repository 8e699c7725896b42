-- A store snapshot (a shard's packed running totals, one to a few kilobytes) is read
-- whole by every stores table. In a WITHOUT ROWID table a row keeps at most about a
-- quarter of a page in its b-tree cell, and SQLite reads the rest of a larger one from
-- the file with a system call per overflow page on every read, past its page cache
-- (direct overflow reads): 64 shards' pairs cost 3.5 ms of system time a report,
-- warm. An ordinary table keeps a row of up to nearly a page in its cell, so the same
-- read is cached pages, 0.5 ms; the key becomes a unique index, which the upserts' ON
-- CONFLICT names as before. PostgreSQL's 0025 keeps the same rows out of its TOAST
-- table.
CREATE TABLE store_snapshots_rows (
    scope  TEXT NOT NULL,
    slice  TEXT NOT NULL,
    shard  INTEGER NOT NULL,
    day    TEXT NOT NULL,
    counts BLOB NOT NULL
) STRICT;
INSERT INTO store_snapshots_rows (scope, slice, shard, day, counts)
SELECT scope, slice, shard, day, counts FROM store_snapshots ORDER BY scope, slice, shard, day;
DROP TABLE store_snapshots;
ALTER TABLE store_snapshots_rows RENAME TO store_snapshots;
CREATE UNIQUE INDEX store_snapshots_key ON store_snapshots (scope, slice, shard, day);
