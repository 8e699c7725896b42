// Package store is the kiosk's local SQLite database: the schema and its migrations,
// durable capture of responses, the outbox the sync worker drains, local statistics for
// the manager view, retention and integrity checks. It knows nothing of HTTP or Fyne.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Errors callers can test for with errors.Is.
var (
	ErrCorrupt       = errors.New("database failed its integrity check")
	ErrSchemaTooNew  = errors.New("database schema is newer than this build supports")
	ErrNotFound      = errors.New("no response with that id")
	ErrCompleted     = errors.New("response is already completed")
	ErrInvalidInput  = errors.New("invalid input")
	ErrNotQuarantine = errors.New("response cannot be quarantined")
)

// RapidTapRule decides when a tap counts as a suspect repeat (capture rule 3). Suspect
// responses are kept but left out of NPS.
type RapidTapRule struct {
	// MinGapAfterCompletion: a tap sooner than this after the previous response was
	// completed (the thank-you screen) is suspect. Zero disables the check.
	MinGapAfterCompletion time.Duration
	// BurstLimit responses in BurstWindow are normal; each further tap is suspect.
	// Zero disables the check.
	BurstLimit  int
	BurstWindow time.Duration
}

// DefaultRapidTapRule is used when Config.RapidTap is the zero value.
var DefaultRapidTapRule = RapidTapRule{
	MinGapAfterCompletion: 3 * time.Second,
	BurstLimit:            5,
	BurstWindow:           time.Minute,
}

// Config says how to open the database.
type Config struct {
	// Path of the SQLite file. Required; created with its directory if missing.
	Path string
	// RapidTap flags repeat taps; the zero value means DefaultRapidTapRule.
	RapidTap RapidTapRule
	// RecoverOpenAfter: at Open, responses whose follow-up has been open longer than
	// this are completed as "recovered" (the process that held them crashed). It must be
	// longer than any live follow-up lasts, so that a second process opening the same
	// file (npskiosk status) never completes the kiosk's current response. Zero means
	// 10 minutes. The kiosk, as the only capturing process, calls RecoverOpen(ctx, 0)
	// at start-up to complete all of them at once.
	RecoverOpenAfter time.Duration
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// DB is the kiosk's database. Writes go through one connection, so they are serialised
// and each is durable on commit; reads use a separate pool and never wait on a writer.
type DB struct {
	write    *sql.DB
	read     *sql.DB
	path     string
	rapidTap RapidTapRule
	now      func() time.Time
	log      *slog.Logger
}

// dsn builds the connection string. Every setting lives here, not in a later PRAGMA,
// because a PRAGMA executed on *sql.DB reaches only one pooled connection.
// _journal_mode=WAL would make go-sqlite3 choose synchronous=NORMAL; FULL is what makes
// a committed tap survive power loss.
func dsn(path string, readOnly bool) string {
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
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if needed) the database at cfg.Path, checks its integrity,
// migrates the schema and completes responses left open by a crash.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" {
		return nil, errors.New("open store: Config.Path is required")
	}
	db := &DB{
		path:     cfg.Path,
		rapidTap: cfg.RapidTap,
		now:      cfg.Now,
		log:      cfg.Logger,
	}
	if db.rapidTap == (RapidTapRule{}) {
		db.rapidTap = DefaultRapidTapRule
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.Default()
	}
	recoverAfter := cfg.RecoverOpenAfter
	if recoverAfter == 0 {
		recoverAfter = 10 * time.Minute
	}

	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open store: create directory %s: %w", dir, err)
		}
	}
	var err error
	if db.write, err = sql.Open("sqlite3", dsn(cfg.Path, false)); err != nil {
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetConnMaxIdleTime(0)
	if db.read, err = sql.Open("sqlite3", dsn(cfg.Path, true)); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open store %s for reading: %w", cfg.Path, err)
	}
	db.read.SetMaxOpenConns(4)

	if err := db.checkIntegrity(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if n, err := db.RecoverOpen(ctx, recoverAfter); err != nil {
		db.Close()
		return nil, err
	} else if n > 0 {
		db.log.Warn("completed responses left open by an earlier run", "count", n)
	}
	return db, nil
}

// Close closes both connection pools.
func (db *DB) Close() error {
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// CheckIntegrity runs SQLite's quick_check and returns ErrCorrupt with its findings.
func (db *DB) CheckIntegrity(ctx context.Context) error { return db.checkIntegrity(ctx) }

func (db *DB) checkIntegrity(ctx context.Context) error {
	rows, err := db.write.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		if isCorruptErr(err) {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, db.path, err)
		}
		return fmt.Errorf("integrity check of %s: %w", db.path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check of %s: %w", db.path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		if isCorruptErr(err) {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, db.path, err)
		}
		return fmt.Errorf("integrity check of %s: %w", db.path, err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("… and %d more", len(problems)-5))
		}
		return fmt.Errorf("%w: %s: %s", ErrCorrupt, db.path, strings.Join(problems, "; "))
	}
	return nil
}

func isCorruptErr(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "malformed") || strings.Contains(msg, "not a database") ||
		strings.Contains(msg, "corrupt")
}

// SchemaVersion is the newest schema this build knows.
func SchemaVersion() int {
	ms, _ := migrations()
	return len(ms)
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
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
		body, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
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

// migrate applies, each in its own transaction, every embedded migration newer than the
// file's user_version, and refuses a file written by a newer build.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	var current int
	if err := db.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("read schema version of %s: %w", db.path, err)
	}
	if current > len(ms) {
		return fmt.Errorf("%w: %s has schema version %d, this build knows up to %d; install the newer npskiosk again or restore a backup",
			ErrSchemaTooNew, db.path, current, len(ms))
	}
	for _, m := range ms[current:] {
		tx, err := db.write.BeginTx(ctx, nil)
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
		db.log.Info("migrated database", "path", db.path, "version", m.version, "migration", m.name)
	}
	return nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms) }

func nullMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMillis(v.Int64)
}
