package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"
)

// Pending returns up to limit completed responses that are neither synced nor
// quarantined, oldest first: the next batch for the sync worker.
func (db *DB) Pending(ctx context.Context, limit int) ([]Response, error) {
	return db.PendingAfter(ctx, OutboxKey{}, limit)
}

// OutboxKey is a response's place in the outbox's order (created_at, then id); the zero
// key is before every response.
type OutboxKey struct {
	CreatedAt time.Time
	ID        string
}

// PendingAfter is Pending for the responses after key in the outbox's order. The sync
// worker reads the next batch with it while the one before is still being uploaded and
// so is not yet marked synced: Pending would return that batch again.
func (db *DB) PendingAfter(ctx context.Context, after OutboxKey, limit int) ([]Response, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("pending responses: limit %d must be positive", limit)
	}
	var (
		rows *sql.Rows
		err  error
	)
	if after == (OutboxKey{}) {
		rows, err = db.read.QueryContext(ctx,
			`SELECT `+responseColumns+` FROM responses
			  WHERE completed_at IS NOT NULL AND synced_at IS NULL AND quarantined_at IS NULL
			  ORDER BY created_at, id LIMIT ?`, limit)
	} else {
		// A row value comparison, so that SQLite walks the outbox index from the key.
		rows, err = db.read.QueryContext(ctx,
			`SELECT `+responseColumns+` FROM responses
			  WHERE completed_at IS NOT NULL AND synced_at IS NULL AND quarantined_at IS NULL
			    AND (created_at, id) > (?, ?)
			  ORDER BY created_at, id LIMIT ?`, millis(after.CreatedAt), after.ID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("pending responses: %w", err)
	}
	defer rows.Close()
	var out []Response
	for rows.Next() {
		r, err := scanResponse(rows)
		if err != nil {
			return nil, fmt.Errorf("pending responses: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending responses: %w", err)
	}
	return out, nil
}

// MarkSynced records that the collector holds these responses (accepted or duplicate).
// Ids that are unknown or already synced are ignored, so applying the same ack twice is
// harmless. It returns how many rows changed.
func (db *DB) MarkSynced(ctx context.Context, ids []string) (int64, error) {
	var v int64
	err := db.space.write(func() error {
		var err error
		v, err = db.markSynced(ctx, ids)
		return err
	})
	if err == nil && v > 0 {
		// A contact an earlier version left in clear, uploaded so, leaves the disk now.
		if err := db.sealPlainContacts(ctx, false); err != nil {
			db.log.Warn("could not drop uploaded contacts kept in clear; the next upload tries again", "err", err)
		}
	}
	return v, err
}

// Marking synced commits with synchronous=NORMAL, where every other write is FULL. In
// WAL mode NORMAL keeps the database consistent through a power loss and only gives up the
// last commits' durability: the mark is in the WAL but not yet fsynced, and the next FULL
// commit (a tap) or checkpoint syncs it with its own. A mark lost that way leaves its
// responses pending; the next upload resends them and the collector answers "duplicate"
// by their ids, so exactly-once holds. During a catch-up that saves one fsync a batch on
// the kiosk's disk, which is most of what applying an answer costs.
//
// The pragma is the connection's, so it is set, used and restored on one connection held
// from the write pool: the taps share that connection and must never commit with NORMAL.

func (db *DB) markSynced(ctx context.Context, ids []string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("mark synced: take the write connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return 0, fmt.Errorf("mark synced: relax synchronous: %w", err)
	}
	defer func() {
		// Restored whatever happened above, even once ctx has ended. Should it fail,
		// the connection is thrown away: a new one opens with FULL (sqlite.DSN).
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = FULL"); rerr != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
			db.log.Warn("could not restore synchronous=FULL after marking synced; the write connection is reopened", "err", rerr)
		}
	}()
	return db.markSyncedOn(ctx, conn, ids)
}

