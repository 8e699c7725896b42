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
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/npskiosk/npskiosk/internal/sqlite"
	"github.com/npskiosk/npskiosk/response"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Errors callers can test for with errors.Is.
var (
	ErrCorrupt       = sqlite.ErrCorrupt
	ErrSchemaTooNew  = sqlite.ErrSchemaTooNew
	ErrNotFound      = errors.New("no response with that id")
	ErrCompleted     = errors.New("response is already completed")
	ErrInvalidInput  = response.ErrInvalid // the same error the domain rules wrap
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
	// Elapsed reads a monotonic clock (time since any fixed origin), for the rapid-tap
	// rule and the ages sent with uploads; nil means Now's differences, which are
	// monotonic with time.Now. Tests set it to step Now without it.
	Elapsed func() time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// ReserveBytes is the size of the reserve file kept next to the database and given
	// back when the disk fills; zero means DefaultReserveBytes, negative none.
	ReserveBytes int64
	// CheckpointIdle: the WAL is copied into the database once no write has committed
	// for this long; zero means DefaultCheckpointIdle.
	CheckpointIdle time.Duration
	// CheckpointEvery: while writes keep coming, a checkpoint runs in between two of
	// them every so many commits and starts the WAL over, which bounds it; zero means
	// DefaultCheckpointEvery.
	CheckpointEvery int
}

// DB is the kiosk's database. Writes go through one connection, so they are serialised
// and each is durable on commit, but for marking synced, which a resend makes good
// (outbox.go); reads use a separate pool and never wait on a writer.
type DB struct {
	write *sql.DB
	read  *sql.DB
	ckpt  *checkpointer // nil when opened read-only
	tapMu sync.Mutex    // one tap at a time, from the rapid-tap decision to noting it
	// insertTap is the tap's statement, prepared once on the write connection; nil when
	// opened read-only.
	insertTap *sql.Stmt
	path      string
	mu        sync.Mutex // guards rapidTap and masking, which a new survey may change
	rapidTap  RapidTapRule
	masking   *response.Masking // nil: the built-in kinds of personal data
	now       func() time.Time
	log       *slog.Logger
	space     *space
	mono      *monoClock
	// markSyncedHook, if set, runs inside MarkSynced's transaction before it commits;
	// an error it returns fails the mark. Tests set it.
	markSyncedHook func(ctx context.Context, tx *sql.Tx) error
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
	db.mono = newMonoClock(cfg.Elapsed, db.now)
	recoverAfter := cfg.RecoverOpenAfter
	if recoverAfter == 0 {
		recoverAfter = 10 * time.Minute
	}

	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open store: create directory %s: %w", dir, err)
		}
	}
	// On a full disk the reserve is given back before opening: SQLite needs a little
	// room for its WAL and shared-memory files even to read. Taps wait (out of service)
	// until Probe finds room for the reserve again.
	db.space = newSpace(cfg.Path, cfg.ReserveBytes, db.log)
	if free := freeBytes(db.space.dir()); free >= 0 && free < db.space.size {
		db.space.release(0)
		db.space.setFull(true)
	}
	if err := db.usePageSize(ctx, func() int64 { return freeBytes(db.space.dir()) }); err != nil {
		// The file keeps the pages it has, which work, only larger.
		db.log.Warn("could not set the database's page size; the next start tries again", "err", err)
	}
	// Neither the write connection nor the checkpointer's own one checkpoints on commit:
	// the checkpointer does, in between taps (checkpoint.go).
	ckptConn := openNoAutoCheckpoint(sqlite.DSN(cfg.Path, false), nil)
	ckptConn.SetMaxOpenConns(1)
	db.ckpt = newCheckpointer(ckptConn, cfg.CheckpointIdle, cfg.CheckpointEvery, db.now, db.log)
	db.write = openNoAutoCheckpoint(sqlite.DSN(cfg.Path, false), db.ckpt.committed)
	db.ckpt.write = db.write
	db.write.SetMaxOpenConns(1)
	db.write.SetConnMaxIdleTime(0)
	var err error
	if db.read, err = sql.Open("sqlite3", sqlite.DSN(cfg.Path, true)); err != nil {
		db.Close()
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
	if err := db.sealPlainContacts(ctx, false); errors.Is(err, ErrStorageFull) {
		db.log.Error("could not seal or drop the contacts kept in clear: the disk is full", "err", err)
	} else if err != nil {
		db.Close()
		return nil, err
	}
	if n, err := db.RecoverOpen(ctx, recoverAfter); errors.Is(err, ErrStorageFull) {
		// They stay open until there is room; the kiosk still starts.
		db.log.Error("could not complete responses left open: the disk is full", "err", err)
	} else if err != nil {
		db.Close()
		return nil, err
	} else if n > 0 {
		db.log.Warn("completed responses left open by an earlier run", "count", n)
	}
	if err := db.space.ensure(); err != nil {
		db.log.Warn("no reserve file: the disk is nearly full", "err", err)
	}
	if err := db.loadEarlier(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	if db.insertTap, err = db.write.PrepareContext(ctx, insertTapSQL); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: prepare the tap's insert: %w", cfg.Path, err)
	}
	db.ckpt.start()
	return db, nil
}

