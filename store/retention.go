package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// PurgeEvery is how often Maintain purges: a retention counted in days needs no more,
// and the kiosk purges at start too.
const PurgeEvery = 24 * time.Hour

// Settings under which the purges are recorded, for status and the heartbeat.
const (
	settingPurgeLastAt = "purge_last_at" // Unix ms of the last purge
	settingPurgeLast   = "purge_last"    // responses the last purge deleted
	settingPurgeTotal  = "purge_total"   // responses every purge deleted
)

// PurgeStats is what the purges did: when the last ran and how many responses it and
// all of them deleted.
type PurgeStats struct {
	LastAt     time.Time `json:"last_purge_at,omitzero"` // zero: never
	LastPurged int64     `json:"last_purged"`
	Total      int64     `json:"purged_total"`
}

// Purge deletes synced responses tapped more than olderThan ago and returns how many it
// deleted. Unsynced and quarantined responses are never purged. The database runs with
// secure_delete, and a WAL checkpoint afterwards truncates the log, so purged comments
// and contacts leave the files rather than lingering in free pages or the WAL. The
// purge is recorded (PurgeStats).
func (db *DB) Purge(ctx context.Context, olderThan time.Duration) (int64, error) {
	var v int64
	err := db.space.write(func() error {
		var err error
		v, err = db.purge(ctx, olderThan)
		return err
	})
	return v, err
}

func (db *DB) purge(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan <= 0 {
		return 0, fmt.Errorf("purge: %w: retention %s must be positive", ErrInvalidInput, olderThan)
	}
	now := db.now()
	// The delete and its record are one transaction: a purge is counted once, whatever
	// stops it.
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("purge: %w", err)
	}
	defer t.Rollback()
	res, err := t.ExecContext(ctx,
		`DELETE FROM responses WHERE synced_at IS NOT NULL AND quarantined_at IS NULL AND created_at < ?`,
		millis(now.Add(-olderThan)))
	if err != nil {
		return 0, fmt.Errorf("purge: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge: %w", err)
	}
	at := millis(now)
	for _, s := range []struct {
		key   string
		value int64
		add   bool
	}{{settingPurgeLastAt, at, false}, {settingPurgeLast, n, false}, {settingPurgeTotal, n, true}} {
		set := "excluded.value"
		if s.add {
			set = "CAST(CAST(settings.value AS INTEGER) + excluded.value AS TEXT)"
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = `+set+`, updated_at = excluded.updated_at`,
			s.key, strconv.FormatInt(s.value, 10), at); err != nil {
			return 0, fmt.Errorf("purge: record it: %w", err)
		}
	}
	if err := t.Commit(); err != nil {
		return 0, fmt.Errorf("purge: %w", err)
	}
	if n > 0 {
		if err := db.Checkpoint(ctx); err != nil {
			return n, fmt.Errorf("purge: %w", err)
		}
	}
	return n, nil
}

// PurgeStats reads what the purges did.
func (db *DB) PurgeStats(ctx context.Context) (PurgeStats, error) {
	var st PurgeStats
	for k, into := range map[string]*int64{settingPurgeLast: &st.LastPurged, settingPurgeTotal: &st.Total} {
		v, ok, err := db.Setting(ctx, k)
		if err != nil {
			return PurgeStats{}, err
		}
		if ok {
			*into, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	v, ok, err := db.Setting(ctx, settingPurgeLastAt)
	if err != nil {
		return PurgeStats{}, err
	}
	if ms, perr := strconv.ParseInt(v, 10, 64); ok && perr == nil {
		st.LastAt = time.UnixMilli(ms).UTC()
	}
	return st, nil
}

// purgeDue reports whether a purge is due: none was recorded, PurgeEvery has passed
// since the last, or the clock went back before it (a clock set right after running
// fast must not hold purges off for years).
func (db *DB) purgeDue(ctx context.Context) (bool, error) {
	st, err := db.PurgeStats(ctx)
	if err != nil {
		return false, err
	}
	now := db.now()
	return st.LastAt.IsZero() || now.Sub(st.LastAt) >= PurgeEvery || now.Before(st.LastAt), nil
}

// Size is the database's disk use in bytes: the file and its WAL.
func (db *DB) Size() int64 {
	var n int64
	for _, f := range []string{db.path, db.path + "-wal"} {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		} else if !errors.Is(err, os.ErrNotExist) {
			db.log.Warn("database size", "file", f, "err", err)
		}
	}
	return n
}

// Checkpoint copies the WAL into the database file and truncates it.
func (db *DB) Checkpoint(ctx context.Context) error {
	return db.space.write(func() error { return db.checkpoint(ctx) })
}

func (db *DB) checkpoint(ctx context.Context) error {
	var busy, logFrames, checkpointed int
	if err := db.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed); err != nil {
		return fmt.Errorf("wal checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("wal checkpoint: readers kept it from finishing (%d of %d frames copied)", checkpointed, logFrames)
	}
	return nil
}
