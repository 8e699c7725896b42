-- People who sign in to the dashboard. The e-mail is kept lowercased, so UNIQUE is
-- case-blind. scope_kind is chain (scope empty), region or store. Disabled users stay,
-- so that case histories keep naming them.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    language      TEXT NOT NULL,
    scope_kind    TEXT NOT NULL CHECK (scope_kind IN ('chain', 'region', 'store')),
    scope         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
) STRICT;

-- Dashboard sessions live in the database, so that every collector behind a load
-- balancer knows them. The id is the SHA-256 of the cookie's random token: the token
-- itself is stored nowhere.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
