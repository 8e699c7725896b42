package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
)

func TestRetentionDaysConfig(t *testing.T) {
	for _, tc := range []struct {
		toml string
		want time.Duration
		err  string
	}{
		{"", 90 * 24 * time.Hour, ""},
		{"retention_days = 30\n", 30 * 24 * time.Hour, ""},
		{"retention_days = -1\n", 0, "retention_days = -1: give whole days from 1 to 3650"},
		{"retention_days = 4000\n", 0, "retention_days = 4000"},
	} {
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(path, []byte(tc.toml), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(path, true)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.toml, err, tc.err)
			}
			continue
		}
		if err != nil || cfg.Retention() != tc.want {
			t.Errorf("%q: retention %s, %v; want %s", tc.toml, cfg.Retention(), err, tc.want)
		}
	}
}

// TestKioskPurgesPerItsConfigAndSaysSo: the running kiosk (npskiosk sync, which runs the
// window's maintenance too) purges the synced responses older than retention_days at
// start, keeps an unsynced one however old, and status shows the purge and the size.
func TestKioskPurgesPerItsConfigAndSaysSo(t *testing.T) {
	conf, dbPath, c := enrolledKiosk(t)
	c.Close() // offline: nothing uploads, so the old unsynced response stays unsynced
	cfg, err := LoadConfig(conf, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RetentionDays = 30
	writeConfig(t, conf, cfg)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: dbPath, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	add := func(id string, age time.Duration, synced bool) {
		at := time.Now().Add(-age)
		r := response.Response{ID: id, Score: 9, Reasons: []string{}, Locale: "en", SurveyVersion: 1,
			CreatedAt: at, CompletedAt: at.Add(time.Minute), Outcome: response.OutcomeSubmitted}
		if err := db.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
		if synced {
			if _, err := db.MarkSynced(ctx, []string{id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	const oldSynced, newSynced, ancientUnsynced = "0190b8c0-0000-7000-8000-0000000000a1", "0190b8c0-0000-7000-8000-0000000000a2", "0190b8c0-0000-7000-8000-0000000000a3"
	add(oldSynced, 40*24*time.Hour, true)
	add(newSynced, 20*24*time.Hour, true)
	add(ancientUnsynced, 4*365*24*time.Hour, false)
	db.Close()

	rctx, cancel := context.WithCancel(ctx)
	defer time.AfterFunc(2*time.Second, cancel).Stop()
	var out, errOut bytes.Buffer
	if err := Run(rctx, []string{"sync", "--config", conf}, nil, &out, &errOut); err != nil {
		t.Fatalf("sync: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "purged synced responses past retention") || !strings.Contains(errOut.String(), "count=1") {
		t.Errorf("the purge was not logged with its count:\n%s", errOut.String())
	}

	ro, err := store.OpenReadOnly(ctx, store.Config{Path: dbPath, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{oldSynced: false, newSynced: true, ancientUnsynced: true} {
		_, err := ro.Get(ctx, id)
		if kept := err == nil; kept != want || err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: kept %v (%v), want %v", id, kept, err, want)
		}
	}
	ro.Close()

	out.Reset()
	Run(ctx, []string{"status", "--config", conf, "--json"}, nil, &out, &errOut) // unhealthy: offline
	var rep statusReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out.String())
	}
	if rep.RetentionDays != 30 || rep.DBBytes <= 0 || rep.Purges.LastPurged != 1 || rep.Purges.Total != 1 || rep.Purges.LastAt.IsZero() {
		t.Fatalf("status: retention %d days, %d bytes, purges %+v", rep.RetentionDays, rep.DBBytes, rep.Purges)
	}
	out.Reset()
	Run(ctx, []string{"status", "--config", conf}, nil, &out, &errOut)
	for _, want := range []string{"db size:", "retention:    synced responses kept 30 days", "1 purged (1 in all)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}
