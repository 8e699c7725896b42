-- compatible: previous
-- Rolling upgrades on PostgreSQL: several collectors share the database, and while they
-- are upgraded one by one a collector of the previous version may be started again (a
-- crash, a reboot) after a newer one migrated the schema. readers_from is the oldest
-- build, by the number of migrations it knows, that may still run on the schema after
-- this version: a migration whose first line is "-- compatible: previous" only adds
-- (tables, nullable or defaulted columns, indexes) and is read by the build before it
-- too; NULL: only builds that know this migration. A build older than the schema runs on
-- it when every newer version allows it, and refuses it otherwise (without migrating).
ALTER TABLE schema_version ADD COLUMN readers_from INTEGER;
