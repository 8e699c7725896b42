package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/nps"
)

// Limits on what a response may carry. The UI cannot exceed them; the store enforces them
// so that nothing unchecked reaches disk (capture rule 5).
const (
	MaxCommentRunes = 1000
	MaxContactRunes = 254
	MaxReasons      = 8
	MaxReasonRunes  = 64
	MaxLocaleRunes  = 35
)

// Outcome says how a response's follow-up ended.
type Outcome string

// The ways a follow-up ends.
const (
	OutcomeSubmitted Outcome = "submitted" // the shopper pressed Submit
	OutcomeSkipped   Outcome = "skipped"   // the shopper pressed Skip
	OutcomeTimedOut  Outcome = "timed_out" // the idle timeout reset the screen
	OutcomeRecovered Outcome = "recovered" // left open by a crash, completed at the next start
)

// Valid reports whether o is one of the defined outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomeSubmitted, OutcomeSkipped, OutcomeTimedOut, OutcomeRecovered:
		return true
	}
	return false
}

// Tap is what a shopper's tap on the rating screen records.
type Tap struct {
	Score         int
	Locale        string // BCP 47 tag of the language the screen was in, e.g. "de"
	SurveyVersion int    // version of the survey config shown
}

// Recorded identifies a stored tap.
type Recorded struct {
	ID      string
	Suspect bool // a rapid repeat tap: kept, not counted in NPS
}

// FollowUp is what the follow-up screen adds to a response.
type FollowUp struct {
	Outcome        Outcome
	Reasons        []string // reason keys from the survey config
	Comment        string
	Contact        string // email or phone; only with ContactConsent
	ContactConsent bool
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}

func (t Tap) validate() error {
	if _, err := nps.ParseScore(t.Score); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	if t.Locale == "" || !utf8.ValidString(t.Locale) || utf8.RuneCountInString(t.Locale) > MaxLocaleRunes {
		return invalid("locale %q must be a language tag of 1 to %d characters", t.Locale, MaxLocaleRunes)
	}
	if t.SurveyVersion < 0 {
		return invalid("survey version %d is negative", t.SurveyVersion)
	}
	return nil
}

