-- Responses captured on this kiosk. Times are Unix milliseconds (UTC) from the device clock.
CREATE TABLE responses (
    id                TEXT PRIMARY KEY,            -- UUIDv7 made on the device
    score             INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    locale            TEXT NOT NULL,
    survey_version    INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,            -- the tap
    completed_at      INTEGER,                     -- NULL while the follow-up is open
    outcome           TEXT CHECK (outcome IN ('submitted', 'skipped', 'timed_out', 'recovered')),
    reasons           TEXT NOT NULL DEFAULT '[]',  -- JSON array of reason keys
    comment           TEXT NOT NULL DEFAULT '',
    contact           TEXT NOT NULL DEFAULT '',
    contact_consent   INTEGER NOT NULL DEFAULT 0,
    suspect           INTEGER NOT NULL DEFAULT 0,  -- rapid repeat tap (capture rule 3)
    synced_at         INTEGER,
    quarantined_at    INTEGER,
    quarantine_reason TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX responses_created ON responses (created_at);

-- The outbox: completed, not yet synced, not quarantined, oldest first.
CREATE INDEX responses_outbox ON responses (created_at, id)
    WHERE completed_at IS NOT NULL AND synced_at IS NULL AND quarantined_at IS NULL;

CREATE INDEX responses_open ON responses (created_at) WHERE completed_at IS NULL;

-- Small durable key/value state: cached survey config, PIN lock-out counters, sync marks.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
