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
