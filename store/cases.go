package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/followup"
)

// ErrNoCase means the case is not among the cached ones.
var ErrNoCase = errors.New("no cached case with that id")

// Case is a follow-up case of this store as the collector last sent it, with the
// manager's unsynced moves applied for display.
type Case struct {
	ID       string          `json:"id"`
	Status   followup.Status `json:"status"`
	Version  int64           `json:"version"`
	OpenedAt time.Time       `json:"opened_at"`
	DueAt    time.Time       `json:"due_at"`
	Score    int             `json:"score"`
	Reasons  []string        `json:"reasons,omitempty"`
	Comment  string          `json:"comment,omitempty"`
	Locale   string          `json:"locale,omitempty"`
	// HasContact: the shopper left a contact (with consent). The contact itself is never
	// cached: the kiosk's disk holds no readable contact; the sync worker keeps the
	// collector's copy in memory for the manager view.
	HasContact bool `json:"has_contact,omitempty"`

	// Set by Cases, never stored.
	Overdue bool   `json:"-"` // not final and past its due time on the kiosk's clock
	Pending bool   `json:"-"` // Status includes a move the collector does not have yet
	Note    string `json:"-"` // the note of the latest such move
}

// CaseChange is a manager's move of a case, queued in the outbox.
type CaseChange struct {
	ID             string // UUIDv7; the collector applies one id once
	CaseID         string
	Status         followup.Status
	Note           string
	Version        int64 // the case's version the move was made on
	CreatedAt      time.Time
	RejectedReason string          // set on a rejected change
	RejectedStatus followup.Status // the case's status at HQ when it was refused, if known
}

// ReplaceCases makes cs the cached cases, as just pulled: cases no longer listed (done
// at HQ) leave the cache. Moves still queued are kept and applied on top by Cases. A
// pull that finds the cases as cached writes nothing: the worker pulls every round, and
// rewriting an unchanged cache each time cost an idle kiosk a commit, its fsyncs and a
// checkpoint every 10 s; it reports whether the cache changed. pulled_at says when the
// cached content was pulled, not when it was last found unchanged.
func (db *DB) ReplaceCases(ctx context.Context, cs []Case) (changed bool, err error) {
	now := millis(db.now())
	bodies := make(map[string]string, len(cs))
	for _, c := range cs {
		body, err := json.Marshal(c)
		if err != nil {
			return false, fmt.Errorf("replace cases: encode %s: %w", c.ID, err)
		}
		bodies[c.ID] = string(body)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("replace cases: begin: %w", err)
	}
	defer tx.Rollback()
	same, err := casesCachedAs(ctx, tx, bodies)
	if err != nil || same {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM cases`); err != nil {
		return false, fmt.Errorf("replace cases: %w", err)
	}
	for _, c := range cs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cases (id, body, version, pulled_at) VALUES (?, ?, ?, ?)`,
			c.ID, bodies[c.ID], c.Version, now); err != nil {
			return false, fmt.Errorf("replace cases: %s: %w", c.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("replace cases: commit: %w", err)
	}
	return true, nil
}

// casesCachedAs says whether the cache holds exactly these cases, by id, as encoded.
func casesCachedAs(ctx context.Context, tx *sql.Tx, bodies map[string]string) (bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, body FROM cases`)
	if err != nil {
		return false, fmt.Errorf("replace cases: read the cache: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, body string
		if err := rows.Scan(&id, &body); err != nil {
			return false, fmt.Errorf("replace cases: read the cache: %w", err)
		}
		if b, ok := bodies[id]; !ok || b != body {
			return false, nil
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("replace cases: read the cache: %w", err)
	}
	return n == len(bodies), nil
}

// Cases returns the cached cases, soonest due first, each with the manager's queued
// moves applied, so a case resolved offline shows as resolved at once.
func (db *DB) Cases(ctx context.Context) ([]Case, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT c.body, ch.status, ch.note FROM cases c
		  LEFT JOIN case_changes ch ON ch.case_id = c.id AND ch.synced_at IS NULL AND ch.rejected_at IS NULL
		 ORDER BY c.id, ch.created_at, ch.change_id`)
	if err != nil {
		return nil, fmt.Errorf("cached cases: %w", err)
	}
	defer rows.Close()
	now := db.now()
	var out []Case
	for rows.Next() {
		var (
			body         string
			status, note sql.NullString
		)
		if err := rows.Scan(&body, &status, &note); err != nil {
			return nil, fmt.Errorf("cached cases: %w", err)
		}
		var c Case
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			return nil, fmt.Errorf("cached cases: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].ID == c.ID {
			c = out[n-1] // a further queued move of the same case
			out = out[:n-1]
		}
		if status.Valid {
			c.Status, c.Note, c.Pending = followup.Status(status.String), note.String, true
		}
		c.Overdue = !c.Status.Final() && now.After(c.DueAt)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cached cases: %w", err)
	}
	sortCases(out)
	return out, nil
}

