package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/contactvault"
)

// ErasureRequest asks to erase one person's contact details and comments.
type ErasureRequest struct {
	Contact string // an e-mail address or a phone number, spelt any way
	Actor   string // who asked: "cli:<user>", "token:<id>", "user:<email>"
	DryRun  bool   // count what would change, change nothing
}

// Erasure says what an erasure changed (or, dry run, would change), per table.
type Erasure struct {
	DryRun  bool             `json:"dry_run"`
	Changed map[string]int64 `json:"changed"`
	AuditID string           `json:"audit_id,omitempty"` // the erasures row; empty for a dry run
}

// ErasureTables are the keys of Erasure.Changed, in the order they are printed:
// responses whose contact, comment and free-text answers were cleared; the full-text
// index entries those comments had; cases of those responses (which show them); case
// notes cleared; webhook events whose payload was scrubbed (the delivery log shows
// them); delivery errors cleared; invitations whose address hash and order number went;
// thank-you e-mails cancelled or stripped of the address hash; kiosk responses queued
// for their kiosk to scrub.
var ErasureTables = []string{"responses", "search_index", "cases", "case_notes", "webhook_events", "delivery_errors",
	"invitations", "thank_yous", "kiosk_scrubs"}

// EraseContact removes one person's contact details and comments from everywhere the
// collector keeps them, in one transaction: the responses that carry the contact (found
// by its blind index, by decrypting rows stored before the index, and by comments and
// answers that mention it) and those answering an invitation sent to it lose their
// contact, comment, answers and order number, and leave the search index; their cases'
// notes, webhook payloads and delivery errors are scrubbed; invitations and thank-yous
// lose the address hash. Scores, stores, days and channels stay, so every count, rollup
// and NPS is unchanged. The unsubscribe list keeps the address's hash, so that a person
// who asked for no more e-mail still gets none. A real erasure writes an audit row (a
// keyed hash of the contact, never the contact) and queues the kiosk responses for their
// kiosks to scrub at their next sync.
func (db *DB) EraseContact(ctx context.Context, req ErasureRequest) (Erasure, error) {
	norm := contactvault.Normalize(req.Contact)
	if norm == "" {
		return Erasure{}, fmt.Errorf("erase contact: %w: a contact (e-mail address or phone number) is required", ErrInvalid)
	}
	if req.Actor == "" {
		return Erasure{}, fmt.Errorf("erase contact: %w: who asks is required for the audit record", ErrInvalid)
	}
	out := Erasure{DryRun: req.DryRun, Changed: map[string]int64{}}
	for _, k := range ErasureTables {
		out.Changed[k] = 0
	}
	if db.vault == nil {
		// Without the key file, the blind index and the contacts cannot be read: an
		// erasure would miss every encrypted contact and say it found none.
		if enc, err := db.HasEncryptedContacts(ctx); err != nil || enc {
			return Erasure{}, errors.Join(err, fmt.Errorf("erase contact: %w: the database holds encrypted contacts and no contact store key file is loaded (--contact-store-keys)", ErrInvalid))
		}
	}
	index := db.vault.Index(req.Contact)
	needles := erasureNeedles(req.Contact, norm)

	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return Erasure{}, fmt.Errorf("erase contact: %w", err)
	}
	defer t.Rollback()

	ids, err := db.erasureMatches(ctx, t, norm, index, needles)
	if err != nil {
		return Erasure{}, fmt.Errorf("erase contact: %w", err)
	}
	erasureID := uuid.Must(uuid.NewV7()).String()
	now := db.now().UnixMilli()
	if !req.DryRun {
		// First, so that erased_responses may point at it.
		if _, err := t.ExecContext(ctx, `INSERT INTO erasures (id, at, actor, contact_hash, counts) VALUES (?, ?, ?, ?, '{}')`,
			erasureID, now, req.Actor, index); err != nil {
			return Erasure{}, fmt.Errorf("erase contact: audit: %w", err)
		}
	}
	var caseIDs []string
	for _, id := range ids {
		var (
			comment string
			device  *string
		)
		if err := t.QueryRowContext(ctx, `SELECT comment, device_id FROM responses WHERE id = ?`, id).Scan(&comment, &device); err != nil {
			return Erasure{}, fmt.Errorf("erase contact: response %s: %w", id, err)
		}
		// The search index follows comment (0020's triggers on SQLite, the generated
		// column on PostgreSQL). The content hash goes too: it is of the contact and the
		// comment with the rest, and a phone number is few enough guesses to find by it.
		// A kiosk's retry of the response after this is a conflict, not a duplicate.
		if _, err := t.ExecContext(ctx, `
			UPDATE responses SET contact = '', contact_consent = ?, contact_sealed = NULL, contact_index = NULL,
			       comment = '', answers = '', order_id = '', content_hash = 'erased' WHERE id = ?`, false, id); err != nil {
			return Erasure{}, fmt.Errorf("erase contact: response %s: %w", id, err)
		}
		out.Changed["responses"]++
		if comment != "" {
			out.Changed["search_index"]++
		}
		if device != nil {
			if !req.DryRun {
				if _, err := t.ExecContext(ctx, `
					INSERT INTO erased_responses (response_id, device_id, erasure_id, erased_at) VALUES (?, ?, ?, ?)
					ON CONFLICT (response_id) DO UPDATE SET erasure_id = excluded.erasure_id, erased_at = excluded.erased_at, acked_at = NULL`,
					id, *device, erasureID, now); err != nil {
					return Erasure{}, fmt.Errorf("erase contact: queue kiosk scrub of %s: %w", id, err)
				}
			}
			out.Changed["kiosk_scrubs"]++
		}
		var caseID string
		switch err := t.QueryRowContext(ctx, `SELECT id FROM cases WHERE response_id = ?`, id).Scan(&caseID); {
		case err == nil:
			caseIDs = append(caseIDs, caseID)
			out.Changed["cases"]++
		case !errors.Is(err, sql.ErrNoRows):
			return Erasure{}, fmt.Errorf("erase contact: case of %s: %w", id, err)
		}
		res, err := t.ExecContext(ctx, `
			UPDATE thank_yous SET address_hash = '', status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END
			 WHERE response_id = ? AND (address_hash <> '' OR status = 'pending')`, id)
		if err != nil {
			return Erasure{}, fmt.Errorf("erase contact: thank-you of %s: %w", id, err)
		}
		out.Changed["thank_yous"] += affected(res)
	}
	for _, c := range caseIDs {
		res, err := t.ExecContext(ctx, `UPDATE case_events SET note = '' WHERE case_id = ? AND note <> ''`, c)
		if err != nil {
			return Erasure{}, fmt.Errorf("erase contact: notes of case %s: %w", c, err)
		}
		out.Changed["case_notes"] += affected(res)
	}
	for _, n := range needles {
		res, err := t.ExecContext(ctx, `UPDATE case_events SET note = '' WHERE `+stripped("note")+` LIKE ? ESCAPE '\'`, likeAny(n))
		if err != nil {
			return Erasure{}, fmt.Errorf("erase contact: case notes: %w", err)
		}
		out.Changed["case_notes"] += affected(res)
		for _, q := range []string{
			`UPDATE deliveries SET last_error = '' WHERE ` + stripped("last_error") + ` LIKE ? ESCAPE '\'`,
			`UPDATE delivery_attempts SET error = '' WHERE ` + stripped("error") + ` LIKE ? ESCAPE '\'`,
		} {
			res, err := t.ExecContext(ctx, q, likeAny(n))
			if err != nil {
				return Erasure{}, fmt.Errorf("erase contact: delivery log: %w", err)
			}
			out.Changed["delivery_errors"] += affected(res)
		}
	}
	scrubbed, err := scrubEvents(ctx, t, db.vault, append(slices.Clone(ids), caseIDs...), needles)
	if err != nil {
		return Erasure{}, fmt.Errorf("erase contact: %w", err)
	}
	out.Changed["webhook_events"] = scrubbed
	if strings.Contains(norm, "@") {
		res, err := t.ExecContext(ctx, `UPDATE invitations SET address_hash = '', order_id = '' WHERE address_hash = ?`, AddressHash(norm))
		if err != nil {
			return Erasure{}, fmt.Errorf("erase contact: invitations: %w", err)
		}
		out.Changed["invitations"] = affected(res)
	}
	if req.DryRun {
		return out, nil // the deferred Rollback undoes it all
	}
	counts, _ := json.Marshal(out.Changed) // a map of numbers always marshals
	if _, err := t.ExecContext(ctx, `UPDATE erasures SET counts = ? WHERE id = ?`, string(counts), erasureID); err != nil {
		return Erasure{}, fmt.Errorf("erase contact: audit: %w", err)
	}
	if err := t.Commit(); err != nil {
		return Erasure{}, fmt.Errorf("erase contact: commit: %w", err)
	}
	out.AuditID = erasureID
	if err := db.compactErased(ctx); err != nil {
		return out, fmt.Errorf("erase contact: erased (audit %s), but compacting what it left behind: %w", erasureID, err)
	}
	return out, nil
}

