CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    store_id   TEXT REFERENCES stores (id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE INDEX responses_store_created ON responses (store_id, created_at);
