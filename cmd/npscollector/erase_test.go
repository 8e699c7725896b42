package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/contactvault"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// erase --dry-run prints what would change and changes nothing; erase then clears the
// contact and the comment, keeps the score and prints the audit record's id.
func TestEraseCommand(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddStore(ctx, storage.Store{ID: "S1", Name: "One", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	link, err := db.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "qr"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	r := wire.Response{ID: "0190a0c0-0000-7000-8000-000000000001", Score: 3, Reasons: []string{}, Comment: "rude staff",
		Contact: "ana@example.com", ContactConsent: true, Locale: "en", SurveyVersion: 1, CreatedAt: at, CompletedAt: at,
		Outcome: response.OutcomeSubmitted, Channel: "qr"}
	if _, err := db.InsertBatch(ctx, storage.Origin{StoreID: "S1", LinkID: link.ID},
		[]storage.NewResponse{{Response: r, Day: at.Format(time.DateOnly), Hash: "h"}}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := Run(ctx, append(args, "--db", path), &out, &errOut); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, errOut.String())
		}
		return out.String()
	}
	out := run("erase", "--contact", " ANA@example.com", "--dry-run")
	if !strings.Contains(out, "dry run") || !strings.Contains(out, "responses        1") || strings.Contains(out, "audit record") {
		t.Errorf("erase --dry-run printed:\n%s", out)
	}
	var er storage.Erasure
	if err := json.Unmarshal([]byte(run("erase", "--contact", "ana@example.com", "--json")), &er); err != nil ||
		er.DryRun || er.Changed["responses"] != 1 || er.Changed["search_index"] != 1 || er.AuditID == "" {
		t.Errorf("erase --json: %+v, %v", er, err)
	}
	db, err = storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var score int
	var comment, contact, actor string
	if err := db.RawQueryRow(ctx, `SELECT score, comment, contact, (SELECT actor FROM erasures) FROM responses`).Scan(&score, &comment, &contact, &actor); err != nil ||
		score != 3 || comment != "" || contact != "" || !strings.HasPrefix(actor, "cli:") {
		t.Errorf("after erase: score %d, comment %q, contact %q, actor %q, %v", score, comment, contact, actor, err)
	}
	if out := run("erase", "--contact", "ana@example.com"); !strings.Contains(out, "responses        0") {
		t.Errorf("a second erasure found something:\n%s", out)
	}
}

// The rotation procedure of docs/operations.md, by the commands: key-retire refuses
// while a contact is under the old key, rekey moves them all, then key-retire removes it
// and the contact still reads.
func TestContactStoreKeyRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	keys := filepath.Join(dir, "contact-store.keys") // where every command looks beside the database
	v, created, err := contactvault.LoadOrCreate(keys, time.Now())
	if err != nil || !created {
		t.Fatal(err)
	}
	db, err := storage.Open(ctx, storage.Config{Path: path, Logger: slog.New(slog.DiscardHandler), ContactVault: v})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddStore(ctx, storage.Store{ID: "S1", Name: "One", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	link, err := db.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "qr"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	r := wire.Response{ID: "0190a0c0-0000-7000-8000-000000000002", Score: 9, Reasons: []string{}, Contact: "ana@example.com",
		ContactConsent: true, Locale: "en", SurveyVersion: 1, CreatedAt: at, CompletedAt: at, Outcome: response.OutcomeSubmitted, Channel: "qr"}
	if _, err := db.InsertBatch(ctx, storage.Origin{StoreID: "S1", LinkID: link.ID},
		[]storage.NewResponse{{Response: r, Day: at.Format(time.DateOnly), Hash: "h"}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(ctx, append(args, "--db", path), &out, &errOut)
		return out.String(), err
	}
	if out, err := run("contacts", "key-rotate"); err != nil || !strings.Contains(out, "added to "+keys) {
		t.Fatalf("key-rotate: %q, %v", out, err)
	}
	if _, err := run("contacts", "key-retire"); err == nil || !strings.Contains(err.Error(), "run npscollector contacts rekey first") {
		t.Fatalf("key-retire before rekey: %v", err)
	}
	if out, err := run("contacts", "rekey"); err != nil || !strings.Contains(out, "1 contacts read, 1 re-encrypted") || !strings.Contains(out, "0 unreadable") {
		t.Fatalf("rekey: %q, %v", out, err)
	}
	if out, err := run("contacts", "key-retire"); err != nil || !strings.Contains(out, "removed 1 old") {
		t.Fatalf("key-retire: %q, %v", out, err)
	}
	if out, err := run("export", "--format", "csv", "--from", "2000-01-01", "--to", "2100-01-01"); err != nil || !strings.Contains(out, "ana@example.com") {
		t.Errorf("export after the rotation: %v\n%s", err, out)
	}
}
