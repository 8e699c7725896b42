package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/kiosk"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// The setup screen's calls against a real collector over loopback HTTP: a wrong setup
// PIN is refused and joins nothing, the right one names the store without spending the
// code, and Enroll saves the token in the config, into the database the window holds
// open, and starts the worker.
func TestSetupScreenEnrollsWithARealCollector(t *testing.T) {
	ctx := context.Background()
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S1", Name: "Main Street"})
	nd := c.EnrollmentCode(t, "S1", "Till 1")
	dir := t.TempDir()
	conf := filepath.Join(dir, "kiosk.toml")
	writeConfig(t, conf, Config{DB: filepath.Join(dir, "kiosk.db"), AllowInsecureHTTP: true})
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "kiosk.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var out, errOut bytes.Buffer
	m := NewMain(nil, &out, &errOut)
	var started []Config
	s := &screenSetup{m: m, common: commonFlags{config: conf}, db: db, startSync: func(cfg Config) (kiosk.Enrolled, error) {
		started = append(started, cfg)
		return kiosk.Enrolled{}, nil
	}}
	wrong := "000000"
	if nd.SetupPIN == wrong {
		wrong = "999999"
	}
	if _, err := s.Check(ctx, c.URL, wire.EnrollRequest{Code: nd.Code, SetupPIN: wrong}); err == nil || !strings.Contains(err.Error(), "setup PIN is wrong") {
		t.Fatalf("check with a wrong setup PIN: %v", err)
	}
	if _, err := s.Check(ctx, "https://127.0.0.1:1", wire.EnrollRequest{Code: nd.Code, SetupPIN: nd.SetupPIN}); err == nil || !strings.Contains(err.Error(), "cannot reach the collector") {
		t.Fatalf("check of a collector that is not there: %v", err)
	}
	for range 2 {
		p, err := s.Check(ctx, c.URL, wire.EnrollRequest{Code: nd.Code, SetupPIN: nd.SetupPIN})
		if err != nil || p != (wire.EnrollPreview{StoreID: "S1", StoreName: "Main Street", DeviceName: "Till 1"}) {
			t.Fatalf("check = %+v, %v", p, err)
		}
	}
	if cfg, _ := LoadConfig(conf, true); cfg.Enrolled() {
		t.Fatal("the connection test enrolled the kiosk")
	}
	if _, err := s.Enroll(ctx, c.URL, wire.EnrollRequest{Code: nd.Code, SetupPIN: nd.SetupPIN}); err != nil {
		t.Fatalf("enroll: %v (stderr %s)", err, errOut.String())
	}
	cfg, err := LoadConfig(conf, true)
	if err != nil || !cfg.Enrolled() || cfg.Collector.DeviceID != nd.ID || cfg.Collector.URL != c.URL {
		t.Fatalf("config after setup: %+v, %v", cfg.Collector, err)
	}
	if len(started) != 1 || started[0].Collector.DeviceID != nd.ID {
		t.Fatalf("the worker was started with %+v, want the enrolled config once", started)
	}
	if _, err := c.DB.AuthenticateDevice(ctx, cfg.Collector.Token); err != nil {
		t.Fatalf("the saved token does not authenticate at the collector: %v", err)
	}
}
