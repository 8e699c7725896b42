package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/npskiosk/npskiosk/internal/sqlite"
)

// openPostgres connects to PostgreSQL and migrates its schema. Several collectors may
// start at once against one database: the migration runs under an advisory lock.
func (db *DB) openPostgres(ctx context.Context, url string) error {
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return fmt.Errorf("open collector database: %w", err)
	}
	pool.SetMaxOpenConns(32)
	pool.SetMaxIdleConns(32)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	db.dialect = postgresDialect
	db.write = conn{pool, postgresDialect}
	db.read = db.write
	if err := db.migratePostgres(ctx); err != nil {
		pool.Close()
		return err
	}
	// The group writers' own connections: with the uploads' reads on the pool above,
	// a writer used to wait tens of milliseconds for a connection to begin a group.
	ingest, err := sql.Open("pgx", url)
	if err != nil {
		pool.Close()
		return fmt.Errorf("open collector database: %w", err)
	}
	ingest.SetMaxOpenConns(pgWriters)
	ingest.SetMaxIdleConns(pgWriters)
	db.ingest = conn{ingest, postgresDialect}
	return nil
}

// pgMigrationLock is the advisory lock key migrations hold ("nps" in ASCII).
const pgMigrationLock = 0x6e7073

func (db *DB) migratePostgres(ctx context.Context) error {
	names, err := sqlite.Migrations(migrationFiles, "migrations/postgres")
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer t.Rollback()
	if _, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, pgMigrationLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := t.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := t.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > len(names) {
		// Newer than this build: run on it only if every newer migration says builds
		// this old may (a collector of the previous version during a rolling upgrade).
		if err := readable(ctx, t, len(names)); err != nil {
			return fmt.Errorf("%w: PostgreSQL schema version %d, this build knows up to %d (%w)", sqlite.ErrSchemaTooNew, current, len(names), err)
		}
		db.log.Warn("database schema is newer than this build; its newer migrations allow this build to run on it",
			"backend", "postgres", "version", strconv.Itoa(current), "known", strconv.Itoa(len(names)))
		return t.Commit()
	}
	for i, name := range names[current:] {
		body, err := fs.ReadFile(migrationFiles, path.Join("migrations/postgres", name))
		if err != nil {
			return err
		}
		// The file goes as it is, in one Exec: without arguments pgx sends it by the simple
		// protocol, which runs several statements, and PostgreSQL's own parser (not a split
		// on ';', which a semicolon in a comment would break) tells them apart. It is not
		// rebound either: a '?' in a comment or a string stays what it is.
		if _, err := t.tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
		version := current + i + 1
		insert, args := `INSERT INTO schema_version (version) VALUES (?)`, []any{version}
		if version >= readersFromVersion {
			insert, args = `INSERT INTO schema_version (version, readers_from) VALUES (?, ?)`, append(args, readersFrom(version, body))
		}
		if _, err := t.ExecContext(ctx, insert, args...); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
		db.log.Info("migrated database", "backend", "postgres", "version", strconv.Itoa(version), "migration", name)
	}
	return t.Commit()
}

// readersFromVersion is the migration that added schema_version.readers_from.
const readersFromVersion = 26

// compatibleMark, as a migration's first line, says that it only adds to the schema, so
// a collector of the previous version still runs on it (0026_schema_readers.sql).
const compatibleMark = "-- compatible: previous"

// readersFrom is the oldest build, by the migrations it knows, that may run on the schema
// at version: the build before for a migration marked compatible, else none but those
// that know it (NULL).
func readersFrom(version int, body []byte) any {
	first, _, _ := strings.Cut(string(body), "\n")
	if strings.TrimSpace(first) == compatibleMark {
		return version - 1
	}
	return nil
}

// readable reports why a build that knows the first known migrations may not run on a
// newer schema: a newer migration that allows no older build, or one that needs a newer
// build than this.
func readable(ctx context.Context, t tx, known int) error {
	var (
		oldest sql.NullInt64
		closed bool
	)
	if err := t.QueryRowContext(ctx, `SELECT MAX(readers_from), COALESCE(BOOL_OR(readers_from IS NULL), false) FROM schema_version WHERE version > ?`,
		known).Scan(&oldest, &closed); err != nil {
		return fmt.Errorf("read which builds the schema allows: %w", err)
	}
	if closed || !oldest.Valid {
		return errors.New("a newer migration changes what this build reads or writes")
	}
	if oldest.Int64 > int64(known) {
		return fmt.Errorf("the newer migrations need a build that knows %d", oldest.Int64)
	}
	return nil
}
