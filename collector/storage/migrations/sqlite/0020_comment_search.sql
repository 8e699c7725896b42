-- Full-text search over comments (issue 18, item 6). An FTS5 table with external
-- content: the text stays in responses.comment only, the index holds the tokens, and the
-- triggers below keep it in step with every insert, revision and erasure. unicode61 with
-- remove_diacritics 2 folds case and accents, so "cafe" finds "Café" in any of the four
-- languages; no stemming, as one stemmer cannot serve them all.
--
-- FTS5 is compiled into mattn/go-sqlite3 only with the sqlite_fts5 build tag (the
-- Makefile's TAGS); without it this migration fails with "no such module: fts5".
CREATE VIRTUAL TABLE responses_fts USING fts5 (
    comment,
    content = 'responses',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER responses_fts_insert AFTER INSERT ON responses BEGIN
    INSERT INTO responses_fts (rowid, comment) VALUES (new.rowid, new.comment);
END;

CREATE TRIGGER responses_fts_delete AFTER DELETE ON responses BEGIN
    INSERT INTO responses_fts (responses_fts, rowid, comment) VALUES ('delete', old.rowid, old.comment);
END;

CREATE TRIGGER responses_fts_update AFTER UPDATE OF comment ON responses BEGIN
    INSERT INTO responses_fts (responses_fts, rowid, comment) VALUES ('delete', old.rowid, old.comment);
    INSERT INTO responses_fts (rowid, comment) VALUES (new.rowid, new.comment);
END;

-- The comments already stored.
INSERT INTO responses_fts (responses_fts) VALUES ('rebuild');

-- The comments list pages newest first by (created_at, id).
CREATE INDEX responses_created ON responses (created_at, id);
