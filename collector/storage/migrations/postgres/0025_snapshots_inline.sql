-- A store snapshot (store_snapshots.counts, a few kilobytes of packed running totals)
-- is read whole by every stores table: kept in the row, compressed, it is one heap
-- fetch, where PostgreSQL's default for a value past 2 kB moves it to the TOAST table
-- and costs every read an index lookup and several chunk fetches. MAIN still moves a
-- value out of the row when nothing else makes the row fit its page. Rows written
-- before this migration move back into the row as uploads rewrite them.
ALTER TABLE store_snapshots ALTER COLUMN counts SET STORAGE MAIN;
