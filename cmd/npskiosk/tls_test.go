package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/tlstrust"
	"github.com/npskiosk/npskiosk/sync/tlstrust/tlstrusttest"
)

// serveTLS serves a real collector over TLS with cert; it returns the collector and
// its https:// URL.
func serveTLS(t *testing.T, cert tls.Certificate) (*collectortest.Collector, string) {
	t.Helper()
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S1"})
	srv := httptest.NewUnstartedServer(c.API)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, nil, &out, &errOut)
	return out.String() + errOut.String(), err
}

func pendingIn(t *testing.T, dbPath string) int64 {
	t.Helper()
	db, err := store.OpenReadOnly(context.Background(), store.Config{Path: dbPath, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ob, err := db.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ob.Pending
}

// TestTLSCommands: enroll, status, doctor and sync --once against a collector with a
// private CA: refused with the cause named while the trust is wrong, nothing lost, and
// fine once the config is fixed.
func TestTLSCommands(t *testing.T) {
	ca, other := tlstrusttest.NewCA(t, "Chain Root CA"), tlstrusttest.NewCA(t, "Other CA")
	year := time.Now().Add(365 * 24 * time.Hour)
	good := ca.Issue(t, "collector.test", year)
	c, url := serveTLS(t, good.TLS)
	dir := t.TempDir()
	conf, dbPath := filepath.Join(dir, "kiosk.toml"), filepath.Join(dir, "kiosk.db")

	// Without the CA, enroll is refused and names the cause.
	writeConfig(t, conf, Config{DB: dbPath})
	code := c.EnrollmentCode(t, "S1", "Till 1").Code
	if out, err := runCmd(t, "enroll", "--config", conf, "--collector", url, "--code", code); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("enroll without the CA: %v\n%s", err, out)
	}
	writeConfig(t, conf, Config{DB: dbPath, CAFile: ca.File})
	if out, err := runCmd(t, "enroll", "--config", conf, "--collector", url, "--code", code); err != nil {
		t.Fatalf("enroll with ca_file: %v\n%s", err, out)
	}
	cfg, err := LoadConfig(conf, true)
	if err != nil || cfg.CAFile != ca.File || !cfg.Enrolled() {
		t.Fatalf("config after enroll: %+v, %v", cfg, err)
	}
	kioskDB(t, dbPath, 3)

	// A pin mismatch: refused everywhere with the cause, the 3 responses still waiting.
	cfg.Pins = []string{tlstrust.Pin(other.Cert), tlstrust.Pin(other.Issue(t, "x", year).Leaf)}
	writeConfig(t, conf, cfg)
	out, err := runCmd(t, "status", "--config", conf)
	if exitCode(err) != statusNeedsAttention || !strings.Contains(out, "pin mismatch") {
		t.Errorf("status with a pin mismatch: %v\n%s", err, out)
	}
	out, err = runCmd(t, "doctor", "--config", conf)
	if err == nil || !strings.Contains(out, "FAIL tls") || !strings.Contains(out, "pin mismatch") {
		t.Errorf("doctor with a pin mismatch: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "sync", "--once", "--config", conf); err == nil || !strings.Contains(err.Error(), "pin mismatch") {
		t.Errorf("sync --once with a pin mismatch: %v\n%s", err, out)
	}
	// The wrong CA.
	cfg.Pins, cfg.CAFile = nil, other.File
	writeConfig(t, conf, cfg)
	out, err = runCmd(t, "doctor", "--config", conf)
	if err == nil || !strings.Contains(out, "FAIL tls") || !strings.Contains(out, "unknown authority") {
		t.Errorf("doctor with the wrong CA: %v\n%s", err, out)
	}
	if n := pendingIn(t, dbPath); n != 3 || c.Count(t, "S1") != 0 {
		t.Fatalf("after refused syncs: %d pending, %d at the collector; want 3 and 0", n, c.Count(t, "S1"))
	}

	// Fixed.
	cfg.CAFile, cfg.CAMode = ca.File, "replace"
	cfg.Pins = []string{tlstrust.Pin(other.Cert), tlstrust.Pin(good.Leaf)}
	writeConfig(t, conf, cfg)
	out, err = runCmd(t, "doctor", "--config", conf)
	for _, want := range []string{"OK   tls", "CN=collector.test", "CN=Chain Root CA", good.Leaf.NotAfter.UTC().Format(time.RFC3339), "pin matched", "OK   token"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor once fixed lacks %q: %v\n%s", want, err, out)
		}
	}
	if out, err := runCmd(t, "sync", "--once", "--config", conf); err != nil {
		t.Fatalf("sync --once once fixed: %v\n%s", err, out)
	}
	if n := pendingIn(t, dbPath); n != 0 || c.Count(t, "S1") != 3 {
		t.Errorf("once fixed: %d pending, %d at the collector; want 0 and 3", n, c.Count(t, "S1"))
	}
	if out, err := runCmd(t, "status", "--config", conf); err != nil {
		t.Errorf("status once fixed: %v\n%s", err, out)
	}
}

// TestDoctorWarnsOfExpiry: a certificate expiring within 14 days is a warning, not a
// failure.
func TestDoctorWarnsOfExpiry(t *testing.T) {
	ca := tlstrusttest.NewCA(t, "Chain Root CA")
	c, url := serveTLS(t, ca.Issue(t, "collector.test", time.Now().Add(5*24*time.Hour)).TLS)
	en := c.Enroll(t, "S1", "Till 1")
	dir := t.TempDir()
	conf, dbPath := filepath.Join(dir, "kiosk.toml"), filepath.Join(dir, "kiosk.db")
	writeConfig(t, conf, Config{DB: dbPath, CAFile: ca.File, Collector: CollectorConfig{URL: url, Token: en.Token, DeviceID: en.DeviceID, StoreID: "S1"}})
	kioskDB(t, dbPath, 0)
	out, err := runCmd(t, "doctor", "--config", conf)
	if err != nil || !strings.Contains(out, "WARN tls") || !strings.Contains(out, "expires within 14 days") {
		t.Errorf("doctor: %v\n%s", err, out)
	}
}

// TestInsecureHTTP: plain http:// to a host that is not loopback is refused unless
// allow_insecure_http, and then status and doctor say so.
func TestInsecureHTTP(t *testing.T) {
	dir := t.TempDir()
	conf, dbPath := filepath.Join(dir, "kiosk.toml"), filepath.Join(dir, "kiosk.db")
	remote := "http://collector.invalid"
	if out, err := runCmd(t, "enroll", "--config", conf, "--db", dbPath, "--collector", remote, "--code", "C"); err == nil || !strings.Contains(err.Error(), "allow_insecure_http") {
		t.Errorf("enroll over plain HTTP: %v\n%s", err, out)
	}
	cfg := Config{DB: dbPath, Collector: CollectorConfig{URL: remote, Token: "dev_x", DeviceID: "D1", StoreID: "S1"}}
	writeConfig(t, conf, cfg)
	kioskDB(t, dbPath, 1)
	out, err := runCmd(t, "status", "--config", conf)
	if exitCode(err) != statusNeedsAttention || !strings.Contains(out, "allow_insecure_http") {
		t.Errorf("status: %v\n%s", err, out)
	}
	out, err = runCmd(t, "doctor", "--config", conf)
	if err == nil || !strings.Contains(out, "FAIL tls") || !strings.Contains(out, "allow_insecure_http") {
		t.Errorf("doctor: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "sync", "--once", "--config", conf); err == nil || !strings.Contains(err.Error(), "allow_insecure_http") {
		t.Errorf("sync --once: %v\n%s", err, out)
	}

	cfg.AllowInsecureHTTP = true
	writeConfig(t, conf, cfg)
	out, _ = runCmd(t, "status", "--config", conf)
	if !strings.Contains(out, "plain HTTP, NOT encrypted") {
		t.Errorf("status with allow_insecure_http:\n%s", out)
	}
	out, _ = runCmd(t, "doctor", "--config", conf)
	if !strings.Contains(out, "WARN tls") || !strings.Contains(out, "unencrypted") {
		t.Errorf("doctor with allow_insecure_http:\n%s", out)
	}

	// Loopback is fine without it (make run).
	if err := (Config{}).Trust().CheckURL("http://127.0.0.1:8080"); err != nil {
		t.Errorf("loopback: %v", err)
	}
}
