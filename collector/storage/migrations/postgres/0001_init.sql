CREATE TABLE stores (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    region     TEXT NOT NULL DEFAULT '',
    survey     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE devices (
    id               TEXT PRIMARY KEY,
    store_id         TEXT NOT NULL REFERENCES stores (id),
    name             TEXT NOT NULL,
    code_hash        TEXT UNIQUE,
    code_expires_at  BIGINT,
    token_hash       TEXT UNIQUE,
    enrolled_at      BIGINT,
    revoked_at       BIGINT,
    last_seen_at     BIGINT,
    app_version      TEXT NOT NULL DEFAULT '',
    queue_length     BIGINT NOT NULL DEFAULT 0,
    oldest_pending_s DOUBLE PRECISION NOT NULL DEFAULT 0,
    free_disk_bytes  BIGINT NOT NULL DEFAULT 0,
    clock_skew_ms    BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);

CREATE TABLE responses (
    id              TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores (id),
    device_id       TEXT NOT NULL REFERENCES devices (id),
    score           INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    reasons         TEXT NOT NULL,
    comment         TEXT NOT NULL,
    contact         TEXT NOT NULL,
    contact_consent BOOLEAN NOT NULL,
    locale          TEXT NOT NULL,
    survey_version  INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    completed_at    BIGINT NOT NULL,
    outcome         TEXT NOT NULL,
    suspect         BOOLEAN NOT NULL,
    day             TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    received_at     BIGINT NOT NULL
);

CREATE INDEX responses_store_day ON responses (store_id, day);

CREATE TABLE daily_rollups (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    day        TEXT NOT NULL,
    promoters  BIGINT NOT NULL DEFAULT 0,
    passives   BIGINT NOT NULL DEFAULT 0,
    detractors BIGINT NOT NULL DEFAULT 0,
    suspect    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, day)
);
