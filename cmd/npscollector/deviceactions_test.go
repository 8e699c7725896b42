package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// IT asks a device for diagnostics from the command line: the action is recorded with
// the operating system's user; once the kiosk has uploaded its bundle and answered,
// device actions lists it done and device diagnostics writes the bundle.
func TestDeviceActionCommands(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddStore(ctx, storage.Store{ID: "S1", Name: "One", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	dev, err := db.AddDevice(ctx, "S1", "Till 1", 0)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(ctx, append(args, "--db", path), &out, &errOut)
		return out.String(), err
	}
	if _, err := run("device", "action", dev.ID, "format_disk"); err == nil {
		t.Error("an unknown action was accepted")
	}
	out, err := run("device", "action", dev.ID, wire.ActionDiagnostics, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var a storage.DeviceAction
	if err := json.Unmarshal([]byte(out), &a); err != nil || a.State != storage.ActionQueued || a.RequestedBy != cliActor() {
		t.Fatalf("device action --json: %q, %v", out, err)
	}
	if _, err := run("device", "diagnostics", a.ID); err == nil {
		t.Error("device diagnostics before any bundle succeeded")
	}

	// The kiosk's side, as its heartbeats do it.
	db, err = storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.LeaseDeviceActions(ctx, dev.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.PutDiagnostics(ctx, dev.ID, a.ID, []byte(`{"app_version":"1.0"}`)); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishDeviceActions(ctx, dev.ID, []wire.ActionResult{{ID: a.ID, OK: true, Detail: "diagnostics bundle uploaded (20 bytes)"}}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	out, err = run("device", "actions", dev.ID)
	if err != nil || !strings.Contains(out, a.ID) || !strings.Contains(out, "done") || !strings.Contains(out, cliActor()) ||
		!strings.Contains(out, "diagnostics bundle uploaded") {
		t.Errorf("device actions: %q, %v", out, err)
	}
	if out, err := run("device", "diagnostics", a.ID); err != nil || strings.TrimSpace(out) != `{"app_version":"1.0"}` {
		t.Errorf("device diagnostics: %q, %v", out, err)
	}
	file := filepath.Join(t.TempDir(), "bundle.json")
	if _, err := run("device", "diagnostics", a.ID, "--out", file); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != `{"app_version":"1.0"}` {
		t.Errorf("--out wrote %q, %v", b, err)
	}
}
