-- A person's alerts are an e-mail subscription bound to them: it has their scope, and
-- the worker writes to their address in their language when it sends, so it follows
-- them. One per person; it goes when they are disabled.
ALTER TABLE webhook_subscriptions ADD COLUMN user_id TEXT REFERENCES users (id);
CREATE UNIQUE INDEX webhook_subscriptions_user ON webhook_subscriptions (user_id) WHERE user_id IS NOT NULL;

-- The daily digests of a region and of the chain, one per local day. The row is the
-- claim, so collectors sending at once send one.
CREATE TABLE scope_digests (
    scope_kind TEXT NOT NULL,
    scope      TEXT NOT NULL,
    day        TEXT NOT NULL,
    sent_at    INTEGER NOT NULL,
    PRIMARY KEY (scope_kind, scope, day)
) STRICT;
