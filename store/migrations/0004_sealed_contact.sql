-- Contacts are sealed on the kiosk to the collector's public key before they are stored
-- (package contactseal): sealed_contact holds the box, and the contact column stays
-- empty from now on (Open seals or clears what earlier versions left in it).
ALTER TABLE responses ADD COLUMN sealed_contact TEXT NOT NULL DEFAULT '';

-- Contacts left in clear by earlier versions, until sealed or dropped (store.DB.PlainContacts).
CREATE INDEX responses_plain_contact ON responses (id) WHERE contact <> '';

-- The collector's contact key the kiosk seals to: one row, or none when the collector
-- has no key (then no contact is asked for).
CREATE TABLE contact_key (
    slot       INTEGER PRIMARY KEY CHECK (slot = 1),
    id         TEXT NOT NULL,
    public_key BLOB NOT NULL,
    learnt_at  INTEGER NOT NULL
) STRICT;

-- The case cache keeps no contact: the manager view shows it from what the sync worker
-- holds in memory. Whether the shopper left one is kept, for the offline text.
UPDATE cases
   SET body = json_set(json_remove(body, '$.contact'), '$.has_contact', json('true'))
 WHERE COALESCE(json_extract(body, '$.contact'), '') <> '';
