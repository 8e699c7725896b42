-- compatible: previous
-- Remote actions IT asks of a kiosk from the dashboard or the CLI (sync now, upload a
-- diagnostics bundle, restart the app): queued here with who asked, handed to the
-- device in a heartbeat reply (sent, with a lease: a reply that never arrived is sent
-- again once sent_at + the lease has passed), and finished by the result the device
-- names in a later heartbeat. A diagnostics bundle, bounded in size, is kept here until
-- bundle_expires_at, when retention clears it.
-- (Numbered 0030 in the issue's plan: the lead renumbers at merge.)
CREATE TABLE device_actions (
    id                TEXT PRIMARY KEY,
    device_id         TEXT NOT NULL REFERENCES devices (id),
    kind              TEXT NOT NULL,
    requested_by      TEXT NOT NULL,
    requested_at      INTEGER NOT NULL,
    state             TEXT NOT NULL DEFAULT 'queued',
    sent_at           INTEGER,
    sends             INTEGER NOT NULL DEFAULT 0,
    finished_at       INTEGER,
    result            TEXT NOT NULL DEFAULT '',
    bundle            BLOB,
    bundle_bytes      INTEGER NOT NULL DEFAULT 0,
    bundle_expires_at INTEGER
);

CREATE INDEX device_actions_open ON device_actions (device_id, state);
CREATE INDEX device_actions_by_device ON device_actions (device_id, requested_at);
