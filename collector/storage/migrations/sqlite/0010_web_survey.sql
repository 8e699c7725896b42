-- The web survey: a signing key shared by every collector on this database (it signs
-- the token that lets a shopper's browser add a follow-up to its own answer, so a
-- restart or another collector behind the load balancer still accepts it), and an
-- index to count each survey link's answers.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX responses_link ON responses (link_id) WHERE link_id IS NOT NULL;
