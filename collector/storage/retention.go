package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/npskiosk/npskiosk/response"
)

// Retention (migration 0022): the chain keeps scores, reasons, themes, rollups and report
// sums forever, and what shoppers wrote and how to reach them for as long as its policy
// says. A purge blanks those values in place (rows stay, so every count stays the same)
// in bounded batches, each its own short transaction.

// MaxRetentionDays bounds a retention setting: a hundred years is "forever" already.
const MaxRetentionDays = 36500

// RetentionPolicy is how long the chain keeps what shoppers wrote, in days; 0 keeps it
// forever. What is purged is counted from the tap (responses.created_at), a case note
// from when it was written and a webhook event from when it happened.
type RetentionPolicy struct {
	// CommentsDays: a response's comment and its answers to free-text questions.
	CommentsDays int `json:"comments_days"`
	// ContactsDays: a response's contact (in clear or sealed), the notes of cases and
	// the webhook delivery log (events carry comments and contacts, so the log goes at
	// the sooner of the two limits).
	ContactsDays int       `json:"contacts_days"`
	UpdatedAt    time.Time `json:"updated_at,omitzero"`
}

// Validate says what is wrong with the policy, naming the setting.
func (p RetentionPolicy) Validate() error {
	var errs []error
	for _, s := range []struct {
		name string
		days int
	}{{"comments_days", p.CommentsDays}, {"contacts_days", p.ContactsDays}} {
		if s.days < 0 || s.days > MaxRetentionDays {
			errs = append(errs, fmt.Errorf("%w: retention %s = %d: give whole days from 1 to %d, or 0 to keep forever", ErrInvalid, s.name, s.days, MaxRetentionDays))
		}
	}
	return errors.Join(errs...)
}

// Off reports whether the policy keeps everything forever.
func (p RetentionPolicy) Off() bool { return p.CommentsDays == 0 && p.ContactsDays == 0 }

// logDays is the limit of the webhook delivery log: the sooner of the two, 0 for none.
func (p RetentionPolicy) logDays() int {
	switch {
	case p.CommentsDays == 0:
		return p.ContactsDays
	case p.ContactsDays == 0:
		return p.CommentsDays
	}
	return min(p.CommentsDays, p.ContactsDays)
}

// RetentionPolicy reads the chain's retention policy.
func (db *DB) RetentionPolicy(ctx context.Context) (RetentionPolicy, error) {
	var (
		p       RetentionPolicy
		updated int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT comments_days, contacts_days, updated_at FROM retention_policy WHERE id = 1`).
		Scan(&p.CommentsDays, &p.ContactsDays, &updated)
	if err != nil {
		return RetentionPolicy{}, fmt.Errorf("retention policy: %w", err)
	}
	if updated > 0 {
		p.UpdatedAt = time.UnixMilli(updated).UTC()
	}
	return p, nil
}

// SetRetentionPolicy replaces the chain's retention policy; the next purge applies it.
func (db *DB) SetRetentionPolicy(ctx context.Context, p RetentionPolicy) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("set retention policy: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE retention_policy SET comments_days = ?, contacts_days = ?, updated_at = ? WHERE id = 1`,
		p.CommentsDays, p.ContactsDays, db.now().UnixMilli()); err != nil {
		return fmt.Errorf("set retention policy: %w", err)
	}
	return nil
}

// PurgeCounts is what one purge blanked or deleted, per table and column.
type PurgeCounts struct {
	Comments         int64 `json:"comments"`          // responses whose comment was blanked
	Answers          int64 `json:"answers"`           // responses whose free-text answers were blanked
	Contacts         int64 `json:"contacts"`          // responses whose contact (clear or sealed) was blanked
	CaseNotes        int64 `json:"case_notes"`        // case notes blanked
	Deliveries       int64 `json:"deliveries"`        // webhook deliveries deleted (not pending ones)
	DeliveryAttempts int64 `json:"delivery_attempts"` // their attempts deleted
	Events           int64 `json:"events"`            // event payloads blanked
}

