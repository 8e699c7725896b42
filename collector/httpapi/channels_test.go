package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// channelsReply is the body of GET /v1/reports/channels and /touchpoints.
type channelsReply struct {
	Filter storage.Filter
	collector.ChannelReport
}

// An old kiosk's upload, whose JSON has no channel field, counts as kiosk in the channel
// report beside a QR link's answers; the report takes the usual filters, is limited to
// a store token's own store, and adds each store with stores=true.
func TestChannelReportAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		e.c.AddStore(t, storage.Store{ID: "S043", Name: "Harbour", Timezone: "UTC"})
		at := e.now.Add(-2 * time.Hour).Format(time.RFC3339)
		// The body an old kiosk sends, written out: no channel, no touchpoint.
		var items []json.RawMessage
		for _, score := range []int{10, 9, 8, 3} {
			items = append(items, json.RawMessage(fmt.Sprintf(`{"id": %q, "score": %d, "reasons": [], "locale": "en",
				"survey_version": 1, "created_at": %q, "completed_at": %q, "outcome": "submitted", "suspect": false}`,
				uuid.Must(uuid.NewV7()).String(), score, at, at)))
		}
		var up struct{ Accepted []string }
		if code := e.do("POST", "/v1/responses", e.token, map[string]any{"responses": items}, &up); code != 200 || len(up.Accepted) != 4 {
			t.Fatalf("old kiosk upload: %d, %+v", code, up)
		}
		rng := rand.New(rand.NewPCG(3, 3))
		for store, scores := range map[string][]int{"S042": {2, 4}, "S043": {10}} {
			l, err := e.db.AddLink(ctx, storage.NewLink{StoreID: store, Channel: "qr", Touchpoint: "checkout"})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range scores {
				r := collectortest.Response(rng, e.now.Add(-time.Hour))
				r.Score, r.Reasons = s, nil
				if s == 2 {
					r.Comment = "Scanned the receipt: nobody at the till."
				}
				if _, err := e.c.Service.IngestFromLink(ctx, l, r); err != nil {
					t.Fatal(err)
				}
			}
		}
		hq := e.c.APIToken(t, "")
		own := e.c.APIToken(t, "S042")

		var rep channelsReply
		if code := e.get("/v1/reports/channels", hq, &rep); code != 200 {
			t.Fatalf("channels: %d", code)
		}
		if rep.By != "channel" || rep.Total.Responses != 7 || len(rep.Rows) != 2 || rep.Stores != nil {
			t.Fatalf("chain by channel: %+v", rep)
		}
		kiosk, qr := rep.Rows[0], rep.Rows[1]
		// kiosk 10, 9, 8, 3: (2 − 1)/4 = +25; qr 2, 4, 10: (1 − 2)/3 ≈ −33.3.
		if kiosk.Label != "kiosk" || kiosk.Responses != 4 || kiosk.NPS != 25 || qr.Label != "qr" || qr.Responses != 3 {
			t.Errorf("rows: %+v", rep.Rows)
		}
		if kiosk.VsRest == nil || kiosk.VsRest.Responses != 3 || kiosk.VsRest.Comparable || kiosk.VsRest.Significant {
			t.Errorf("kiosk vs the rest: %+v; want 3 others, too few to compare", kiosk.VsRest)
		}

		rep = channelsReply{} // a field left out of the next reply must not keep this one's value
		if code := e.get("/v1/reports/channels?stores=true", own, &rep); code != 200 {
			t.Fatalf("store token: %d", code)
		}
		if rep.Filter.StoreID != "S042" || rep.Total.Responses != 6 || len(rep.Stores) != 1 || rep.Stores[0].StoreID != "S042" ||
			rep.Stores[0].StoreName != "Main Street" || rep.Stores[0].Total.Responses != 6 {
			t.Errorf("a store token's report: %+v", rep)
		}

		rep = channelsReply{}
		if code := e.get("/v1/reports/touchpoints?channel=qr&stores=true", hq, &rep); code != 200 {
			t.Fatalf("touchpoints: %d", code)
		}
		if rep.By != "touchpoint" || rep.Total.Responses != 3 || len(rep.Rows) != 1 || rep.Rows[0].Label != "checkout" ||
			rep.Rows[0].VsRest != nil || len(rep.Stores) != 2 {
			t.Errorf("QR touchpoints: %+v", rep)
		}

		var comments struct{ Comments []storage.Comment }
		if code := e.get("/v1/comments?channel=qr", hq, &comments); code != 200 || len(comments.Comments) != 1 ||
			comments.Comments[0].Channel != "qr" || comments.Comments[0].Touchpoint != "checkout" {
			t.Errorf("QR comments: %d, %+v", code, comments.Comments)
		}

		// The QR detractors opened cases (the default rule), which say so and filter by it.
		var cases struct{ Cases []storage.Case }
		if code := e.get("/v1/cases?channel=qr", hq, &cases); code != 200 || len(cases.Cases) != 2 ||
			cases.Cases[0].Response.Channel != "qr" || cases.Cases[0].Response.Touchpoint != "checkout" {
			t.Errorf("QR cases: %d, %+v", code, cases.Cases)
		}
		if code := e.get("/v1/cases?channel=kiosk", hq, &cases); code != 200 || len(cases.Cases) != 1 || cases.Cases[0].Response.Channel != "kiosk" {
			t.Errorf("kiosk cases: %d, %+v", code, cases.Cases)
		}
		if code := e.get("/v1/cases?channel=Q%20R", hq, nil); code != 400 {
			t.Errorf("cases of channel \"Q R\": %d, want 400", code)
		}

		// The chain's last 7 days per channel are gauges on /metrics.
		resp, err := http.Get(e.c.MetricsURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`npscollector_channel_responses{channel="kiosk"} 4`, `npscollector_channel_responses{channel="qr"} 3`,
			`npscollector_channel_nps{channel="kiosk"} 25`, `npscollector_channel_nps{channel="qr"} -33.33`} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("metrics lack %s", want)
			}
		}

		for _, p := range []string{"/v1/reports/channels", "/v1/reports/touchpoints"} {
			for _, c := range []struct {
				token, query string
				want         int
			}{
				{"", "", 401},
				{e.token, "", 401}, // a device token reads no reports
				{own, "?store=S043", 403},
				{hq, "?store=S043", 200},
				{hq, "?stores=maybe", 400},
				{hq, "?channel=QR%20code", 400},
				{hq, "?touchpoint=" + "x%3Cscript%3E", 400},
				{hq, "?from=2026-12-01&to=2026-11-01", 400},
			} {
				if got := e.get(p+c.query, c.token, nil); got != c.want {
					t.Errorf("GET %s%s: %d, want %d", p, c.query, got, c.want)
				}
			}
		}
	})
}
