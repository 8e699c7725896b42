package storage

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/sync/wire"
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
	if _, err := db.Enroll(ctx, wire.EnrollRequest{Code: "ABCDE-FGHJK"}); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Enroll with an unknown code: %v", err)
	}
}

// Migration 0024 on a database of release 0.1: its 40 responses get positions in
// received order (all listed once, received_at never going back), new ones come after
// them, and its HQ token keeps what tokens could do before scopes.
func TestMigrationGivesOldRowsAndTokensTheirPlace(t *testing.T) {
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
	rows, next, err := db.ResponsesAfter(ctx, ResponseQuery{Limit: 1000})
	if err != nil || len(rows) != 40 {
		t.Fatalf("responses after migration: %d, %v; want 40", len(rows), err)
	}
	seen := map[string]bool{}
	for i, r := range rows {
		if seen[r.ID] {
			t.Errorf("%s listed twice", r.ID)
		}
		seen[r.ID] = true
		if i > 0 && r.ReceivedAt.Before(rows[i-1].ReceivedAt) {
			t.Errorf("row %d received %v, before the row ahead of it (%v)", i, r.ReceivedAt, rows[i-1].ReceivedAt)
		}
	}
	if next.Seq != 40 {
		t.Errorf("last position %+v, want seq 40", next)
	}
	tokens, err := db.APITokens(ctx)
	if err != nil || len(tokens) == 0 {
		t.Fatalf("tokens: %v, %v", tokens, err)
	}
	for _, tok := range tokens {
		if got, want := strings.Join(tok.Scopes, " "), strings.Join(DefaultScopes(), " "); got != want {
			t.Errorf("token %s of release 0.1 has scopes %q, want %q", tok.Name, got, want)
		}
	}
	var last int64
	if err := db.RawQueryRow(ctx, `SELECT last FROM response_seq`).Scan(&last); err != nil || last != 40 {
		t.Errorf("response_seq = %d, %v; want 40 so that new rows come after the old", last, err)
	}
}
