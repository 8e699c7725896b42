-- compatible: previous
-- PostgreSQL's 0034 finds a scope's snapshots on the two days of a range in one index
-- scan, where each probe cost it 10-20 µs. SQLite's probes cost a microsecond or two in
-- process, and it keeps them.
SELECT 1;
