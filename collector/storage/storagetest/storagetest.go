// Package storagetest gives tests the databases the collector runs on: SQLite in a
// temporary folder always, and a throwaway schema of the PostgreSQL server the test
// script started. It imports nothing of the project's, so storage's own tests can use it.
package storagetest

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the admin connection
)

// PostgresEnv names the variable with a PostgreSQL URL for tests; scripts/with-postgres.sh
// sets it. Each test gets a schema of its own there.
const PostgresEnv = "NPS_TEST_POSTGRES"

// Backend is a database a collector can run on.
type Backend struct {
	Name string
	// Path returns the --db value of a new, empty database, removed when t ends.
	Path func(t testing.TB) string
}

// SQLite is the embedded backend, in t's temporary folder.
var SQLite = Backend{Name: "sqlite", Path: func(t testing.TB) string { return filepath.Join(t.TempDir(), "collector.db") }}

// Backends returns SQLite, and PostgreSQL when PostgresEnv is set. Under CI it fails the
// test when PostgreSQL is missing, so a CI run cannot skip it unnoticed.
func Backends(t testing.TB) []Backend {
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must test PostgreSQL too: run the tests through scripts/with-postgres.sh (make test does)")
		}
		return []Backend{SQLite}
	}
	return []Backend{SQLite, {Name: "postgres", Path: func(t testing.TB) string { return postgresSchema(t, base) }}}
}

// ForEachBackend runs f as a subtest on every backend.
func ForEachBackend(t *testing.T, f func(t *testing.T, b Backend)) {
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, b) })
	}
}

func postgresSchema(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("t_%d", rand.Uint64())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if admin, err := sql.Open("pgx", base); err == nil {
			admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			admin.Close()
		}
	})
	return base + "&search_path=" + schema
}