// Total is every row the purge changed.
func (c PurgeCounts) Total() int64 {
	return c.Comments + c.Answers + c.Contacts + c.CaseNotes + c.Deliveries + c.DeliveryAttempts + c.Events
}

// ByTable lists the counts under the names logs and metrics use, in a fixed order.
func (c PurgeCounts) ByTable() []PurgeCount {
	return []PurgeCount{
		{"responses.comment", c.Comments}, {"responses.answers", c.Answers}, {"responses.contact", c.Contacts},
		{"case_events.note", c.CaseNotes}, {"deliveries", c.Deliveries}, {"delivery_attempts", c.DeliveryAttempts},
		{"events.payload", c.Events},
	}
}

// PurgeCount is one table's count.
type PurgeCount struct {
	Table string
	N     int64
}

func (c *PurgeCounts) add(o PurgeCounts) {
	c.Comments += o.Comments
	c.Answers += o.Answers
	c.Contacts += o.Contacts
	c.CaseNotes += o.CaseNotes
	c.Deliveries += o.Deliveries
	c.DeliveryAttempts += o.DeliveryAttempts
	c.Events += o.Events
}

// PurgeOptions tunes one purge.
type PurgeOptions struct {
	// Owner holds the retention lease while the purge runs: a name unique to this
	// collector process. Required.
	Owner string
	// Lease is how long the lease lasts without a batch renewing it; 0: 5 minutes.
	Lease time.Duration
	// Batch is the rows per transaction; 0: 500.
	Batch int
	// DryRun counts what would be purged and changes nothing (each batch is rolled back).
	DryRun bool
	// OnBatch, when set, is told of every batch: its step ("comments", "contacts", "case
	// notes", "delivery log", "event payloads"), the rows it looked at and how long its
	// transaction took, for progress and measurement.
	OnBatch func(step string, rows int, took time.Duration)
}

// ErrRetentionBusy: another collector holds the retention lease; its purge is running.
var ErrRetentionBusy = errors.New("another collector is purging")

// ClaimRetentionLease gives owner the retention lease for leaseFor, unless another
// holds it; it returns false then.
func (db *DB) ClaimRetentionLease(ctx context.Context, owner string, leaseFor time.Duration) (bool, error) {
	now := db.now().UnixMilli()
	res, err := db.write.ExecContext(ctx, `UPDATE retention_lease SET owner = ?, lease_expires = ? WHERE id = 1 AND (lease_expires <= ? OR owner = ?)`,
		owner, now+leaseFor.Milliseconds(), now, owner)
	if err != nil {
		return false, fmt.Errorf("claim retention lease: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim retention lease: %w", err)
	}
	return n == 1, nil
}

