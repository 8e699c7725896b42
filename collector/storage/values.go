package storage

import (
	"context"
	"strings"
)

// maxBound caps the values bound in one statement: under SQLite's limit (32766) and
// PostgreSQL's (65535).
const maxBound = 32000

// valueRows is n rows of cols placeholders each, for a multi-row VALUES list.
func valueRows(n, cols int) string {
	row := "(?" + strings.Repeat(", ?", cols-1) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// execValues runs head + " VALUES (?, …), …" + tail with args, cols of them a row, in
// as few statements as the limit of bound values allows: one round trip for rows that
// used to be written one statement each, which on PostgreSQL was most of an upload's
// time (docs/benchmarks.md, section 4).
func execValues(ctx context.Context, t tx, head string, cols int, args []any, tail string) error {
	perStatement := maxBound / cols
	for len(args) > 0 {
		n := min(len(args)/cols, perStatement)
		if _, err := t.ExecContext(ctx, head+" VALUES "+valueRows(n, cols)+tail, args[:n*cols]...); err != nil {
			return err
		}
		args = args[n*cols:]
	}
	return nil
}
