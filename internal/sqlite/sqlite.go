// Package sqlite holds what the kiosk's and the collector's SQLite databases share: the
// connection string with durable settings, embedded user_version migrations, and the
// integrity check.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/mattn/go-sqlite3" // also registers the "sqlite3" driver
)

// Errors callers can test for with errors.Is.
var (
	ErrCorrupt      = errors.New("database failed its integrity check")
	ErrSchemaTooNew = errors.New("database schema is newer than this build supports")
)

// DSN builds the connection string. Every setting lives here, not in a later PRAGMA,
// because a PRAGMA executed on *sql.DB reaches only one pooled connection.
// _journal_mode=WAL would make go-sqlite3 choose synchronous=NORMAL; FULL is what makes
// a commit survive power loss. Writers take the write lock at BEGIN (_txlock=immediate),
// so a transaction never fails half-way on a lock upgrade.
func DSN(file string, readOnly bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_secure_delete", "on")
	if readOnly {
		q.Set("_query_only", "true")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q.Encode()
}

// OpenWithHook opens a pool on dsn whose every new connection first runs hook: for
// settings that must be on each connection and have no place in the DSN. It registers
// no driver name, which would be state shared by every database in the process.
func OpenWithHook(dsn string, hook func(*sqlite3.SQLiteConn) error) *sql.DB {
	return sql.OpenDB(connector{dsn: dsn, drv: &sqlite3.SQLiteDriver{ConnectHook: hook}})
}

type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// CheckIntegrity runs quick_check and returns ErrCorrupt with its findings.
func CheckIntegrity(ctx context.Context, db *sql.DB, name string) error {
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return integrityErr(name, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return integrityErr(name, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return integrityErr(name, err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("… and %d more", len(problems)-5))
		}
		return fmt.Errorf("%w: %s: %s", ErrCorrupt, name, strings.Join(problems, "; "))
	}
	return nil
}

func integrityErr(name string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "malformed") || strings.Contains(msg, "not a database") || strings.Contains(msg, "corrupt") {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
	}
	return fmt.Errorf("integrity check of %s: %w", name, err)
}

type migration struct {
	version int
	name    string
	sql     string
}

// Migrations lists the NNNN_name.sql files in dir of fsys, checking that they number
// 1, 2, 3… without gaps.
func Migrations(fsys fs.FS, dir string) ([]string, error) {
	ms, err := load(fsys, dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.name
	}
	return names, nil
}

func load(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		n, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql", e.Name())
		}
		v, err := strconv.Atoi(n)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must run 1, 2, 3… without gaps", m.name)
		}
	}
	return ms, nil
}

// Migrate applies, each in its own transaction, every migration newer than the file's
// user_version, and refuses a file written by a newer build.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS, dir, name string, log *slog.Logger) error {
	ms, err := load(fsys, dir)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("read schema version of %s: %w", name, err)
	}
	if current > len(ms) {
		return fmt.Errorf("%w: %s has schema version %d, this build knows up to %d; install the newer version again or restore a backup",
			ErrSchemaTooNew, name, current, len(ms))
	}
	for _, m := range ms[current:] {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		// PRAGMA takes no bound parameters; the version is an int we computed.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: set version: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: commit: %w", m.name, err)
		}
		log.Info("migrated database", "path", name, "version", m.version, "migration", m.name)
	}
	return nil
}
