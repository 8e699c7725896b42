-- E-mail invitations: one row per invitation sent (or tried), answered through the
-- store's e-mail link. Only a hash of the token in the invitation's links is kept, and
-- only a hash of the address: enough to honour an unsubscribe and the quiet period,
-- nothing to write to anyone with.
CREATE TABLE invitations (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    store_id        TEXT NOT NULL REFERENCES stores (id),
    link_id         TEXT NOT NULL REFERENCES links (id),
    touchpoint      TEXT NOT NULL DEFAULT '',
    address_hash    TEXT NOT NULL,
    language        TEXT NOT NULL,
    order_id        TEXT NOT NULL DEFAULT '',
    segment         TEXT NOT NULL DEFAULT '',
    -- the id the answer is stored under, fixed so that a second answer revises the first
    response_id     TEXT NOT NULL UNIQUE,
    day             TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    failed_at       INTEGER,
    send_error      TEXT NOT NULL DEFAULT '',
    answered_at     INTEGER,
    unsubscribed_at INTEGER
) STRICT;

CREATE INDEX invitations_address ON invitations (address_hash, created_at);
CREATE INDEX invitations_store_day ON invitations (store_id, day);

-- Addresses (by hash) that asked for no more invitations: from the whole chain when
-- store_id is empty, else from that store.
CREATE TABLE unsubscribes (
    address_hash TEXT NOT NULL,
    store_id     TEXT NOT NULL DEFAULT '',
    via          TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (address_hash, store_id)
) STRICT;
