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

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// TestRetentionCommands: retention set validates and stores the policy, purge
// --dry-run counts and changes nothing, purge purges and prints its counts, and status
// shows the database's size, the policy and the last purge.
func TestRetentionCommands(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "c.db")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(ctx, append(args, "--db", db), &out, &errOut)
		return out.String(), err
	}
	// Three responses with a comment, tapped two years ago.
	old := time.Now().AddDate(-2, 0, 0)
	sdb, err := storage.Open(ctx, storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return old }})
	if err != nil {
		t.Fatal(err)
	}
	if err := sdb.AddStore(ctx, storage.Store{ID: "S1", Name: "One", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	dev, err := sdb.AddDevice(ctx, "S1", "Till", 0)
	if err != nil {
		t.Fatal(err)
	}
	enrolled, err := sdb.Enroll(ctx, wire.EnrollRequest{Code: dev.Code})
	if err != nil {
		t.Fatal(err)
	}
	var batch []storage.NewResponse
	for i, id := range []string{"0190a000-0000-7000-8000-000000000001", "0190a000-0000-7000-8000-000000000002", "0190a000-0000-7000-8000-000000000003"} {
		at := old.Add(time.Duration(i) * time.Second).UTC().Truncate(time.Millisecond)
		batch = append(batch, storage.NewResponse{Response: wire.Response{ID: id, Score: 9, Reasons: []string{}, Comment: "lovely", Locale: "en",
			SurveyVersion: 1, CreatedAt: at, CompletedAt: at, Outcome: response.OutcomeSubmitted}, Day: at.Format(time.DateOnly), Hash: id})
	}
	if _, err := sdb.InsertBatch(ctx, storage.Origin{StoreID: "S1", DeviceID: enrolled.DeviceID}, batch); err != nil {
		t.Fatal(err)
	}
	sdb.Close()

	if out, err := run("purge"); err != nil || !strings.Contains(out, "keeps everything forever") {
		t.Fatalf("purge with no policy: %q %v", out, err)
	}
	for _, bad := range [][]string{{"retention", "set"}, {"retention", "set", "--comments-days", "-3"}, {"retention", "set", "--contacts-days", "ever"}} {
		if _, err := run(bad...); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
	if out, err := run("retention", "set", "--comments-days", "365"); err != nil || !strings.Contains(out, "comments and free-text answers 365 days") {
		t.Fatalf("retention set: %q %v", out, err)
	}
	out, err := run("purge", "--dry-run", "--json")
	var counts storage.PurgeCounts
	if err != nil || json.Unmarshal([]byte(out), &counts) != nil || counts.Comments != 3 {
		t.Fatalf("purge --dry-run: %q %v", out, err)
	}
	if out, err := run("status"); err != nil || !strings.Contains(out, "last purge    never") || !strings.Contains(out, "database      sqlite") {
		t.Fatalf("status after a dry run: %q %v", out, err)
	}
	if out, err := run("purge"); err != nil || !strings.Contains(out, "responses.comment  3") {
		t.Fatalf("purge: %q %v", out, err)
	}
	out, err = run("status")
	if err != nil || !strings.Contains(out, "purged total  3 rows") || !strings.Contains(out, "responses.comment  3") {
		t.Fatalf("status: %q %v", out, err)
	}
	if out, err := run("purge", "--json"); err != nil || json.Unmarshal([]byte(out), &counts) != nil || counts.Total() != 0 {
		t.Fatalf("second purge: %q %v", out, err)
	}
}
