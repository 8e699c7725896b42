-- compatible: previous
-- PostgreSQL's 0032 adds store_snapshot_pairs, a function that reads store snapshots
-- with a plan made once. SQLite plans the same statement once when it is prepared
-- (storeTotals keeps it prepared), so it needs nothing.
SELECT 1;
