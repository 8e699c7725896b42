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
//
// Rounds come every `every`; while the disk is full or the reserve is spent, every
// `short` (when shorter), from the moment the disk is found full: the scores come back
// within `short` of space returning. The checkpointer copies the WAL once writes pause,
// so on a healthy disk a round has little to do, and an idle kiosk need not wake for it
// often.
func (db *DB) Maintain(ctx context.Context, every, short, retention time.Duration) error {
	if every <= 0 || short <= 0 {
		return fmt.Errorf("maintain: %w: intervals %s and %s must be positive", ErrInvalidInput, every, short)
	}
	short = min(short, every)
	for {
		db.MaintainOnce(ctx, retention)
		wait := every
		if db.space.needsProbe() {
			wait = short
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		case <-db.space.filled:
			t.Stop()
			// The disk has just filled: the next round is the first probe for space.
			t = time.NewTimer(short)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
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
