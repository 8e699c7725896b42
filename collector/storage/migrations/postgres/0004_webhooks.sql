-- Webhook subscriptions: chain-wide (scope_kind 'chain'), a region's or a store's.
CREATE TABLE webhook_subscriptions (
    id                   TEXT PRIMARY KEY,
    scope_kind           TEXT NOT NULL,
    scope                TEXT NOT NULL DEFAULT '',
    url                  TEXT NOT NULL,
    secret               TEXT NOT NULL,
    events               TEXT NOT NULL,            -- ',case.opened,case.updated,' or ',*,'
    created_at           BIGINT NOT NULL,
    paused_at            BIGINT,
    pause_reason         TEXT NOT NULL DEFAULT '',
    consecutive_failures BIGINT NOT NULL DEFAULT 0
);

-- Events, written in the same transaction as what they tell of.
CREATE TABLE events (
    id       TEXT PRIMARY KEY,
    type     TEXT NOT NULL,
    store_id TEXT NOT NULL,
    at       BIGINT NOT NULL,
    payload  TEXT NOT NULL
);

-- The durable queue: one delivery of an event to a subscription, leased by one
-- collector at a time and retried until it succeeds or its time runs out.
CREATE TABLE deliveries (
    id              BIGSERIAL PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events (id),
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id),
    status          TEXT NOT NULL,                 -- pending, delivered, failed
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    BIGINT,
    UNIQUE (event_id, subscription_id)
);

CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);

-- Every attempt, for the delivery log.
CREATE TABLE delivery_attempts (
    id          BIGSERIAL PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES deliveries (id),
    at          BIGINT NOT NULL,
    status_code BIGINT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL
);

CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