// markSyncedOn marks ids synced in one transaction on conn.
func (db *DB) markSyncedOn(ctx context.Context, conn *sql.Conn, ids []string) (int64, error) {
	now := millis(db.now())
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("mark synced: begin: %w", err)
	}
	defer tx.Rollback()
	var total int64
	// SQLite limits bound parameters per statement; chunk well below it.
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, 0, len(part)+1)
		args = append(args, now)
		for _, id := range part {
			args = append(args, id)
		}
		res, err := tx.ExecContext(ctx,
			`UPDATE responses SET synced_at = ?
			  WHERE synced_at IS NULL AND completed_at IS NOT NULL
			    AND id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return 0, fmt.Errorf("mark synced: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("mark synced: %w", err)
		}
		total += n
	}
	if db.markSyncedHook != nil {
		if err := db.markSyncedHook(ctx, tx); err != nil {
			return 0, fmt.Errorf("mark synced: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("mark synced: commit: %w", err)
	}
	return total, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// Quarantine sets a response aside with the collector's reason: it is kept and counted,
// never retried and never purged. Only completed, unsynced responses can be quarantined.
func (db *DB) Quarantine(ctx context.Context, id, reason string) error {
	return db.space.write(func() error { return db.quarantine(ctx, id, reason) })
}

func (db *DB) quarantine(ctx context.Context, id, reason string) error {
	if reason == "" {
		return fmt.Errorf("quarantine %s: %w: a reason is required", id, ErrInvalidInput)
	}
	res, err := db.write.ExecContext(ctx,
		`UPDATE responses SET quarantined_at = ?, quarantine_reason = ?
		  WHERE id = ? AND completed_at IS NOT NULL AND synced_at IS NULL AND quarantined_at IS NULL`,
		millis(db.now()), reason, id)
	if err != nil {
		return fmt.Errorf("quarantine %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("quarantine %s: %w", id, err)
	} else if n == 0 {
		if _, err := db.Get(ctx, id); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
		return fmt.Errorf("quarantine %s: %w: it is open, synced or already quarantined", id, ErrNotQuarantine)
	}
	return nil
}

// QuarantinedResponse is a response the collector rejected, with why.
type QuarantinedResponse struct {
	Response
	QuarantinedAt time.Time
	Reason        string
}

// Quarantined lists quarantined responses, newest first.
func (db *DB) Quarantined(ctx context.Context, limit int) ([]QuarantinedResponse, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT `+responseColumns+`, quarantined_at, quarantine_reason FROM responses
		  WHERE quarantined_at IS NOT NULL ORDER BY quarantined_at DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("quarantined responses: %w", err)
	}
	defer rows.Close()
	var out []QuarantinedResponse
	for rows.Next() {
		var (
			q  QuarantinedResponse
			at int64
		)
		if q.Response, err = scanResponse(rows, &at, &q.Reason); err != nil {
			return nil, fmt.Errorf("quarantined responses: %w", err)
		}
		q.QuarantinedAt = fromMillis(at)
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("quarantined responses: %w", err)
	}
	return out, nil
}

// OutboxStats summarises the outbox for the sync status and the manager view.
type OutboxStats struct {
	Pending       int64     // completed, waiting to sync
	OldestPending time.Time // zero when nothing waits
	Open          int64     // follow-up still open
	Quarantined   int64
	Synced        int64
}

// Outbox returns the outbox counts.
func (db *DB) Outbox(ctx context.Context) (OutboxStats, error) {
	var (
		s      OutboxStats
		oldest sql.NullInt64
	)
	err := db.read.QueryRowContext(ctx, `
		SELECT
		  COUNT(*) FILTER (WHERE completed_at IS NOT NULL AND synced_at IS NULL AND quarantined_at IS NULL),
		  MIN(created_at) FILTER (WHERE completed_at IS NOT NULL AND synced_at IS NULL AND quarantined_at IS NULL),
		  COUNT(*) FILTER (WHERE completed_at IS NULL),
		  COUNT(*) FILTER (WHERE quarantined_at IS NOT NULL),
		  COUNT(*) FILTER (WHERE synced_at IS NOT NULL)
		FROM responses`).Scan(&s.Pending, &oldest, &s.Open, &s.Quarantined, &s.Synced)
	if err != nil {
		return OutboxStats{}, fmt.Errorf("outbox stats: %w", err)
	}
	s.OldestPending = nullMillis(oldest)
	return s, nil
}
