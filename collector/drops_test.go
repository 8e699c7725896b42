package collector_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// scores makes n scores with the given shares of promoters (10) and detractors (2); the
// rest are passives (8).
func scores(n int, promoters, detractors float64) []int {
	out := make([]int, n)
	for i := range out {
		switch f := float64(i) / float64(n); {
		case f < promoters:
			out[i] = 10
		case f < promoters+detractors:
			out[i] = 2
		default:
			out[i] = 8
		}
	}
	return out
}

func TestDropAlertFiresOncePerEpisodeAndNotOnNoise(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return now }})
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(4, 2))
		// upload spreads the scores over the days [from, to] days ago.
		upload := func(store string, from, to int, ss []int) {
			t.Helper()
			dev := c.Enroll(t, store, "Till "+store)
			var batch []wire.Response
			for i, s := range ss {
				ago := from - i%(from-to+1)
				r := collectortest.Response(rng, now.AddDate(0, 0, -ago))
				r.Score = s
				batch = append(batch, r)
			}
			for len(batch) > 0 {
				k := min(len(batch), wire.MaxBatchItems)
				if _, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, batch[:k]); err != nil {
					t.Fatal(err)
				}
				batch = batch[k:]
			}
		}
		for _, id := range []string{"DROP", "SMALL", "NOISE"} {
			c.AddStore(t, storage.Store{ID: id, Timezone: "Europe/Berlin"})
			upload(id, 35, 8, scores(200, 0.6, 0.1)) // the four weeks before: NPS 50
		}
		upload("DROP", 7, 1, scores(100, 0.3, 0.4))  // last week: NPS −10
		upload("SMALL", 7, 1, scores(10, 0, 1))      // ten detractors: too few to call
		upload("NOISE", 7, 1, scores(60, 0.5, 0.12)) // NPS 38: within the margins

		emitted, err := c.Service.CheckDrops(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(emitted) != 1 || emitted["DROP"] != storage.EventNPSDropped {
			t.Fatalf("first check emitted %v, want only DROP's nps.dropped", emitted)
		}
		if again, err := c.Service.CheckDrops(ctx, now.Add(time.Hour)); err != nil || len(again) != 0 {
			t.Fatalf("a second check in the same episode emitted %v, %v", again, err)
		}
		// A week later the bad week has left the window: the episode ends, once.
		later := now.AddDate(0, 0, 8)
		if ended, err := c.Service.CheckDrops(ctx, later); err != nil || ended["DROP"] != storage.EventNPSRecovered {
			t.Fatalf("after the episode: %v, %v; want DROP's nps.recovered", ended, err)
		}
		if quiet, err := c.Service.CheckDrops(ctx, later); err != nil || len(quiet) != 0 {
			t.Fatalf("after recovery: %v, %v", quiet, err)
		}
	})
}
