-- Changes kiosks made to cases, by the id the kiosk gave each (a UUIDv7), so a change
-- sent again after a lost reply is recognised and not applied twice. It holds ids only,
-- no personal data, and no foreign key, so that erasing a case is not held up by it.
CREATE TABLE case_changes (
    change_id  TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    applied_at BIGINT NOT NULL
);

CREATE INDEX case_changes_case ON case_changes (case_id);
