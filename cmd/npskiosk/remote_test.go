package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// The real program, headless (npskiosk sync, as npskiosk-sync.service runs it), gets a
// diagnostics action and a restart action on its first heartbeat: it uploads a bundle
// with doctor's lines and its recent logs, holding neither its token nor the PIN's
// hash, then exits with wire.ExitRestart for systemd's Restart=always to start it
// again. The next process reports both results, and stops cleanly on SIGTERM.
func TestRemoteActionsRestartTheProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the program as a child process")
	}
	ctx := context.Background()
	conf, _, c := enrolledKiosk(t)
	cfg, err := LoadConfig(conf, true)
	if err != nil {
		t.Fatal(err)
	}
	var hash bytes.Buffer
	if err := Run(ctx, []string{"pin-hash"}, strings.NewReader("2468\n"), &hash, io.Discard); err != nil {
		t.Fatal(err)
	}
	cfg.ManagerPINHash = strings.TrimSpace(hash.String())
	writeConfig(t, conf, cfg)
	var devID string
	ds, err := c.DB.Devices(ctx)
	if err != nil || len(ds) != 1 {
		t.Fatalf("devices: %v, %v", ds, err)
	}
	devID = ds[0].ID
	diag, err := c.Service.QueueDeviceAction(ctx, devID, wire.ActionDiagnostics, "it@hq.example")
	if err != nil {
		t.Fatal(err)
	}
	restart, err := c.Service.QueueDeviceAction(ctx, devID, wire.ActionRestart, "it@hq.example")
	if err != nil {
		t.Fatal(err)
	}

	start := func() (*exec.Cmd, *bytes.Buffer, chan error) {
		cmd := exec.Command(os.Args[0], "sync", "--config", conf)
		cmd.Env = append(os.Environ(), mainEnv+"=1")
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		return cmd, &stderr, exited
	}
	cmd, stderr, exited := start()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != wire.ExitRestart {
			t.Fatalf("npskiosk sync after a restart action: %v, want exit status %d\n%s", err, wire.ExitRestart, stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("npskiosk sync did not stop for the restart action\n%s", stderr.String())
	}
	_, body, err := c.DB.Diagnostics(ctx, diag.ID)
	if err != nil {
		t.Fatalf("no bundle at the collector: %v\n%s", err, stderr.String())
	}
	for _, secret := range []string{cfg.Collector.Token, cfg.ManagerPINHash} {
		if strings.Contains(string(body), secret) {
			t.Errorf("the bundle holds a secret %q", secret)
		}
	}
	var d wire.Diagnostics
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	doctorSaid := strings.Join(d.Doctor, "\n")
	if !strings.Contains(doctorSaid, "database") || !strings.Contains(doctorSaid, "token") || !strings.Contains(strings.Join(d.Logs, "\n"), "remote action") {
		t.Errorf("bundle doctor %q, logs %q", d.Doctor, d.Logs)
	}
	if d.AppVersion != version {
		t.Errorf("bundle version %q, want %q", d.AppVersion, version)
	}

	// systemd starts it again: the new process reports both results.
	cmd, stderr, exited = start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		as, err := c.DB.DeviceActions(ctx, devID, 10)
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, a := range as {
			if a.State == storage.ActionDone && (a.ID == diag.ID || a.ID == restart.ID) {
				done++
			}
		}
		if done == 2 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("results not reported by the restarted program: %+v\n%s", as, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the restarted program after SIGTERM: %v, want exit status 0\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the restarted program did not stop on SIGTERM")
	}
}

// The window's restart: asked twice (or before the window opened), it wakes the
// window's watcher once and the program exits with wire.ExitRestart; without one it
// exits as before.
func TestAskRestartExitsWithItsStatus(t *testing.T) {
	m := NewMain(nil, io.Discard, io.Discard)
	if err := m.restartExit(); err != nil {
		t.Fatalf("no restart asked: %v", err)
	}
	select {
	case <-m.restartAsked():
		t.Fatal("restartAsked closed before any restart was asked")
	default:
	}
	m.askRestart()
	m.askRestart() // a second ask must not close the channel twice
	select {
	case <-m.restartAsked():
	case <-time.After(time.Second):
		t.Fatal("restartAsked not closed after askRestart")
	}
	if code := exitCode(m.restartExit()); code != wire.ExitRestart {
		t.Errorf("exit status %d, want %d", code, wire.ExitRestart)
	}
}
