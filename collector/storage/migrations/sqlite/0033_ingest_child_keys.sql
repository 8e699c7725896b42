-- compatible: previous
-- PostgreSQL's 0033 drops the foreign keys of response_themes, cases and case_events,
-- which cost it a row lock on the parent per row at ingest. SQLite checks them with an
-- index lookup and keeps them.
SELECT 1;