func sortCases(cs []Case) {
	slices.SortFunc(cs, func(a, b Case) int { return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID)) })
}

// QueueCaseChange records a manager's move of a cached case for the sync worker. The
// move is checked against the case's status with its queued moves applied, by the same
// rules the collector applies, and shows in Cases at once.
func (db *DB) QueueCaseChange(ctx context.Context, caseID string, to followup.Status, note string) (CaseChange, error) {
	if !utf8.ValidString(note) {
		return CaseChange{}, fmt.Errorf("queue case change: %w: the note is not valid UTF-8", ErrInvalidInput)
	}
	if n := utf8.RuneCountInString(note); n > followup.MaxNoteRunes {
		return CaseChange{}, fmt.Errorf("queue case change: %w: the note has %d characters, at most %d", ErrInvalidInput, n, followup.MaxNoteRunes)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return CaseChange{}, fmt.Errorf("queue case change: %w", err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return CaseChange{}, fmt.Errorf("queue case change: begin: %w", err)
	}
	defer tx.Rollback()
	var body string
	var version int64
	err = tx.QueryRowContext(ctx, `SELECT body, version FROM cases WHERE id = ?`, caseID).Scan(&body, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return CaseChange{}, fmt.Errorf("queue case change: %s: %w", caseID, ErrNoCase)
	}
	if err != nil {
		return CaseChange{}, fmt.Errorf("queue case change: %w", err)
	}
	var c Case
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		return CaseChange{}, fmt.Errorf("queue case change: %w", err)
	}
	status := c.Status
	var last sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT status FROM case_changes WHERE case_id = ? AND synced_at IS NULL AND rejected_at IS NULL
		ORDER BY created_at DESC, change_id DESC LIMIT 1`, caseID).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return CaseChange{}, fmt.Errorf("queue case change: %w", err)
	}
	if last.Valid {
		status = followup.Status(last.String)
	}
	if err := status.CheckMove(to, note); err != nil {
		return CaseChange{}, fmt.Errorf("queue case change: %w: %w", ErrInvalidInput, err)
	}
	ch := CaseChange{ID: id.String(), CaseID: caseID, Status: to, Note: note, Version: version, CreatedAt: db.now()}
	if _, err := tx.ExecContext(ctx, `INSERT INTO case_changes (change_id, case_id, status, note, version, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, ch.ID, ch.CaseID, string(ch.Status), ch.Note, ch.Version, millis(ch.CreatedAt)); err != nil {
		return CaseChange{}, fmt.Errorf("queue case change: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return CaseChange{}, fmt.Errorf("queue case change: commit: %w", err)
	}
	return ch, nil
}

const caseChangeColumns = `change_id, case_id, status, note, version, created_at, rejected_reason, rejected_status`

func scanCaseChanges(rows *sql.Rows) ([]CaseChange, error) {
	defer rows.Close()
	var out []CaseChange
	for rows.Next() {
		var (
			ch      CaseChange
			created int64
		)
		if err := rows.Scan(&ch.ID, &ch.CaseID, &ch.Status, &ch.Note, &ch.Version, &created, &ch.RejectedReason, &ch.RejectedStatus); err != nil {
			return nil, err
		}
		ch.CreatedAt = fromMillis(created)
		out = append(out, ch)
	}
	return out, rows.Err()
}

// PendingCaseChanges returns the moves the collector does not have yet, oldest first.
func (db *DB) PendingCaseChanges(ctx context.Context) ([]CaseChange, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+caseChangeColumns+` FROM case_changes
		WHERE synced_at IS NULL AND rejected_at IS NULL ORDER BY created_at, change_id`)
	if err != nil {
		return nil, fmt.Errorf("pending case changes: %w", err)
	}
	out, err := scanCaseChanges(rows)
	if err != nil {
		return nil, fmt.Errorf("pending case changes: %w", err)
	}
	return out, nil
}

