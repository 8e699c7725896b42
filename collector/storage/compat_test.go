package storage

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// A collector upgraded in place keeps its database: the file written by release 0.1
// (store S042, one enrolled till, an HQ token, 40 responses) opens, migrates and reports.
func TestOpensADatabaseOfRelease01(t *testing.T) {
	b, err := os.ReadFile("testdata/collector-0.1.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "collector.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := Open(ctx, Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.CountResponses(ctx, "S042"); err != nil || n != 40 {
		t.Errorf("responses = %d, %v; want 40", n, err)
	}
	rep, err := db.NPS(ctx, Filter{From: "2000-01-01", To: "2999-12-31"})
	if err != nil || rep.Responses+rep.Suspect != 40 {
		t.Errorf("NPS report = %+v, %v; want 40 responses", rep, err)
	}
	devices, err := db.Devices(ctx)
	if err != nil || len(devices) != 1 || !devices[0].Enrolled {
		t.Errorf("devices = %+v, %v; want the one enrolled till", devices, err)
	}
	// 0.1 cleared a code at its first use: it must stay unusable.
	if _, err := db.Enroll(ctx, "ABCDE-FGHJK"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Enroll with an unknown code: %v", err)
	}
}
