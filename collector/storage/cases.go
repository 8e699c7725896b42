package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/npskiosk/npskiosk/collector/contactvault"
	"github.com/npskiosk/npskiosk/followup"
)

// ErrConflict is returned when a change no longer applies: a case moved since it was read.
var ErrConflict = errors.New("conflict")

// NewCase is a case to open with a response in InsertBatch.
type NewCase struct {
	ID    string
	DueAt time.Time
}

// FollowUpRule returns the rule for a store: its own, else the chain's, else the default.
func (db *DB) FollowUpRule(ctx context.Context, storeID string) (followup.Rule, error) {
	var body sql.NullString
	err := db.read.QueryRowContext(ctx,
		`SELECT rule FROM follow_up_rules WHERE scope IN (?, '') ORDER BY scope DESC LIMIT 1`, storeID).Scan(&body)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return followup.Rule{}, fmt.Errorf("follow-up rule of %s: %w", storeID, err)
	}
	return followUpRuleFrom(storeID, body)
}

// followUpRuleFrom is the follow-up rule stored as body; the default when there is none.
func followUpRuleFrom(storeID string, body sql.NullString) (followup.Rule, error) {
	if !body.Valid {
		return followup.DefaultRule(), nil
	}
	var r followup.Rule
	if err := json.Unmarshal([]byte(body.String), &r); err != nil {
		return followup.Rule{}, fmt.Errorf("follow-up rule of %s: %w", storeID, err)
	}
	return r, nil
}

