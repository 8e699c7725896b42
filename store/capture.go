package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/response"
)

// Recorded identifies a stored tap.
type Recorded struct {
	ID      string
	Suspect bool // a rapid repeat tap: kept, not counted in NPS
}

// Record stores a tap durably and returns its id only after the commit has reached the
// disk (WAL with synchronous=FULL). Rapid repeats are stored flagged as suspect.
func (db *DB) Record(ctx context.Context, tap response.Tap) (Recorded, error) {
	var v Recorded
	err := db.space.tap(func() error {
		var err error
		v, err = db.record(ctx, tap)
		return err
	})
	return v, err
}

// insertTapSQL is a tap's only statement, prepared once at Open: committed on its own
// (autocommit), it is one write transaction and one WAL sync with nothing around it.
const insertTapSQL = `INSERT INTO responses (id, score, locale, survey_version, created_at, suspect, segment)
	VALUES (?, ?, ?, ?, ?, ?, ?)`

func (db *DB) record(ctx context.Context, tap response.Tap) (Recorded, error) {
	if err := tap.Validate(); err != nil {
		return Recorded{}, fmt.Errorf("record tap: %w", err)
	}
	if db.insertTap == nil {
		return Recorded{}, errors.New("record tap: the database was opened read-only")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Recorded{}, fmt.Errorf("record tap: new id: %w", err)
	}
	// One tap at a time from the rapid-tap decision to noting the tap, so that two taps
	// racing each other are judged as if one came after the other (the write connection
	// serialises their commits anyway).
	db.tapMu.Lock()
	defer db.tapMu.Unlock()
	now := db.now()
	suspect := db.isRapidTap(now)
	if _, err := db.insertTap.ExecContext(ctx,
		id.String(), tap.Score, tap.Locale, tap.SurveyVersion, millis(now), suspect, tap.Segment); err != nil {
		return Recorded{}, fmt.Errorf("record tap: insert: %w", err)
	}
	db.mono.tapped(id.String())
	return Recorded{ID: id.String(), Suspect: suspect}, nil
}

// Complete amends an open response with its follow-up and closes it. Only completed
// responses are synced. It returns ErrNotFound for an unknown id and ErrCompleted when the
// response was already completed (e.g. Submit racing the idle timeout); neither writes.
func (db *DB) Complete(ctx context.Context, id string, f response.FollowUp) error {
	return db.space.write(func() error { return db.complete(ctx, id, f) })
}

