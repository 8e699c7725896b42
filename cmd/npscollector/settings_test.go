package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/devicesettings"
)

// settings set takes the PIN from stdin only and stores its argon2id hash; a store's
// settings win over the chain's field by field; show and every reply name the PIN by
// its fingerprint, never the hash; clear unsets fields.
func TestSettingsCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	created, err := storage.Open(ctx, storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	run := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		m := NewMain(&out, &errOut)
		m.stdin = strings.NewReader(stdin)
		if err := m.ParseFlags(ctx, append(args, "--db", db)); err != nil {
			return out.String(), err
		}
		err := errors.Join(m.Run(ctx), m.Close())
		if strings.Contains(errOut.String(), "4321") || strings.Contains(out.String(), "4321") {
			t.Errorf("%v printed the PIN:\n%s%s", args, out.String(), errOut.String())
		}
		return out.String(), err
	}
	if _, err := run("", "store", "add", "--id", "S042", "--name", "Main Street", "--timezone", "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"settings", "set", "--languages", "en"}, "--store ID or --all"},
		{"", []string{"settings", "set", "--store", "S042", "--all", "--languages", "en"}, "--store ID or --all"},
		{"", []string{"settings", "set", "--store", "S042"}, "nothing to set"},
		{"", []string{"settings", "set", "--store", "NOPE", "--languages", "en"}, "not found"},
		{"12\n", []string{"settings", "set", "--store", "S042", "--pin-stdin"}, "4 to 12 digits"},
		{"", []string{"settings", "set", "--store", "S042", "--idle-timeout", "2s"}, "idle timeout"},
		{"", []string{"settings", "set", "--store", "S042", "--idle-timeout", "1500ms"}, "whole seconds"},
		{"", []string{"settings", "set", "--store", "S042", "--sleep", "late"}, "HH:MM-HH:MM"},
		{"", []string{"settings", "set", "--store", "S042", "--brightness", "120"}, "brightness"},
		{"", []string{"settings", "clear", "--store", "S042", "--only", "colour"}, "unknown setting"},
		{"", []string{"settings", "show"}, "--store ID or --all"},
	} {
		if _, err := run(tc.stdin, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error about %q", tc.args, err, tc.want)
		}
	}

	if _, err := run("", "settings", "set", "--all", "--languages", "en,de", "--idle-timeout", "45s", "--sleep", "22:00-07:00"); err != nil {
		t.Fatal(err)
	}
	out, err := run("4321\n", "settings", "set", "--store", "S042", "--pin-stdin", "--display-name", "Till by the door", "--languages", "de")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "manager PIN: set (hash …") || strings.Contains(out, "$argon2id$") {
		t.Errorf("settings set says:\n%s", out)
	}

	check, err := storage.Open(ctx, storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	eff, err := check.DeviceSettings(ctx, "S042")
	check.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := devicesettings.ComparePIN("4321", eff.ManagerPINHash); err != nil || !ok {
		t.Fatalf("the stored hash does not match the PIN given: %v %v", ok, err)
	}
	if eff.IdleTimeoutSeconds != 45 || strings.Join(eff.Languages, ",") != "de" || eff.DisplayName != "Till by the door" || eff.Sleep != "22:00-07:00" {
		t.Errorf("the store's kiosks get %+v", eff.Settings)
	}

	for _, asJSON := range []bool{false, true} {
		args := []string{"settings", "show", "--store", "S042"}
		if asJSON {
			args = append(args, "--json")
		}
		out, err := run("", args...)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, eff.ManagerPINHash[:len(eff.ManagerPINHash)-6]) || strings.Contains(out, "argon2id") {
			t.Errorf("settings show (json %v) prints the PIN's hash:\n%s", asJSON, out)
		}
		if !strings.Contains(out, devicesettings.PINFingerprint(eff.ManagerPINHash)) {
			t.Errorf("settings show (json %v) does not name the PIN by its fingerprint:\n%s", asJSON, out)
		}
		if asJSON {
			var v settingsView
			if err := json.Unmarshal([]byte(out), &v); err != nil || v.Effective == nil || v.Effective.Version != eff.Version {
				t.Errorf("settings show --json: %v %+v", err, v)
			}
		}
	}

	if _, err := run("", "settings", "clear", "--store", "S042", "--only", "manager_pin,languages"); err != nil {
		t.Fatal(err)
	}
	out, err = run("", "settings", "show", "--store", "S042")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "its kiosks get") || strings.Contains(out, "manager PIN") || !strings.Contains(out, "languages: en,de") ||
		!strings.Contains(out, `display name: "Till by the door"`) {
		t.Errorf("after clearing the store's PIN and languages, show says:\n%s", out)
	}
}
