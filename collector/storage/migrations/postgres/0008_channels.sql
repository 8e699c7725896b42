-- Channels: responses come from kiosks and from survey links (a QR code, a web link, an
-- e-mail), each with a channel and an optional touchpoint, and every report can split
-- by them.

-- A survey link: a short code in a URL, printed as a QR code or carried by a message.
CREATE TABLE links (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    store_id    TEXT NOT NULL REFERENCES stores (id),
    channel     TEXT NOT NULL,
    touchpoint  TEXT NOT NULL DEFAULT '',
    label       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    disabled_at BIGINT
);

CREATE INDEX links_store ON links (store_id);

ALTER TABLE responses ALTER COLUMN device_id DROP NOT NULL;
ALTER TABLE responses ADD COLUMN link_id TEXT REFERENCES links (id);
ALTER TABLE responses ADD COLUMN channel TEXT NOT NULL DEFAULT 'kiosk';
ALTER TABLE responses ADD COLUMN touchpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE responses ADD CONSTRAINT responses_one_origin CHECK ((device_id IS NULL) <> (link_id IS NULL));

ALTER TABLE daily_rollups ADD COLUMN channel TEXT NOT NULL DEFAULT 'kiosk';
ALTER TABLE daily_rollups ADD COLUMN touchpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE daily_rollups DROP CONSTRAINT daily_rollups_pkey;
ALTER TABLE daily_rollups ADD PRIMARY KEY (store_id, day, channel, touchpoint);
