package storage

import (
	"context"
	"fmt"
)

// StoreZones returns the distinct time zones of the stores in view: those of region, or
// of every store when region is empty.
func (db *DB) StoreZones(ctx context.Context, region string) ([]string, error) {
	q, args := `SELECT DISTINCT timezone FROM stores ORDER BY timezone`, []any{}
	if region != "" {
		q, args = `SELECT DISTINCT timezone FROM stores WHERE region = ? ORDER BY timezone`, []any{region}
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store time zones: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var z string
		if err := rows.Scan(&z); err != nil {
			return nil, fmt.Errorf("store time zones: %w", err)
		}
		out = append(out, z)
	}
	return out, rows.Err()
}
