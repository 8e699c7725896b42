-- Reports filter rollups by a range of days across all stores. The primary key leads with
-- store_id, and PostgreSQL before 18 has no skip scan, so without this index a 30-day chain
-- report reads every rollup row ever written. Ingest changes only the counts, which no
-- index holds, so rollup updates stay HOT. (SQLite skip-scans the primary key instead.)
CREATE INDEX daily_rollups_day ON daily_rollups (day, store_id);
