package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/npskiosk/npskiosk/contactseal"
)

// ErrPlainContact is why Complete and Insert refuse a contact in clear: the kiosk's
// database and its backups must hold no readable contact.
var ErrPlainContact = fmt.Errorf("%w: contacts are sealed before they are stored (FollowUp.SealedContact), never kept in clear", ErrInvalidInput)

// ContactKey is the collector's key the kiosk seals contacts to, with when it was learnt.
type ContactKey struct {
	contactseal.PublicKey
	LearntAt time.Time
}

// ContactKey returns the key contacts are sealed to now, and false when the kiosk has
// none (the collector has no key: no contact is asked for).
func (db *DB) ContactKey(ctx context.Context) (contactseal.PublicKey, bool, error) {
	k, ok, err := db.ContactKeyInfo(ctx)
	return k.PublicKey, ok, err
}

// ContactKeyInfo is ContactKey with when the key was learnt.
func (db *DB) ContactKeyInfo(ctx context.Context) (ContactKey, bool, error) {
	var (
		k      ContactKey
		learnt int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT id, public_key, learnt_at FROM contact_key WHERE slot = 1`).Scan(&k.ID, &k.Key, &learnt)
	if errors.Is(err, sql.ErrNoRows) {
		return ContactKey{}, false, nil
	}
	if err != nil {
		return ContactKey{}, false, fmt.Errorf("read contact key: %w", err)
	}
	k.LearntAt = fromMillis(learnt)
	return k, true, nil
}

// SetContactKey makes k the key contacts are sealed to from now on. Setting the key the
// kiosk already has changes nothing (it keeps when it was learnt).
func (db *DB) SetContactKey(ctx context.Context, k contactseal.PublicKey) error {
	if err := k.Check(); err != nil {
		return fmt.Errorf("set contact key: %w: %w", ErrInvalidInput, err)
	}
	if err := db.space.write(func() error {
		_, err := db.write.ExecContext(ctx,
			`INSERT INTO contact_key (slot, id, public_key, learnt_at) VALUES (1, ?, ?, ?)
			 ON CONFLICT (slot) DO UPDATE SET id = excluded.id, public_key = excluded.public_key, learnt_at = excluded.learnt_at
			  WHERE contact_key.id <> excluded.id`,
			k.ID, k.Key, millis(db.now()))
		if err != nil {
			return fmt.Errorf("set contact key %s: %w", k.ID, err)
		}
		return nil
	}); err != nil {
		return err
	}
	return db.sealPlainContacts(ctx, false)
}

// ForgetContactKey drops the contact key: the collector no longer has one, so it could
// not open a contact sealed now, and the kiosk stops asking for contacts. Contacts an
// earlier version left in clear are dropped too: there is no key to seal them to.
func (db *DB) ForgetContactKey(ctx context.Context) error {
	if err := db.space.write(func() error {
		if _, err := db.write.ExecContext(ctx, `DELETE FROM contact_key`); err != nil {
			return fmt.Errorf("forget contact key: %w", err)
		}
		return nil
	}); err != nil {
		return err
	}
	return db.sealPlainContacts(ctx, true)
}

// PlainContacts counts responses holding a contact in clear. After Open it is zero;
// doctor and status warn otherwise.
func (db *DB) PlainContacts(ctx context.Context) (int64, error) {
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM responses WHERE contact <> ''`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count plain contacts: %w", err)
	}
	return n, nil
}

// sealPlainContacts is the upgrade pass for files from before contacts were sealed. A
// contact in clear on a response already uploaded is dropped (the collector holds it),
// keeping the consent. One not yet uploaded is sealed with the contact key when the kiosk
// has one; without a key it is kept until the kiosk learns the collector's (then sealed)
// or that the collector has none (noKey: then dropped), or until it is uploaded (then
// dropped): an upgraded file has no key yet, and dropping at once would lose every
// consenting shopper's contact not yet uploaded. The WAL is then checkpointed and
// truncated: with secure_delete the freed bytes are zeroed, so the contacts leave the
// files, not only the rows. Open, SetContactKey, ForgetContactKey and MarkSynced run it;
// it costs one indexed count when there is nothing to do.
func (db *DB) sealPlainContacts(ctx context.Context, noKey bool) error {
	n, err := db.PlainContacts(ctx)
	if err != nil || n == 0 {
		return err
	}
	key, haveKey, err := db.ContactKey(ctx)
	if err != nil {
		return err
	}
	var sealed, dropped int
	err = db.space.write(func() error {
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("seal plain contacts: begin: %w", err)
		}
		defer tx.Rollback()
		if haveKey {
			rows, err := tx.QueryContext(ctx, `SELECT id, contact FROM responses WHERE contact <> '' AND synced_at IS NULL`)
			if err != nil {
				return fmt.Errorf("seal plain contacts: %w", err)
			}
			type plain struct{ id, contact string }
			var todo []plain
			for rows.Next() {
				var p plain
				if err := rows.Scan(&p.id, &p.contact); err != nil {
					rows.Close()
					return fmt.Errorf("seal plain contacts: %w", err)
				}
				todo = append(todo, p)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("seal plain contacts: %w", err)
			}
			for _, p := range todo {
				box, err := contactseal.Seal(key, p.id, p.contact)
				if err != nil {
					return fmt.Errorf("seal plain contacts: response %s: %w", p.id, err)
				}
				if _, err := tx.ExecContext(ctx, `UPDATE responses SET sealed_contact = ?, contact = '' WHERE id = ?`, box, p.id); err != nil {
					return fmt.Errorf("seal plain contacts: response %s: %w", p.id, err)
				}
				sealed++
			}
		}
		drop := `UPDATE responses SET contact = '' WHERE contact <> '' AND synced_at IS NOT NULL`
		if haveKey || noKey {
			drop = `UPDATE responses SET contact = '' WHERE contact <> ''`
		}
		res, err := tx.ExecContext(ctx, drop)
		if err != nil {
			return fmt.Errorf("drop plain contacts: %w", err)
		}
		d, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("drop plain contacts: %w", err)
		}
		dropped = int(d)
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("seal plain contacts: commit: %w", err)
		}
		if sealed+dropped == 0 {
			return nil
		}
		return db.checkpoint(ctx)
	})
	if err != nil {
		return err
	}
	if sealed > 0 {
		db.log.Info("sealed contacts kept in clear by an earlier version", "count", sealed, "key", key.ID)
	}
	if dropped > 0 {
		db.log.Warn("dropped contacts kept in clear by an earlier version: uploaded already, or the collector has no contact key (the consent is kept)",
			"count", dropped)
	}
	if left := n - int64(sealed+dropped); left > 0 {
		db.log.Warn("contacts kept in clear by an earlier version wait for the collector's contact key to be sealed", "count", left)
	}
	return nil
}
