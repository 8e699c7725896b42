package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/store"
)

var quiet = slog.New(slog.DiscardHandler)

// kioskDB makes a kiosk database at path, with pending simulated responses captured up
// to two days ago.
func kioskDB(t *testing.T, path string, pending int) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: path, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if pending > 0 {
		empty := filepath.Join(t.TempDir(), "empty.toml")
		writeConfig(t, empty, Config{})
		var out, errOut bytes.Buffer
		args := []string{"simulate", "--config", empty, "--db", path,
			"--count", "3", "--days", "2", "--seed", "5"}
		if err := Run(ctx, args, nil, &out, &errOut); err != nil {
			t.Fatalf("simulate: %v\n%s", err, errOut.String())
		}
	}
}

// enrolledKiosk is a healthy enrolled kiosk of a running collector: a config file and an
// empty database.
func enrolledKiosk(t *testing.T) (conf, dbPath string, c *collectortest.Collector) {
	t.Helper()
	dir := t.TempDir()
	c = collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S1"})
	en := c.Enroll(t, "S1", "Till 1")
	conf, dbPath = filepath.Join(dir, "kiosk.toml"), filepath.Join(dir, "kiosk.db")
	writeConfig(t, conf, Config{DB: dbPath, Collector: CollectorConfig{URL: c.URL, Token: en.Token, DeviceID: en.DeviceID, StoreID: "S1"}})
	kioskDB(t, dbPath, 0)
	return conf, dbPath, c
}

func TestDoctor(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T) (args []string, dbPath string)
		wantOK  bool
		want    []string
		noFiles []string // paths doctor must not create
	}{
		{
			name: "healthy",
			setup: func(t *testing.T) ([]string, string) {
				conf, db, _ := enrolledKiosk(t)
				return []string{"--config", conf}, db
			},
			wantOK: true,
			want:   []string{"OK   config", "OK   database", "OK   outbox", "OK   enrolled", "OK   collector", "OK   token"},
		},
		{
			name: "missing config file",
			setup: func(t *testing.T) ([]string, string) {
				_, db, _ := enrolledKiosk(t)
				return []string{"--config", filepath.Join(t.TempDir(), "missing.toml"), "--db", db}, db
			},
			want: []string{"FAIL config", "no config file at", "OK   database", "FAIL enrolled"},
		},
		{
			name: "absent database",
			setup: func(t *testing.T) ([]string, string) {
				conf, _, _ := enrolledKiosk(t)
				db := filepath.Join(t.TempDir(), "sub", "kiosk.db")
				return []string{"--config", conf, "--db", db}, db
			},
			want: []string{"OK   config", "FAIL database", "no database at", "FAIL token"},
		},
		{
			name: "unreadable database",
			setup: func(t *testing.T) ([]string, string) {
				conf, _, _ := enrolledKiosk(t)
				db := filepath.Join(t.TempDir(), "kiosk.db")
				if err := os.WriteFile(db, bytes.Repeat([]byte("not a database "), 100), 0o600); err != nil {
					t.Fatal(err)
				}
				return []string{"--config", conf, "--db", db}, db
			},
			want: []string{"FAIL database", "restore", "safe place", "not yet uploaded"},
		},
		{
			name: "unreachable collector",
			setup: func(t *testing.T) ([]string, string) {
				conf, db, c := enrolledKiosk(t)
				c.Close()
				return []string{"--config", conf}, db
			},
			want: []string{"OK   database", "OK   enrolled", "FAIL collector", "cannot reach"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, dbPath := tt.setup(t)
			_, statErr := os.Stat(dbPath)
			existed := statErr == nil
			var out, errOut bytes.Buffer
			err := Run(context.Background(), append([]string{"doctor"}, args...), nil, &out, &errOut)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("doctor: %v\n%s", err, out.String())
				}
			} else if code := exitCode(err); err == nil || code != 1 {
				t.Fatalf("doctor: %v (exit status %d), want exit status 1\n%s", err, code, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("doctor output lacks %q:\n%s", w, out.String())
				}
			}
			// Unsent responses may live in the database: doctor never advises dropping it.
			for _, bad := range []string{"start empty", "are lost", "move it aside"} {
				if strings.Contains(out.String(), bad) {
					t.Errorf("doctor advises discarding the database (%q):\n%s", bad, out.String())
				}
			}
			if !existed {
				for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm", filepath.Dir(dbPath)} {
					if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("doctor created %s", p)
					}
				}
			}
		})
	}
}

func TestStatusExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T) []string
		wantCode int
		want     string
	}{
		{
			name:     "healthy",
			setup:    func(t *testing.T) []string { conf, _, _ := enrolledKiosk(t); return []string{"--config", conf} },
			wantCode: 0,
			want:     "state:        OK",
		},
		{
			name: "not enrolled",
			setup: func(t *testing.T) []string {
				conf, db, _ := enrolledKiosk(t)
				writeConfig(t, conf, Config{DB: db})
				return []string{"--config", conf}
			},
			wantCode: 1,
			want:     "problem:      not enrolled",
		},
		{
			name: "collector unreachable",
			setup: func(t *testing.T) []string {
				conf, _, c := enrolledKiosk(t)
				c.Close()
				return []string{"--config", conf}
			},
			wantCode: 1,
			want:     "NOT reachable",
		},
		{
			name: "not synced for longer than --max-unsynced",
			setup: func(t *testing.T) []string {
				conf, db, _ := enrolledKiosk(t)
				kioskDB(t, db, 3) // captured up to 2 days ago
				return []string{"--config", conf, "--max-unsynced", "1h"}
			},
			wantCode: 1,
			want:     "problem:      not synced: the oldest of 3 waiting responses",
		},
		{
			name: "waiting, but the threshold is off",
			setup: func(t *testing.T) []string {
				conf, db, _ := enrolledKiosk(t)
				kioskDB(t, db, 3)
				return []string{"--config", conf, "--max-unsynced", "0"}
			},
			wantCode: 0,
			want:     "waiting:      3",
		},
		{
			name: "quarantined responses",
			setup: func(t *testing.T) []string {
				conf, dbPath, _ := enrolledKiosk(t)
				kioskDB(t, dbPath, 3)
				ctx := context.Background()
				db, err := store.Open(ctx, store.Config{Path: dbPath, Logger: quiet})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				p, err := db.Pending(ctx, 1)
				if err != nil || len(p) != 1 {
					t.Fatalf("pending: %v, %v", p, err)
				}
				if err := db.Quarantine(ctx, p[0].ID, "invalid: test"); err != nil {
					t.Fatal(err)
				}
				return []string{"--config", conf, "--max-unsynced", "0"}
			},
			wantCode: 1,
			want:     "problem:      1 responses quarantined",
		},
		{
			name: "no database",
			setup: func(t *testing.T) []string {
				conf, _, _ := enrolledKiosk(t)
				return []string{"--config", conf, "--db", filepath.Join(t.TempDir(), "none.db")}
			},
			wantCode: 2,
		},
		{
			name:     "bad flag",
			setup:    func(t *testing.T) []string { return []string{"--max-unsynced", "soon"} },
			wantCode: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.setup(t)
			var out, errOut bytes.Buffer
			start := time.Now()
			err := Run(context.Background(), append([]string{"status"}, args...), nil, &out, &errOut)
			if code := exitCode(err); code != tt.wantCode {
				t.Errorf("status: %v: exit status %d, want %d\n%s", err, code, tt.wantCode, out.String())
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("status output lacks %q:\n%s", tt.want, out.String())
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("status took %s", took)
			}
		})
	}
}
