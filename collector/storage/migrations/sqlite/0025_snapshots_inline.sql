-- PostgreSQL keeps store snapshots in their rows from this migration on; SQLite has no
-- such setting (a snapshot's overflow pages are read through the mapped file), and
-- keeps its numbering in step.
SELECT 1;
