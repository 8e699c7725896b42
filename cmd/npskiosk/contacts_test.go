package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/store"
)

// Enrollment keeps the collector's contact key in the kiosk's database (or that there is
// none), and doctor and status say how contacts are kept.
func TestEnrollKeepsTheContactKeyAndDoctorAndStatusSayIt(t *testing.T) {
	ring := collectortest.ContactKeys(t)
	for _, tt := range []struct {
		name       string
		keys       *contactseal.Keyring
		wantEnroll string
		wantLine   string
	}{
		{"the collector has a key", ring, "contacts: sealed with the collector's key " + ring.Current().ID, "sealed with key " + ring.Current().ID},
		{"the collector has none", nil, "contacts: not asked: the collector has no contact key", "not asked: the collector has no contact key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := collectortest.Start(t, collectortest.Options{Logger: quiet, ContactKeys: tt.keys})
			c.AddStore(t, storage.Store{ID: "S1"})
			nd := c.EnrollmentCode(t, "S1", "Till 1")
			dir := t.TempDir()
			conf, db := filepath.Join(dir, "kiosk.toml"), filepath.Join(dir, "kiosk.db")
			writeConfig(t, conf, Config{DB: db})

			// A database that cannot be opened: the code is not spent.
			blocker := filepath.Join(dir, "file")
			if err := os.WriteFile(blocker, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			err := Run(ctx, append(enrollArgs(conf, c.URL, nd.Code), "--db", filepath.Join(blocker, "kiosk.db")), nil, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), "the enrollment code was not used") {
				t.Fatalf("enroll with a database that cannot be opened: %v", err)
			}

			out.Reset()
			if err := Run(ctx, enrollArgs(conf, c.URL, nd.Code), nil, &out, &errOut); err != nil {
				t.Fatalf("enroll: %v\n%s", err, errOut.String())
			}
			if !strings.Contains(out.String(), tt.wantEnroll) {
				t.Errorf("enroll says %q, want %q", out.String(), tt.wantEnroll)
			}
			kdb, err := store.OpenReadOnly(ctx, store.Config{Path: db, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			k, ok, err := kdb.ContactKey(ctx)
			kdb.Close()
			if err != nil || ok != (tt.keys != nil) || (ok && k.ID != tt.keys.Current().ID) {
				t.Fatalf("the kiosk's database has key %q (%v, %v)", k.ID, ok, err)
			}

			out.Reset()
			if err := Run(ctx, []string{"doctor", "--config", conf}, nil, &out, &errOut); err != nil {
				t.Fatalf("doctor: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "OK   contacts") || !strings.Contains(out.String(), tt.wantLine) {
				t.Errorf("doctor lacks the contacts line %q:\n%s", tt.wantLine, out.String())
			}
			out.Reset()
			if err := Run(ctx, []string{"status", "--config", conf}, nil, &out, &errOut); err != nil {
				t.Fatalf("status: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "contacts:     "+tt.wantLine) {
				t.Errorf("status lacks the contacts line %q:\n%s", tt.wantLine, out.String())
			}

			// A contact in clear (left by an earlier version, not yet sealed) is warned of.
			writePlainContact(t, db)
			out.Reset()
			if err := Run(ctx, []string{"doctor", "--config", conf}, nil, &out, &errOut); err != nil {
				t.Fatalf("doctor: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "WARN contacts") || !strings.Contains(out.String(), "1 contacts kept in clear") {
				t.Errorf("doctor does not warn of the contact in clear:\n%s", out.String())
			}
			out.Reset()
			err = Run(ctx, []string{"status", "--config", conf}, nil, &out, &errOut)
			if exitCode(err) != statusNeedsAttention || !strings.Contains(out.String(), "1 contacts kept in clear") {
				t.Errorf("status with a contact in clear: %v (exit %d)\n%s", err, exitCode(err), out.String())
			}
		})
	}
}

// writePlainContact puts a completed response with a contact in clear into the database,
// as a version from before sealed contacts left it.
func writePlainContact(t *testing.T, path string) {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	now := time.Now().UnixMilli()
	if _, err := raw.Exec(`INSERT INTO responses (id, score, locale, survey_version, created_at, completed_at, outcome, contact, contact_consent, synced_at)
		VALUES ('01931a6e-8c5c-7000-8000-000000000009', 2, 'en', 1, ?, ?, 'submitted', 'ana@example.com', 1, ?)`, now, now, now); err != nil {
		t.Fatal(err)
	}
}
