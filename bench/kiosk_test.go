package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// storeCollector is a collector on loopback with one store and one enrolled till: a
// kiosk window shows the survey only once it is enrolled.
type storeCollector struct {
	url, token, deviceID string
}

// startStoreCollector starts npscollector serve with store S1 and its till enrolled;
// the test's cleanup stops it.
func startStoreCollector(tb testing.TB) storeCollector {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	dbPath := filepath.Join(dir, "collector.db")
	db, err := storage.Open(ctx, storage.Config{Path: dbPath, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.AddStore(ctx, storage.Store{ID: "S1", Name: "Main Street", Timezone: "UTC"}); err != nil {
		tb.Fatal(err)
	}
	nd, err := db.AddDevice(ctx, "S1", "Till 1", 0)
	if err != nil {
		tb.Fatal(err)
	}
	en, err := db.Enroll(ctx, wire.EnrollRequest{Code: nd.Code})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	url, _ := startCollector(tb, program(tb, "npscollector"), dbPath, filepath.Join(dir, "collector.log"))
	return storeCollector{url: url, token: en.Token, deviceID: en.DeviceID}
}

// kioskConfig writes, in dir, the config of a kiosk enrolled with the collector, its
// database in dir too, and returns its path.
func (c storeCollector) kioskConfig(tb testing.TB, dir string) string {
	tb.Helper()
	cfg := filepath.Join(dir, "kiosk.toml")
	body := fmt.Sprintf("db = %q\nhide_cursor = true\n\n[collector]\nurl = %q\ntoken = %q\ndevice_id = %q\nstore_id = \"S1\"\n",
		filepath.Join(dir, "kiosk.db"), c.url, c.token, c.deviceID)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	return cfg
}
