package storage

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/npskiosk/npskiosk/collector/contactvault"
	"github.com/npskiosk/npskiosk/contactseal"
)

// SealedContactText is how a contact the collector cannot open is shown wherever a
// contact would be (the dashboard, CSV exports): never the envelope, only the key it
// needs.
func SealedContactText(keyID string) string { return "sealed (key " + keyID + ")" }

// sealedKeyID is the key id of a stored envelope, "" for none. An envelope is checked at
// ingest, so "unknown" is for a row someone edited by hand.
func sealedKeyID(envelope sql.NullString) string {
	if !envelope.Valid || envelope.String == "" {
		return ""
	}
	id, err := contactseal.SealedKeyID(envelope.String)
	if err != nil {
		return "unknown"
	}
	return id
}

// UnreadableContactText is how a stored contact is shown when it is encrypted under a
// contact store key the collector has not loaded (or does not open): never the
// ciphertext.
func UnreadableContactText(keyID string) string { return "encrypted (key " + keyID + " not loaded)" }

// openStored is a stored contact as people read it: decrypted, or UnreadableContactText.
func openStored(v *contactvault.Vault, stored string) string {
	plain, err := v.Open(stored)
	if err != nil {
		return UnreadableContactText(contactvault.KeyID(stored))
	}
	return plain
}

// SealedContact is a stored response whose contact is still sealed.
type SealedContact struct {
	ResponseID string
	Sealed     string
}

// SealedContacts lists up to limit responses whose contact is still sealed, after the
// response id after (empty: from the start), in id order: the pass that opens them
// once the collector holds their key pages through them with it.
func (db *DB) SealedContacts(ctx context.Context, after string, limit int) ([]SealedContact, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT id, contact_sealed FROM responses
		 WHERE contact_sealed IS NOT NULL AND id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sealed contacts: %w", err)
	}
	defer rows.Close()
	var out []SealedContact
	for rows.Next() {
		var s SealedContact
		if err := rows.Scan(&s.ResponseID, &s.Sealed); err != nil {
			return nil, fmt.Errorf("sealed contacts: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// OpenedContact is a sealed contact the collector opened after it was stored.
type OpenedContact struct {
	ResponseID string
	Sealed     string // the envelope it was opened from: a row changed meanwhile is left alone
	Contact    string
}

// StoreOpenedContacts puts opened contacts in place of their envelopes, in one
// transaction, and returns how many it replaced. The content hash stays that of what
// the kiosk sent, so a retry of its upload is still a duplicate.
func (db *DB) StoreOpenedContacts(ctx context.Context, opened []OpenedContact) (int, error) {
	if len(opened) == 0 {
		return 0, nil
	}
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store opened contacts: %w", err)
	}
	defer t.Rollback()
	n := 0
	for _, o := range opened {
		contact, err := db.vault.Seal(o.Contact)
		if err != nil {
			return 0, fmt.Errorf("store opened contact of %s: %w", o.ResponseID, err)
		}
		res, err := t.ExecContext(ctx, `UPDATE responses SET contact = ?, contact_index = ?, contact_sealed = NULL WHERE id = ? AND contact_sealed = ?`,
			contact, nullable(db.vault.Index(o.Contact)), o.ResponseID, o.Sealed)
		if err != nil {
			return 0, fmt.Errorf("store opened contact of %s: %w", o.ResponseID, err)
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	if err := t.Commit(); err != nil {
		return 0, fmt.Errorf("store opened contacts: %w", err)
	}
	return n, nil
}
