package collector_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// sigNow is the clock of the significance tests; the current period is the 7 days
// 2026-03-14..20, the previous one 2026-03-07..13.
var sigNow = time.Date(2026, 3, 21, 12, 0, 0, 0, time.UTC)

// answersOf makes p promoters (10), pa passives (8) and d detractors (2), with segment
// seg, spread over the 7 days that end on last, and ingests them from a new kiosk of
// the store.
func answersOf(t *testing.T, c *collectortest.Collector, rng *rand.Rand, store string, last time.Time, p, pa, d int, seg string) {
	t.Helper()
	dev := c.Enroll(t, store, "Till")
	var batch []wire.Response
	for score, n := range map[int]int{10: p, 8: pa, 2: d} {
		for i := range n {
			r := collectortest.Response(rng, last.AddDate(0, 0, -(i%7)))
			r.Score, r.Reasons, r.Segment = score, nil, seg
			batch = append(batch, r)
		}
	}
	for len(batch) > 0 {
		k := min(len(batch), wire.MaxBatchItems)
		res, err := c.Service.IngestFromDevice(context.Background(), dev.DeviceID, batch[:k])
		if err != nil || len(res.Accepted) != k {
			t.Fatalf("ingest for %s: %+v, %v", store, res, err)
		}
		batch = batch[k:]
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.01 }

// TestPeriodOverPeriodSignificance checks the NPS report's change against figures worked
// by hand with the NPS variance (p + d − (p − d)²)/n × 100², the two periods' variances
// added, and a 95 % margin of 1.96·√var.
func TestPeriodOverPeriodSignificance(t *testing.T) {
	type mix struct{ p, pa, d int }
	for _, tc := range []struct {
		name      string
		prev, cur mix
		minN      int64
		delta     float64
		margin    float64
		enough    bool
		sig       bool
	}{
		// prev 60/30/10 of 100: NPS 50, var (0.7 − 0.25)/100 × 10⁴ = 45.
		// cur 30/30/40 of 100: NPS −10, var (0.7 − 0.01)/100 × 10⁴ = 69.
		// Δ −60, margin 1.96·√114 = 20.93: [−80.93, −39.07] leaves out 0.
		{"a real drop", mix{60, 30, 10}, mix{30, 30, 40}, 0, -60, 20.93, true, true},
		// Both 60/30/10 of 100: Δ 0, margin 1.96·√(45 + 45) = 18.59.
		{"identical periods", mix{60, 30, 10}, mix{60, 30, 10}, 0, 0, 18.59, true, false},
		// The same shares at n = 10: var 450 and 690, margin 1.96·√1140 = 66.18; and 10 <
		// 30 responses: never significant.
		{"noise at small n", mix{6, 3, 1}, mix{3, 3, 4}, 0, -60, 66.18, false, false},
		// 10 promoters, then 10 detractors: unanimous sides (variance 0), Δ −200, margin 0;
		// below the minimum of 30, so not significant however large.
		{"n below the minimum", mix{10, 0, 0}, mix{0, 0, 10}, 0, -200, 0, false, false},
		// The same with min_n 10: both sides have enough, and a difference with no spread
		// at all is real.
		{"n at a lowered minimum", mix{10, 0, 0}, mix{0, 0, 10}, 10, -200, 0, true, true},
		// 18/9/3 of 30 (NPS 50, var 0.45/30 × 10⁴ = 150) and 9/9/12 of 30 (NPS −10, var
		// 0.69/30 × 10⁴ = 230): margin 1.96·√380 = 38.21, Δ −60: significant at exactly 30.
		{"a drop at exactly the minimum", mix{18, 9, 3}, mix{9, 9, 12}, 0, -60, 38.21, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
				c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return sigNow }})
				rng := rand.New(rand.NewPCG(18, 4))
				c.AddStore(t, storage.Store{ID: "S1"})
				answersOf(t, c, rng, "S1", time.Date(2026, 3, 13, 12, 0, 0, 0, time.UTC), tc.prev.p, tc.prev.pa, tc.prev.d, "")
				answersOf(t, c, rng, "S1", time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC), tc.cur.p, tc.cur.pa, tc.cur.d, "")
				rep, err := c.Service.PeriodReport(context.Background(),
					storage.Filter{StoreID: "S1", From: "2026-03-14", To: "2026-03-20", MinResponses: tc.minN})
				if err != nil {
					t.Fatal(err)
				}
				d := rep.Change
				if rep.PreviousFrom != "2026-03-07" || rep.PreviousTo != "2026-03-13" ||
					rep.Previous.Responses != int64(tc.prev.p+tc.prev.pa+tc.prev.d) ||
					rep.Responses != int64(tc.cur.p+tc.cur.pa+tc.cur.d) {
					t.Fatalf("periods: %+v", rep)
				}
				if !near(d.Delta, tc.delta) || !near(d.Margin, tc.margin) || !near(d.Low, tc.delta-tc.margin) ||
					!near(d.High, tc.delta+tc.margin) || d.Enough != tc.enough || d.Significant != tc.sig {
					t.Errorf("change %+v, want Δ %.2f ± %.2f, enough %v, significant %v", d, tc.delta, tc.margin, tc.enough, tc.sig)
				}
			})
		})
	}
}

