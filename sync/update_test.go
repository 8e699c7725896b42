package sync

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/npskiosk/npskiosk/sync/wire"
)

func TestUpdateFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target string // written by the worker; "" none
		state  string // the updater's file; "" none
		want   UpdateStatus
	}{
		{"nothing", "", "", UpdateStatus{}},
		{"a new target: pending", "0.1.2", "", UpdateStatus{Target: "0.1.2", State: wire.UpdatePending}},
		{"the updater's word on it", "0.1.2", "state=rolled_back\ntarget=0.1.2\ndetail=npskiosk version failed\n", UpdateStatus{Target: "0.1.2", State: wire.UpdateRolledBack}},
		{"a newer target than the updater tried", "0.1.3", "state=rolled_back\ntarget=0.1.2\n", UpdateStatus{Target: "0.1.3", State: wire.UpdatePending}},
		{"no target any more: the last word stays", "", "state=upgraded\ntarget=0.1.2\n", UpdateStatus{Target: "0.1.2", State: wire.UpdateUpgraded}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteUpdateTarget(dir, tc.target); err != nil {
				t.Fatal(err)
			}
			if tc.state != "" {
				if err := os.WriteFile(filepath.Join(dir, UpdateStateFile), []byte(tc.state), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ReadUpdateStatus(dir)
			if err != nil || got != tc.want {
				t.Fatalf("ReadUpdateStatus: %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestWriteUpdateTarget(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, UpdateTargetFile)
	if err := WriteUpdateTarget(dir, "0.1.2"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "0.1.2\n" {
		t.Fatalf("target file: %q", b)
	}
	// What root's updater would pass to apt-get is refused.
	for _, bad := range []string{"0.1.2 --allow-unauthenticated", "-o", "npskiosk=1", "../x", "1\n2"} {
		if err := WriteUpdateTarget(dir, bad); err == nil {
			t.Errorf("WriteUpdateTarget(%q) accepted", bad)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "0.1.2\n" {
		t.Fatalf("target file after refusals: %q", b)
	}
	if err := WriteUpdateTarget(dir, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("no target: the file is still there (%v)", err)
	}
	if err := WriteUpdateTarget(dir, ""); err != nil {
		t.Fatalf("no target twice: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left in the folder: %v", ents)
	}
}

// The heartbeat reply's target reaches the updater's folder, and the updater's word
// reaches the collector's fleet list; a halted rollout takes the target away.
func TestHeartbeatCarriesTheRolloutBothWays(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	dir := t.TempDir()
	w := r.worker(func(c *Config) { c.AppVersion = "0.1.1"; c.UpdateDir = dir })
	if err := w.SendHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, UpdateTargetFile)); !os.IsNotExist(err) {
		t.Fatalf("a target with no rollout (%v)", err)
	}
	if _, err := r.collector.SetRollout(ctx, "0.1.2", 100, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.SendHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, UpdateTargetFile)); string(b) != "0.1.2\n" {
		t.Fatalf("target file: %q", b)
	}
	// The updater (root, npskiosk-update) tried it and put 0.1.1 back.
	if err := os.WriteFile(filepath.Join(dir, UpdateStateFile), []byte("state=rolled_back\ntarget=0.1.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.SendHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	ds, _ := r.collector.Devices(ctx)
	if len(ds) != 1 || ds[0].AppVersion != "0.1.1" || ds[0].UpdateTarget != "0.1.2" || ds[0].UpdateState != wire.UpdateRolledBack {
		t.Fatalf("devices %+v", ds)
	}
	if _, err := r.collector.HaltRollout(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.SendHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, UpdateTargetFile)); !os.IsNotExist(err) {
		t.Fatalf("the target stays after a halt (%v)", err)
	}
}
