-- Webhook subscriptions: chain-wide (scope_kind 'chain'), a region's or a store's.
CREATE TABLE webhook_subscriptions (
    id                   TEXT PRIMARY KEY,
    scope_kind           TEXT NOT NULL,
    scope                TEXT NOT NULL DEFAULT '',
    url                  TEXT NOT NULL,
    secret               TEXT NOT NULL,
    events               TEXT NOT NULL,            -- ',case.opened,case.updated,' or ',*,'
    created_at           INTEGER NOT NULL,
    paused_at            INTEGER,
    pause_reason         TEXT NOT NULL DEFAULT '',
    consecutive_failures INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Events, written in the same transaction as what they tell of.
CREATE TABLE events (
    id       TEXT PRIMARY KEY,
    type     TEXT NOT NULL,
    store_id TEXT NOT NULL,
    at       INTEGER NOT NULL,
    payload  TEXT NOT NULL
) STRICT;

-- The durable queue: one delivery of an event to a subscription, leased by one
-- collector at a time and retried until it succeeds or its time runs out.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL REFERENCES events (id),
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id),
    status          TEXT NOT NULL,                 -- pending, delivered, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    leased_until    INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    INTEGER,
    UNIQUE (event_id, subscription_id)
) STRICT;

CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);

-- Every attempt, for the delivery log.
CREATE TABLE delivery_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    at          INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    duration_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
