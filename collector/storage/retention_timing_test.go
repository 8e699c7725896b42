package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// TestPurgeTiming measures a purge of NPS_PURGE_ROWS old responses, each with a comment
// and a contact, on every backend: the whole purge and the longest batch (the longest the
// purge holds the writer). Skipped unless the variable is set; figures in
// docs/benchmarks.md come from
//
//	NPS_PURGE_ROWS=100000 scripts/with-postgres.sh go test -tags migrated_fynedo,sqlite_fts5 -run TestPurgeTiming -v ./collector/storage/
func TestPurgeTiming(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("NPS_PURGE_ROWS"))
	if n <= 0 {
		t.Skip("set NPS_PURGE_ROWS to measure a purge")
	}
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		clock := newTestClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: clock.now})
		c.AddStore(t, storage.Store{ID: "S1"})
		dev := c.Enroll(t, "S1", "Till 1").DeviceID
		rng := rand.New(rand.NewPCG(5, 6))
		start := time.Now()
		for done := 0; done < n; {
			var batch []storage.NewResponse
			for i := 0; i < 500 && done < n; i, done = i+1, done+1 {
				at := clock.now().Add(-time.Duration(n-done) * time.Second)
				r := collectortest.Response(rng, at)
				r.Score, r.Comment, r.Contact, r.ContactConsent = 7+rng.IntN(4), fmt.Sprintf("the queue at till %d was long", done), "a@example.com", true
				batch = append(batch, storage.NewResponse{Response: r, Day: at.Format(time.DateOnly), Hash: r.ID})
			}
			if _, err := c.DB.InsertBatch(ctx, storage.Origin{StoreID: "S1", DeviceID: dev}, batch); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("stored %d responses in %s", n, time.Since(start).Round(time.Millisecond))
		clock.set(clock.now().AddDate(2, 0, 0))
		policy := storage.RetentionPolicy{CommentsDays: 365, ContactsDays: 365}
		for _, dry := range []bool{true, false} {
			var batches int
			var longest time.Duration
			opt := storage.PurgeOptions{Owner: "timing", DryRun: dry, OnBatch: func(_ string, _ int, took time.Duration) {
				batches++
				longest = max(longest, took)
			}}
			start := time.Now()
			got, err := c.DB.Purge(ctx, policy, opt)
			took := time.Since(start)
			if err != nil || got.Comments != int64(n) || got.Contacts != int64(n) {
				t.Fatalf("purge: %+v %v", got, err)
			}
			size, _ := c.DB.Size(ctx)
			t.Logf("%s, dry run %v: %d comments and %d contacts in %s (%.0f responses/s), %d batches, the longest %s; database %d bytes",
				b.Name, dry, got.Comments, got.Contacts, took.Round(time.Millisecond), float64(n)/took.Seconds(), batches, longest.Round(time.Millisecond), size)
		}
	})
}
