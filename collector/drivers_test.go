package collector_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// driverDay is the one day of the fixed data set.
var driverDay = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// tap is a kiosk response of the fixed data set: a score and the reasons picked, no
// comment, so that its themes are exactly its reasons that are themes (staff and price
// are both, in the default survey and taxonomy).
func tap(score int, reasons ...string) wire.Response {
	return wire.Response{ID: uuid.Must(uuid.NewV7()).String(), Score: score, Reasons: reasons, Locale: "en",
		SurveyVersion: 1, CreatedAt: driverDay, CompletedAt: driverDay.Add(10 * time.Second), Outcome: response.OutcomeSubmitted}
}

func repeat(n int, r func() wire.Response) []wire.Response {
	out := make([]wire.Response, n)
	for i := range out {
		out[i] = r()
	}
	return out
}

// seedDrivers stores the fixed data set. Regions: A and B are north, C is south.
//
//	store A (10): detractors 4 (3 staff, 1 price), passives 2 (1 staff), promoters 4 (1 price)
//	store B (10): detractors 2 (1 staff), passives 2, promoters 6 (2 staff, 1 price)
//	store C (4):  detractors 1 (staff), promoters 3
func seedDrivers(t *testing.T, c *collectortest.Collector) {
	t.Helper()
	ctx := context.Background()
	batches := map[string][]wire.Response{}
	add := func(store string, rs ...wire.Response) { batches[store] = append(batches[store], rs...) }
	add("A", repeat(3, func() wire.Response { return tap(3, "staff") })...)
	add("A", tap(3, "price"), tap(7, "staff"), tap(7))
	add("A", tap(10, "price"))
	add("A", repeat(3, func() wire.Response { return tap(10) })...)
	add("B", tap(2, "staff"), tap(2), tap(8), tap(8))
	add("B", repeat(2, func() wire.Response { return tap(9, "staff") })...)
	add("B", tap(9, "price"))
	add("B", repeat(3, func() wire.Response { return tap(9) })...)
	add("C", tap(0, "staff"))
	add("C", repeat(3, func() wire.Response { return tap(10) })...)
	for _, s := range []struct{ id, region string }{{"A", "north"}, {"B", "north"}, {"C", "south"}} {
		c.AddStore(t, storage.Store{ID: s.id, Region: s.region})
		d := c.Enroll(t, s.id, "Till 1")
		res, err := c.Service.IngestFromDevice(ctx, d.DeviceID, batches[s.id])
		if err != nil || len(res.Accepted) != len(batches[s.id]) {
			t.Fatalf("ingest %s: %+v, %v", s.id, res, err)
		}
	}
}

func getDrivers(t *testing.T, c *collectortest.Collector, token string, q url.Values) collector.DriversReport {
	t.Helper()
	q.Set("from", "2026-03-01")
	q.Set("to", "2026-03-31")
	req, _ := http.NewRequest(http.MethodGet, c.URL+"/v1/reports/drivers?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET drivers?%s: %s", q.Encode(), resp.Status)
	}
	var rep collector.DriversReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func nearly(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 0.01 {
		t.Errorf("%s = %.4f, want %.4f", what, got, want)
	}
}

func driverByKey(t *testing.T, rep collector.DriversReport, key string) collector.Driver {
	t.Helper()
	for _, d := range rep.Drivers {
		if d.Key == key {
			return d
		}
	}
	t.Fatalf("no driver %q in %+v", key, rep.Drivers)
	return collector.Driver{}
}

