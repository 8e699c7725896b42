package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/npskiosk/npskiosk/nps"
)

// ErrLeaseLost is returned by RetagBatch when the job is no longer the caller's: its
// lease ran out and another collector took it, or the taxonomy changed again.
var ErrLeaseLost = errors.New("re-tagging job: lease lost")

// ThemeJob is the re-tagging of one store's responses with its survey's taxonomy.
type ThemeJob struct {
	StoreID     string    `json:"store_id"`
	Fingerprint string    `json:"taxonomy_fingerprint"`
	Done        int64     `json:"done"`
	Total       int64     `json:"total"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	// Runner is the collector holding the job's lease, while it holds it.
	Runner string `json:"runner,omitempty"`
}

// Finished reports whether every response of the store is tagged with the fingerprint.
func (j ThemeJob) Finished() bool { return !j.FinishedAt.IsZero() }

// StartThemeJob notes that a store's responses are to be tagged with the taxonomy fp:
// a new job unless its job already has that fingerprint (force: a new job all the
// same, to re-tag with the same taxonomy). A runner of the job it replaces loses it at
// its next batch. It reports whether a job was started.
func (db *DB) StartThemeJob(ctx context.Context, storeID, fp string, force bool) (bool, error) {
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("start re-tagging %s: %w", storeID, err)
	}
	defer t.Rollback()
	var total int64
	if err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM responses WHERE store_id = ?`, storeID).Scan(&total); err != nil {
		return false, fmt.Errorf("start re-tagging %s: %w", storeID, err)
	}
	cond := `theme_jobs.fingerprint <> excluded.fingerprint`
	if force {
		cond = `1 = 1`
	}
	res, err := t.ExecContext(ctx, `
		INSERT INTO theme_jobs (store_id, fingerprint, resume_after, sweep, done, total, started_at) VALUES (?, ?, '', ?, 0, ?, ?)
		ON CONFLICT (store_id) DO UPDATE SET fingerprint = excluded.fingerprint, resume_after = '', sweep = excluded.sweep, done = 0,
		       total = excluded.total, started_at = excluded.started_at, finished_at = NULL
		 WHERE `+cond, storeID, fp, false, total, db.now().UnixMilli())
	if err != nil {
		return false, fmt.Errorf("start re-tagging %s: %w", storeID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, t.Commit()
}

// ThemeJobFingerprints is the taxonomy fingerprint of each store's latest job.
func (db *DB) ThemeJobFingerprints(ctx context.Context) (map[string]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT store_id, fingerprint FROM theme_jobs`)
	if err != nil {
		return nil, fmt.Errorf("re-tagging jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, fp string
		if err := rows.Scan(&id, &fp); err != nil {
			return nil, fmt.Errorf("re-tagging jobs: %w", err)
		}
		out[id] = fp
	}
	return out, rows.Err()
}

// ThemeJobs lists the stores' re-tagging jobs, by store.
func (db *DB) ThemeJobs(ctx context.Context) ([]ThemeJob, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT store_id, fingerprint, done, total, started_at, finished_at, lease_owner, lease_expires
		  FROM theme_jobs ORDER BY store_id`)
	if err != nil {
		return nil, fmt.Errorf("re-tagging jobs: %w", err)
	}
	defer rows.Close()
	now := db.now().UnixMilli()
	var out []ThemeJob
	for rows.Next() {
		var (
			j        ThemeJob
			started  int64
			finished sql.NullInt64
			owner    string
			expires  int64
		)
		if err := rows.Scan(&j.StoreID, &j.Fingerprint, &j.Done, &j.Total, &started, &finished, &owner, &expires); err != nil {
			return nil, fmt.Errorf("re-tagging jobs: %w", err)
		}
		j.StartedAt = time.UnixMilli(started).UTC()
		if finished.Valid {
			j.FinishedAt = time.UnixMilli(finished.Int64).UTC()
		}
		if expires > now {
			j.Runner = owner
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// ClaimThemeJob gives owner the lease of an unfinished job for leaseFor: of storeID, or
// of any store when it is empty. A job whose lease another holds is not claimed until it
// runs out, so that several collectors on one database never run a job twice at once.
// It returns false when there is none to claim.
func (db *DB) ClaimThemeJob(ctx context.Context, owner, storeID string, leaseFor time.Duration) (ThemeJob, bool, error) {
	now := db.now().UnixMilli()
	for range 5 { // another collector may claim the one we chose first
		q := `SELECT store_id, fingerprint, done, total, started_at FROM theme_jobs
		       WHERE finished_at IS NULL AND (lease_expires <= ? OR lease_owner = ?)`
		args := []any{now, owner}
		if storeID != "" {
			q += ` AND store_id = ?`
			args = append(args, storeID)
		}
		var (
			j       ThemeJob
			started int64
		)
		err := db.write.QueryRowContext(ctx, q+` ORDER BY started_at, store_id LIMIT 1`, args...).
			Scan(&j.StoreID, &j.Fingerprint, &j.Done, &j.Total, &started)
		if errors.Is(err, sql.ErrNoRows) {
			return ThemeJob{}, false, nil
		}
		if err != nil {
			return ThemeJob{}, false, fmt.Errorf("claim re-tagging job: %w", err)
		}
		res, err := db.write.ExecContext(ctx, `
			UPDATE theme_jobs SET lease_owner = ?, lease_expires = ?
			 WHERE store_id = ? AND fingerprint = ? AND finished_at IS NULL AND (lease_expires <= ? OR lease_owner = ?)`,
			owner, now+leaseFor.Milliseconds(), j.StoreID, j.Fingerprint, now, owner)
		if err != nil {
			return ThemeJob{}, false, fmt.Errorf("claim re-tagging job %s: %w", j.StoreID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			j.StartedAt, j.Runner = time.UnixMilli(started).UTC(), owner
			return j, true, nil
		}
	}
	return ThemeJob{}, false, nil
}

// TagSource is what a response's tags are read from.
type TagSource struct {
	Score   int
	Reasons []string
	Comment string
	Locale  string
}

// RetagBatch re-tags the next limit responses of the job's store (by id, after the
// last batch's) with tag, moving their counts in theme_rollups from their old themes
// to their new ones, and renews the lease: all in one transaction, so a batch is done
// once or not at all and a job resumes where it stopped. After the last batch it looks
// for responses still tagged otherwise (stored by an ingest that read the survey before
// it changed) and goes round again for them; when there are none the job is finished.
// The job must be owner's (ClaimThemeJob), else ErrLeaseLost.
func (db *DB) RetagBatch(ctx context.Context, owner string, job ThemeJob, limit int, leaseFor time.Duration,
	tag func(TagSource) *Tags) (ThemeJob, int, error) {
	now := db.now().UnixMilli()
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, err)
	}
	defer t.Rollback()
	res, err := t.ExecContext(ctx, `
		UPDATE theme_jobs SET lease_expires = ?
		 WHERE store_id = ? AND lease_owner = ? AND fingerprint = ? AND finished_at IS NULL AND lease_expires > ?`,
		now+leaseFor.Milliseconds(), job.StoreID, owner, job.Fingerprint, now)
	if err != nil {
		return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, ErrLeaseLost)
	}
	var (
		cursor string
		sweep  bool
	)
	if err := t.QueryRowContext(ctx, `SELECT resume_after, sweep, done, total FROM theme_jobs WHERE store_id = ?`, job.StoreID).
		Scan(&cursor, &sweep, &job.Done, &job.Total); err != nil {
		return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, err)
	}
	// The first pass re-tags every response, also those tagged with the fingerprint
	// already (a forced job re-tags with the same taxonomy); the sweep only the others.
	stale := ""
	args := []any{job.StoreID, cursor}
	if sweep {
		stale = ` AND (theme_fingerprint IS NULL OR theme_fingerprint <> ?)`
		args = append(args, job.Fingerprint)
	}
	rows, err := t.QueryContext(ctx, `
		SELECT id, score, reasons, comment, locale, day, channel, touchpoint, segment, suspect, theme_fingerprint, worth_a_look,
		       texts_purged_at IS NOT NULL
		  FROM responses WHERE store_id = ? AND id > ?`+stale+` ORDER BY id LIMIT ?`+db.dialect.forUpdate,
		append(args, limit)...)
	if err != nil {
		return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, err)
	}
	type stored struct {
		id, reasons                       string
		src                               TagSource
		day, channel, touchpoint, segment string
		suspect, worth                    bool
		tagged                            bool
		purged                            bool // its comment was blanked by retention
	}
	var batch []stored
	for rows.Next() {
		var (
			r  stored
			fp sql.NullString
		)
		if err := rows.Scan(&r.id, &r.src.Score, &r.reasons, &r.src.Comment, &r.src.Locale, &r.day, &r.channel,
			&r.touchpoint, &r.segment, &r.suspect, &fp, &r.worth, &r.purged); err != nil {
			rows.Close()
			return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, err)
		}
		r.tagged = fp.Valid
		batch = append(batch, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, err)
	}
	counts := map[themeKey]nps.Tally{}
	var themes themeRows // inserted together after the batch's old themes are deleted
	for _, r := range batch {
		if r.purged {
			// Its comment is gone: re-tagging the blank would lose the themes it was
			// counted under, and the reports would change. It keeps them.
			if _, err := t.ExecContext(ctx, `UPDATE responses SET theme_fingerprint = ? WHERE id = ?`, job.Fingerprint, r.id); err != nil {
				return job, 0, fmt.Errorf("re-tag %s: %w", r.id, err)
			}
			continue
		}
		reasons, err := decodeReasons(r.reasons)
		if err != nil {
			return job, 0, fmt.Errorf("re-tag %s: %w", r.id, err)
		}
		r.src.Reasons = reasons
		if r.tagged {
			old, err := storedThemes(ctx, t, r.id)
			if err != nil {
				return job, 0, err
			}
			themeCounts(counts, -1, r.day, r.channel, r.touchpoint, r.segment, r.src.Score, r.suspect, r.worth, old, reasons)
			if _, err := t.ExecContext(ctx, `DELETE FROM response_themes WHERE response_id = ?`, r.id); err != nil {
				return job, 0, fmt.Errorf("re-tag %s: %w", r.id, err)
			}
		}
		tags := tag(r.src)
		tags.Fingerprint = job.Fingerprint
		themes.add(r.id, tags)
		themeCounts(counts, 1, r.day, r.channel, r.touchpoint, r.segment, r.src.Score, r.suspect, tags.WorthALook, themeKeys(tags), reasons)
		sentiment, score, worth, fp := tagColumns(tags)
		if _, err := t.ExecContext(ctx, `
			UPDATE responses SET sentiment = ?, sentiment_score = ?, worth_a_look = ?, theme_fingerprint = ? WHERE id = ?`,
			sentiment, score, worth, fp, r.id); err != nil {
			return job, 0, fmt.Errorf("re-tag %s: %w", r.id, err)
		}
	}
	if err := themes.insert(ctx, t); err != nil {
		return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, err)
	}
	if err := addThemeRollups(ctx, t, job.StoreID, counts); err != nil {
		return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, err)
	}
	job.Done += int64(len(batch))
	if len(batch) == limit {
		cursor = batch[len(batch)-1].id
	} else {
		var left int64
		if err := t.QueryRowContext(ctx, `
			SELECT COUNT(*) FROM responses WHERE store_id = ? AND (theme_fingerprint IS NULL OR theme_fingerprint <> ?)`,
			job.StoreID, job.Fingerprint).Scan(&left); err != nil {
			return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, err)
		}
		cursor, sweep, job.Total = "", true, job.Done+left
		if left == 0 {
			job.FinishedAt = time.UnixMilli(now).UTC()
		}
	}
	job.Total = max(job.Total, job.Done)
	if _, err := t.ExecContext(ctx, `
		UPDATE theme_jobs SET resume_after = ?, sweep = ?, done = ?, total = ?, finished_at = ?,
		       lease_owner = CASE WHEN ? THEN '' ELSE lease_owner END,
		       lease_expires = CASE WHEN ? THEN 0 ELSE lease_expires END
		 WHERE store_id = ?`,
		cursor, sweep, job.Done, job.Total, nullMillis(job.FinishedAt), job.Finished(), job.Finished(), job.StoreID); err != nil {
		return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, err)
	}
	if err := t.Commit(); err != nil {
		return job, 0, fmt.Errorf("re-tag %s: %w", job.StoreID, err)
	}
	if job.Finished() {
		job.Runner = ""
	}
	return job, len(batch), nil
}

// ReleaseThemeJobs gives up owner's leases on unfinished jobs (a collector draining for
// a restart), so another collector resumes them at once instead of when they run out.
// A job resumes after its last committed batch.
func (db *DB) ReleaseThemeJobs(ctx context.Context, owner string) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE theme_jobs SET lease_expires = 0 WHERE lease_owner = ? AND finished_at IS NULL`, owner); err != nil {
		return fmt.Errorf("release re-tagging jobs of %s: %w", owner, err)
	}
	return nil
}
