-- Erasure of one person's data and contacts encrypted at rest (issue 19).

-- The blind index of a response's contact: HMAC-SHA256, under the index key, of the
-- normalised contact (storage/contactvault.go), so that an erasure finds a person's
-- responses without decrypting every contact. NULL without a contact, or for a row
-- stored before this migration until the collector backfills it.
ALTER TABLE responses ADD COLUMN contact_index TEXT;
CREATE INDEX responses_contact_index ON responses (contact_index) WHERE contact_index IS NOT NULL;

-- One row per erasure carried out: when, who asked (a CLI user, an API token, a
-- dashboard user), a keyed hash of the contact (never the contact itself) and what it
-- changed, per table, as JSON.
CREATE TABLE erasures (
    id           TEXT PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    contact_hash TEXT NOT NULL,
    counts       TEXT NOT NULL
);

-- Kiosk responses an erasure scrubbed at the collector, which the kiosk that took them
-- is told to scrub from its own database at its next sync; acked_at is set when the
-- kiosk says it did, after which it is not told again. Ids only, no personal data.
CREATE TABLE erased_responses (
    response_id TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    erasure_id  TEXT NOT NULL REFERENCES erasures (id),
    erased_at   BIGINT NOT NULL,
    acked_at    BIGINT
);

CREATE INDEX erased_responses_device ON erased_responses (device_id, response_id) WHERE acked_at IS NULL;

-- Whether a dashboard user may see shoppers' contact details (the contacts permission):
-- those who already could keep it; npscollector user contacts EMAIL off takes it away.
ALTER TABLE users ADD COLUMN contacts BOOLEAN NOT NULL DEFAULT TRUE;
