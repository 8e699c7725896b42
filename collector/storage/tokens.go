package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// tokenTouchEvery spares the writer: an API token's last_used_at is updated at most
// this often.
const tokenTouchEvery = time.Minute

// APITokenInfo is an API token as token list shows it: never its secret.
type APITokenInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	StoreID   string    `json:"store_id,omitempty"` // empty: every store
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used_at,omitzero"` // to the minute; zero: never used
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Revoked reports whether the token no longer works.
func (t APITokenInfo) Revoked() bool { return !t.RevokedAt.IsZero() }

// APITokens lists every API token, revoked ones too, oldest first.
func (db *DB) APITokens(ctx context.Context) ([]APITokenInfo, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT id, name, store_id, scopes, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("API tokens: %w", err)
	}
	defer rows.Close()
	var out []APITokenInfo
	for rows.Next() {
		var (
			t             APITokenInfo
			store         sql.NullString
			scopes        string
			created       int64
			used, revoked sql.NullInt64
		)
		if err := rows.Scan(&t.ID, &t.Name, &store, &scopes, &created, &used, &revoked); err != nil {
			return nil, fmt.Errorf("API tokens: %w", err)
		}
		t.StoreID, t.Scopes, t.CreatedAt = store.String, scopesOfColumn(scopes), time.UnixMilli(created)
		if used.Valid {
			t.LastUsed = time.UnixMilli(used.Int64)
		}
		if revoked.Valid {
			t.RevokedAt = time.UnixMilli(revoked.Int64)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("API tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken stops a token working, on every collector at its next request. The
// row stays, for token list. Revoking it again is ErrConflict; an unknown id ErrNotFound.
func (db *DB) RevokeAPIToken(ctx context.Context, id string) error {
	res, err := db.write.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, db.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	var exists bool
	if err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM api_tokens WHERE id = ?)`, id).Scan(&exists); err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if !exists {
		return fmt.Errorf("revoke token %s: %w", id, ErrNotFound)
	}
	return fmt.Errorf("revoke token %s: %w: already revoked", id, ErrConflict)
}

// AuthWindow returns the start and end of the fixed window of length window that
// holds the database's now.
func (db *DB) AuthWindow(window time.Duration) (start, end time.Time) {
	ms := window.Milliseconds()
	s := db.now().UnixMilli() / ms * ms
	return time.UnixMilli(s), time.UnixMilli(s + ms)
}

// AuthFailures returns, for each key, the failures noted in the current window of
// length window, with one read. Keys without any are absent.
func (db *DB) AuthFailures(ctx context.Context, window time.Duration, keys ...string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(keys) == 0 {
		return out, nil
	}
	start, _ := db.AuthWindow(window)
	args := []any{start.UnixMilli()}
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT key, failures FROM auth_failures WHERE window_start = ? AND key IN (?`+
		strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("auth failures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k string
			n int64
		)
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("auth failures: %w", err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("auth failures: %w", err)
	}
	return out, nil
}

// NoteAuthFailure counts one failure against each key in the current window, in one
// transaction, and returns the new counts. The first failure of a window also clears
// windows older than a day.
func (db *DB) NoteAuthFailure(ctx context.Context, window time.Duration, keys ...string) (map[string]int64, error) {
	now := db.now().UnixMilli()
	ws, _ := db.AuthWindow(window)
	start := ws.UnixMilli()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("note auth failure: %w", err)
	}
	defer tx.Rollback()
	out := map[string]int64{}
	fresh := false
	for _, k := range keys {
		var n int64
		err := tx.QueryRowContext(ctx, `
			INSERT INTO auth_failures (key, window_start, failures) VALUES (?, ?, 1)
			ON CONFLICT (key, window_start) DO UPDATE SET failures = auth_failures.failures + 1
			RETURNING failures`, k, start).Scan(&n)
		if err != nil {
			return nil, fmt.Errorf("note auth failure of %s: %w", k, err)
		}
		out[k] = n
		fresh = fresh || n == 1
	}
	if fresh {
		if _, err := tx.ExecContext(ctx, `DELETE FROM auth_failures WHERE window_start < ?`, now-(24*time.Hour).Milliseconds()); err != nil {
			return nil, fmt.Errorf("note auth failure: clear old windows: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("note auth failure: %w", err)
	}
	return out, nil
}
