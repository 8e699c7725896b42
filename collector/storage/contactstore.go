package storage

import (
	"context"
	"fmt"

	"github.com/npskiosk/npskiosk/collector/contactvault"
)

// RekeyResult says what RekeyContacts did.
type RekeyResult struct {
	Scanned     int64  `json:"scanned"`     // stored contacts read
	Reencrypted int64  `json:"reencrypted"` // written again under the current key (plaintext ones included)
	Current     string `json:"current_key"`
	// Unreadable are contacts under a key the file no longer holds: they are left as they
	// are, and the old keys must not be retired while there are any.
	Unreadable int64 `json:"unreadable"`
}

// RekeyContacts re-encrypts every stored contact that is not under the contact store's
// current key (contacts stored in plaintext before encryption included) and fills in
// its blind index, in transactions of batch rows, calling progress after each. A row
// changed meanwhile (an erasure, a revision) is left to that change. Afterwards, and
// with Unreadable zero, the older keys can be removed from the key file.
func (db *DB) RekeyContacts(ctx context.Context, batch int, progress func(RekeyResult)) (RekeyResult, error) {
	if db.vault == nil {
		return RekeyResult{}, fmt.Errorf("rekey contacts: %w: no contact store key file is loaded (--contact-store-keys)", ErrInvalid)
	}
	if batch <= 0 {
		batch = 500
	}
	res := RekeyResult{Current: db.vault.Current()}
	after := ""
	for {
		rows, err := db.read.QueryContext(ctx, `SELECT id, contact, contact_index FROM responses WHERE contact <> '' AND id > ? ORDER BY id LIMIT ?`, after, batch)
		if err != nil {
			return res, fmt.Errorf("rekey contacts: %w", err)
		}
		type change struct{ id, old, sealed, index string }
		var todo []change
		n := 0
		for rows.Next() {
			var id, stored string
			var index *string
			if err := rows.Scan(&id, &stored, &index); err != nil {
				rows.Close()
				return res, fmt.Errorf("rekey contacts: %w", err)
			}
			n++
			after = id
			res.Scanned++
			plain, err := db.vault.Open(stored)
			if err != nil {
				res.Unreadable++
				continue
			}
			want := db.vault.Index(plain)
			if contactvault.KeyID(stored) == res.Current && index != nil && *index == want {
				continue
			}
			sealed, err := db.vault.Seal(plain)
			if err != nil {
				rows.Close()
				return res, fmt.Errorf("rekey contacts: %w", err)
			}
			todo = append(todo, change{id, stored, sealed, want})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("rekey contacts: %w", err)
		}
		if len(todo) > 0 {
			t, err := db.write.BeginTx(ctx, nil)
			if err != nil {
				return res, fmt.Errorf("rekey contacts: %w", err)
			}
			for _, c := range todo {
				out, err := t.ExecContext(ctx, `UPDATE responses SET contact = ?, contact_index = ? WHERE id = ? AND contact = ?`,
					c.sealed, nullable(c.index), c.id, c.old)
				if err != nil {
					t.Rollback()
					return res, fmt.Errorf("rekey contact of %s: %w", c.id, err)
				}
				res.Reencrypted += affected(out)
			}
			if err := t.Commit(); err != nil {
				return res, fmt.Errorf("rekey contacts: %w", err)
			}
		}
		if progress != nil {
			progress(res)
		}
		if n < batch {
			return res, nil
		}
	}
}

// HasEncryptedContacts reports whether any stored contact is encrypted.
func (db *DB) HasEncryptedContacts(ctx context.Context) (bool, error) {
	var yes bool
	if err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM responses WHERE contact LIKE 'cv1:%')`).Scan(&yes); err != nil {
		return false, fmt.Errorf("look for encrypted contacts: %w", err)
	}
	return yes, nil
}

// ContactsNotUnderKey counts the stored contacts not encrypted under the given key:
// plaintext ones, and those under other keys.
func (db *DB) ContactsNotUnderKey(ctx context.Context, keyID string) (int64, error) {
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM responses WHERE contact <> '' AND contact NOT LIKE ? ESCAPE '\'`,
		likePrefix("cv1:"+keyID+":")).Scan(&n); err != nil {
		return 0, fmt.Errorf("count contacts not under key %s: %w", keyID, err)
	}
	return n, nil
}

// MaxScrubsPerReply bounds the responses one heartbeat reply asks a kiosk to scrub; the
// rest follow in later replies.
const MaxScrubsPerReply = 500

// KioskScrubs returns the responses of a device an erasure cleared that the device has
// not said it scrubbed, and their cases, after noting the ones it now says it did.
func (db *DB) KioskScrubs(ctx context.Context, deviceID string, scrubbed []string) (responses, cases []string, err error) {
	if len(scrubbed) > 0 {
		t, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("kiosk scrubs of %s: %w", deviceID, err)
		}
		defer t.Rollback()
		for _, id := range scrubbed {
			if _, err := t.ExecContext(ctx, `UPDATE erased_responses SET acked_at = ? WHERE response_id = ? AND device_id = ? AND acked_at IS NULL`,
				db.now().UnixMilli(), id, deviceID); err != nil {
				return nil, nil, fmt.Errorf("kiosk scrubs of %s: %w", deviceID, err)
			}
		}
		if err := t.Commit(); err != nil {
			return nil, nil, fmt.Errorf("kiosk scrubs of %s: %w", deviceID, err)
		}
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT e.response_id, COALESCE(c.id, '') FROM erased_responses e LEFT JOIN cases c ON c.response_id = e.response_id
		 WHERE e.device_id = ? AND e.acked_at IS NULL ORDER BY e.response_id LIMIT ?`, deviceID, MaxScrubsPerReply)
	if err != nil {
		return nil, nil, fmt.Errorf("kiosk scrubs of %s: %w", deviceID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r, c string
		if err := rows.Scan(&r, &c); err != nil {
			return nil, nil, fmt.Errorf("kiosk scrubs of %s: %w", deviceID, err)
		}
		responses = append(responses, r)
		if c != "" {
			cases = append(cases, c)
		}
	}
	return responses, cases, rows.Err()
}
