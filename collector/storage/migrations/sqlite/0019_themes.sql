-- Comment themes and sentiment (issue 18), computed by the collector at ingest with the
-- store's survey taxonomy and recomputed in the background when the taxonomy changes.

-- The comment's sentiment: -1, 0 or 1, NULL without a comment; its score in [-1, 1];
-- worth_a_look when the score and the comment disagree (insight.WorthALook).
ALTER TABLE responses ADD COLUMN sentiment INTEGER;
ALTER TABLE responses ADD COLUMN sentiment_score REAL;
ALTER TABLE responses ADD COLUMN worth_a_look INTEGER NOT NULL DEFAULT 0;
-- The fingerprint of the taxonomy the response was tagged with; NULL: not tagged yet
-- (stored before this migration), which the re-tagging job picks up.
ALTER TABLE responses ADD COLUMN theme_fingerprint TEXT;

-- The themes of a response: of its comment and of the reasons picked that are themes.
-- polarity is how the comment speaks of the theme (-1, 0, 1); 0 for a theme that is only
-- a picked reason.
CREATE TABLE response_themes (
    response_id TEXT NOT NULL REFERENCES responses (id),
    theme       TEXT NOT NULL,
    polarity    INTEGER NOT NULL,
    PRIMARY KEY (response_id, theme)
);

-- Per-day counts of the responses that mention a theme (kind 'theme'), picked a reason
-- (kind 'reason') or are worth a look (kind 'flag', theme 'worth_a_look'), by category, suspect responses left out as from daily_rollups. Kept in
-- the transaction that inserts or revises the response, and by the re-tagging job. Keyed
-- like the report filter's where() so that every report filter applies to it.
CREATE TABLE theme_rollups (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    day        TEXT NOT NULL,
    channel    TEXT NOT NULL,
    touchpoint TEXT NOT NULL,
    segment    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    theme      TEXT NOT NULL,
    promoters  INTEGER NOT NULL DEFAULT 0,
    passives   INTEGER NOT NULL DEFAULT 0,
    detractors INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, day, channel, touchpoint, segment, kind, theme)
);
-- A chain's or region's report reads one kind over a range of days, across stores.
CREATE INDEX theme_rollups_kind_day ON theme_rollups (kind, day);

-- The re-tagging job, one row per store: the taxonomy fingerprint its responses are (or
-- are being) tagged with, progress, and the lease of the collector running it, so that
-- several collectors on one database never re-tag a store twice at once. resume_after is
-- the last response id re-tagged: a job resumes after it when its lease ran out. sweep:
-- the pass over every response is done, and what is left are responses an ingest tagged
-- with the taxonomy before (it read the survey before the change).
CREATE TABLE theme_jobs (
    store_id      TEXT PRIMARY KEY REFERENCES stores (id),
    fingerprint   TEXT NOT NULL,
    resume_after  TEXT NOT NULL DEFAULT '',
    sweep         INTEGER NOT NULL DEFAULT 0,
    done          INTEGER NOT NULL DEFAULT 0,
    total         INTEGER NOT NULL DEFAULT 0,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    lease_owner   TEXT NOT NULL DEFAULT '',
    lease_expires INTEGER NOT NULL DEFAULT 0
);
