package store

import (
	"context"
	"fmt"
	"time"
)

// Purge deletes synced responses tapped more than olderThan ago and returns how many it
// deleted. Unsynced and quarantined responses are never purged. The database runs with
// secure_delete, and a WAL checkpoint afterwards truncates the log, so purged comments
// and contacts leave the files rather than lingering in free pages or the WAL.
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
	res, err := db.write.ExecContext(ctx,
		`DELETE FROM responses WHERE synced_at IS NOT NULL AND created_at < ?`,
		millis(db.now().Add(-olderThan)))
	if err != nil {
		return 0, fmt.Errorf("purge: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge: %w", err)
	}
	if n > 0 {
		if err := db.Checkpoint(ctx); err != nil {
			return n, fmt.Errorf("purge: %w", err)
		}
	}
	return n, nil
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
