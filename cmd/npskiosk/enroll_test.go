package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

func enrollArgs(conf, url, code string) []string {
	return []string{"enroll", "--config", conf, "--collector", url, "--code", code}
}

// TestEnrollSaveFailsThenRetrySameCode: the code is spent but the token could not be
// saved; the message says to run the same command again, and doing so enrolls the same
// device.
func TestEnrollSaveFailsThenRetrySameCode(t *testing.T) {
	ctx := context.Background()
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S1"})
	nd := c.EnrollmentCode(t, "S1", "Till 1")
	conf := filepath.Join(t.TempDir(), "kiosk.toml")
	writeConfig(t, conf, Config{Language: "de"})

	var out, errOut bytes.Buffer
	m := NewMain(nil, &out, &errOut)
	m.SaveConfig = func(string, Config) error { return errors.New("disk full") }
	if err := m.ParseFlags(ctx, enrollArgs(conf, c.URL, nd.Code)); err != nil {
		t.Fatal(err)
	}
	err := errors.Join(m.Run(ctx), m.Close())
	if err == nil {
		t.Fatal("enroll reported success though the config was not saved")
	}
	for _, want := range []string{nd.ID, "disk full", "same command again with the same code within 15 minutes", "same device"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if cfg, _ := LoadConfig(conf, true); cfg.Enrolled() || cfg.Language != "de" {
		t.Errorf("config changed by a failed save: %+v", cfg)
	}

	if err := Run(ctx, enrollArgs(conf, c.URL, nd.Code), nil, &out, &errOut); err != nil {
		t.Fatalf("enroll again with the same code: %v", err)
	}
	cfg, err := LoadConfig(conf, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Collector.DeviceID != nd.ID || !cfg.Enrolled() || cfg.Language != "de" {
		t.Errorf("after the retry: %+v; want device %s enrolled, language kept", cfg, nd.ID)
	}
	// The saved token is the live one: the collector accepts it.
	db := filepath.Join(t.TempDir(), "kiosk.db")
	kioskDB(t, db, 0)
	out.Reset()
	if err := Run(ctx, []string{"doctor", "--config", conf, "--db", db}, nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "OK   token") {
		t.Errorf("doctor after the retry: %v\n%s", err, out.String())
	}
}

// TestEnrollChecksTheConfigFirst: when the config cannot be written, the code is not
// spent: the device stays unenrolled at the collector.
func TestEnrollChecksTheConfigFirst(t *testing.T) {
	ctx := context.Background()
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S1"})
	nd := c.EnrollmentCode(t, "S1", "Till 1")
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := Run(ctx, enrollArgs(filepath.Join(file, "kiosk.toml"), c.URL, nd.Code), nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "the enrollment code was not used") {
		t.Fatalf("enroll into an unwritable place: %v", err)
	}
	ds, err := c.DB.Devices(ctx)
	if err != nil || len(ds) != 1 || ds[0].Enrolled {
		t.Fatalf("devices after a refused enroll: %+v, %v; want one, not enrolled", ds, err)
	}
}

// TestEnrollKeepsSettingsAndWritesNoEmptyKeys: enrolling adds the [collector] table to
// what the file says, adds no defaults, writes no empty values, and leaves a 0600 file
// with no temporary files beside it.
func TestEnrollKeepsSettingsAndWritesNoEmptyKeys(t *testing.T) {
	ctx := context.Background()
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S1"})
	dir := t.TempDir()
	tests := []struct {
		name   string
		before string // "" means no file
	}{
		{name: "no config yet"},
		{name: "settings kept", before: "language = \"fr\"\nfullscreen = true\nhide_cursor = true\ntimezone = \"Europe/Paris\"\nmanager_pin_hash = \"$argon2id$x\"\nsurvey = \"/etc/s.toml\"\n"},
		{name: "enrolled before", before: "language = \"es\"\n[collector]\nurl = \"http://old\"\ntoken = \"dev_old\"\ndevice_id = \"D0\"\nstore_id = \"S0\"\n"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := filepath.Join(dir, string(rune('a'+i)))
			conf := filepath.Join(sub, "kiosk.toml")
			var before Config
			if tt.before != "" {
				if err := os.MkdirAll(sub, 0o750); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(conf, []byte(tt.before), 0o644); err != nil {
					t.Fatal(err)
				}
				var err error
				if before, _, err = readConfigFile(conf); err != nil {
					t.Fatal(err)
				}
			}
			nd := c.EnrollmentCode(t, "S1", "Till")
			var out, errOut bytes.Buffer
			if err := Run(ctx, enrollArgs(conf, c.URL, nd.Code), nil, &out, &errOut); err != nil {
				t.Fatalf("enroll: %v\n%s", err, errOut.String())
			}
			b, err := os.ReadFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), `= ""`) || strings.Contains(string(b), `= ''`) {
				t.Errorf("config holds empty values:\n%s", b)
			}
			if strings.Contains(string(b), "db =") {
				t.Errorf("enroll wrote a default db path into the config:\n%s", b)
			}
			after, _, err := readConfigFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			if after.Collector.DeviceID != nd.ID || after.Collector.URL != c.URL || !strings.HasPrefix(after.Collector.Token, "dev_") {
				t.Errorf("collector settings: %+v", after.Collector)
			}
			after.Collector, before.Collector = CollectorConfig{}, CollectorConfig{}
			if !reflect.DeepEqual(after, before) {
				t.Errorf("settings changed by enroll:\n got %+v\nwant %+v", after, before)
			}
			if st, err := os.Stat(conf); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("config mode: %v, %v; want 0600", st.Mode(), err)
			}
			entries, _ := os.ReadDir(sub)
			if len(entries) != 1 {
				t.Errorf("files beside the config: %v", entries)
			}
		})
	}
}
