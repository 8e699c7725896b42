-- Retention (issue 19): how long the chain keeps what shoppers wrote and how to reach
-- them. Scores, reasons, rollups and report sums are kept forever; a purge blanks the
-- comment and free-text answers (comments_days) and the contact, sealed or not, with
-- case notes, invitation and thank-you address hashes and the webhook delivery log
-- (contacts_days) of what is older than that. 0 keeps forever. One row: the chain's.
CREATE TABLE retention_policy (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    comments_days INTEGER NOT NULL DEFAULT 0,
    contacts_days INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO retention_policy (id) VALUES (1);

-- Who purges now: a lease, so that of several collectors on one database one purges at a
-- time; it runs out by itself when that collector stops.
CREATE TABLE retention_lease (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    owner         TEXT NOT NULL DEFAULT '',
    lease_expires INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO retention_lease (id) VALUES (1);

-- Every purge, with what it purged per table (JSON object of counts), for status and
-- the metrics.
CREATE TABLE retention_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    dry_run     INTEGER NOT NULL,
    counts      TEXT NOT NULL,
    error       TEXT NOT NULL DEFAULT ''
) STRICT;

-- When a response's texts and contact were purged: the purge looks only at rows still
-- holding them (the partial indexes), so a run over a large old history costs nothing
-- once done.
ALTER TABLE responses ADD COLUMN texts_purged_at INTEGER;
ALTER TABLE responses ADD COLUMN contact_purged_at INTEGER;
CREATE INDEX responses_texts_unpurged ON responses (created_at, id)
    WHERE texts_purged_at IS NULL AND (comment <> '' OR answers <> '');
CREATE INDEX responses_contact_unpurged ON responses (created_at, id)
    WHERE contact_purged_at IS NULL AND (contact <> '' OR contact_sealed IS NOT NULL);

-- What a kiosk last said of its own retention in its heartbeat: its database's size and
-- its last purge.
ALTER TABLE devices ADD COLUMN db_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN last_purge_at INTEGER;
ALTER TABLE devices ADD COLUMN last_purged INTEGER NOT NULL DEFAULT 0;

-- The purge blanks the payloads of old events (they carry comments and contacts) once
-- their deliveries are gone; drops and digests read only their type and time.
CREATE INDEX events_payload_unpurged ON events (at, id) WHERE payload <> '{}';
