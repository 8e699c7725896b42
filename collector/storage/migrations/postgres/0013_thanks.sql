-- Thanking promoters: the rule (the chain's, scope '', and any store's own, as JSON
-- followup.ThanksRule), and a queue of thank-you e-mails, one per response at most.
CREATE TABLE thanks_rules (
    scope      TEXT PRIMARY KEY,
    rule       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A thank-you e-mail to a promoter who left an e-mail address with consent, queued in
-- the same transaction as the response (or its revision) and sent by the alert worker
-- under a lease, like a delivery. The address is not copied here: it is read from the
-- response when the e-mail goes out; only its hash is kept, to honour unsubscribes.
CREATE TABLE thank_yous (
    id              TEXT PRIMARY KEY,
    response_id     TEXT NOT NULL UNIQUE REFERENCES responses (id),
    store_id        TEXT NOT NULL REFERENCES stores (id),
    language        TEXT NOT NULL,
    review_url      TEXT NOT NULL DEFAULT '',
    address_hash    TEXT NOT NULL,
    status          TEXT NOT NULL,                 -- pending, sent, failed, skipped, cancelled
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    token_hash      TEXT NOT NULL DEFAULT '',      -- of the unsubscribe link's token
    unsubscribed_at BIGINT
);

CREATE INDEX thank_yous_due ON thank_yous (status, next_attempt_at);
CREATE INDEX thank_yous_store ON thank_yous (store_id, created_at);
CREATE INDEX thank_yous_token ON thank_yous (token_hash);
