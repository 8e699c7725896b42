-- A contact a kiosk sealed to a contact key this collector does not hold (or that did
-- not open): the envelope is kept as it came, contact stays '', and the response counts
-- like any other. NULL when there is none, or once opened into contact.
ALTER TABLE responses ADD COLUMN contact_sealed TEXT;
-- The responses still sealed, for the pass that opens them once the key is back.
CREATE INDEX responses_contact_sealed ON responses (id) WHERE contact_sealed IS NOT NULL;
-- What a kiosk's last heartbeat said: when the collector's TLS certificate it saw expires
-- (Unix ms; NULL over plain HTTP) and the id of the contact key it seals to ('' for none).
ALTER TABLE devices ADD COLUMN collector_cert_expiry BIGINT;
ALTER TABLE devices ADD COLUMN contact_key_id TEXT NOT NULL DEFAULT '';