func (db *DB) complete(ctx context.Context, id string, f response.FollowUp) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("complete response %s: %w", id, err)
	}
	if f.Contact != "" {
		return fmt.Errorf("complete response %s: %w", id, ErrPlainContact)
	}
	db.mask(&f)
	reasons := f.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	reasonsJSON, err := json.Marshal(reasons)
	if err != nil {
		return fmt.Errorf("complete response %s: encode reasons: %w", id, err)
	}
	answers, err := answersColumn(f.Answers)
	if err != nil {
		return fmt.Errorf("complete response %s: %w", id, err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("complete response %s: begin: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx,
		`UPDATE responses
		    SET completed_at = ?, outcome = ?, reasons = ?, comment = ?, sealed_contact = ?, contact_consent = ?, answers = ?
		  WHERE id = ? AND completed_at IS NULL`,
		millis(db.now()), string(f.Outcome), string(reasonsJSON), f.Comment, f.SealedContact, f.ContactConsent, answers, id)
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
	db.mono.completed(id)
	return nil
}

// Rescore changes the score of an open response: a shopper who goes back from the
// follow-up to correct their tap amends the same row rather than adding a second one.
// Locale and survey version are taken from tap too; the tap time and the rapid-tap flag
// stay those of the first tap. Like Complete, it returns ErrNotFound for an unknown id
// and ErrCompleted for a response that is already complete; neither writes.
func (db *DB) Rescore(ctx context.Context, id string, tap response.Tap) error {
	return db.space.write(func() error { return db.rescore(ctx, id, tap) })
}

func (db *DB) rescore(ctx context.Context, id string, tap response.Tap) error {
	if err := tap.Validate(); err != nil {
		return fmt.Errorf("rescore response %s: %w", id, err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rescore response %s: begin: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx,
		`UPDATE responses SET score = ?, locale = ?, survey_version = ?
		  WHERE id = ? AND completed_at IS NULL`,
		tap.Score, tap.Locale, tap.SurveyVersion, id)
	if err != nil {
		return fmt.Errorf("rescore response %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("rescore response %s: %w", id, err)
	} else if n == 0 {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM responses WHERE id = ?)`, id).Scan(&exists); err != nil {
			return fmt.Errorf("rescore response %s: %w", id, err)
		}
		if exists {
			return fmt.Errorf("rescore response %s: %w", id, ErrCompleted)
		}
		return fmt.Errorf("rescore response %s: %w", id, ErrNotFound)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rescore response %s: commit: %w", id, err)
	}
	return nil
}

// RecoverOpen completes, as OutcomeRecovered, every response whose follow-up has been
// open for at least olderThan by the wall clock, or every open response when olderThan is
// zero. It returns how many it completed.
func (db *DB) RecoverOpen(ctx context.Context, olderThan time.Duration) (int64, error) {
	var v int64
	err := db.space.write(func() error {
		var err error
		v, err = db.recoverOpen(ctx, olderThan)
		return err
	})
	return v, err
}

func (db *DB) recoverOpen(ctx context.Context, olderThan time.Duration) (int64, error) {
	now := db.now()
	// Zero or less: every open response, whatever the clock says (the caller is the only
	// capturing process, at its start; a clock set back must not keep a crashed shopper's
	// answer open until it catches up). Never completed before it was created.
	cutoff := int64(math.MaxInt64)
	if olderThan > 0 {
		cutoff = millis(now.Add(-olderThan))
	}
	res, err := db.write.ExecContext(ctx,
		`UPDATE responses SET completed_at = MAX(?, created_at), outcome = ?
		  WHERE completed_at IS NULL AND created_at <= ?`,
		millis(now), string(response.OutcomeRecovered), cutoff)
	if err != nil {
		return 0, fmt.Errorf("recover open responses: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("recover open responses: %w", err)
	}
	return n, nil
}

// Response is a stored response as the outbox and exports see it: CompletedAt and
// Outcome are zero while its follow-up is open.
type Response = response.Response

const responseColumns = `id, score, locale, survey_version, created_at, completed_at,
	COALESCE(outcome, ''), reasons, comment, contact, contact_consent, suspect, answers, sealed_contact, segment`

// answersColumn is the answers column of a follow-up's answers: JSON, or empty when there
// are none, so a response without answers uploads as kiosks that predate them did.
func answersColumn(answers map[string][]string) (string, error) {
	if len(answers) == 0 {
		return "", nil
	}
	b, err := json.Marshal(answers)
	if err != nil {
		return "", fmt.Errorf("encode answers: %w", err)
	}
	return string(b), nil
}

type scanner interface{ Scan(dest ...any) error }

// scanResponse reads responseColumns, then any extra columns into extra.
func scanResponse(s scanner, extra ...any) (Response, error) {
	var (
		r         Response
		created   int64
		completed sql.NullInt64
		outcome   string
		reasons   string
		answers   string
	)
	dest := append([]any{&r.ID, &r.Score, &r.Locale, &r.SurveyVersion, &created, &completed,
		&outcome, &reasons, &r.Comment, &r.Contact, &r.ContactConsent, &r.Suspect, &answers, &r.SealedContact, &r.Segment}, extra...)
	if err := s.Scan(dest...); err != nil {
		return Response{}, err
	}
	r.CreatedAt = fromMillis(created)
	r.CompletedAt = nullMillis(completed)
	r.Outcome = response.Outcome(outcome)
	if err := json.Unmarshal([]byte(reasons), &r.Reasons); err != nil {
		return Response{}, fmt.Errorf("response %s: decode reasons: %w", r.ID, err)
	}
	if answers != "" {
		if err := json.Unmarshal([]byte(answers), &r.Answers); err != nil {
			return Response{}, fmt.Errorf("response %s: decode answers: %w", r.ID, err)
		}
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
	if err := r.Validate(); err != nil {
		return fmt.Errorf("insert response %s: %w", r.ID, err)
	}
	if r.Contact != "" {
		return fmt.Errorf("insert response %s: %w", r.ID, ErrPlainContact)
	}
	f := r.FollowUp()
	db.mask(&f)
	r.Comment, r.Answers = f.Comment, f.Answers
	reasons := r.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	reasonsJSON, err := json.Marshal(reasons)
	if err != nil {
		return fmt.Errorf("insert response %s: %w", r.ID, err)
	}
	answers, err := answersColumn(r.Answers)
	if err != nil {
		return fmt.Errorf("insert response %s: %w", r.ID, err)
	}
	_, err = db.write.ExecContext(ctx,
		`INSERT INTO responses (id, score, locale, survey_version, created_at, completed_at, outcome,
		                        reasons, comment, sealed_contact, contact_consent, suspect, answers, segment)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Score, r.Locale, r.SurveyVersion, millis(r.CreatedAt), millis(r.CompletedAt), string(r.Outcome),
		string(reasonsJSON), r.Comment, r.SealedContact, r.ContactConsent, r.Suspect, answers, r.Segment)
	if err != nil {
		return fmt.Errorf("insert response %s: %w", r.ID, err)
	}
	db.mono.inserted(r.CreatedAt, r.CompletedAt, r.Outcome)
	return nil
}
