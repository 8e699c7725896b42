package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/npskiosk/npskiosk/followup"
)

// EventDigest is the daily digest of a store, for the e-mail subscriptions that ask for it.
const EventDigest = "digest.daily"

// CaseCounts counts a store's cases opened in [from, to) and those overdue at to.
func (db *DB) CaseCounts(ctx context.Context, storeID string, from, to time.Time) (opened, overdue int64, err error) {
	err = db.read.QueryRowContext(ctx, `
		SELECT COUNT(*) FILTER (WHERE opened_at >= ? AND opened_at < ?),
		       COUNT(*) FILTER (WHERE status IN (?, ?) AND due_at < ?)
		  FROM cases WHERE store_id = ?`,
		from.UnixMilli(), to.UnixMilli(), string(followup.Open), string(followup.Contacted), to.UnixMilli(), storeID).
		Scan(&opened, &overdue)
	if err != nil {
		return 0, 0, fmt.Errorf("case counts of %s: %w", storeID, err)
	}
	return opened, overdue, nil
}

// RecordDigest emits a store's digest for a local day unless one was emitted for that
// day already, and reports whether it did. The store's row is locked for the check, so
// collectors sending at once send one.
func (db *DB) RecordDigest(ctx context.Context, storeID, day string, since time.Time, data any) (bool, error) {
	now := db.now()
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("digest of %s: %w", storeID, err)
	}
	defer t.Rollback()
	var locked string
	if err := t.QueryRowContext(ctx, `SELECT id FROM stores WHERE id = ?`+db.dialect.forUpdate, storeID).Scan(&locked); err != nil {
		return false, fmt.Errorf("digest of %s: %w", storeID, err)
	}
	var sent bool
	// The digest of a day is emitted on the following day: one since that day's end is it.
	if err := t.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE store_id = ? AND type = ? AND at >= ?)`,
		storeID, EventDigest, since.UnixMilli()).Scan(&sent); err != nil {
		return false, fmt.Errorf("digest of %s: %w", storeID, err)
	}
	if sent {
		return false, nil
	}
	if _, err := emitEvent(ctx, t, EventDigest, storeID, data, now); err != nil {
		return false, err
	}
	if err := t.Commit(); err != nil {
		return false, fmt.Errorf("digest of %s: %w", storeID, err)
	}
	return true, nil
}