// SetFollowUpRule sets a store's rule, or the chain's when storeID is empty.
func (db *DB) SetFollowUpRule(ctx context.Context, storeID string, r followup.Rule) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("set follow-up rule: %w: %w", ErrInvalid, err)
	}
	if storeID != "" {
		var exists bool
		if err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?)`, storeID).Scan(&exists); err != nil {
			return fmt.Errorf("set follow-up rule: %w", err)
		}
		if !exists {
			return fmt.Errorf("set follow-up rule: store %q: %w", storeID, ErrNotFound)
		}
	}
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("set follow-up rule: %w", err)
	}
	_, err = db.write.ExecContext(ctx, `
		INSERT INTO follow_up_rules (scope, rule, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (scope) DO UPDATE SET rule = excluded.rule, updated_at = excluded.updated_at`,
		storeID, string(body), db.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("set follow-up rule: %w", err)
	}
	return nil
}

// openCases opens the cases of rows (those with a Case), responses of one store stored
// or revised in this transaction, with their history: one statement for the cases and
// one for their history, where a case each used to be two round trips. A case that
// exists for its response already is left as it is. When announce (a subscription wants
// case.opened for the store), each case opened queues its event, in rows' order; it
// returns how many it queued.
func openCases(ctx context.Context, t tx, v *contactvault.Vault, announce bool, storeID string, rows []NewResponse, now time.Time) (int, error) {
	const cols = 7
	var args []any
	for _, r := range rows {
		if r.Case != nil {
			args = append(args, r.Case.ID, r.ID, storeID, string(followup.Open), now.UnixMilli(), r.Case.DueAt.UnixMilli(), now.UnixMilli())
		}
	}
	opened := map[string]bool{}
	for perStatement := maxBound / cols; len(args) > 0; {
		n := min(len(args)/cols, perStatement)
		if err := insertReturning(ctx, t, `INSERT INTO cases (id, response_id, store_id, status, opened_at, due_at, updated_at) VALUES `+
			valueRows(n, cols)+` ON CONFLICT (response_id) DO NOTHING RETURNING id`, args[:n*cols], opened); err != nil {
			return 0, fmt.Errorf("open cases: %w", err)
		}
		args = args[n*cols:]
	}
	if len(opened) == 0 {
		return 0, nil
	}
	var history []any
	for _, r := range rows {
		if r.Case != nil && opened[r.Case.ID] {
			history = append(history, r.Case.ID, now.UnixMilli(), "collector", "opened", string(followup.Open))
		}
	}
	if err := execValues(ctx, t, `INSERT INTO case_events (case_id, at, actor, action, to_status)`, 5, history, ""); err != nil {
		return 0, fmt.Errorf("open cases: history: %w", err)
	}
	if !announce {
		return 0, nil
	}
	return announceCases(ctx, t, v, storeID, rows, opened, now)
}

// announceCases queues case.opened for the cases of rows that were opened, and returns
// how many it queued.
func announceCases(ctx context.Context, t tx, v *contactvault.Vault, storeID string, rows []NewResponse, opened map[string]bool, now time.Time) (int, error) {
	queued := 0
	for _, r := range rows {
		if r.Case == nil || !opened[r.Case.ID] {
			continue
		}
		if err := emitCaseOpened(ctx, t, v, storeID, r, now); err != nil {
			return 0, err
		}
		queued++
	}
	return queued, nil
}

// insertReturning runs an INSERT … RETURNING of one text column and adds what it
// returns to into.
func insertReturning(ctx context.Context, t tx, q string, args []any, into map[string]bool) error {
	out, err := t.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer out.Close()
	for out.Next() {
		var id string
		if err := out.Scan(&id); err != nil {
			return err
		}
		into[id] = true
	}
	return out.Err()
}

// emitCaseOpened queues the case.opened event of a case just opened for r.
func emitCaseOpened(ctx context.Context, t tx, v *contactvault.Vault, storeID string, r NewResponse, now time.Time) error {
	c := r.Case
	// The event carries the case as GET /v1/cases/{id} shows it, built from what is in
	// hand rather than read back.
	contact, sealed := "", ""
	if r.ContactConsent {
		contact, sealed = r.Contact, sealedKeyID(sql.NullString{String: r.SealedContact, Valid: true})
	}
	reasons := r.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	opened := Case{ID: c.ID, StoreID: storeID, Status: followup.Open, OpenedAt: time.UnixMilli(now.UnixMilli()),
		DueAt: time.UnixMilli(c.DueAt.UnixMilli()), UpdatedAt: time.UnixMilli(now.UnixMilli()), Version: 1,
		Response: CaseResponse{ID: r.ID, Score: r.Score, Reasons: reasons, Comment: r.Comment, Contact: contact, ContactSealed: sealed,
			Locale: r.Locale, CreatedAt: time.UnixMilli(r.CreatedAt.UnixMilli()), Channel: r.Channel, Touchpoint: r.Touchpoint}}
	_, err := emitSealedEvent(ctx, t, v, EventCaseOpened, storeID, opened, now)
	return err
}

// emitCaseEvent emits an event carrying the case as it now stands in the transaction.
func emitCaseEvent(ctx context.Context, t tx, v *contactvault.Vault, typ, id string, now time.Time) error {
	c, err := scanCase(t.QueryRowContext(ctx, `SELECT `+caseColumns+`
		  FROM cases c JOIN responses r ON r.id = c.response_id WHERE c.id = ?`, id), v, now)
	if err != nil {
		return fmt.Errorf("emit %s for case %s: %w", typ, id, err)
	}
	_, err = emitSealedEvent(ctx, t, v, typ, c.StoreID, c, now)
	return err
}

// Case, CaseResponse and CaseEvent are followup's: the one shape of a case that the
// API, the dashboard, the alerts and the devices all read.
type (
	Case         = followup.Case
	CaseResponse = followup.CaseResponse
	CaseEvent    = followup.CaseEvent
)

// CaseFilter selects cases.
type CaseFilter struct {
	StoreID string
	Region  string
	Status  followup.Status // empty: every status
	Overdue bool            // only unfinished cases past their due time
	Channel string          // only cases of responses from this channel; empty: every channel
	Limit   int             // 1 to 500; zero means 100
}

const caseColumns = `c.id, c.store_id, c.status, c.owner, c.opened_at, c.due_at, c.updated_at, c.version,
	r.id, r.score, r.reasons, r.comment, CASE WHEN r.contact_consent THEN r.contact ELSE '' END, r.locale, r.created_at,
	r.channel, r.touchpoint, CASE WHEN r.contact_consent THEN r.contact_sealed END`

func scanCase(s interface{ Scan(...any) error }, v *contactvault.Vault, now time.Time) (Case, error) {
	var (
		c                         Case
		opened, due, updated, tap int64
		reasons                   string
		sealed                    sql.NullString
	)
	if err := s.Scan(&c.ID, &c.StoreID, &c.Status, &c.Owner, &opened, &due, &updated, &c.Version,
		&c.Response.ID, &c.Response.Score, &reasons, &c.Response.Comment, &c.Response.Contact, &c.Response.Locale, &tap,
		&c.Response.Channel, &c.Response.Touchpoint, &sealed); err != nil {
		return Case{}, err
	}
	// Only the key's id: the envelope never leaves the database.
	c.Response.ContactSealed = sealedKeyID(sealed)
	c.Response.Contact = openStored(v, c.Response.Contact)
	c.OpenedAt, c.DueAt, c.UpdatedAt, c.Response.CreatedAt = time.UnixMilli(opened), time.UnixMilli(due), time.UnixMilli(updated), time.UnixMilli(tap)
	c.Overdue = !c.Status.Final() && now.After(c.DueAt)
	if err := json.Unmarshal([]byte(reasons), &c.Response.Reasons); err != nil {
		return Case{}, fmt.Errorf("case %s: reasons: %w", c.ID, err)
	}
	return c, nil
}

// Cases lists cases, those due first.
func (db *DB) Cases(ctx context.Context, f CaseFilter) ([]Case, error) {
	now := db.now()
	conds, args := []string{"1 = 1"}, []any{}
	if f.StoreID != "" {
		conds, args = append(conds, "c.store_id = ?"), append(args, f.StoreID)
	}
	if f.Region != "" {
		conds, args = append(conds, "c.store_id IN (SELECT id FROM stores WHERE region = ?)"), append(args, f.Region)
	}
	if f.Status != "" {
		if !f.Status.Valid() {
			return nil, fmt.Errorf("cases: %w: status %q is not one of open, contacted, resolved, closed-no-action", ErrInvalid, f.Status)
		}
		conds, args = append(conds, "c.status = ?"), append(args, string(f.Status))
	}
	if f.Channel != "" {
		conds, args = append(conds, "r.channel = ?"), append(args, f.Channel)
	}
	if f.Overdue {
		conds = append(conds, "c.status IN (?, ?) AND c.due_at < ?")
		args = append(args, string(followup.Open), string(followup.Contacted), now.UnixMilli())
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	args = append(args, f.Limit)
	rows, err := db.read.QueryContext(ctx, `SELECT `+caseColumns+`
		  FROM cases c JOIN responses r ON r.id = c.response_id
		 WHERE `+strings.Join(conds, " AND ")+`
		 ORDER BY c.due_at, c.id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := scanCase(rows, db.vault, now)
		if err != nil {
			return nil, fmt.Errorf("cases: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Case returns one case with its history, or ErrNotFound.
func (db *DB) Case(ctx context.Context, id string) (Case, error) {
	c, err := scanCase(db.read.QueryRowContext(ctx, `SELECT `+caseColumns+`
		  FROM cases c JOIN responses r ON r.id = c.response_id WHERE c.id = ?`, id), db.vault, db.now())
	if errors.Is(err, sql.ErrNoRows) {
		return Case{}, fmt.Errorf("case %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Case{}, fmt.Errorf("case %s: %w", id, err)
	}
	rows, err := db.read.QueryContext(ctx,
		`SELECT at, actor, action, from_status, to_status, owner, note FROM case_events WHERE case_id = ? ORDER BY id`, id)
	if err != nil {
		return Case{}, fmt.Errorf("case %s: history: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e  CaseEvent
			at int64
		)
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.From, &e.To, &e.Owner, &e.Note); err != nil {
			return Case{}, fmt.Errorf("case %s: history: %w", id, err)
		}
		e.At = time.UnixMilli(at)
		c.History = append(c.History, e)
	}
	return c, rows.Err()
}

// CaseChange is one change to a case by someone.
type CaseChange struct {
	Actor string // who: a user's or token's name
	// To moves the case; empty leaves its status.
	To followup.Status
	// Owner assigns the case; nil leaves the owner.
	Owner *string
	Note  string
	// Version, when not zero, is the version the change was made against: a case changed
	// since is refused with ErrConflict.
	Version int64
}

// ChangeCase applies a change and records it in the case's history. It returns
// ErrNotFound for an unknown case, followup.ErrTransition for a move the case's status
// does not allow, and ErrConflict when Version is stale.
func (db *DB) ChangeCase(ctx context.Context, id string, ch CaseChange) (Case, error) {
	if ch.Actor == "" {
		return Case{}, fmt.Errorf("change case %s: %w: who made the change is required", id, ErrInvalid)
	}
	if n := len([]rune(ch.Note)); n > followup.MaxNoteRunes {
		return Case{}, fmt.Errorf("change case %s: %w: the note has %d characters, at most %d", id, ErrInvalid, n, followup.MaxNoteRunes)
	}
	if ch.To == "" && ch.Owner == nil && ch.Note == "" {
		return Case{}, fmt.Errorf("change case %s: %w: nothing to change", id, ErrInvalid)
	}
	now := db.now()
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return Case{}, fmt.Errorf("change case %s: %w", id, err)
	}
	defer t.Rollback()
	var (
		status  followup.Status
		owner   string
		version int64
	)
	err = t.QueryRowContext(ctx, `SELECT status, owner, version FROM cases WHERE id = ?`+db.dialect.forUpdate, id).
		Scan(&status, &owner, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return Case{}, fmt.Errorf("change case %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Case{}, fmt.Errorf("change case %s: %w", id, err)
	}
	if ch.Version != 0 && ch.Version != version {
		return Case{}, fmt.Errorf("change case %s: %w: it is at version %d, the change was made on %d", id, ErrConflict, version, ch.Version)
	}
	next := status
	if ch.To != "" {
		if err := status.CheckMove(ch.To, ch.Note); err != nil {
			return Case{}, fmt.Errorf("change case %s: %w", id, err)
		}
		next = ch.To
	}
	if ch.Owner != nil {
		owner = *ch.Owner
	}
	if _, err := t.ExecContext(ctx, `UPDATE cases SET status = ?, owner = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
		string(next), owner, now.UnixMilli(), id); err != nil {
		return Case{}, fmt.Errorf("change case %s: %w", id, err)
	}
	action := "noted"
	switch {
	case ch.To != "":
		action = "moved"
	case ch.Owner != nil:
		action = "assigned"
	}
	from, to := "", ""
	if ch.To != "" {
		from, to = string(status), string(next)
	}
	if _, err := t.ExecContext(ctx, `
		INSERT INTO case_events (case_id, at, actor, action, from_status, to_status, owner, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id, now.UnixMilli(), ch.Actor, action, from, to, owner, ch.Note); err != nil {
		return Case{}, fmt.Errorf("change case %s: history: %w", id, err)
	}
	if err := emitCaseEvent(ctx, t, db.vault, EventCaseUpdated, id, now); err != nil {
		return Case{}, err
	}
	if err := t.Commit(); err != nil {
		return Case{}, fmt.Errorf("change case %s: %w", id, err)
	}
	return db.Case(ctx, id)
}
