// Package storage is the collector's database: the schema and its migrations, SQLite
// and PostgreSQL behind one dialect-aware connection, and every query the collector
// makes (stores, devices, tokens, responses with their per-day rollups, reports). It
// holds no rules of what a valid response is: the collector's service checks them
// before anything is stored.
//
// One thing is held in memory: the devices' latest heartbeats, written together every
// few seconds (heartbeats.go). That state belongs to the process that received them;
// everything else lives in the database, so several collectors can share one.
package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/mattn/go-sqlite3"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/collector/contactvault"
	"github.com/npskiosk/npskiosk/internal/sqlite"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Errors callers can test for with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrExists       = errors.New("already exists")
	ErrInvalid      = response.ErrInvalid // the domain's: a refused response and a refused form say it alike
	ErrUnauthorized = errors.New("unauthorized")
)

// Config says how to open the collector's database.
type Config struct {
	// Path is an SQLite file (created if missing) or a postgres:// URL. Required.
	Path   string
	Now    func() time.Time // nil means time.Now
	Logger *slog.Logger     // nil means slog.Default()
	// ContactVault encrypts the contacts stored and keeps their blind index. Nil stores
	// them in plaintext: for tests and tools only, the collector's commands always load
	// a key file (cmd/npscollector).
	ContactVault *contactvault.Vault
}

// DB is the collector's storage: an embedded SQLite file, or PostgreSQL, which several
// collectors can share behind a load balancer.
type DB struct {
	write, read conn // the same pool on PostgreSQL
	dialect     dialect
	now         func() time.Time
	log         *slog.Logger
	vault       *contactvault.Vault
	// ingest is the writers' connections: on PostgreSQL a pool of its own, a connection
	// a writer, so that a writer never waits for one behind the reads of the uploads it
	// writes; on SQLite the one write connection.
	ingest  conn
	writers []*groupWriter // InsertBatch's (groupcommit.go); nil until Open succeeds
	groups  groupStats     // what the writers committed
	// beats holds heartbeats until they are flushed (heartbeats.go).
	beats heartbeatTable
	// stmts are the reports' statements prepared on read (stmts.go).
	stmts stmtCache
}

// IsPostgres reports whether a --db value names a PostgreSQL database.
func IsPostgres(path string) bool {
	return strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://")
}

// Open opens (creating if needed) and migrates the database.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" {
		return nil, errors.New("open collector database: Config.Path is required")
	}
	db := &DB{now: cfg.Now, log: cfg.Logger, vault: cfg.ContactVault}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.Default()
	}
	if IsPostgres(cfg.Path) {
		if err := db.openPostgres(ctx, cfg.Path); err != nil {
			return nil, err
		}
		if err := db.buildReportSums(ctx); err != nil {
			db.Close()
			return nil, err
		}
		db.writers = startGroupWriters(db)
		return db, nil
	}
	if !fts5Built {
		return nil, errors.New("open collector database: this program was built without SQLite's FTS5, which the comment search needs: build with -tags migrated_fynedo,sqlite_fts5 (make build)")
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, fmt.Errorf("open collector database: %w", err)
	}
	db.dialect = sqliteDialect
	write, err := sql.Open("sqlite3", sqlite.DSN(cfg.Path, false))
	if err != nil {
		return nil, fmt.Errorf("open collector database %s: %w", cfg.Path, err)
	}
	write.SetMaxOpenConns(1)
	// Reads map the file rather than copy its pages through each connection's small
	// cache: the stores table reads a few hundred pages of packed snapshots, and took
	// 60 % more CPU reading them with pread (measured on 5,000 stores). The price: a
	// disk error under a mapped page stops the process (SIGBUS) instead of failing the
	// query, which a server restarted by its supervisor can pay; writes do not map.
	read := sqlite.OpenWithHook(sqlite.DSN(cfg.Path, true), func(c *sqlite3.SQLiteConn) error {
		if _, err := c.Exec(fmt.Sprintf("PRAGMA mmap_size = %d", readMmapBytes), nil); err != nil {
			return fmt.Errorf("map the database for reading: %w", err)
		}
		return nil
	})
	read.SetMaxOpenConns(8)
	db.write, db.read = conn{write, sqliteDialect}, conn{read, sqliteDialect}
	db.ingest = db.write
	if err := sqlite.CheckIntegrity(ctx, write, cfg.Path); err != nil {
		db.Close()
		return nil, err
	}
	if err := sqlite.Migrate(ctx, write, migrationFiles, "migrations/sqlite", cfg.Path, db.log); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.buildReportSums(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.writers = startGroupWriters(db)
	return db, nil
}

