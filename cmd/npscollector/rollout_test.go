package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage"
)

func TestRolloutCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	created, err := storage.Open(context.Background(), storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append(args, "--db", db), &out, &errOut)
		return out.String(), err
	}
	if _, err := run("store", "add", "--id", "S1", "--name", "One", "--timezone", "UTC"); err != nil {
		t.Fatal(err)
	}
	if out, err := run("rollout", "status"); err != nil || !strings.Contains(out, "no rollout") {
		t.Fatalf("rollout status with none: %q, %v", out, err)
	}
	if _, err := run("rollout", "halt"); err == nil {
		t.Error("rollout halt with none succeeded")
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // in the output; "" when it must fail
	}{
		{"no version", []string{"--percent", "10"}, ""},
		{"not a version", []string{"--version", "0.1.2; rm -rf /", "--percent", "10"}, ""},
		{"nobody", []string{"--version", "0.1.2"}, ""},
		{"over 100", []string{"--version", "0.1.2", "--percent", "101"}, ""},
		{"an unknown store", []string{"--version", "0.1.2", "--stores", "S9"}, ""},
		{"a pilot store", []string{"--version", "0.1.2", "--stores", "S1"}, "rollout of 0.1.2: 0% of the fleet and the kiosks of S1"},
		{"a tenth", []string{"--version", "0.1.2", "--percent", "10"}, "rollout of 0.1.2: 10% of the fleet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(append([]string{"rollout", "set"}, tc.args...)...)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("accepted: %q", out)
				}
				return
			}
			if err != nil || !strings.Contains(out, tc.want) {
				t.Fatalf("%q, %v; want %q", out, err, tc.want)
			}
		})
	}
	if out, err := run("rollout", "status"); err != nil || !strings.Contains(out, "rollout of 0.1.2 (10% of the fleet)") || !strings.Contains(out, ": active") {
		t.Fatalf("rollout status: %q, %v", out, err)
	}
	if out, err := run("rollout", "halt"); err != nil || !strings.Contains(out, "halted") {
		t.Fatalf("rollout halt: %q, %v", out, err)
	}
	if out, err := run("rollout", "status", "--json"); err != nil || !strings.Contains(out, `"halted_at"`) || !strings.Contains(out, `"percent": 10`) {
		t.Fatalf("rollout status --json after halt: %q, %v", out, err)
	}
	if out, err := run("device", "list"); err != nil || !strings.Contains(out, "ROLLOUT") {
		t.Fatalf("device list: %q, %v", out, err)
	}
}