// erasureMatches returns the ids of the responses an erasure clears, sorted.
func (db *DB) erasureMatches(ctx context.Context, t tx, norm, index string, needles []string) ([]string, error) {
	found := map[string]bool{}
	collect := func(q string, args ...any) error {
		rows, err := t.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			found[id] = true
		}
		return rows.Err()
	}
	if err := collect(`SELECT id FROM responses WHERE contact_index = ?`, index); err != nil {
		return nil, fmt.Errorf("find by blind index: %w", err)
	}
	// Rows stored before the blind index (rekey fills it in): decrypted one by one.
	rows, err := t.QueryContext(ctx, `SELECT id, contact FROM responses WHERE contact_index IS NULL AND contact <> ''`)
	if err != nil {
		return nil, fmt.Errorf("find unindexed contacts: %w", err)
	}
	for rows.Next() {
		var id, stored string
		if err := rows.Scan(&id, &stored); err != nil {
			rows.Close()
			return nil, fmt.Errorf("find unindexed contacts: %w", err)
		}
		plain, err := db.vault.Open(stored)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("find unindexed contacts: response %s: %w", id, err)
		}
		if contactvault.Normalize(plain) == norm {
			found[id] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find unindexed contacts: %w", err)
	}
	for _, n := range needles {
		if err := collect(`SELECT id FROM responses WHERE `+stripped("comment")+` LIKE ? ESCAPE '\' OR `+stripped("answers")+` LIKE ? ESCAPE '\'`,
			likeAny(n), likeAny(n)); err != nil {
			return nil, fmt.Errorf("find comments that mention the contact: %w", err)
		}
	}
	if strings.Contains(norm, "@") {
		// The answers to invitations sent to the address, whatever they hold.
		if err := collect(`SELECT r.id FROM invitations i JOIN responses r ON r.id = i.response_id WHERE i.address_hash = ?`,
			AddressHash(norm)); err != nil {
			return nil, fmt.Errorf("find answers to invitations: %w", err)
		}
	}
	ids := make([]string, 0, len(found))
	for id := range found {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// erasureNeedles are what free text is searched for, as strip leaves it: the contact as
// given and its normal form; a phone number also as its digits without + or 00, which
// finds it however it was written with its country code ("+49 170 …", "0049-170-…").
func erasureNeedles(contact, norm string) []string {
	set := []string{strip(contact), strip(norm)}
	if d, ok := strings.CutPrefix(norm, "+"); ok {
		set = append(set, d)
	}
	slices.Sort(set)
	set = slices.Compact(set)
	return slices.DeleteFunc(set, func(s string) bool { return len(s) < 5 }) // too short to tell a person by
}

// separators are what people write inside phone numbers (and addresses' dots), left
// out on both sides when free text is searched for a contact.
var separators = []string{" ", "-", "(", ")", ".", "/"}

// strip lower-cases s and leaves out the separators.
func strip(s string) string {
	s = strings.ToLower(s)
	for _, sep := range separators {
		s = strings.ReplaceAll(s, sep, "")
	}
	return s
}

// stripped is strip in SQL, of a text column.
func stripped(column string) string {
	e := "lower(" + column + ")"
	for _, sep := range separators {
		e = "replace(" + e + ", '" + sep + "', '')"
	}
	return e
}

// likePrefix is a LIKE pattern (with ESCAPE '\') for text starting with s.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

// likeAny is a LIKE pattern (with ESCAPE '\') for text containing s.
func likeAny(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// scrubEvents rewrites the payloads of the webhook events about the given responses
// and cases, or that mention a needle: every comment, contact, answer and order number
// in them is emptied, and any other text that mentions a needle. It returns how many
// payloads changed.
func scrubEvents(ctx context.Context, t tx, v *contactvault.Vault, ids, needles []string) (int64, error) {
	found := map[string]string{}
	// Payloads stored encrypted (case events: they carry a contact) are decrypted to be
	// searched.
	rows, err := t.QueryContext(ctx, `SELECT id, payload FROM events WHERE payload LIKE 'cv1:%'`)
	if err != nil {
		return 0, fmt.Errorf("webhook events: %w", err)
	}
	for rows.Next() {
		var id, stored string
		if err := rows.Scan(&id, &stored); err != nil {
			rows.Close()
			return 0, fmt.Errorf("webhook events: %w", err)
		}
		plain, err := v.Open(stored)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("webhook event %s: %w", id, err)
		}
		low, flat := strings.ToLower(plain), strip(plain)
		if slices.ContainsFunc(ids, func(x string) bool { return strings.Contains(low, `"`+strings.ToLower(x)+`"`) }) ||
			slices.ContainsFunc(needles, func(n string) bool { return strings.Contains(flat, n) }) {
			found[id] = stored
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("webhook events: %w", err)
	}
	collect := func(where, pattern string) error {
		rows, err := t.QueryContext(ctx, `SELECT id, payload FROM events WHERE `+where, pattern)
		if err != nil {
			return fmt.Errorf("webhook events: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, payload string
			if err := rows.Scan(&id, &payload); err != nil {
				return fmt.Errorf("webhook events: %w", err)
			}
			found[id] = payload
		}
		return rows.Err()
	}
	for _, id := range ids {
		if err := collect(`lower(payload) LIKE ? ESCAPE '\'`, likeAny(`"`+strings.ToLower(id)+`"`)); err != nil {
			return 0, err
		}
	}
	for _, n := range needles {
		if err := collect(stripped("payload")+` LIKE ? ESCAPE '\'`, likeAny(n)); err != nil {
			return 0, err
		}
	}
	var n int64
	for id, stored := range found {
		payload, err := v.Open(stored)
		if err != nil {
			return 0, fmt.Errorf("webhook event %s: %w", id, err)
		}
		var body any
		if err := json.Unmarshal([]byte(payload), &body); err != nil {
			return 0, fmt.Errorf("webhook event %s: %w", id, err)
		}
		b, _ := json.Marshal(scrubJSON(body, needles)) // what was unmarshalled marshals
		if string(b) == payload {
			continue
		}
		// Stored as it was: encrypted if it was (and it has no contact left, but its
		// comment-free shape is still no one's business).
		out := string(b)
		if contactvault.KeyID(stored) != "" {
			if out, err = v.Seal(out); err != nil {
				return 0, fmt.Errorf("webhook event %s: %w", id, err)
			}
		}
		if _, err := t.ExecContext(ctx, `UPDATE events SET payload = ? WHERE id = ?`, out, id); err != nil {
			return 0, fmt.Errorf("webhook event %s: %w", id, err)
		}
		n++
	}
	return n, nil
}

// personalKeys are the fields of a response, in an event's payload, that hold what the
// shopper wrote.
var personalKeys = map[string]bool{"comment": true, "contact": true, "contact_sealed": true, "sealed_contact": true,
	"order_id": true, "answers": true}

func scrubJSON(v any, needles []string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if personalKeys[k] {
				switch e.(type) {
				case string:
					x[k] = ""
				case nil:
				default:
					x[k] = nil
				}
				continue
			}
			x[k] = scrubJSON(e, needles)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = scrubJSON(e, needles)
		}
		return x
	case string:
		low := strip(x)
		for _, n := range needles {
			if strings.Contains(low, n) {
				return ""
			}
		}
	}
	return v
}

// compactErased makes sure what an erasure removed is gone from the database files too:
// SQLite's full-text index keeps deleted terms in its segments until they merge, and
// old page images stay in the write-ahead log until a checkpoint (freed pages are
// zeroed: the DSN sets secure_delete). PostgreSQL's old row versions are its VACUUM's
// (see docs/operations.md).
func (db *DB) compactErased(ctx context.Context) error {
	if db.dialect.name != "sqlite" {
		return nil
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO responses_fts (responses_fts) VALUES ('optimize')`); err != nil {
		return fmt.Errorf("optimize the search index: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func affected(res interface{ RowsAffected() (int64, error) }) int64 {
	n, _ := res.RowsAffected()
	return n
}
