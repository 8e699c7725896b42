-- Tokens for reports and the HQ dashboard: HQ-wide (store_id NULL) or one store's.
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    store_id   TEXT REFERENCES stores (id),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE INDEX responses_store_created ON responses (store_id, created_at);
