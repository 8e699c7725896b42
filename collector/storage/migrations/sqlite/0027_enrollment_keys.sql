-- compatible: previous
-- Enrollment keys provision many kiosks of one store without a shell on each: a key
-- works for a number of devices until it expires or is revoked, and each use makes a
-- device, recorded with the key that made it. Only the key's hash is kept.
CREATE TABLE enrollment_keys (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL REFERENCES stores (id),
    key_hash   TEXT NOT NULL UNIQUE,
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE enrollment_key_uses (
    key_id    TEXT NOT NULL REFERENCES enrollment_keys (id),
    device_id TEXT NOT NULL REFERENCES devices (id),
    used_at   INTEGER NOT NULL,
    PRIMARY KEY (key_id, device_id)
);