func (f FollowUp) validate() error {
	if !f.Outcome.Valid() {
		return invalid("outcome %q is not one of submitted, skipped, timed_out, recovered", f.Outcome)
	}
	if len(f.Reasons) > MaxReasons {
		return invalid("%d reasons given, at most %d allowed", len(f.Reasons), MaxReasons)
	}
	seen := make(map[string]bool, len(f.Reasons))
	for _, r := range f.Reasons {
		if r == "" || !utf8.ValidString(r) || utf8.RuneCountInString(r) > MaxReasonRunes {
			return invalid("reason key %q must be valid text of 1 to %d characters", r, MaxReasonRunes)
		}
		if seen[r] {
			return invalid("reason %q given twice", r)
		}
		seen[r] = true
	}
	if !utf8.ValidString(f.Comment) {
		return invalid("comment is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(f.Comment); n > MaxCommentRunes {
		return invalid("comment has %d characters, at most %d allowed", n, MaxCommentRunes)
	}
	if !utf8.ValidString(f.Contact) {
		return invalid("contact is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(f.Contact); n > MaxContactRunes {
		return invalid("contact has %d characters, at most %d allowed", n, MaxContactRunes)
	}
	if f.Contact != "" && !f.ContactConsent {
		return invalid("contact details given without consent to be contacted")
	}
	return nil
}

// Record stores a tap durably and returns its id only after the commit has reached the
// disk (WAL with synchronous=FULL). Rapid repeats are stored flagged as suspect.
func (db *DB) Record(ctx context.Context, tap Tap) (Recorded, error) {
	if err := tap.validate(); err != nil {
		return Recorded{}, fmt.Errorf("record tap: %w", err)
	}
	now := db.now()
	id, err := uuid.NewV7()
	if err != nil {
		return Recorded{}, fmt.Errorf("record tap: new id: %w", err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return Recorded{}, fmt.Errorf("record tap: begin: %w", err)
	}
	defer tx.Rollback()

	suspect, err := db.isRapidTap(ctx, tx, now)
	if err != nil {
		return Recorded{}, fmt.Errorf("record tap: %w", err)
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO responses (id, score, locale, survey_version, created_at, suspect)
		 VALUES (?, ?, ?, ?, ?, ?)`,
		id.String(), tap.Score, tap.Locale, tap.SurveyVersion, millis(now), suspect)
	if err != nil {
		return Recorded{}, fmt.Errorf("record tap: insert: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Recorded{}, fmt.Errorf("record tap: commit: %w", err)
	}
	return Recorded{ID: id.String(), Suspect: suspect}, nil
}

func (db *DB) isRapidTap(ctx context.Context, tx *sql.Tx, now time.Time) (bool, error) {
	db.mu.Lock()
	rule := db.rapidTap
	db.mu.Unlock()
	if rule.MinGapAfterCompletion > 0 {
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx,
			`SELECT MAX(completed_at) FROM responses
			  WHERE created_at >= ? AND outcome <> 'recovered'`,
			millis(now.Add(-time.Hour))).Scan(&last); err != nil {
			return false, fmt.Errorf("check rapid tap: %w", err)
		}
		if last.Valid && now.Sub(fromMillis(last.Int64)) < rule.MinGapAfterCompletion {
			return true, nil
		}
	}
	if rule.BurstLimit > 0 && rule.BurstWindow > 0 {
		var n int
		if err := tx.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM responses WHERE created_at > ?`,
			millis(now.Add(-rule.BurstWindow))).Scan(&n); err != nil {
			return false, fmt.Errorf("check burst: %w", err)
		}
		if n >= rule.BurstLimit {
			return true, nil
		}
	}
	return false, nil
}

// Complete amends an open response with its follow-up and closes it. Only completed
// responses are synced. It returns ErrNotFound for an unknown id and ErrCompleted when the
// response was already completed (e.g. Submit racing the idle timeout); neither writes.
func (db *DB) Complete(ctx context.Context, id string, f FollowUp) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("complete response %s: %w", id, err)
	}
	reasons := f.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	reasonsJSON, err := json.Marshal(reasons)
	if err != nil {
		return fmt.Errorf("complete response %s: encode reasons: %w", id, err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("complete response %s: begin: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx,
		`UPDATE responses
		    SET completed_at = ?, outcome = ?, reasons = ?, comment = ?, contact = ?, contact_consent = ?
		  WHERE id = ? AND completed_at IS NULL`,
		millis(db.now()), string(f.Outcome), string(reasonsJSON), f.Comment, f.Contact, f.ContactConsent, id)
	if err != nil {
		return fmt.Errorf("complete response %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("complete response %s: %w", id, err)
	} else if n == 0 {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM responses WHERE id = ?)`, id).Scan(&exists); err != nil {
			return fmt.Errorf("complete response %s: %w", id, err)
		}
		if exists {
			return fmt.Errorf("complete response %s: %w", id, ErrCompleted)
		}
		return fmt.Errorf("complete response %s: %w", id, ErrNotFound)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("complete response %s: commit: %w", id, err)
	}
	return nil
}

// RecoverOpen completes, as OutcomeRecovered, every response whose follow-up has been
// open for at least olderThan. It returns how many it completed.
func (db *DB) RecoverOpen(ctx context.Context, olderThan time.Duration) (int64, error) {
	now := db.now()
	res, err := db.write.ExecContext(ctx,
		`UPDATE responses SET completed_at = ?, outcome = ?
		  WHERE completed_at IS NULL AND created_at <= ?`,
		millis(now), string(OutcomeRecovered), millis(now.Add(-olderThan)))
	if err != nil {
		return 0, fmt.Errorf("recover open responses: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("recover open responses: %w", err)
	}
	return n, nil
}

// Response is a stored response as the outbox and exports see it.
type Response struct {
	ID             string
	Score          int
	Locale         string
	SurveyVersion  int
	CreatedAt      time.Time
	CompletedAt    time.Time // zero while open
	Outcome        Outcome   // empty while open
	Reasons        []string
	Comment        string
	Contact        string
	ContactConsent bool
	Suspect        bool
}

const responseColumns = `id, score, locale, survey_version, created_at, completed_at,
	COALESCE(outcome, ''), reasons, comment, contact, contact_consent, suspect`

type scanner interface{ Scan(dest ...any) error }

// scanResponse reads responseColumns, then any extra columns into extra.
func scanResponse(s scanner, extra ...any) (Response, error) {
	var (
		r         Response
		created   int64
		completed sql.NullInt64
		outcome   string
		reasons   string
	)
	dest := append([]any{&r.ID, &r.Score, &r.Locale, &r.SurveyVersion, &created, &completed,
		&outcome, &reasons, &r.Comment, &r.Contact, &r.ContactConsent, &r.Suspect}, extra...)
	if err := s.Scan(dest...); err != nil {
		return Response{}, err
	}
	r.CreatedAt = fromMillis(created)
	r.CompletedAt = nullMillis(completed)
	r.Outcome = Outcome(outcome)
	if err := json.Unmarshal([]byte(reasons), &r.Reasons); err != nil {
		return Response{}, fmt.Errorf("response %s: decode reasons: %w", r.ID, err)
	}
	return r, nil
}

// Get returns one response by id, or ErrNotFound.
func (db *DB) Get(ctx context.Context, id string) (Response, error) {
	r, err := scanResponse(db.read.QueryRowContext(ctx,
		`SELECT `+responseColumns+` FROM responses WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Response{}, fmt.Errorf("get response %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Response{}, fmt.Errorf("get response %s: %w", id, err)
	}
	return r, nil
}

// Insert stores a response that is already complete, with its own id and times: for
// simulated demo data and imports. It is validated like a tap and its follow-up.
func (db *DB) Insert(ctx context.Context, r Response) error {
	if err := (Tap{Score: r.Score, Locale: r.Locale, SurveyVersion: r.SurveyVersion}).validate(); err != nil {
		return fmt.Errorf("insert response %s: %w", r.ID, err)
	}
	f := FollowUp{Outcome: r.Outcome, Reasons: r.Reasons, Comment: r.Comment, Contact: r.Contact, ContactConsent: r.ContactConsent}
	if err := f.validate(); err != nil {
		return fmt.Errorf("insert response %s: %w", r.ID, err)
	}
	if _, err := uuid.Parse(r.ID); err != nil {
		return fmt.Errorf("insert response: %w: id %q is not a UUID", ErrInvalidInput, r.ID)
	}
	if r.CompletedAt.Before(r.CreatedAt) {
		return fmt.Errorf("insert response %s: %w: completed before it was created", r.ID, ErrInvalidInput)
	}
	reasons := r.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	reasonsJSON, err := json.Marshal(reasons)
	if err != nil {
		return fmt.Errorf("insert response %s: %w", r.ID, err)
	}
	_, err = db.write.ExecContext(ctx,
		`INSERT INTO responses (id, score, locale, survey_version, created_at, completed_at, outcome,
		                        reasons, comment, contact, contact_consent, suspect)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Score, r.Locale, r.SurveyVersion, millis(r.CreatedAt), millis(r.CompletedAt), string(r.Outcome),
		string(reasonsJSON), r.Comment, r.Contact, r.ContactConsent, r.Suspect)
	if err != nil {
		return fmt.Errorf("insert response %s: %w", r.ID, err)
	}
	return nil
}