// TestStoreRankingAndComparisons ranks four stores over one week (worked by hand):
//
//	A 24/12/4 of 40: NPS 50     B 15/15/0 of 30: NPS 50 (a tie with A)
//	C 20/20/10 of 50: NPS 20    D 10/0/0 of 10: NPS 100, below the minimum of 30
//
// so A and B rank 1, C ranks 3 and D is unranked. C against the rest (A + B + D: 49/27/4
// of 80, NPS 56.25): var C (0.6 − 0.04)/50 × 10⁴ = 112, var rest (0.6625 − 0.3164)/80 ×
// 10⁴ = 43.26, Δ −36.25 ± 1.96·√155.26 = 24.42: significant, worse than the rest.
// Regions: north (A, B) 39/27/4 of 70, NPS 50, var (0.6143 − 0.25)/70 × 10⁴ = 52.04;
// south (C, D) 30/20/10 of 60, NPS 33.33, var (0.6667 − 0.1111)/60 × 10⁴ = 92.59; north
// − south = 16.67 ± 1.96·√144.63 = 23.57: not significant.
func TestStoreRankingAndComparisons(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return sigNow }})
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(18, 5))
		last := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
		for _, s := range []struct {
			id, region, format string
			p, pa, d           int
		}{
			{"A", "north", "supermarket", 24, 12, 4}, {"B", "north", "express", 15, 15, 0},
			{"C", "south", "supermarket", 20, 20, 10}, {"D", "south", "express", 10, 0, 0},
		} {
			c.AddStore(t, storage.Store{ID: s.id, Region: s.region, Format: s.format})
			answersOf(t, c, rng, s.id, last, s.p, s.pa, s.d, "")
		}
		week := storage.Filter{From: "2026-03-14", To: "2026-03-20"}
		rep, err := c.Service.RankStores(ctx, week)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Ranking != collector.RankingRanked || rep.MinResponses != nps.DefaultMinResponses {
			t.Errorf("ranking %q, min %d", rep.Ranking, rep.MinResponses)
		}
		got := map[string]storage.StoreReport{}
		for _, r := range rep.Stores {
			got[r.ID] = r
		}
		for id, want := range map[string]int{"A": 1, "B": 1, "C": 3, "D": 0} {
			if got[id].Rank != want {
				t.Errorf("store %s: rank %d, want %d", id, got[id].Rank, want)
			}
		}
		if got["D"].Unranked != "fewer than 30 responses" || got["A"].Unranked != "" {
			t.Errorf("unranked reasons: D %q, A %q", got["D"].Unranked, got["A"].Unranked)
		}
		if v := got["C"].VsRest; v == nil || !near(v.Delta, -36.25) || !near(v.Margin, 24.42) || !v.Enough || !v.Significant {
			t.Errorf("C against the rest: %+v, want −36.25 ± 24.42, significant", v)
		}
		if v := got["D"].VsRest; v == nil || v.Enough || v.Significant {
			t.Errorf("D (10 responses) against the rest: %+v, want not enough to call", v)
		}
		if got["A"].Format != "supermarket" || got["B"].Region != "north" {
			t.Errorf("store labels: %+v, %+v", got["A"].Store, got["B"].Store)
		}

		// The same with a minimum of 10: D is ranked first (NPS 100), the tie moves down.
		low := week
		low.MinResponses = 10
		rep, err = c.Service.RankStores(ctx, low)
		if err != nil {
			t.Fatal(err)
		}
		ranks := map[string]int{}
		for _, r := range rep.Stores {
			ranks[r.ID] = r.Rank
		}
		if ranks["D"] != 1 || ranks["A"] != 2 || ranks["B"] != 2 || ranks["C"] != 4 {
			t.Errorf("ranks with min_n 10: %v, want D 1, A 2, B 2, C 4", ranks)
		}

		// One store in view: listed, not ranked, and the reply says why.
		one := week
		one.StoreID = "A"
		rep, err = c.Service.RankStores(ctx, one)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Ranking != collector.RankingOneStore || len(rep.Stores) != 1 || rep.Stores[0].Rank != 0 ||
			rep.Stores[0].Unranked != collector.RankingOneStore {
			t.Errorf("one store: %+v", rep)
		}
		// A format in view: A (NPS 50, 40) and C (NPS 20, 50) only.
		super := week
		super.Format = "supermarket"
		rep, err = c.Service.RankStores(ctx, super)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Stores) != 2 || rep.Stores[0].ID != "A" || rep.Stores[0].Rank != 1 || rep.Stores[1].Rank != 2 {
			t.Errorf("supermarkets: %+v", rep.Stores)
		}

		regions, err := c.Service.LabelReport(ctx, week, storage.ByRegion)
		if err != nil {
			t.Fatal(err)
		}
		if len(regions.Rows) != 2 || regions.Rows[0].Label != "north" || regions.Rows[0].VsRest == nil {
			t.Fatalf("regions: %+v", regions)
		}
		if v := regions.Rows[0].VsRest; !near(v.Difference, 16.67) || !near(v.DifferenceMargin, 23.57) || !v.Comparable || v.Significant {
			t.Errorf("north against south: %+v, want 16.67 ± 23.57, not significant", v)
		}
	})
}
