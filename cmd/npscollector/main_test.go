package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append(args, "--db", db), &out, &errOut)
		return out.String(), err
	}
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
