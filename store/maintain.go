package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Maintain keeps the database's disk use in check until ctx ends: every round it probes
// for space after a full disk (Probe) and copies the WAL back into the database (a
// passive checkpoint, which lets the WAL be reused instead of growing); in the first
// round and then once every PurgeEvery on the database's clock it purges synced
// responses older than retention (zero: no purge). It runs beside the kiosk, never on a
// tap's path, and returns ctx's error.
func (db *DB) Maintain(ctx context.Context, every, retention time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("maintain: %w: interval %s must be positive", ErrInvalidInput, every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		db.MaintainOnce(ctx, retention)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// MaintainOnce is one round of Maintain; failures are logged, for the next round to retry.
// It purges only when a purge is due (see Maintain).
func (db *DB) MaintainOnce(ctx context.Context, retention time.Duration) {
	db.Probe(ctx)
	if err := db.checkpointPassive(ctx); err != nil && ctx.Err() == nil {
		db.log.Warn("wal checkpoint failed; the next round tries again", "err", err)
	}
	if retention <= 0 {
		return
	}
	due, err := db.purgeDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			db.log.Warn("purge: could not tell when the last ran; the next round tries again", "err", err)
		}
		return
	}
	if !due {
		return
	}
	n, err := db.Purge(ctx, retention)
	if err != nil {
		if ctx.Err() == nil {
			db.log.Warn("purge failed; the next round tries again", "err", err)
		}
		return
	}
	db.log.Info("purged synced responses past retention", "count", n, "retention_days", retention.Hours()/24, "db_bytes", db.Size())
}

// checkpointPassive copies what it can of the WAL into the database without waiting for
// readers; the WAL file keeps its size and is written again from its start. It runs on
// the checkpointer's connection, so a tap never queues behind it for the write one.
func (db *DB) checkpointPassive(ctx context.Context) error {
	conn := db.write
	if db.ckpt != nil {
		conn = db.ckpt.conn
	}
	return db.space.write(func() error {
		var busy, logFrames, checkpointed int
		if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &checkpointed); err != nil {
			return fmt.Errorf("wal checkpoint: %w", err)
		}
		if busy != 0 {
			return errors.New("wal checkpoint: the database was busy")
		}
		return nil
	})
}
