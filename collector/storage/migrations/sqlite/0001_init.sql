CREATE TABLE stores (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    region     TEXT NOT NULL DEFAULT '',
    survey     TEXT NOT NULL DEFAULT '',  -- JSON wire.Survey; '' means the default survey
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE devices (
    id               TEXT PRIMARY KEY,
    store_id         TEXT NOT NULL REFERENCES stores (id),
    name             TEXT NOT NULL,
    code_hash        TEXT UNIQUE,          -- one-time enrollment code, NULL once used
    code_expires_at  INTEGER,
    token_hash       TEXT UNIQUE,          -- NULL until enrolled
    enrolled_at      INTEGER,
    revoked_at       INTEGER,
    last_seen_at     INTEGER,
    app_version      TEXT NOT NULL DEFAULT '',
    queue_length     INTEGER NOT NULL DEFAULT 0,
    oldest_pending_s REAL NOT NULL DEFAULT 0,
    free_disk_bytes  INTEGER NOT NULL DEFAULT 0,
    clock_skew_ms    INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE responses (
    id              TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores (id),
    device_id       TEXT NOT NULL REFERENCES devices (id),
    score           INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    reasons         TEXT NOT NULL,
    comment         TEXT NOT NULL,
    contact         TEXT NOT NULL,
    contact_consent INTEGER NOT NULL,
    locale          TEXT NOT NULL,
    survey_version  INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    completed_at    INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    suspect         INTEGER NOT NULL,
    day             TEXT NOT NULL,         -- calendar day in the store's time zone
    content_hash    TEXT NOT NULL,         -- tells a retry (same content) from a conflict
    received_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX responses_store_day ON responses (store_id, day);

-- Per-store, per-day counts kept in the same transaction as the inserts, so reports
-- read a few rows per store and day and never disagree with the raw rows.
CREATE TABLE daily_rollups (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    day        TEXT NOT NULL,
    promoters  INTEGER NOT NULL DEFAULT 0,
    passives   INTEGER NOT NULL DEFAULT 0,
    detractors INTEGER NOT NULL DEFAULT 0,
    suspect    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, day)
) STRICT;
