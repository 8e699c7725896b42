package main

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
)

// TestSyncKeepsTheDatabaseSmall: the running kiosk (here npskiosk sync, which runs what
// the window runs beside it) purges synced responses past retention and keeps its
// reserve file, so the disk does not only fill.
func TestSyncKeepsTheDatabaseSmall(t *testing.T) {
	conf, dbPath, _ := enrolledKiosk(t)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: dbPath, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-Config{}.Retention() - 24*time.Hour)
	r := response.Response{ID: "0190b8c0-0000-7000-8000-000000000001", Score: 9, Reasons: []string{}, Locale: "en",
		SurveyVersion: 1, CreatedAt: old, CompletedAt: old.Add(time.Minute), Outcome: response.OutcomeSubmitted}
	if err := db.Insert(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MarkSynced(ctx, []string{r.ID}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	rctx, cancel := context.WithCancel(ctx)
	defer time.AfterFunc(2*time.Second, cancel).Stop()
	var out, errOut bytes.Buffer
	if err := Run(rctx, []string{"sync", "--config", conf}, nil, &out, &errOut); err != nil {
		t.Fatalf("sync: %v\n%s", err, errOut.String())
	}

	db, err = store.OpenReadOnly(ctx, store.Config{Path: dbPath, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Get(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a response synced %s ago is still kept (%v), want it purged", time.Since(old).Round(time.Hour), err)
	}
	if s := db.Storage(); !s.ReserveHeld {
		t.Errorf("no reserve file next to the database: %+v", s)
	}
}