// ReleaseRetentionLease gives up owner's lease, so the next purge need not wait for it.
func (db *DB) ReleaseRetentionLease(ctx context.Context, owner string) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE retention_lease SET lease_expires = 0 WHERE id = 1 AND owner = ?`, owner); err != nil {
		return fmt.Errorf("release retention lease: %w", err)
	}
	return nil
}

// Purge applies the policy now (the database's clock): it takes the retention lease
// (ErrRetentionBusy when another collector holds it), purges in batches, each a
// transaction that renews the lease (ErrLeaseLost if another took it over), releases
// the lease and returns the counts. Rows already purged are not counted again: a
// second purge finds nothing. Scores and everything counted from them stay as they were.
func (db *DB) Purge(ctx context.Context, p RetentionPolicy, opt PurgeOptions) (PurgeCounts, error) {
	if err := p.Validate(); err != nil {
		return PurgeCounts{}, fmt.Errorf("purge: %w", err)
	}
	if opt.Owner == "" {
		return PurgeCounts{}, errors.New("purge: PurgeOptions.Owner is required")
	}
	if opt.Lease <= 0 {
		opt.Lease = 5 * time.Minute
	}
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	ok, err := db.ClaimRetentionLease(ctx, opt.Owner, opt.Lease)
	if err != nil {
		return PurgeCounts{}, fmt.Errorf("purge: %w", err)
	}
	if !ok {
		return PurgeCounts{}, fmt.Errorf("purge: %w", ErrRetentionBusy)
	}
	defer db.ReleaseRetentionLease(context.WithoutCancel(ctx), opt.Owner)
	now := db.now()
	cutoff := func(days int) int64 { return now.Add(-time.Duration(days) * 24 * time.Hour).UnixMilli() }
	pr := purger{db: db, opt: opt, now: now.UnixMilli(), surveys: map[string]map[string]bool{}}
	var total PurgeCounts
	steps := []struct {
		name string
		days int
		step func(context.Context, tx, int64, *cursor) (PurgeCounts, int, error)
	}{
		{"comments", p.CommentsDays, pr.texts},
		{"contacts", p.ContactsDays, pr.contacts},
		{"case notes", p.ContactsDays, pr.caseNotes},
		{"delivery log", p.logDays(), pr.deliveries},
		{"event payloads", p.logDays(), pr.events},
	}
	for _, s := range steps {
		if s.days == 0 {
			continue
		}
		c, err := pr.run(ctx, s.name, cutoff(s.days), s.step)
		total.add(c)
		if err != nil {
			return total, fmt.Errorf("purge: %w", err)
		}
	}
	return total, nil
}

// cursor is where a step's next batch starts: after the last row it looked at, so a dry
// run, which changes nothing, still moves on.
type cursor struct {
	at int64
	id string
}

type purger struct {
	db      *DB
	opt     PurgeOptions
	now     int64
	surveys map[string]map[string]bool // store → keys of its survey's text questions
}

// run calls step, one batch each in its own transaction, until a batch finds fewer rows
// than a full one.
func (pr *purger) run(ctx context.Context, name string, cutoff int64, step func(context.Context, tx, int64, *cursor) (PurgeCounts, int, error)) (PurgeCounts, error) {
	var (
		total PurgeCounts
		cur   = cursor{at: -1 << 62}
	)
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		start := time.Now()
		t, err := pr.db.write.BeginTx(ctx, nil)
		if err != nil {
			return total, err
		}
		res, err := t.ExecContext(ctx, `UPDATE retention_lease SET lease_expires = ? WHERE id = 1 AND owner = ?`,
			pr.db.now().UnixMilli()+pr.opt.Lease.Milliseconds(), pr.opt.Owner)
		if err == nil {
			if n, _ := res.RowsAffected(); n != 1 {
				err = ErrLeaseLost
			}
		}
		var (
			c    PurgeCounts
			seen int
		)
		if err == nil {
			c, seen, err = step(ctx, t, cutoff, &cur)
		}
		if err == nil && !pr.opt.DryRun {
			err = t.Commit()
		}
		t.Rollback()
		if err != nil {
			return total, err
		}
		if pr.opt.OnBatch != nil {
			pr.opt.OnBatch(name, seen, time.Since(start))
		}
		total.add(c)
		if seen < pr.opt.Batch {
			return total, nil
		}
	}
}

// keysetWhere is a batch's condition: before the cutoff and after the cursor. Its
// arguments are cutoff, cursor at, cursor at, cursor id.
func keysetWhere(at, id string) string {
	return at + ` < ? AND (` + at + ` > ? OR (` + at + ` = ? AND ` + id + ` > ?))`
}

// texts blanks the comment and free-text answers of responses tapped before cutoff.
func (pr *purger) texts(ctx context.Context, t tx, cutoff int64, cur *cursor) (PurgeCounts, int, error) {
	rows, err := t.QueryContext(ctx, `
		SELECT created_at, id, store_id, comment, answers FROM responses
		 WHERE texts_purged_at IS NULL AND (comment <> '' OR answers <> '') AND `+keysetWhere("created_at", "id")+`
		 ORDER BY created_at, id LIMIT ?`+t.d.forUpdate, cutoff, cur.at, cur.at, cur.id, pr.opt.Batch)
	if err != nil {
		return PurgeCounts{}, 0, fmt.Errorf("comments: %w", err)
	}
	type row struct{ id, store, comment, answers string }
	var batch []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&cur.at, &r.id, &r.store, &r.comment, &r.answers); err != nil {
			rows.Close()
			return PurgeCounts{}, 0, fmt.Errorf("comments: %w", err)
		}
		cur.id = r.id
		batch = append(batch, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return PurgeCounts{}, 0, fmt.Errorf("comments: %w", err)
	}
	var (
		c     PurgeCounts
		plain []string // no answers to rewrite: blanked in one statement
	)
	for _, r := range batch {
		if r.comment != "" {
			c.Comments++
		}
		if r.answers == "" {
			plain = append(plain, r.id)
			continue
		}
		text, err := pr.textKeys(ctx, r.store)
		if err != nil {
			return c, 0, err
		}
		answers, blanked := blankTextAnswers(r.answers, text)
		if _, err := t.ExecContext(ctx, `UPDATE responses SET comment = '', answers = ?, texts_purged_at = ? WHERE id = ?`,
			answers, pr.now, r.id); err != nil {
			return c, 0, fmt.Errorf("comments: response %s: %w", r.id, err)
		}
		if blanked {
			c.Answers++
		}
	}
	if err := updateIDs(ctx, t, `UPDATE responses SET comment = '', texts_purged_at = ? WHERE id IN `, pr.now, plain); err != nil {
		return c, 0, fmt.Errorf("comments: %w", err)
	}
	return c, len(batch), nil
}

// updateIDs runs update (ending in "IN ") for the ids, with arg first, in one statement.
func updateIDs(ctx context.Context, t tx, update string, arg any, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, arg)
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := t.ExecContext(ctx, update+"("+placeholders(len(ids))+")", args...)
	return err
}

// textKeys is the keys of the store's survey's text questions, read once per purge.
func (pr *purger) textKeys(ctx context.Context, storeID string) (map[string]bool, error) {
	if keys, ok := pr.surveys[storeID]; ok {
		return keys, nil
	}
	s, err := pr.db.Survey(ctx, storeID)
	if err != nil {
		return nil, fmt.Errorf("comments: %w", err)
	}
	keys := map[string]bool{}
	for _, q := range s.Questions {
		if q.Kind == response.QuestionText {
			keys[q.Key] = true
		}
	}
	pr.surveys[storeID] = keys
	return keys, nil
}

// choiceValue is what a choice or rating answer looks like: an option key or 1 to 5.
var choiceValue = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// blankTextAnswers blanks the answers to text questions (keeping the question, so the
// counts of who answered stay), and reports whether it blanked any. A key the survey no
// longer asks is judged by its values: anything but an option key or a rating is text.
func blankTextAnswers(answers string, textKeys map[string]bool) (string, bool) {
	if answers == "" {
		return "", false
	}
	var m map[string][]string
	if err := json.Unmarshal([]byte(answers), &m); err != nil {
		return "", true // unreadable: nothing of it can be told safe to keep
	}
	blanked := false
	for k, vs := range m {
		for i, v := range vs {
			if v == "" {
				continue
			}
			if textKeys[k] || !choiceValue.MatchString(v) {
				vs[i], blanked = "", true
			}
		}
	}
	if !blanked {
		return answers, false
	}
	return answersColumn(m), true
}

// contacts blanks the contact, in clear and sealed, of responses tapped before cutoff.
func (pr *purger) contacts(ctx context.Context, t tx, cutoff int64, cur *cursor) (PurgeCounts, int, error) {
	ids, err := pr.keys(ctx, t, `SELECT created_at, id FROM responses
		 WHERE contact_purged_at IS NULL AND (contact <> '' OR contact_sealed IS NOT NULL) AND `+keysetWhere("created_at", "id")+`
		 ORDER BY created_at, id LIMIT ?`+t.d.forUpdate, cutoff, cur)
	if err != nil {
		return PurgeCounts{}, 0, fmt.Errorf("contacts: %w", err)
	}
	if err := updateIDs(ctx, t, `UPDATE responses SET contact = '', contact_sealed = NULL, contact_index = NULL, contact_purged_at = ? WHERE id IN `, pr.now, ids); err != nil {
		return PurgeCounts{}, 0, fmt.Errorf("contacts: %w", err)
	}
	return PurgeCounts{Contacts: int64(len(ids))}, len(ids), nil
}

// caseNotes blanks the notes of case events written before cutoff: people write phone
// numbers and names into them.
func (pr *purger) caseNotes(ctx context.Context, t tx, cutoff int64, cur *cursor) (PurgeCounts, int, error) {
	ids, err := pr.keys(ctx, t, `SELECT at, CAST(id AS TEXT) FROM case_events
		 WHERE note <> '' AND `+keysetWhere("at", "CAST(id AS TEXT)")+` ORDER BY at, CAST(id AS TEXT) LIMIT ?`, cutoff, cur)
	if err != nil {
		return PurgeCounts{}, 0, fmt.Errorf("case notes: %w", err)
	}
	for _, id := range ids {
		if _, err := t.ExecContext(ctx, `UPDATE case_events SET note = '' WHERE id = ?`, mustInt(id)); err != nil {
			return PurgeCounts{}, 0, fmt.Errorf("case notes: %w", err)
		}
	}
	return PurgeCounts{CaseNotes: int64(len(ids))}, len(ids), nil
}

// deliveries deletes the webhook deliveries (and their attempts) of events before
// cutoff that are no longer pending: the delivery log of the past.
func (pr *purger) deliveries(ctx context.Context, t tx, cutoff int64, cur *cursor) (PurgeCounts, int, error) {
	ids, err := pr.keys(ctx, t, `SELECT e.at, CAST(d.id AS TEXT) FROM deliveries d JOIN events e ON e.id = d.event_id
		 WHERE d.status <> 'pending' AND `+keysetWhere("e.at", "CAST(d.id AS TEXT)")+` ORDER BY e.at, CAST(d.id AS TEXT) LIMIT ?`, cutoff, cur)
	if err != nil {
		return PurgeCounts{}, 0, fmt.Errorf("delivery log: %w", err)
	}
	var c PurgeCounts
	for _, id := range ids {
		res, err := t.ExecContext(ctx, `DELETE FROM delivery_attempts WHERE delivery_id = ?`, mustInt(id))
		if err != nil {
			return c, 0, fmt.Errorf("delivery log: %w", err)
		}
		n, _ := res.RowsAffected()
		c.DeliveryAttempts += n
		if _, err := t.ExecContext(ctx, `DELETE FROM deliveries WHERE id = ?`, mustInt(id)); err != nil {
			return c, 0, fmt.Errorf("delivery log: %w", err)
		}
		c.Deliveries++
	}
	return c, len(ids), nil
}

// events blanks the payloads of events before cutoff that no pending delivery still
// needs (deliveries has deleted the others' by then).
func (pr *purger) events(ctx context.Context, t tx, cutoff int64, cur *cursor) (PurgeCounts, int, error) {
	ids, err := pr.keys(ctx, t, `SELECT at, id FROM events e
		 WHERE payload <> '{}' AND `+keysetWhere("at", "id")+`
		   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
		 ORDER BY at, id LIMIT ?`, cutoff, cur)
	if err != nil {
		return PurgeCounts{}, 0, fmt.Errorf("event payloads: %w", err)
	}
	if err := updateIDs(ctx, t, `UPDATE events SET payload = ? WHERE id IN `, "{}", ids); err != nil {
		return PurgeCounts{}, 0, fmt.Errorf("event payloads: %w", err)
	}
	return PurgeCounts{Events: int64(len(ids))}, len(ids), nil
}

// keys reads a batch of keys (query selects the cursor's at and id) and moves the cursor.
func (pr *purger) keys(ctx context.Context, t tx, query string, cutoff int64, cur *cursor) ([]string, error) {
	rows, err := t.QueryContext(ctx, query, cutoff, cur.at, cur.at, cur.id, pr.opt.Batch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		if err := rows.Scan(&cur.at, &cur.id); err != nil {
			return nil, err
		}
		ids = append(ids, cur.id)
	}
	return ids, rows.Err()
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// RetentionRun is one purge as recorded.
type RetentionRun struct {
	StartedAt  time.Time   `json:"started_at"`
	FinishedAt time.Time   `json:"finished_at"`
	DryRun     bool        `json:"dry_run"`
	Counts     PurgeCounts `json:"counts"`
	Error      string      `json:"error,omitempty"`
}

// RecordRetentionRun keeps a purge's outcome, for status and the metrics.
func (db *DB) RecordRetentionRun(ctx context.Context, r RetentionRun) error {
	counts, _ := json.Marshal(r.Counts) // a struct of integers always marshals
	if _, err := db.write.ExecContext(ctx, `INSERT INTO retention_runs (started_at, finished_at, dry_run, counts, error) VALUES (?, ?, ?, ?, ?)`,
		r.StartedAt.UnixMilli(), r.FinishedAt.UnixMilli(), r.DryRun, string(counts), r.Error); err != nil {
		return fmt.Errorf("record retention run: %w", err)
	}
	return nil
}

// LastRetentionRun is the latest purge that was not a dry run; false when there was none.
func (db *DB) LastRetentionRun(ctx context.Context) (RetentionRun, bool, error) {
	var (
		r                 RetentionRun
		started, finished int64
		counts            string
	)
	err := db.read.QueryRowContext(ctx, `SELECT started_at, finished_at, dry_run, counts, error FROM retention_runs
		 WHERE NOT dry_run ORDER BY id DESC LIMIT 1`).Scan(&started, &finished, &r.DryRun, &counts, &r.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return RetentionRun{}, false, nil
	}
	if err != nil {
		return RetentionRun{}, false, fmt.Errorf("last retention run: %w", err)
	}
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return RetentionRun{}, false, fmt.Errorf("last retention run: %w", err)
	}
	r.StartedAt, r.FinishedAt = time.UnixMilli(started).UTC(), time.UnixMilli(finished).UTC()
	return r, true, nil
}

// RetentionTotals is every row purged since the database began, per table (dry runs
// left out): the metrics' counters start from it, so they survive a restart.
func (db *DB) RetentionTotals(ctx context.Context) (PurgeCounts, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT counts FROM retention_runs WHERE NOT dry_run`)
	if err != nil {
		return PurgeCounts{}, fmt.Errorf("retention totals: %w", err)
	}
	defer rows.Close()
	var total PurgeCounts
	for rows.Next() {
		var (
			s string
			c PurgeCounts
		)
		if err := rows.Scan(&s); err != nil {
			return PurgeCounts{}, fmt.Errorf("retention totals: %w", err)
		}
		if json.Unmarshal([]byte(s), &c) == nil {
			total.add(c)
		}
	}
	return total, rows.Err()
}

// Size is the database's disk use in bytes: on SQLite the file with its WAL, on
// PostgreSQL pg_database_size.
func (db *DB) Size(ctx context.Context) (int64, error) {
	if db.dialect.name == "postgres" {
		var n int64
		if err := db.read.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n); err != nil {
			return 0, fmt.Errorf("database size: %w", err)
		}
		return n, nil
	}
	var file string
	if err := db.read.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	var total int64
	for _, f := range []string{file, file + "-wal"} {
		st, err := os.Stat(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("database size: %w", err)
		}
		total += st.Size()
	}
	return total, nil
}