// SetMasking changes what personal data is masked in comments and text answers from the
// next follow-up on (a new survey with its own patterns); nil masks the built-in kinds.
func (db *DB) SetMasking(m *response.Masking) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.masking = m
}

// mask masks a follow-up's free text before it is stored, so that the database, its WAL
// and everything synced from it never hold the personal data shoppers type in.
func (db *DB) mask(f *response.FollowUp) {
	db.mu.Lock()
	m := db.masking
	db.mu.Unlock()
	if counts := m.FollowUp(f); counts != nil {
		// Counts only: what was masked is gone, and must not reach the log either.
		db.log.Info("masked personal data in a follow-up", "masked", map[string]int(counts))
	}
}

// SetRapidTapRule changes capture rule 3 from the next tap on (a new survey); the zero
// value means DefaultRapidTapRule.
func (db *DB) SetRapidTapRule(r RapidTapRule) {
	if r == (RapidTapRule{}) {
		r = DefaultRapidTapRule
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	db.rapidTap = r
}

// Close stops the checkpointer and closes the connections; the last one to close copies
// what is left of the WAL into the database.
func (db *DB) Close() error {
	var errs []error
	if db.ckpt != nil {
		db.ckpt.close()
		errs = append(errs, db.ckpt.conn.Close())
	}
	if db.insertTap != nil {
		errs = append(errs, db.insertTap.Close())
	}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil && db.write != db.read {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// CheckIntegrity runs SQLite's quick_check and returns ErrCorrupt with its findings.
func (db *DB) CheckIntegrity(ctx context.Context) error { return db.checkIntegrity(ctx) }

// The check reads through the query-only pool: it writes nothing and needs no free space.
func (db *DB) checkIntegrity(ctx context.Context) error {
	return sqlite.CheckIntegrity(ctx, db.read, db.path)
}

// SchemaVersion is the newest schema this build knows.
func SchemaVersion() int {
	ms, _ := sqlite.Migrations(migrationFiles, "migrations")
	return len(ms)
}

func (db *DB) migrate(ctx context.Context) error {
	return sqlite.Migrate(ctx, db.write, migrationFiles, "migrations", db.path, db.log)
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms) }

func nullMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMillis(v.Int64)
}

// ErrSchemaTooOld means the file predates this build's schema; only Open migrates it.
var ErrSchemaTooOld = errors.New("database schema is older than this build's")

// OpenReadOnly opens an existing database to look at it (npskiosk status and doctor):
// it creates nothing, migrates nothing and completes no open response, so it is safe
// beside a running kiosk and tells a missing file apart from an empty one. Every write
// through it fails. A missing file is an error wrapping fs.ErrNotExist.
func OpenReadOnly(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" {
		return nil, errors.New("open store: Config.Path is required")
	}
	st, err := os.Stat(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("open store: %s is not a regular file", cfg.Path)
	}
	db := &DB{path: cfg.Path, rapidTap: DefaultRapidTapRule, now: cfg.Now, log: cfg.Logger}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.Default()
	}
	db.space = newSpace(cfg.Path, cfg.ReserveBytes, db.log)
	db.mono = newMonoClock(cfg.Elapsed, db.now)
	// mode=rw (not rwc) never creates the file, and _query_only refuses every write.
	// Opening it for writing lets the last connection remove the -wal and -shm files it
	// needed, as a writer does; a user who may only read the file gets mode=ro, which
	// leaves an -shm behind. The journal mode is whatever the file says.
	var (
		pool    *sql.DB
		version int
	)
	for _, mode := range []string{"rw", "ro"} {
		dsn := "file:" + (&url.URL{Path: cfg.Path}).EscapedPath() + "?mode=" + mode + "&_busy_timeout=5000&_query_only=true"
		if pool, err = sql.Open("sqlite3", dsn); err != nil {
			return nil, fmt.Errorf("open store %s read-only: %w", cfg.Path, err)
		}
		pool.SetMaxOpenConns(2)
		if err = pool.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err == nil {
			break
		}
		pool.Close()
		var se sqlite3.Error
		if mode == "rw" && errors.As(err, &se) && (se.Code == sqlite3.ErrCantOpen || se.Code == sqlite3.ErrReadonly || se.Code == sqlite3.ErrPerm) {
			continue
		}
		return nil, fmt.Errorf("open store %s read-only: %w", cfg.Path, err)
	}
	db.read, db.write = pool, pool
	switch want := SchemaVersion(); {
	case version > want:
		pool.Close()
		return nil, fmt.Errorf("%w: %s has schema version %d, this build knows up to %d", ErrSchemaTooNew, cfg.Path, version, want)
	case version < want:
		pool.Close()
		return nil, fmt.Errorf("%w: %s has schema version %d, this build %d: start the kiosk or npskiosk sync once to migrate it",
			ErrSchemaTooOld, cfg.Path, version, want)
	}
	if err := sqlite.CheckIntegrity(ctx, pool, cfg.Path); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}