// readMmapBytes is how much of the file each read connection maps; SQLite caps it at
// its compiled-in maximum (2 GiB by default). It is address space, not memory: the
// pages are the kernel's page cache, shared by every connection.
const readMmapBytes = 1 << 31

// Dialect names the database behind db: "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect.name }

// RawExec runs one statement of raw SQL on the writer, for tools, tests and benchmarks
// that need what no method offers. Placeholders are ? on both backends.
func (db *DB) RawExec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.write.ExecContext(ctx, query, args...)
}

// RawQueryRow reads one row with raw SQL, for tools, tests and benchmarks. Placeholders
// are ? on both backends.
func (db *DB) RawQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, query, args...)
}

// RawQuery reads rows with raw SQL, for tools and tests that need what no method
// offers (such as scanning every table). Placeholders are ? on both backends.
func (db *DB) RawQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, query, args...)
}

// Now is the collector's clock.
func (db *DB) Now() time.Time { return db.now() }

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// Close closes the database, after the group of InsertBatch calls being written (those
// still queued fail) and after writing the heartbeats still in memory.
func (db *DB) Close() error {
	for _, w := range db.writers {
		w.close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	flushed := db.FlushHeartbeats(ctx)
	stmts := db.stmts.close()
	var ingest error
	if db.ingest.pool != nil && db.ingest.pool != db.write.pool {
		ingest = db.ingest.Close()
	}
	if db.read.pool == db.write.pool {
		return errors.Join(flushed, stmts, ingest, db.write.Close())
	}
	return errors.Join(flushed, stmts, ingest, db.read.Close(), db.write.Close())
}

// Store is a shop that has kiosks.
type Store struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
	Region   string `json:"region,omitempty"`
	// Format is the kind of store (supermarket, express, outlet, …): a label with the
	// rules of a channel's (response.CheckLabel), or empty.
	Format string `json:"format,omitempty"`
}

var storeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Store finds a store by id.
func (db *DB) Store(ctx context.Context, id string) (Store, error) {
	s := Store{ID: id}
	err := db.read.QueryRowContext(ctx, `SELECT name, timezone, region, format FROM stores WHERE id = ?`, id).Scan(&s.Name, &s.Timezone, &s.Region, &s.Format)
	if errors.Is(err, sql.ErrNoRows) {
		return Store{}, fmt.Errorf("store %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Store{}, fmt.Errorf("store %s: %w", id, err)
	}
	return s, nil
}

// AddStore registers a store.
func (db *DB) AddStore(ctx context.Context, s Store) error {
	if !storeIDPattern.MatchString(s.ID) {
		return fmt.Errorf("add store: %w: id %q must be 1 to 32 of A-Z a-z 0-9 _ -", ErrInvalid, s.ID)
	}
	if s.Name == "" {
		return fmt.Errorf("add store %s: %w: a name is required", s.ID, ErrInvalid)
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "" || s.Timezone == "Local" {
		return fmt.Errorf("add store %s: %w: timezone %q is not an IANA zone such as Europe/Berlin", s.ID, ErrInvalid, s.Timezone)
	}
	if s.Format != "" {
		if err := response.CheckLabel("format", s.Format); err != nil {
			return fmt.Errorf("add store %s: %w", s.ID, err)
		}
	}
	_, err := db.write.ExecContext(ctx,
		`INSERT INTO stores (id, name, timezone, region, format, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		s.ID, s.Name, s.Timezone, s.Region, s.Format, db.now().UnixMilli())
	if isUniqueViolation(err) {
		return fmt.Errorf("add store %s: %w", s.ID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("add store %s: %w", s.ID, err)
	}
	return nil
}

// StoreChange is what SetStore changes of a store: a nil field stays as it is, an empty
// one clears it.
type StoreChange struct {
	Region *string
	Format *string
}

// SetStore changes an existing store's region or format. Reports count a store moved to
// another region there for its whole history: its counts in the region and format sums
// move with it, in the same transaction.
func (db *DB) SetStore(ctx context.Context, id string, c StoreChange) error {
	if c.Format != nil && *c.Format != "" {
		if err := response.CheckLabel("format", *c.Format); err != nil {
			return fmt.Errorf("set store %s: %w", id, err)
		}
	}
	if c.Region == nil && c.Format == nil {
		return fmt.Errorf("set store %s: %w: nothing to change", id, ErrInvalid)
	}
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set store %s: %w", id, err)
	}
	defer t.Rollback()
	if err := lockStoreRollups(ctx, t, id); err != nil {
		return fmt.Errorf("set store %s: %w", id, err)
	}
	var region, format string
	err = t.QueryRowContext(ctx, `SELECT region, format FROM stores WHERE id = ?`+db.dialect.forUpdate, id).Scan(&region, &format)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("set store %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("set store %s: %w", id, err)
	}
	newRegion, newFormat := region, format
	if c.Region != nil {
		newRegion = *c.Region
	}
	if c.Format != nil {
		newFormat = *c.Format
	}
	if _, err := t.ExecContext(ctx, `UPDATE stores SET region = ?, format = ? WHERE id = ?`, newRegion, newFormat, id); err != nil {
		return fmt.Errorf("set store %s: %w", id, err)
	}
	if err := moveStoreSums(ctx, t, id, scopesOf(region, format), scopesOf(newRegion, newFormat)); err != nil {
		return fmt.Errorf("set store %s: %w", id, err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("set store %s: %w", id, err)
	}
	return nil
}

// EnrollmentCodeTTL is how long a new device's code works by default.
const EnrollmentCodeTTL = 24 * time.Hour

// NewDevice is a device registered for enrollment, with its one-time code.
type NewDevice struct {
	ID      string `json:"id"`
	StoreID string `json:"store_id"`
	Name    string `json:"name"`
	Code    string `json:"code"`
	// SetupPIN is asked by the kiosk's setup screen with the code (see CheckEnrollment).
	SetupPIN  string    `json:"setup_pin"`
	ExpiresAt time.Time `json:"expires_at"`
}

// codeAlphabet leaves out letters and digits people confuse (0/O, 1/I/L).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

func newCode() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	out := make([]byte, 0, 11)
	for i, c := range b {
		if i == 5 {
			out = append(out, '-')
		}
		out = append(out, codeAlphabet[int(c)%len(codeAlphabet)])
	}
	return string(out), nil
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// AddDevice registers a device for a store and returns its one-time enrollment code.
func (db *DB) AddDevice(ctx context.Context, storeID, name string, ttl time.Duration) (NewDevice, error) {
	if name == "" {
		return NewDevice{}, fmt.Errorf("add device: %w: a name is required", ErrInvalid)
	}
	if ttl <= 0 {
		ttl = EnrollmentCodeTTL
	}
	code, err := newCode()
	if err != nil {
		return NewDevice{}, fmt.Errorf("add device: %w", err)
	}
	now := db.now()
	pin, err := newSetupPIN()
	if err != nil {
		return NewDevice{}, fmt.Errorf("add device: %w", err)
	}
	d := NewDevice{ID: uuid.Must(uuid.NewV7()).String(), StoreID: storeID, Name: name, Code: code, SetupPIN: pin, ExpiresAt: now.Add(ttl)}
	var exists bool
	if err := db.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?)`, storeID).Scan(&exists); err != nil {
		return NewDevice{}, fmt.Errorf("add device: %w", err)
	}
	if !exists {
		return NewDevice{}, fmt.Errorf("add device: store %q: %w (add it with npscollector store add)", storeID, ErrNotFound)
	}
	_, err = db.write.ExecContext(ctx,
		`INSERT INTO devices (id, store_id, name, code_hash, code_expires_at, created_at, setup_pin_hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.ID, storeID, name, hashSecret(code), d.ExpiresAt.UnixMilli(), now.UnixMilli(), setupPINHash(code, pin))
	if err != nil {
		return NewDevice{}, fmt.Errorf("add device: %w", err)
	}
	return d, nil
}

// EnrollRetryWindow is how long after a device's first enrollment its code still
// works, for the same device: a kiosk that enrolled but could not save its token (a
// full disk, a read-only config, a lost reply) enrolls again with the code it has. Each
// use issues a new token and the previous one stops working.
const EnrollRetryWindow = 15 * time.Minute

// Enroll exchanges a device's enrollment code, or a store's enrollment key
// (EnrollmentKeyPrefix, enrollkeys.go), for a device token. A code works until it
// expires, and after its first use only for EnrollRetryWindow more; a key makes a new
// device named as the request asks. Any failure is ErrUnauthorized, saying no more
// than that.
func (db *DB) Enroll(ctx context.Context, req wire.EnrollRequest) (wire.EnrollResponse, error) {
	code := req.Code
	if strings.HasPrefix(code, EnrollmentKeyPrefix) {
		return db.enrollWithKey(ctx, code, req.Name)
	}
	token, err := newDeviceToken()
	if err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	now := db.now()
	// The command line sends no setup PIN: it needs a shell on the device. The setup
	// screen, which anyone in the store can reach, always sends one. It is checked before
	// the transaction, since a wrong one is counted on the writer the transaction holds.
	if req.SetupPIN != "" {
		if _, err := db.CheckEnrollment(ctx, req); err != nil {
			return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
		}
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	defer tx.Rollback()
	p, err := findCode(ctx, tx, code, now.UnixMilli())
	if err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	r := wire.EnrollResponse{DeviceID: p.deviceID, StoreID: p.storeID, StoreName: p.storeName}
	expires, enrolled := p.expires, p.enrolled
	firstUse := !enrolled.Valid
	if firstUse {
		expires = min(expires, now.Add(EnrollRetryWindow).UnixMilli())
	}
	_, err = tx.ExecContext(ctx,
		`UPDATE devices SET token_hash = ?, enrolled_at = COALESCE(enrolled_at, ?), code_expires_at = ? WHERE id = ?`,
		hashSecret(token), now.UnixMilli(), expires, r.DeviceID)
	if err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return wire.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	r.Token = token
	if firstUse {
		db.log.Info("device enrolled", "device", r.DeviceID, "store", r.StoreID)
	} else {
		db.log.Warn("device enrolled again with its code; its previous token no longer works", "device", r.DeviceID, "store", r.StoreID)
	}
	return r, nil
}

// EnrolledDevice is an enrolled device as a request sees it.
type EnrolledDevice struct {
	ID, StoreID, Timezone string
}

// AuthenticateDevice finds the enrolled, unrevoked device a token belongs to, or
// returns ErrUnauthorized.
func (db *DB) AuthenticateDevice(ctx context.Context, token string) (EnrolledDevice, error) {
	var d EnrolledDevice
	err := db.read.QueryRowContext(ctx,
		`SELECT d.id, d.store_id, s.timezone FROM devices d JOIN stores s ON s.id = d.store_id
		  WHERE d.token_hash = ? AND d.revoked_at IS NULL`, hashSecret(token)).Scan(&d.ID, &d.StoreID, &d.Timezone)
	if errors.Is(err, sql.ErrNoRows) {
		return EnrolledDevice{}, ErrUnauthorized
	}
	if err != nil {
		return EnrolledDevice{}, fmt.Errorf("authenticate device: %w", err)
	}
	return d, nil
}

// Device is a device as IT sees it in the fleet list.
type Device struct {
	ID            string    `json:"id"`
	StoreID       string    `json:"store_id"`
	Name          string    `json:"name"`
	Enrolled      bool      `json:"enrolled"`
	Revoked       bool      `json:"revoked"`
	LastSeen      time.Time `json:"last_seen,omitzero"`
	AppVersion    string    `json:"app_version,omitempty"`
	QueueLength   int64     `json:"queue_length"`
	OldestPending float64   `json:"oldest_pending_seconds"`
	FreeDisk      int64     `json:"free_disk_bytes"`
	ClockSkewMS   int64     `json:"clock_skew_ms"`
	// CollectorCertExpiry is when the collector's TLS certificate expires as the device
	// last saw it; zero when it reached the collector over plain HTTP or never said.
	CollectorCertExpiry time.Time `json:"collector_cert_expiry,omitzero"`
	// ContactKeyID is the contact key the device seals to, as its last heartbeat said;
	// empty for none.
	ContactKeyID string `json:"contact_key_id,omitempty"`
	// DBBytes is the disk use of the device's database, and LastPurgeAt and LastPurged
	// its last retention purge, as its last heartbeat said; zero: not said.
	DBBytes     int64     `json:"db_bytes"`
	LastPurgeAt time.Time `json:"last_purge_at,omitzero"`
	LastPurged  int64     `json:"last_purged"`
	// SettingsVersion is the version of HQ's device settings the device runs with (0:
	// none yet, or a kiosk from before settings), and LocalOverrides the settings its own
	// config overrides, as its last heartbeat said.
	SettingsVersion int64    `json:"settings_version"`
	LocalOverrides  []string `json:"local_overrides,omitempty"`
	// UpdateTarget is the kiosk package version the device's updater was last asked to
	// install, and UpdateState how that went (wire.UpdatePending, …); empty: not said.
	UpdateTarget string `json:"update_target,omitempty"`
	UpdateState  string `json:"update_state,omitempty"`
}

// Devices lists every device, by store then name, with the heartbeats and clock skews
// this process holds in memory laid over what the database has.
func (db *DB) Devices(ctx context.Context) ([]Device, error) {
	pending := db.beats.snapshot()
	rows, err := db.read.QueryContext(ctx, `
		SELECT id, store_id, name, enrolled_at IS NOT NULL, revoked_at IS NOT NULL, last_seen_at,
		       app_version, queue_length, oldest_pending_s, free_disk_bytes, clock_skew_ms,
		       collector_cert_expiry, contact_key_id, db_bytes, last_purge_at, last_purged,
		       settings_version, local_overrides, update_target, update_state
		  FROM devices ORDER BY store_id, name`)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		var (
			d                   Device
			seen, expiry, purge sql.NullInt64
			overrides           string
		)
		if err := rows.Scan(&d.ID, &d.StoreID, &d.Name, &d.Enrolled, &d.Revoked, &seen,
			&d.AppVersion, &d.QueueLength, &d.OldestPending, &d.FreeDisk, &d.ClockSkewMS, &expiry, &d.ContactKeyID,
			&d.DBBytes, &purge, &d.LastPurged, &d.SettingsVersion, &overrides,
			&d.UpdateTarget, &d.UpdateState); err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		if overrides != "" {
			d.LocalOverrides = strings.Split(overrides, ",")
		}
		if purge.Valid {
			d.LastPurgeAt = time.UnixMilli(purge.Int64).UTC()
		}
		if expiry.Valid {
			d.CollectorCertExpiry = time.UnixMilli(expiry.Int64)
		}
		if seen.Valid {
			d.LastSeen = time.UnixMilli(seen.Int64)
		}
		if p, ok := pending[d.ID]; ok {
			p.mergeInto(&d)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RevokeDevice stops a device's token from working.
func (db *DB) RevokeDevice(ctx context.Context, id string) error {
	res, err := db.write.ExecContext(ctx, `UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		db.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("revoke device %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke device %s: %w (or already revoked)", id, ErrNotFound)
	}
	return nil
}

// Survey returns the survey of a store: its own if one was set, else the default with
// the store's name.
func (db *DB) Survey(ctx context.Context, storeID string) (wire.Survey, error) {
	var name, body string
	err := db.read.QueryRowContext(ctx, `SELECT name, survey FROM stores WHERE id = ?`, storeID).Scan(&name, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return wire.Survey{}, fmt.Errorf("survey of store %s: %w", storeID, ErrNotFound)
	}
	if err != nil {
		return wire.Survey{}, fmt.Errorf("survey of store %s: %w", storeID, err)
	}
	return surveyFrom(storeID, name, body)
}

// surveyFrom is the survey stored as body for a store of this name; the default, with
// the store's name, when body is empty.
func surveyFrom(storeID, name, body string) (wire.Survey, error) {
	if body == "" {
		s, err := assets.DefaultSurvey()
		if err != nil {
			return wire.Survey{}, err
		}
		s.StoreName = name
		return s, nil
	}
	var s wire.Survey
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		return wire.Survey{}, fmt.Errorf("survey of store %s: %w", storeID, err)
	}
	return s, nil
}

// SetSurvey gives stores (all of them when storeIDs is empty) a new survey. Its version
// becomes one more than the highest any of them had, so every kiosk sees a change.
func (db *DB) SetSurvey(ctx context.Context, s wire.Survey, storeIDs []string) (int, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("set survey: %w", err)
	}
	defer tx.Rollback()
	if len(storeIDs) == 0 {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM stores`)
		if err != nil {
			return 0, fmt.Errorf("set survey: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, fmt.Errorf("set survey: %w", err)
			}
			storeIDs = append(storeIDs, id)
		}
		rows.Close()
	}
	version := s.Version
	for _, id := range storeIDs {
		cur, err := db.Survey(ctx, id)
		if err != nil {
			return 0, fmt.Errorf("set survey: %w", err)
		}
		version = max(version, cur.Version+1)
	}
	s.Version = version
	if err := s.Validate(); err != nil {
		return 0, fmt.Errorf("set survey: %w: %w", ErrInvalid, err)
	}
	for _, id := range storeIDs {
		per := s
		if per.StoreName == "" {
			if err := tx.QueryRowContext(ctx, `SELECT name FROM stores WHERE id = ?`, id).Scan(&per.StoreName); err != nil {
				return 0, fmt.Errorf("set survey for %s: %w", id, err)
			}
		}
		body, err := json.Marshal(per)
		if err != nil {
			return 0, fmt.Errorf("set survey: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE stores SET survey = ? WHERE id = ?`, string(body), id); err != nil {
			return 0, fmt.Errorf("set survey for %s: %w", id, err)
		}
	}
	return version, tx.Commit()
}

func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}
