package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A kiosk upgraded in place keeps its database: the file written by release 0.1 (50
// simulated responses, 40 of them synced, 4 KiB pages) opens, migrates, is rewritten
// with 1 KiB pages and keeps its outbox.
func TestOpensADatabaseOfRelease01(t *testing.T) {
	b, err := os.ReadFile("testdata/kiosk-0.1.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kiosk.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db := openTest(t, Config{Path: path})
	if got := pragma(t, db, "page_size"); got != "1024" {
		t.Errorf("page_size of the 0.1 database after Open = %s, want 1024", got)
	}
	if err := db.CheckIntegrity(context.Background()); err != nil {
		t.Error(err)
	}
	ob, err := db.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ob.Pending != 10 || ob.Synced != 40 || ob.Quarantined != 0 {
		t.Errorf("outbox of the 0.1 database: %+v, want 10 pending and 40 synced", ob)
	}
	pending, err := db.Pending(context.Background(), 100)
	if err != nil || len(pending) != 10 {
		t.Fatalf("Pending = %d rows, %v", len(pending), err)
	}
	for _, r := range pending {
		if err := r.Validate(); err != nil {
			t.Errorf("a 0.1 response no longer passes the rules: %v", err)
		}
	}
}
