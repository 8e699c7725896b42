package storage_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// A delivery fails twice, at known times, then gives up: the log keeps both attempts in
// the order they happened, with their status, error and duration.
func TestDeliveryAttempts(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		now := t0
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return now }})
		c.AddStore(t, storage.Store{ID: "S001"})
		sub, err := c.DB.AddSubscription(ctx, storage.Subscription{ScopeKind: storage.ScopeChain, URL: "https://hooks.example/nps",
			Secret: "whsec_AAAA", Events: []string{storage.EventCaseOpened}})
		if err != nil {
			t.Fatal(err)
		}
		dev := c.Enroll(t, "S001", "Till 1")
		r := collectortest.Response(rand.New(rand.NewPCG(7, 7)), now.Add(-time.Minute))
		r.Score = 1
		if _, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, []wire.Response{r}); err != nil {
			t.Fatal(err)
		}

		attempts := []storage.Attempt{
			{StatusCode: 500, Err: "the receiver answered 500 Internal Server Error", Duration: 1500 * time.Millisecond, Retry: t0.Add(time.Minute)},
			{StatusCode: 0, Err: "dial tcp: connection refused", Duration: 3 * time.Millisecond}, // no retry: failed for good
		}
		var id int64
		for i, a := range attempts {
			now = t0.Add(time.Duration(i) * time.Minute)
			ds, err := c.DB.ClaimDeliveries(ctx, 10, now.Add(time.Minute))
			if err != nil || len(ds) != 1 {
				t.Fatalf("attempt %d: claimed %d deliveries, %v", i+1, len(ds), err)
			}
			id = ds[0].ID
			if err := c.DB.RecordAttempt(ctx, ds[0], a); err != nil {
				t.Fatal(err)
			}
		}

		got, err := c.DB.DeliveryAttempts(ctx, id)
		if err != nil || len(got) != len(attempts) {
			t.Fatalf("DeliveryAttempts(%d): %d attempts, %v; want %d", id, len(got), err, len(attempts))
		}
		for i, a := range attempts {
			want := storage.DeliveryAttempt{At: t0.Add(time.Duration(i) * time.Minute), StatusCode: a.StatusCode, Error: a.Err, Duration: a.Duration}
			if !got[i].At.Equal(want.At) || got[i].StatusCode != want.StatusCode || got[i].Error != want.Error || got[i].Duration != want.Duration {
				t.Errorf("attempt %d: %+v, want %+v", i+1, got[i], want)
			}
		}

		l, err := c.DB.DeliveryLogEntry(ctx, id)
		if err != nil || l.Status != "failed" || l.Attempts != 2 || l.Subscription != sub.ID || l.EventType != storage.EventCaseOpened ||
			l.LastError != attempts[1].Err || !l.NextAttempt.IsZero() {
			t.Errorf("DeliveryLogEntry(%d): %+v, %v", id, l, err)
		}

		if _, err := c.DB.DeliveryLogEntry(ctx, id+1000); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("an unknown delivery: %v, want ErrNotFound", err)
		}
		if none, err := c.DB.DeliveryAttempts(ctx, id+1000); err != nil || len(none) != 0 {
			t.Errorf("attempts of an unknown delivery: %v, %v", none, err)
		}
	})
}