// TestDriversFixedDataSet checks every driver figure of a fixed data set against values
// computed by hand, on SQLite and PostgreSQL, with min_n = 4.
//
// The chain's median: every store has at least 4 responses (A 10, B 10, C 4), so all
// three count. d_s, the theme's detractors out of the store's responses:
//
//	staff: A 3/10 = 0.30, B 1/10 = 0.10, C 1/4 = 0.25 → median 0.25
//	price: A 1/10 = 0.10, B 0, C 0              → median 0
//
// Store A (n 10: P 4, Pa 2, D 4; NPS 0):
//
//	staff: n 4 (D 3, Pa 1). Shares: detractors 3/4 = 75 %, passives 1/2 = 50 %,
//	  promoters 0/4 = 0 %. With: NPS (0−3)/4 = −75; without (D 1, Pa 1, P 4; n 6): NPS
//	  (4−1)/6 = 50. Difference −125; variances (p+d−(p−d)²)/n: with (0.75−0.5625)/4 =
//	  0.046875, without (0.8333−0.25)/6 = 0.097222; margin 1.96·√0.144097·100 = 74.40, so
//	  [−199.40, −50.60]: both sides ≥ 4, interval without 0 → significant.
//	  Impact max(0, 0.30−0.25)·100 = 5; margin of d = 3/10: 1.96·√(0.3·0.7/10)·100 = 28.40.
//	  Rank 1.
//	price: n 2 (D 1, P 1) < 4 → unranked (rank 0); impact max(0, 0.10−0)·100 = 10, margin
//	  1.96·√(0.1·0.9/10)·100 = 18.59. Listed after staff despite the greater impact.
//
// Region north (A and B, n 20: P 10, Pa 4, D 6; NPS 20):
//
//	staff: n 7 (D 4, Pa 1, P 2). Shares: detractors 4/6 = 66.67 %, passives 1/4 = 25 %,
//	  promoters 2/10 = 20 %. With NPS (2−4)/7 = −28.57; without (D 2, Pa 3, P 8; n 13)
//	  (8−2)/13 = 46.15; difference −74.73; variances with (0.857143−0.081633)/7 = 0.110787,
//	  without (0.769231−0.213018)/13 = 0.042786, margin 1.96·√0.153573·100 = 76.81:
//	  [−151.54, 2.08] holds 0 → not significant.
//	  Impact, response-weighted: (10·max(0, 0.30−0.25) + 10·max(0, 0.10−0.25))/20·100 =
//	  2.5; margin of d = 4/20: 1.96·√(0.2·0.8/20)·100 = 17.53. Rank 1.
//	price: n 3 (D 1, P 2) → unranked; impact (10·0.10 + 10·0)/20·100 = 5.
//
// The chain (n 24): staff impact (10·0.05 + 10·0 + 4·0)/24·100 = 2.0833; margin of d =
// 5/24: 1.96·√(0.208333·0.791667/24)·100 = 16.25.
func TestDriversFixedDataSet(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, be collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: be})
		seedDrivers(t, c)
		hq := c.APIToken(t, "")

		a := getDrivers(t, c, hq, url.Values{"store": {"A"}, "min_n": {"4"}})
		if a.All.Responses != 10 || a.MedianStores != 3 || a.MinResponses != 4 || a.Kind != "theme" || len(a.Drivers) != 2 {
			t.Fatalf("store A: %+v", a)
		}
		if a.Drivers[0].Key != "staff" || a.Drivers[0].Rank != 1 || a.Drivers[1].Key != "price" || a.Drivers[1].Rank != 0 {
			t.Errorf("store A ranks: %+v", a.Drivers)
		}
		staff := driverByKey(t, a, "staff")
		if staff.N != 4 || staff.Label != "Staff" {
			t.Errorf("staff: n %d label %q", staff.N, staff.Label)
		}
		nearly(t, "A staff detractors", staff.Detractors.Percent, 75)
		nearly(t, "A staff passives", staff.Passives.Percent, 50)
		nearly(t, "A staff promoters", staff.Promoters.Percent, 0)
		nearly(t, "A staff with", staff.With.NPS, -75)
		nearly(t, "A staff without", staff.Without.NPS, 50)
		nearly(t, "A staff difference", staff.Difference.Delta, -125)
		nearly(t, "A staff difference margin", staff.Difference.Margin, 74.40)
		nearly(t, "A staff difference low", staff.Difference.Low, -199.40)
		if !staff.Difference.Enough || !staff.Difference.Significant {
			t.Errorf("A staff difference: %+v, want enough and significant", staff.Difference)
		}
		nearly(t, "A staff chain median", staff.ChainMedian, 25)
		if staff.Impact == nil {
			t.Fatal("A staff: no impact")
		}
		nearly(t, "A staff impact", staff.Impact.Points, 5)
		nearly(t, "A staff impact margin", staff.Impact.Margin, 28.40)
		if staff.Impact.N != 10 {
			t.Errorf("A staff impact n = %d, want 10", staff.Impact.N)
		}
		price := driverByKey(t, a, "price")
		nearly(t, "A price impact", price.Impact.Points, 10)
		nearly(t, "A price impact margin", price.Impact.Margin, 18.59)
		nearly(t, "A price chain median", price.ChainMedian, 0)

		north := getDrivers(t, c, hq, url.Values{"region": {"north"}, "min_n": {"4"}})
		if north.All.Responses != 20 {
			t.Fatalf("north: %+v", north.All)
		}
		nearly(t, "north NPS", north.All.NPS, 20)
		staff = driverByKey(t, north, "staff")
		if staff.N != 7 || staff.Rank != 1 {
			t.Errorf("north staff: n %d rank %d", staff.N, staff.Rank)
		}
		nearly(t, "north staff detractors", staff.Detractors.Percent, 66.667)
		nearly(t, "north staff passives", staff.Passives.Percent, 25)
		nearly(t, "north staff promoters", staff.Promoters.Percent, 20)
		nearly(t, "north staff with", staff.With.NPS, -28.571)
		nearly(t, "north staff without", staff.Without.NPS, 46.154)
		nearly(t, "north staff difference", staff.Difference.Delta, -74.725)
		nearly(t, "north staff difference margin", staff.Difference.Margin, 76.81)
		if !staff.Difference.Enough || staff.Difference.Significant {
			t.Errorf("north staff difference: %+v, want enough, not significant", staff.Difference)
		}
		nearly(t, "north staff impact", staff.Impact.Points, 2.5)
		nearly(t, "north staff impact margin", staff.Impact.Margin, 17.53)
		price = driverByKey(t, north, "price")
		if price.N != 3 || price.Rank != 0 {
			t.Errorf("north price: n %d rank %d", price.N, price.Rank)
		}
		nearly(t, "north price impact", price.Impact.Points, 5)

		chain := getDrivers(t, c, hq, url.Values{"min_n": {"4"}, "lang": {"de"}})
		staff = driverByKey(t, chain, "staff")
		nearly(t, "chain staff impact", staff.Impact.Points, 2.0833)
		nearly(t, "chain staff impact margin", staff.Impact.Margin, 16.25)
		if staff.Label != "Personal" {
			t.Errorf("chain staff label in de = %q, want Personal", staff.Label)
		}

		// The reasons picked are the same keys here, so kind=reason has the same figures.
		reasons := getDrivers(t, c, hq, url.Values{"store": {"A"}, "min_n": {"4"}, "kind": {"reason"}})
		if r := driverByKey(t, reasons, "staff"); reasons.Kind != "reason" || r.N != 4 || r.Impact == nil || math.Abs(r.Impact.Points-5) > 0.01 {
			t.Errorf("reason staff of A: %+v", r)
		}

		// With min_n 11 no store counts in the median: no impact, nothing ranked.
		none := getDrivers(t, c, hq, url.Values{"store": {"A"}, "min_n": {"11"}})
		for _, d := range none.Drivers {
			if d.Impact != nil || d.Rank != 0 || none.MedianStores != 0 {
				t.Errorf("min_n 11: %+v (median over %d stores)", d, none.MedianStores)
			}
		}

		// The channel filter applies to the theme rollups too: no answer came by QR.
		if qr := getDrivers(t, c, hq, url.Values{"channel": {"qr"}, "min_n": {"4"}}); qr.All.Responses != 0 || len(qr.Drivers) != 0 {
			t.Errorf("channel qr: %+v", qr)
		}
		if kiosk := getDrivers(t, c, hq, url.Values{"channel": {"kiosk"}, "store": {"A"}, "min_n": {"4"}}); driverByKey(t, kiosk, "staff").Impact.Points != a.Drivers[0].Impact.Points {
			t.Errorf("channel kiosk differs from all channels: %+v", kiosk.Drivers)
		}

		// The segment and format filters apply too (the median's store counts then come
		// from segment_rollups): no answer of the data set has a segment, every store a
		// format of none.
		if vip := getDrivers(t, c, hq, url.Values{"segment": {"vip"}, "min_n": {"4"}}); vip.All.Responses != 0 || len(vip.Drivers) != 0 {
			t.Errorf("segment vip: %+v", vip)
		}
		if outlet := getDrivers(t, c, hq, url.Values{"format": {"outlet"}, "min_n": {"4"}}); outlet.All.Responses != 0 || len(outlet.Drivers) != 0 {
			t.Errorf("format outlet: %+v", outlet)
		}

		// A store's token sees its own store only; the median still is the chain's.
		b := getDrivers(t, c, c.APIToken(t, "B"), url.Values{"min_n": {"4"}})
		staff = driverByKey(t, b, "staff")
		if b.All.Responses != 10 || staff.Impact == nil || staff.Impact.Points != 0 {
			t.Errorf("store B via its token: %+v, staff %+v", b.All, staff.Impact)
		}
	})
}
