package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage"
)

func TestCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append(args, "--db", db), &out, &errOut)
		return out.String(), err
	}
	// Only serve creates a database: a command with a mistyped path must not start an
	// empty one whose tokens and codes work nowhere.
	if _, err := run("token", "add", "--name", "hq"); err == nil || !strings.Contains(err.Error(), "no collector database at "+db) {
		t.Fatalf("token add on a missing database: %v, want a refusal naming it", err)
	}
	if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the refused command created %s", db)
	}
	created, err := storage.Open(context.Background(), storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	if _, err := run("store", "add", "--id", "S042", "--name", "Main Street", "--timezone", "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("store", "add", "--id", "S043", "--name", "X", "--timezone", "Nowhere/Land"); err == nil {
		t.Error("a bad time zone was accepted")
	}
	if _, err := run("store", "add", "--id", "S044", "--name", "X", "--timezone", "Europe/Berlin", "--format", "Big Box"); err == nil {
		t.Error("a format that is not a label was accepted")
	}
	// Region and format of an existing store: set one, the other stays; "" clears.
	if out, err := run("store", "set", "--id", "S042", "--region", "north", "--format", "express", "--json"); err != nil ||
		!strings.Contains(out, `"region": "north"`) || !strings.Contains(out, `"format": "express"`) {
		t.Errorf("store set: %q, %v", out, err)
	}
	if out, err := run("store", "set", "--id", "S042", "--format", ""); err != nil || !strings.Contains(out, `region "north", format ""`) {
		t.Errorf("store set --format '': %q, %v", out, err)
	}
	if _, err := run("store", "set", "--id", "S999", "--region", "north"); err == nil {
		t.Error("store set on an unknown store succeeded")
	}
	if _, err := run("store", "set", "--id", "S042"); err == nil {
		t.Error("store set with nothing to set succeeded")
	}
	out, err := run("device", "add", "--store", "S042", "--name", "Till 3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ ID, Code string }
	if err := json.Unmarshal([]byte(out), &d); err != nil || len(d.Code) != 11 {
		t.Fatalf("device add --json printed %q (%v)", out, err)
	}
	out, err = run("device", "list")
	if err != nil || !strings.Contains(out, "waiting for enrollment") || !strings.Contains(out, "Till 3") {
		t.Fatalf("device list: %q, %v", out, err)
	}
	if _, err := run("device", "revoke", d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := run("device", "revoke", d.ID); err == nil {
		t.Error("revoking twice should say the device is already revoked")
	}
	out, err = run("enrollment-key", "add", "--store", "S042", "--uses", "20", "--expires", "48h", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var k struct{ ID, Key string }
	if err := json.Unmarshal([]byte(out), &k); err != nil || !strings.HasPrefix(k.Key, "EK-") {
		t.Fatalf("enrollment-key add --json printed %q (%v)", out, err)
	}
	if _, err := run("enrollment-key", "add", "--store", "S042", "--uses", "0"); err == nil {
		t.Error("a key for no kiosks was made")
	}
	out, err = run("enrollment-key", "list")
	if err != nil || !strings.Contains(out, k.ID) || !strings.Contains(out, "0/20") || !strings.Contains(out, "active") || strings.Contains(out, k.Key) {
		t.Fatalf("enrollment-key list: %q, %v", out, err)
	}
	if _, err := run("enrollment-key", "revoke", k.ID); err != nil {
		t.Fatal(err)
	}
	if out, err := run("enrollment-key", "list"); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("enrollment-key list after revoke: %q, %v", out, err)
	}
	if _, err := run("survey", "set", "--all", "../../assets/survey.toml"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("frobnicate"); err == nil {
		t.Error("unknown command accepted")
	}
}

func TestDefaultDBIsTheSameForEveryCommand(t *testing.T) {
	noDir := func(string) (os.FileInfo, error) { return nil, fs.ErrNotExist }
	isDir := func(string) (os.FileInfo, error) { return os.Stat(t.TempDir()) }
	home := func() (string, error) { return "/home/ana", nil }
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := []struct {
		name   string
		getenv func(string) string
		stat   func(string) (os.FileInfo, error)
		want   string
	}{
		{"environment first", env(map[string]string{"NPSCOLLECTOR_DB": "/srv/c.db"}), isDir, "/srv/c.db"},
		{"the package's folder", env(nil), isDir, "/var/lib/npscollector/collector.db"},
		{"XDG data home", env(map[string]string{"XDG_DATA_HOME": "/x"}), noDir, "/x/npscollector/collector.db"},
		{"home", env(nil), noDir, "/home/ana/.local/share/npscollector/collector.db"},
	}
	for _, tt := range tests {
		if got := defaultDB(tt.getenv, tt.stat, home); got != tt.want {
			t.Errorf("%s: defaultDB = %s, want %s", tt.name, got, tt.want)
		}
	}
	// serve and an admin command resolve the same path.
	t.Setenv("NPSCOLLECTOR_DB", filepath.Join(t.TempDir(), "env.db"))
	var paths []string
	for _, args := range [][]string{{"serve"}, {"token", "add", "--name", "x"}, {"device", "list"}} {
		m := NewMain(io.Discard, io.Discard)
		if err := m.ParseFlags(context.Background(), args); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m.dbPath)
	}
	if paths[0] != paths[1] || paths[1] != paths[2] {
		t.Errorf("commands use different databases: %v", paths)
	}
}

func TestFollowUpAndWebhookCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	created, err := storage.Open(context.Background(), storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append(args, "--db", db), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if _, err := run("store", "add", "--id", "S042", "--name", "Main Street", "--timezone", "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		ok      bool
		printed string
	}{
		{[]string{"rule", "set", "--scores", "0-4,9", "--sla", "24h"}, true, "follow-up rule set for the chain"},
		{[]string{"rule", "set", "--store", "S042", "--scores", "0-2"}, true, "store S042"},
		{[]string{"rule", "set", "--scores", "6-3"}, false, "want scores or ranges"},
		{[]string{"rule", "set", "--scores", "0-11"}, false, "score must be an integer from 0 to 10"},
		{[]string{"rule", "set", "--sla", "90m"}, false, "whole hours"},
		{[]string{"rule", "set", "--store", "S042", "--channels", "qr, email", "--json"}, true, `"channels": [`},
		{[]string{"rule", "set", "--channels", "qr,QR code"}, false, "channel"},
		{[]string{"webhook", "add", "--url", "http://10.0.0.1/hook"}, false, "private address"},
		{[]string{"webhook", "add", "--url", "http://169.254.169.254/"}, false, "link-local"},
		{[]string{"webhook", "add", "--url", "http://127.0.0.1:9/hook"}, false, "loopback"},
		{[]string{"webhook", "add", "--url", "http://127.0.0.1:9/hook", "--allow-loopback-http", "--store", "S042", "--events", "case.opened"}, true, "whsec_"},
		{[]string{"webhook", "add", "--url", "http://127.0.0.1:9/hook", "--allow-loopback-http", "--events", "case.closed"}, false, "unknown event"},
		{[]string{"webhook", "list"}, true, "store S042"},
		{[]string{"webhook", "log"}, true, "EVENT"},
		{[]string{"case", "list", "--status", "open"}, true, "STATUS"},
		{[]string{"case", "list", "--status", "done"}, false, "status"},
	}
	for _, tt := range tests {
		out, err := run(tt.args...)
		if (err == nil) != tt.ok || !strings.Contains(out+fmt.Sprint(err), tt.printed) {
			t.Errorf("%s: %v\n%s\nwant ok=%v and %q", strings.Join(tt.args, " "), err, out, tt.ok, tt.printed)
		}
	}
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	created, err := storage.Open(context.Background(), storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	run := func(stdin string, args ...string) (string, string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		m := NewMain(&out, &errOut)
		m.stdin = strings.NewReader(stdin)
		if err := m.ParseFlags(context.Background(), append(args, "--db", db)); err != nil {
			return out.String(), errOut.String(), err
		}
		err := errors.Join(m.Run(context.Background()), m.Close())
		return out.String(), errOut.String(), err
	}
	if _, _, err := run("", "store", "add", "--id", "S001", "--name", "Main Street", "--timezone", "Europe/Berlin", "--region", "North"); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("a file password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		ok    bool
	}{
		{"chain, password on stdin", "a stdin password\n", []string{"--email", "Hana@Example.com", "--name", "Hana HQ"}, true},
		{"store, password from a file", "", []string{"--email", "ana@example.com", "--name", "Ana", "--lang", "es", "--store", "S001", "--password-file", pwFile}, true},
		{"region, the digest only", "another long password", []string{"--email", "nils@example.com", "--name", "Nils", "--lang", "de", "--region", "North", "--alerts", "digest.daily"}, true},
		{"an event a person cannot get", "a stdin password\n", []string{"--email", "cy@example.com", "--name", "Cy", "--alerts", "response.created"}, false},
		{"a short password", "short\n", []string{"--email", "bo@example.com", "--name", "Bo"}, false},
		{"store and region", "a stdin password\n", []string{"--email", "cy@example.com", "--name", "Cy", "--store", "S001", "--region", "North"}, false},
		{"an unknown store", "a stdin password\n", []string{"--email", "cy@example.com", "--name", "Cy", "--store", "S999"}, false},
		{"the same e-mail again", "a stdin password\n", []string{"--email", "hana@example.com", "--name", "Hana"}, false},
		{"a missing password file", "", []string{"--email", "cy@example.com", "--name", "Cy", "--password-file", filepath.Join(dir, "none")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := run(tt.stdin, append([]string{"user", "add"}, tt.args...)...)
			if (err == nil) != tt.ok {
				t.Fatalf("user add: %v, want success %v", err, tt.ok)
			}
			for _, secret := range []string{"a stdin password", "a file password", "another long password"} {
				if strings.Contains(out+errOut, secret) {
					t.Errorf("user add printed the password")
				}
			}
		})
	}
	out, _, err := run("", "user", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hana@example.com", "every store", "store S001", "region North", "es",
		"case.opened,digest.daily,nps.dropped", "digest.daily "} {
		if !strings.Contains(out, want) {
			t.Errorf("user list lacks %q:\n%s", want, out)
		}
	}
	for _, tt := range []struct {
		args []string
		ok   bool
		want []string
	}{
		{[]string{"--events", "case.opened,case.updated", "Nils@example.com"}, true, []string{"case.opened", "case.updated"}},
		{[]string{"--events", "none", "nils@example.com"}, true, nil},
		{[]string{"--events", "nps.dropped", "nobody@example.com"}, false, nil},
		{[]string{"--events", "bogus", "nils@example.com"}, false, nil},
		{[]string{"nils@example.com"}, false, nil},
	} {
		_, _, err := run("", append([]string{"user", "alerts"}, tt.args...)...)
		if (err == nil) != tt.ok {
			t.Fatalf("user alerts %v: %v, want success %v", tt.args, err, tt.ok)
		}
		if !tt.ok {
			continue
		}
		out, _, err := run("", "user", "list", "--json")
		var us []storage.User
		if err != nil || json.Unmarshal([]byte(out), &us) != nil {
			t.Fatalf("user list --json: %q, %v", out, err)
		}
		for _, u := range us {
			if u.Email == "nils@example.com" && !slices.Equal(u.Alerts, tt.want) {
				t.Errorf("after user alerts %v: Nils gets %v, want %v", tt.args, u.Alerts, tt.want)
			}
		}
	}
	if _, _, err := run("", "user", "disable", "ANA@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run("", "user", "disable", "nobody@example.com"); err == nil {
		t.Error("disabling an unknown user succeeded")
	}
	out, _, err = run("", "user", "list", "--json")
	var users []storage.User
	if err != nil || json.Unmarshal([]byte(out), &users) != nil || len(users) != 3 {
		t.Fatalf("user list --json: %q, %v", out, err)
	}
	db2, err := storage.Open(context.Background(), storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	for email, want := range map[string]error{"hana@example.com": nil, "ana@example.com": storage.ErrUnauthorized} {
		pw := "a stdin password"
		if email == "ana@example.com" {
			pw = "a file password"
		}
		if _, err := db2.AuthenticateUser(context.Background(), email, pw); err != want {
			t.Errorf("sign in as %s with the password given: %v, want %v", email, err, want)
		}
	}
}
