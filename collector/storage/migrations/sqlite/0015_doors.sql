-- When an API token last authenticated (updated at most once a minute), shown by
-- token list.
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;

-- Failed attempts per key (sign-in, enrollment code, token; per client network and
-- for everyone) and fixed window, shared by every collector on the database. Only
-- failures are written, so a well-behaved fleet costs the writer nothing.
CREATE TABLE auth_failures (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT;

CREATE INDEX auth_failures_window ON auth_failures (window_start);
