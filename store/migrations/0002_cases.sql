-- The store's open follow-up cases as last pulled from the collector, so the manager
-- view shows them offline. body is the case as JSON (store.Case).
CREATE TABLE cases (
    id        TEXT PRIMARY KEY,
    body      TEXT NOT NULL,
    version   INTEGER NOT NULL,
    pulled_at INTEGER NOT NULL
) STRICT;

-- The manager's moves of cases, queued until the collector has them. A change is
-- pending until synced_at or rejected_at is set; a rejected one keeps the manager's note
-- and the status the case had at HQ, shown until the manager dismisses it.
CREATE TABLE case_changes (
    change_id       TEXT PRIMARY KEY,            -- UUIDv7 made on the device
    case_id         TEXT NOT NULL,
    status          TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    version         INTEGER NOT NULL,            -- the case's version the manager saw
    created_at      INTEGER NOT NULL,
    synced_at       INTEGER,
    rejected_at     INTEGER,
    rejected_reason TEXT NOT NULL DEFAULT '',
    rejected_status TEXT NOT NULL DEFAULT '',    -- the case's status at HQ, when known
    dismissed_at    INTEGER
) STRICT;

CREATE INDEX case_changes_pending ON case_changes (created_at, change_id)
    WHERE synced_at IS NULL AND rejected_at IS NULL;
