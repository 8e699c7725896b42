package httpapi_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// The reports' differences and rankings as the API spells them: the NPS report's change
// from the previous period, the stores report's ranking and each store's comparisons,
// the regions report; min_n and the segment and format filters, refused when invalid.
func TestSignificanceAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		e.c.AddStore(t, storage.Store{ID: "S043", Name: "Harbour", Timezone: "UTC", Region: "south", Format: "express"})
		rng := rand.New(rand.NewPCG(18, 9))
		for store, scores := range map[string][]int{"S042": {10, 10, 9, 2}, "S043": {3, 2, 8}} {
			l, err := e.db.AddLink(ctx, storage.NewLink{StoreID: store, Channel: "qr"})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range scores {
				r := collectortest.Response(rng, e.now.Add(-time.Hour))
				r.Score, r.Reasons, r.Segment = s, nil, "vip"
				if _, err := e.c.Service.IngestFromLink(ctx, l, r); err != nil {
					t.Fatal(err)
				}
			}
		}
		hq := e.c.APIToken(t, "")

		// S042 (4) and S043 (3) this period, nothing before: the change is from an empty
		// period, never enough.
		var nps map[string]any
		if code := e.get("/v1/reports/nps?segment=vip", hq, &nps); code != 200 {
			t.Fatalf("nps: %d", code)
		}
		change, _ := nps["change"].(map[string]any)
		if nps["responses"] != float64(7) || change == nil || change["enough"] != false || change["significant"] != false ||
			nps["previous_from"] == nil || nps["MinResponses"] != float64(30) {
			t.Errorf("nps reply: %v", nps)
		}

		var stores struct {
			Ranking      string
			MinResponses int64 `json:"min_responses"`
			Stores       []storage.StoreReport
		}
		if code := e.get("/v1/reports/stores?min_n=3&sort=rank", hq, &stores); code != 200 {
			t.Fatalf("stores: %d", code)
		}
		// S042: (3 − 1)/4 = +50, rank 1; S043: (0 − 2)/3 = −66.7, rank 2.
		if stores.Ranking != "ranked" || stores.MinResponses != 3 || len(stores.Stores) != 2 ||
			stores.Stores[0].ID != "S042" || stores.Stores[0].Rank != 1 || stores.Stores[1].Rank != 2 ||
			stores.Stores[1].Format != "express" || stores.Stores[0].VsRest == nil || !stores.Stores[0].VsRest.Enough {
			t.Errorf("stores reply: %+v", stores)
		}
		stores.Stores = nil
		if code := e.get("/v1/reports/stores?format=express", hq, &stores); code != 200 || stores.Ranking != "only one store" ||
			len(stores.Stores) != 1 || stores.Stores[0].Unranked != "only one store" {
			t.Errorf("one store in view: %d %+v", code, stores)
		}

		var regions struct {
			By   string
			Rows []struct {
				Label  string
				VsRest *struct {
					Difference  float64
					Comparable  bool
					Significant bool
				} `json:"vs_rest"`
			}
		}
		if code := e.get("/v1/reports/regions", hq, &regions); code != 200 || regions.By != "region" || len(regions.Rows) != 2 ||
			regions.Rows[0].VsRest == nil || regions.Rows[0].VsRest.Comparable {
			t.Errorf("regions: %+v", regions)
		}

		for _, bad := range []string{"/v1/reports/nps?segment=VIP", "/v1/reports/stores?format=big%20box",
			"/v1/reports/regions?min_n=0", "/v1/reports/channels?min_n=x"} {
			if code := e.get(bad, hq, nil); code != 400 {
				t.Errorf("GET %s: %d, want 400", bad, code)
			}
		}
	})
}
