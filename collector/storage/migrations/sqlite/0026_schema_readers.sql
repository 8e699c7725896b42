-- Nothing to change on SQLite: one collector process owns the file, so no build older
-- than its schema runs beside a newer one (see the PostgreSQL migration of this number).
-- The file keeps the two dialects' migrations numbered alike.
SELECT 1;
