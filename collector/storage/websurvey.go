package storage

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// SecretSize is the length of a key Secret makes: 256 bits.
const SecretSize = 32

// Secret returns the named random key, making it the first time it is asked for. Every
// collector on the database gets the same key, so what one signs another accepts, and
// a restart keeps it. Keys are for signing short-lived tokens, such as the web
// survey's follow-up token; they are never shown.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	if name == "" {
		return nil, fmt.Errorf("secret: %w: a name is required", ErrInvalid)
	}
	var value string
	err := db.read.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value)
	if err != nil {
		fresh := make([]byte, SecretSize)
		rand.Read(fresh) // never fails (crypto/rand, Go 1.24+)
		// Two collectors may race to make it: the first insert wins, and both read it back.
		if _, err := db.write.ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			name, base64.StdEncoding.EncodeToString(fresh), db.now().UnixMilli()); err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
		if err := db.write.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value); err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
	}
	key, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(key) < SecretSize {
		return nil, fmt.Errorf("secret %s: the stored key is damaged", name)
	}
	return key, nil
}

// LinkAnswers counts the responses stored through each survey link, by link id. Links
// without answers are absent.
func (db *DB) LinkAnswers(ctx context.Context) (map[string]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT link_id, COUNT(*) FROM responses WHERE link_id IS NOT NULL GROUP BY link_id`)
	if err != nil {
		return nil, fmt.Errorf("link answers: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			id string
			n  int64
		)
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("link answers: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}
