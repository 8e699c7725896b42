package storage_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// A collector that drains hands back the deliveries it claimed and did not send: they
// can be claimed again at once, by anyone, and only with the lease they were claimed
// under, so a lease that changed hands is not taken from its new holder.
func TestReleaseDeliveries(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return now }})
		c.AddStore(t, storage.Store{ID: "S001"})
		if _, err := c.DB.AddSubscription(ctx, storage.Subscription{ScopeKind: storage.ScopeChain, URL: "https://hooks.example/nps",
			Secret: "whsec_AAAA", Events: []string{storage.EventCaseOpened}}); err != nil {
			t.Fatal(err)
		}
		dev := c.Enroll(t, "S001", "Till 1")
		rng := rand.New(rand.NewPCG(7, 8))
		var batch []wire.Response
		for range 3 {
			r := collectortest.Response(rng, now.Add(-time.Minute))
			r.Score = 2
			batch = append(batch, r)
		}
		if _, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, batch); err != nil {
			t.Fatal(err)
		}
		lease := now.Add(time.Minute)
		claimed, err := c.DB.ClaimDeliveries(ctx, 10, lease)
		if err != nil || len(claimed) != 3 {
			t.Fatalf("claimed %d deliveries, %v; want 3", len(claimed), err)
		}
		for _, tc := range []struct {
			name    string
			ids     []int64
			lease   time.Time
			reclaim int
		}{
			{"another lease's holder keeps it", []int64{claimed[0].ID}, lease.Add(time.Second), 0},
			{"handed back", []int64{claimed[0].ID, claimed[1].ID}, lease, 2},
			{"nothing", nil, lease, 0},
		} {
			if err := c.DB.ReleaseDeliveries(ctx, tc.ids, tc.lease); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			again, err := c.DB.ClaimDeliveries(ctx, 10, lease)
			if err != nil || len(again) != tc.reclaim {
				t.Errorf("%s: claimed again %d deliveries, %v; want %d", tc.name, len(again), err, tc.reclaim)
			}
		}
	})
}

// A draining collector hands back its re-tagging leases: another collector claims the
// job at once, where before it waited for the lease to run out; a job whose lease is
// another's is not touched.
func TestReleaseThemeJobs(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		c.AddStore(t, storage.Store{ID: "S001"})
		if _, err := c.DB.StartThemeJob(ctx, "S001", "fp1", true); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := c.DB.ClaimThemeJob(ctx, "a", "", time.Hour); err != nil || !ok {
			t.Fatalf("a claims: %v, %v", ok, err)
		}
		for _, tc := range []struct {
			release string
			want    bool
		}{
			{"", false},
			{"c", false}, // not c's
			{"a", true},
		} {
			if tc.release != "" {
				if err := c.DB.ReleaseThemeJobs(ctx, tc.release); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok, err := c.DB.ClaimThemeJob(ctx, "b", "", time.Hour); err != nil || ok != tc.want {
				t.Errorf("after releasing %q, b claims: %v, %v; want %v", tc.release, ok, err, tc.want)
			}
		}
	})
}
