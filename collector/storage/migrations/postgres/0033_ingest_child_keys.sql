-- compatible: previous
-- An upload's themes, cases and case history are written in the statement that inserts
-- its responses, from the ids that insert returns (ingesttogether.go), and every other
-- writer of them writes rows of a response or case it has just read in the same
-- transaction; neither responses nor cases are ever deleted (an erasure clears their
-- text). So these four foreign keys never refuse a row, yet PostgreSQL checks each with a
-- query that takes a KEY SHARE lock on the parent: a write to the row just inserted, per
-- theme, case and case event. At ingest that was about a tenth of the collector's
-- throughput (BenchmarkIngest, 0.55 → 0.61 of the raw insert rate, three runs each).
-- TestConcurrentUploadsAcrossWriters checks, on both databases, that concurrent uploads
-- (the same batches twice at once among them) leave no child without its parent. SQLite
-- keeps its keys: its check is an index lookup without a lock, and dropping one would
-- rebuild the table.
ALTER TABLE response_themes DROP CONSTRAINT IF EXISTS response_themes_response_id_fkey;
ALTER TABLE cases DROP CONSTRAINT IF EXISTS cases_response_id_fkey;
ALTER TABLE cases DROP CONSTRAINT IF EXISTS cases_store_id_fkey;
ALTER TABLE case_events DROP CONSTRAINT IF EXISTS case_events_case_id_fkey;
