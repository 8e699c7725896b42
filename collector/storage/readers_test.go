package storage

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/internal/sqlite"
)

// During a rolling upgrade a collector of the previous version may start on a schema a
// newer one migrated: it runs on it when every newer migration allows builds as old as
// it (their first line "-- compatible: previous"), and refuses it, without touching it,
// otherwise.
func TestOlderBuildOnNewerSchema(t *testing.T) {
	ctx := context.Background()
	var pg storagetest.Backend
	for _, b := range storagetest.Backends(t) {
		if b.Name == "postgres" {
			pg = b
		}
	}
	if pg.Path == nil {
		t.Skip("PostgreSQL only: run through scripts/with-postgres.sh")
	}
	known, err := sqlite.Migrations(migrationFiles, "migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	n := len(known)
	for _, tc := range []struct {
		name    string
		newer   []any // readers_from of versions n+1, n+2, …
		refused bool
	}{
		{"one newer migration for the previous build", []any{n}, false},
		{"two, each for the build before it", []any{n, n + 1}, true},
		{"two, both for this build", []any{n, n}, false},
		{"one that allows no older build", []any{nil}, true},
		{"an allowing one after one that does not", []any{nil, n + 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := pg.Path(t)
			db, err := Open(ctx, Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			for i, from := range tc.newer {
				if _, err := db.write.ExecContext(ctx, `INSERT INTO schema_version (version, readers_from) VALUES (?, ?)`, n+1+i, from); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			again, err := Open(ctx, Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				again.Close()
			}
			if refused := errors.Is(err, sqlite.ErrSchemaTooNew); refused != tc.refused || (err != nil && !refused) {
				t.Errorf("Open on schema %d with newer readers_from %v: %v; want refused %v", n+len(tc.newer), tc.newer, err, tc.refused)
			}
		})
	}
}

// Only a migration whose first line is the mark allows the build before it.
func TestReadersFrom(t *testing.T) {
	for _, tc := range []struct {
		body string
		want any
	}{
		{"-- compatible: previous\nALTER TABLE x ADD COLUMN y INTEGER;", 26},
		{"-- compatible: previous", 26},
		{"ALTER TABLE x DROP COLUMN y;\n-- compatible: previous", nil},
		{"-- Adds a column.\nALTER TABLE x ADD COLUMN y INTEGER;", nil},
	} {
		if got := readersFrom(27, []byte(tc.body)); got != tc.want {
			t.Errorf("readersFrom(27, %q) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

// Collectors started at once on an empty database migrate it once: each waits on the
// advisory lock, then finds the schema current.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	ctx := context.Background()
	var pg storagetest.Backend
	for _, b := range storagetest.Backends(t) {
		if b.Name == "postgres" {
			pg = b
		}
	}
	if pg.Path == nil {
		t.Skip("PostgreSQL only: run through scripts/with-postgres.sh")
	}
	path := pg.Path(t)
	const collectors = 4
	dbs := make([]*DB, collectors)
	errs := make([]error, collectors)
	var wg sync.WaitGroup
	for i := range collectors {
		wg.Go(func() { dbs[i], errs[i] = Open(ctx, Config{Path: path, Logger: slog.New(slog.DiscardHandler)}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("collector %d: %v", i+1, err)
		}
		defer dbs[i].Close()
	}
	known, err := sqlite.Migrations(migrationFiles, "migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	var rows, distinct, top int
	if err := dbs[0].write.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_version`).Scan(&rows, &distinct, &top); err != nil {
		t.Fatal(err)
	}
	if rows != len(known) || distinct != len(known) || top != len(known) {
		t.Errorf("schema_version: %d rows, %d versions, up to %d; want each of the %d migrations once", rows, distinct, top, len(known))
	}
}
