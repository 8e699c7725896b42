-- Channels: responses come from kiosks and from survey links (a QR code, a web link, an
-- e-mail), each with a channel and an optional touchpoint, and every report can split
-- by them. SQLite cannot drop NOT NULL or change a primary key in place, so responses
-- and daily_rollups are rebuilt, by the usual copy and rename. Foreign keys (cases point
-- at responses) are checked at commit, when the new table holds every id again.
PRAGMA defer_foreign_keys = ON;

-- A survey link: a short code in a URL, printed as a QR code or carried by a message.
CREATE TABLE links (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    store_id    TEXT NOT NULL REFERENCES stores (id),
    channel     TEXT NOT NULL,
    touchpoint  TEXT NOT NULL DEFAULT '',
    label       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    disabled_at INTEGER
) STRICT;

CREATE INDEX links_store ON links (store_id);

CREATE TABLE responses_new (
    id              TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores (id),
    device_id       TEXT REFERENCES devices (id),
    link_id         TEXT REFERENCES links (id),
    channel         TEXT NOT NULL DEFAULT 'kiosk',
    touchpoint      TEXT NOT NULL DEFAULT '',
    score           INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    reasons         TEXT NOT NULL,
    comment         TEXT NOT NULL,
    contact         TEXT NOT NULL,
    contact_consent INTEGER NOT NULL,
    locale          TEXT NOT NULL,
    survey_version  INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    completed_at    INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    suspect         INTEGER NOT NULL,
    day             TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    CHECK ((device_id IS NULL) <> (link_id IS NULL))
) STRICT;

INSERT INTO responses_new (id, store_id, device_id, score, reasons, comment, contact, contact_consent, locale,
                           survey_version, created_at, completed_at, outcome, suspect, day, content_hash, received_at)
SELECT id, store_id, device_id, score, reasons, comment, contact, contact_consent, locale,
       survey_version, created_at, completed_at, outcome, suspect, day, content_hash, received_at
  FROM responses;
DROP TABLE responses;
ALTER TABLE responses_new RENAME TO responses;
CREATE INDEX responses_store_day ON responses (store_id, day);
CREATE INDEX responses_store_created ON responses (store_id, created_at);

CREATE TABLE daily_rollups_new (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    day        TEXT NOT NULL,
    channel    TEXT NOT NULL DEFAULT 'kiosk',
    touchpoint TEXT NOT NULL DEFAULT '',
    promoters  INTEGER NOT NULL DEFAULT 0,
    passives   INTEGER NOT NULL DEFAULT 0,
    detractors INTEGER NOT NULL DEFAULT 0,
    suspect    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, day, channel, touchpoint)
) STRICT;

INSERT INTO daily_rollups_new (store_id, day, promoters, passives, detractors, suspect)
SELECT store_id, day, promoters, passives, detractors, suspect FROM daily_rollups;
DROP TABLE daily_rollups;
ALTER TABLE daily_rollups_new RENAME TO daily_rollups;
