package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/devicesettings"
	"github.com/npskiosk/npskiosk/store"
	kiosksync "github.com/npskiosk/npskiosk/sync"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "kiosk.toml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := LoadConfig(write("db = \"/x/k.db\"\nlanguage = \"de\"\ntimezone = \"Europe/Berlin\"\n"), true)
	if err != nil || cfg.DB != "/x/k.db" || cfg.Language != "de" || cfg.Location().String() != "Europe/Berlin" {
		t.Fatalf("LoadConfig = %+v, %v", cfg, err)
	}
	if _, err := LoadConfig(write("fulscreen = true\n"), true); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("misspelt key: %v, want an error naming the line", err)
	}
	if _, err := LoadConfig(write("timezone = \"Mars/Olympus\"\n"), true); err == nil {
		t.Error("unknown time zone accepted")
	}
	if cfg, err := LoadConfig(write("segment = \"pharmacy\"\n"), true); err != nil || cfg.Segment != "pharmacy" {
		t.Errorf("a kiosk's segment: %+v, %v", cfg, err)
	}
	if _, err := LoadConfig(write("segment = \"Pharmacy counter\"\n"), true); err == nil || !strings.Contains(err.Error(), "segment") {
		t.Errorf("a segment that is not a label: %v, want an error naming it", err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.toml"), true); err == nil {
		t.Error("a missing config given explicitly must be an error")
	}
	if cfg, err := LoadConfig(filepath.Join(dir, "missing.toml"), false); err != nil || cfg.DB == "" {
		t.Errorf("missing default config: %+v, %v; want defaults", cfg, err)
	}
}

func TestSimulateAndPINHash(t *testing.T) {
	dir := t.TempDir()
	db, conf := filepath.Join(dir, "k.db"), filepath.Join(dir, "kiosk.toml")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	ctx := context.Background()
	err := Run(ctx, []string{"simulate", "--config", conf, "--db", db, "--count", "50", "--days", "3", "--seed", "9"},
		strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, errOut.String())
	}
	s, err := store.Open(ctx, store.Config{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ob, _ := s.Outbox(ctx); ob.Pending != 50 {
		t.Errorf("simulate added %d pending responses, want 50", ob.Pending)
	}

	out.Reset()
	if err := Run(ctx, []string{"pin-hash"}, strings.NewReader("2468\n"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "$argon2id$") {
		t.Errorf("pin-hash printed %q", out.String())
	}
	if err := Run(ctx, []string{"pin-hash"}, strings.NewReader("12\n"), &out, &errOut); err == nil {
		t.Error("a two-digit PIN was accepted")
	}
	if err := Run(ctx, []string{"frobnicate"}, nil, &out, &errOut); err == nil {
		t.Error("unknown command accepted")
	}
}

func TestOfflineStartUsesTheCachedSurvey(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := slog.New(slog.DiscardHandler)
	// The collector is unreachable (nothing listens there): only the cache can help.
	cfg := Config{Collector: CollectorConfig{URL: "http://127.0.0.1:1", Token: "dev_x"}}
	s, err := initialSurvey(ctx, cfg, db, log)
	if err != nil || s.Version != 1 {
		t.Fatalf("before any sync: %+v, %v; want the built-in survey", s, err)
	}
	cached := s
	cached.Version, cached.StoreName = 7, "Cached Street"
	b, _ := json.Marshal(cached)
	if err := db.SetSetting(ctx, kiosksync.SettingSurvey, string(b)); err != nil {
		t.Fatal(err)
	}
	s, err = initialSurvey(ctx, cfg, db, log)
	if err != nil || s.Version != 7 || s.StoreName != "Cached Street" {
		t.Fatalf("after a sync: %+v, %v; want the cached survey", s, err)
	}
}

// [override] holds settings that win over HQ's; the config's plain manager_pin_hash is
// HQ's fallback. Both are checked when the config is read.
func TestConfigOverrides(t *testing.T) {
	dir := t.TempDir()
	hash, err := devicesettings.HashPIN("9999")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := devicesettings.HashPIN("2468")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body string
		err        string // "" valid
		overridden []string
	}{
		{"none", "", "", nil},
		{"a PIN and sleep hours", "manager_pin_hash = \"" + plain + "\"\n[override]\nmanager_pin_hash = \"" + hash + "\"\nsleep = \"21:00-08:00\"\n", "",
			[]string{devicesettings.FieldPIN, devicesettings.FieldSleep}},
		{"every field", "[override]\nidle_timeout_seconds = 45\nlanguages = [\"de\", \"en\"]\ndisplay_name = \"Office\"\nbrightness = 60\n", "",
			[]string{devicesettings.FieldIdleTimeout, devicesettings.FieldLanguages, devicesettings.FieldDisplayName, devicesettings.FieldBrightness}},
		{"a PIN in clear", "[override]\nmanager_pin_hash = \"9999\"\n", "argon2id", nil},
		{"a misspelt key", "[override]\nsleeps = \"21:00-08:00\"\n", "sleeps", nil},
		{"bad sleep hours", "[override]\nsleep = \"9pm\"\n", "HH:MM-HH:MM", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "kiosk.toml")
			if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadConfig(p, true)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("LoadConfig = %v, want an error about %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := cfg.DeviceSettings()
			if got := h.Overridden(); !slices.Equal(got, tc.overridden) {
				t.Errorf("overridden %v, want %v", got, tc.overridden)
			}
			hq, _ := devicesettings.HashPIN("1111")
			h.SetHQ(devicesettings.Settings{ManagerPINHash: hq, Sleep: "22:00-07:00"})
			want := hq
			if slices.Contains(tc.overridden, devicesettings.FieldPIN) {
				want = hash
			}
			if got := h.Current().ManagerPINHash; got != want {
				t.Errorf("the kiosk runs with PIN hash %s, want %s", devicesettings.PINFingerprint(got), devicesettings.PINFingerprint(want))
			}
		})
	}
}

// status names HQ's settings version the kiosk keeps and what its config overrides.
func TestStatusSaysTheSettings(t *testing.T) {
	for _, tc := range []struct {
		rep  statusReport
		want string
	}{
		{statusReport{}, "settings:     none from HQ\n"},
		{statusReport{SettingsVersion: 7, LocalOverrides: []string{"manager_pin", "sleep"}},
			"settings:     HQ's version 7; overridden here: manager_pin, sleep\n"},
	} {
		var out bytes.Buffer
		printStatus(&out, tc.rep)
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("status says\n%s\nwant the line %q", out.String(), tc.want)
		}
	}
}
