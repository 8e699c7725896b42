package storage

import (
	"context"
	"database/sql"
	"fmt"
)

// StoreList returns every store, by id.
func (db *DB) StoreList(ctx context.Context) ([]Store, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, timezone, region, format FROM stores ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list stores: %w", err)
	}
	defer rows.Close()
	var out []Store
	for rows.Next() {
		var s Store
		if err := rows.Scan(&s.ID, &s.Name, &s.Timezone, &s.Region, &s.Format); err != nil {
			return nil, fmt.Errorf("list stores: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RecordDropCheck notes the outcome of a store's daily NPS check and returns the type
// of event it emitted, if any. A drop episode starts with one nps.dropped event and ends
// with one nps.recovered: while it lasts, further drops emit nothing, so an alert is
// never repeated for the same episode. The store's row is locked for the check, so
// collectors checking at once emit once.
func (db *DB) RecordDropCheck(ctx context.Context, storeID string, dropped bool, data any) (string, error) {
	now := db.now()
	// Most checks change nothing: find that out on the read pool, so they cost the
	// writer nothing. The answer is checked again under the lock below.
	inEpisode, err := dropEpisode(ctx, db.read, storeID)
	if err != nil {
		return "", fmt.Errorf("drop check of %s: %w", storeID, err)
	}
	if dropped == inEpisode {
		return "", nil
	}
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("drop check of %s: %w", storeID, err)
	}
	defer t.Rollback()
	var locked string
	if err := t.QueryRowContext(ctx, `SELECT id FROM stores WHERE id = ?`+db.dialect.forUpdate, storeID).Scan(&locked); err != nil {
		return "", fmt.Errorf("drop check of %s: %w", storeID, err)
	}
	if inEpisode, err = dropEpisode(ctx, t, storeID); err != nil {
		return "", fmt.Errorf("drop check of %s: %w", storeID, err)
	}
	typ := ""
	switch {
	case dropped && !inEpisode:
		typ = EventNPSDropped
	case !dropped && inEpisode:
		typ = EventNPSRecovered
	default:
		return "", nil
	}
	if _, err := emitEvent(ctx, t, typ, storeID, data, now); err != nil {
		return "", err
	}
	if err := t.Commit(); err != nil {
		return "", fmt.Errorf("drop check of %s: %w", storeID, err)
	}
	return typ, nil
}

// rowQuerier is a connection or a transaction.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// dropEpisode reports whether a store is in a drop episode: its latest drop event is an
// nps.dropped, not an nps.recovered.
func dropEpisode(ctx context.Context, q rowQuerier, storeID string) (bool, error) {
	var in bool
	err := q.QueryRowContext(ctx, `
		SELECT COALESCE((SELECT type = ? FROM events WHERE store_id = ? AND type IN (?, ?) ORDER BY at DESC, id DESC LIMIT 1), false)`,
		EventNPSDropped, storeID, EventNPSDropped, EventNPSRecovered).Scan(&in)
	return in, err
}