// MarkCaseChangeSynced records that the collector applied a move, and caches the case
// as the collector returned it. Later queued moves of the case were made on top of this
// one, so they now stand on the version it produced; without that the collector would
// refuse them as made on a stale version. Marking a change twice is harmless.
func (db *DB) MarkCaseChangeSynced(ctx context.Context, changeID string, now Case) error {
	body, err := json.Marshal(now)
	if err != nil {
		return fmt.Errorf("mark case change %s synced: %w", changeID, err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mark case change %s synced: begin: %w", changeID, err)
	}
	defer tx.Rollback()
	var (
		caseID string
		was    int64
	)
	err = tx.QueryRowContext(ctx, `UPDATE case_changes SET synced_at = ? WHERE change_id = ? AND synced_at IS NULL
		RETURNING case_id, version`, millis(db.now()), changeID).Scan(&caseID, &was)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark case change %s synced: %w", changeID, err)
	}
	if now.ID != caseID {
		return fmt.Errorf("mark case change %s synced: the collector answered with case %q, the change is of %s", changeID, now.ID, caseID)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE case_changes SET version = ?
		WHERE case_id = ? AND version = ? AND synced_at IS NULL AND rejected_at IS NULL`, now.Version, caseID, was); err != nil {
		return fmt.Errorf("mark case change %s synced: %w", changeID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET body = ?, version = ?, pulled_at = ? WHERE id = ?`,
		string(body), now.Version, millis(db.now()), caseID); err != nil {
		return fmt.Errorf("mark case change %s synced: %w", changeID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mark case change %s synced: commit: %w", changeID, err)
	}
	return nil
}

// MarkCaseChangeRejected records that the collector refused a move for good: reason in
// plain words, and the case's status at HQ when the collector said. The change, with the
// manager's note, stays for RejectedCaseChanges until dismissed.
func (db *DB) MarkCaseChangeRejected(ctx context.Context, changeID, reason string, now followup.Status) error {
	_, err := db.write.ExecContext(ctx, `UPDATE case_changes SET rejected_at = ?, rejected_reason = ?, rejected_status = ?
		WHERE change_id = ? AND synced_at IS NULL AND rejected_at IS NULL`, millis(db.now()), reason, string(now), changeID)
	if err != nil {
		return fmt.Errorf("mark case change %s rejected: %w", changeID, err)
	}
	return nil
}

// RejectedCaseChanges returns refused moves the manager has not dismissed, newest first.
func (db *DB) RejectedCaseChanges(ctx context.Context) ([]CaseChange, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+caseChangeColumns+` FROM case_changes
		WHERE rejected_at IS NOT NULL AND dismissed_at IS NULL ORDER BY rejected_at DESC, change_id DESC`)
	if err != nil {
		return nil, fmt.Errorf("rejected case changes: %w", err)
	}
	out, err := scanCaseChanges(rows)
	if err != nil {
		return nil, fmt.Errorf("rejected case changes: %w", err)
	}
	return out, nil
}

// DismissCaseChange hides a rejected move once the manager has read about it.
func (db *DB) DismissCaseChange(ctx context.Context, changeID string) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE case_changes SET dismissed_at = ? WHERE change_id = ? AND rejected_at IS NOT NULL`,
		millis(db.now()), changeID); err != nil {
		return fmt.Errorf("dismiss case change %s: %w", changeID, err)
	}
	return nil
}
