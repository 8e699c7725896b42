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

// RecordScopeDigest emits the digest of a region or of the chain (scope empty) for a
// day unless one was emitted for it already, and reports whether it did. It goes to the
// subscriptions of exactly that scope.
func (db *DB) RecordScopeDigest(ctx context.Context, scopeKind, scope, day string, data any) (bool, error) {
	now := db.now()
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("digest of %s %s: %w", scopeKind, scope, err)
	}
	defer t.Rollback()
	res, err := t.ExecContext(ctx, `
		INSERT INTO scope_digests (scope_kind, scope, day, sent_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (scope_kind, scope, day) DO NOTHING`, scopeKind, scope, day, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("digest of %s %s: %w", scopeKind, scope, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if _, err := emitScopeEvent(ctx, t, EventDigest, scopeKind, scope, data, now); err != nil {
		return false, err
	}
	if err := t.Commit(); err != nil {
		return false, fmt.Errorf("digest of %s %s: %w", scopeKind, scope, err)
	}
	return true, nil
}

// ScopeDigestSent reports whether the digest of a region or the chain went out for a day.
func (db *DB) ScopeDigestSent(ctx context.Context, scopeKind, scope, day string) (bool, error) {
	var sent bool
	err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM scope_digests WHERE scope_kind = ? AND scope = ? AND day = ?)`,
		scopeKind, scope, day).Scan(&sent)
	if err != nil {
		return false, fmt.Errorf("digest of %s %s: %w", scopeKind, scope, err)
	}
	return sent, nil
}

// DigestEmitted reports whether a store's digest was emitted in [from, to): the local
// day after the one it tells of.
func (db *DB) DigestEmitted(ctx context.Context, storeID string, from, to time.Time) (bool, error) {
	var sent bool
	err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE store_id = ? AND type = ? AND at >= ? AND at < ?)`,
		storeID, EventDigest, from.UnixMilli(), to.UnixMilli()).Scan(&sent)
	if err != nil {
		return false, fmt.Errorf("digest of %s: %w", storeID, err)
	}
	return sent, nil
}
