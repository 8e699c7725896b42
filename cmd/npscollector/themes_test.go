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

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// TestThemesRetag: themes retag re-tags a store's responses now, printing its progress,
// and leaves the job finished.
func TestThemesRetag(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "c.db")
	st, err := storage.Open(ctx, storage.Config{Path: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	svc := collector.New(st)
	if err := st.AddStore(ctx, storage.Store{ID: "S1", Name: "One", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	dev, err := st.AddDevice(ctx, "S1", "Till", 0)
	if err != nil {
		t.Fatal(err)
	}
	enrolled, err := svc.Enroll(ctx, wire.EnrollRequest{Code: dev.Code})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	r := wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: 3, Comment: "rude staff", Locale: "en", SurveyVersion: 1,
		CreatedAt: at, CompletedAt: at.Add(time.Second), Outcome: response.OutcomeSubmitted}
	if res, err := svc.IngestFromDevice(ctx, enrolled.DeviceID, []wire.Response{r}); err != nil || len(res.Accepted) != 1 {
		t.Fatalf("ingest: %+v, %v", res, err)
	}
	st.Close()

	var out, errOut bytes.Buffer
	if err := Run(ctx, []string{"themes", "retag", "--store", "S1", "--db", db}, &out, &errOut); err != nil {
		t.Fatalf("themes retag: %v (%s)", err, errOut.String())
	}
	if !strings.Contains(out.String(), "store S1: 1 of 1 re-tagged") || !strings.Contains(out.String(), "re-tagged the comments of 1 stores") {
		t.Errorf("themes retag printed %q", out.String())
	}
	out.Reset()
	if err := Run(ctx, []string{"themes", "retag", "--json", "--db", db}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var reply struct{ Jobs []storage.ThemeJob }
	if err := json.Unmarshal(out.Bytes(), &reply); err != nil || len(reply.Jobs) != 1 || !reply.Jobs[0].Finished() || reply.Jobs[0].Done != 1 {
		t.Errorf("themes retag --json: %s (%v)", out.String(), err)
	}
}
