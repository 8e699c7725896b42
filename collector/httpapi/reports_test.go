package httpapi_test

import (
	"context"
	"encoding/csv"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/httpapi"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/sync/wire"
)

func (e *testEnv) get(path, token string, out any) int {
	e.t.Helper()
	return e.do("GET", path, token, nil, out)
}

func TestReportsMatchTheRawRows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(8, 8))
		var want nps.Tally
		var batch []wire.Response
		for i := range 300 {
			r := collectortest.Response(rng, e.now.Add(-time.Duration(rng.IntN(10*24*60))*time.Minute))
			if i%10 == 0 {
				r.Comment = "queue too long"
			}
			want.Add(nps.Score(r.Score))
			batch = append(batch, r)
		}
		for i := 0; i < len(batch); i += 100 {
			e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: batch[i : i+100]}, nil)
		}
		hq, err := e.db.AddAPIToken(ctx, "hq", "")
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			storage.NPSReport
			storage.Filter
		}
		if code := e.get("/v1/reports/nps?from=2026-11-01&to=2026-11-30", hq.Token, &rep); code != 200 {
			t.Fatalf("nps: %d", code)
		}
		if rep.Responses != want.Total() || rep.Promoters != want.Promoters || rep.NPS != want.NPS() {
			t.Fatalf("nps report %+v, want %+v", rep.NPSReport, want)
		}
		var trend struct{ Points []storage.TrendPoint }
		e.get("/v1/reports/trend?from=2026-11-01&to=2026-11-30&interval=week", hq.Token, &trend)
		var sum int64
		for _, p := range trend.Points {
			if d, _ := time.Parse(time.DateOnly, p.Start); d.Weekday() != time.Monday {
				t.Errorf("week starts on %s, a %s", p.Start, d.Weekday())
			}
			sum += p.Responses
		}
		if sum != want.Total() {
			t.Errorf("weekly trend sums to %d, want %d", sum, want.Total())
		}
		var stores struct{ Stores []storage.StoreReport }
		e.get("/v1/reports/stores?sort=-nps", hq.Token, &stores)
		if len(stores.Stores) != 1 || stores.Stores[0].ID != "S042" || stores.Stores[0].DeviceCnt != 1 {
			t.Errorf("stores report %+v", stores.Stores)
		}
		var reasons struct{ Reasons []storage.ReasonCount }
		e.get("/v1/reports/reasons?from=2026-11-01&to=2026-11-30", hq.Token, &reasons)
		if len(reasons.Reasons) != 1 || reasons.Reasons[0].Reason != "staff" || reasons.Reasons[0].Count != 300 {
			t.Errorf("reasons %+v", reasons.Reasons)
		}
		var comments struct{ Comments []storage.Comment }
		e.get("/v1/comments?from=2026-11-01&to=2026-11-30&q=QUEUE&limit=100", hq.Token, &comments)
		if len(comments.Comments) != 30 {
			t.Fatalf("%d comments, want 30", len(comments.Comments))
		}
		for i := 1; i < len(comments.Comments); i++ {
			if comments.Comments[i-1].CreatedAt.Before(comments.Comments[i].CreatedAt) {
				t.Fatal("comments are not newest first")
			}
		}
	})
}

func TestReportAccessMatrix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		if err := e.db.AddStore(ctx, storage.Store{ID: "S043", Name: "Harbour", Timezone: "UTC"}); err != nil {
			t.Fatal(err)
		}
		hq, _ := e.db.AddAPIToken(ctx, "hq", "")
		own, _ := e.db.AddAPIToken(ctx, "manager", "S042")
		paths := []string{"/v1/reports/nps", "/v1/reports/trend", "/v1/reports/stores", "/v1/reports/reasons", "/v1/comments"}
		for _, p := range paths {
			cases := []struct {
				token, query string
				want         int
			}{
				{"", "", 401},
				{"api_wrong", "", 401},
				{e.token, "", 401}, // a device token is not an API token
				{hq.Token, "?store=S043", 200},
				{own.Token, "", 200},
				{own.Token, "?store=S042", 200},
				{own.Token, "?store=S043", 403},
				{hq.Token, "?from=yesterday", 400},
				{hq.Token, "?from=2026-12-01&to=2026-11-01", 400},
			}
			for _, c := range cases {
				if got := e.get(p+c.query, c.token, nil); got != c.want {
					t.Errorf("GET %s%s with %.8q: %d, want %d", p, c.query, c.token, got, c.want)
				}
			}
		}
		// A store-limited token sees only its store in the stores table.
		var stores struct{ Stores []storage.StoreReport }
		e.get("/v1/reports/stores", own.Token, &stores)
		if len(stores.Stores) != 1 || stores.Stores[0].ID != "S042" {
			t.Errorf("store-limited stores report: %+v", stores.Stores)
		}
	})
}

func TestRateLimitAndMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		srv := httpapi.New(httpapi.Config{Service: e.c.Service, Logger: slog.New(slog.DiscardHandler), DeviceRate: 1, DeviceBurst: 3})
		var codes []int
		var retryAfter string
		for range 5 {
			req, _ := http.NewRequest("POST", "/v1/heartbeat", strings.NewReader(`{"app_version":"1"}`))
			req.Header.Set("Authorization", "Bearer "+e.token)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			codes = append(codes, rec.Code)
			if rec.Code == 429 {
				retryAfter = rec.Header().Get("Retry-After")
			}
		}
		if codes[0] != 204 || codes[2] != 204 || codes[3] != 429 || retryAfter == "" {
			t.Fatalf("codes %v, Retry-After %q; want three 204 then 429 with Retry-After", codes, retryAfter)
		}
		req, _ := http.NewRequest("GET", "/metrics", nil)
		rec := httptest.NewRecorder()
		srv.Metrics().ServeHTTP(rec, req)
		body := rec.Body.String()
		for _, want := range []string{
			`npscollector_http_requests_total{code="429",route="POST /v1/heartbeat"} 2`,
			`npscollector_rate_limited_total 2`,
			`npscollector_ingest_groups_total 0`, // heartbeats are no uploads
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	})
}

func TestExportCSV(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		rng := rand.New(rand.NewPCG(9, 9))
		a := collectortest.Response(rng, e.now.Add(-time.Hour))
		a.Comment = "=HYPERLINK(\"http://evil\")"
		a.Contact, a.ContactConsent = "a@b.c", true
		older := collectortest.Response(rng, e.now.Add(-2*time.Hour))
		older.Comment = "fine, \"really\"\nthanks"
		e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: []wire.Response{a, older}}, nil)
		var out strings.Builder
		n, err := e.db.Export(context.Background(), storage.Filter{From: "2026-01-01", To: "2026-12-31"}, &out)
		if err != nil || n != 2 {
			t.Fatalf("Export = %d, %v", n, err)
		}
		rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || rows[0][0] != "id" || rows[1][0] != older.ID || rows[2][0] != a.ID {
			t.Fatalf("rows %q", rows)
		}
		if rows[1][9] != older.Comment || rows[2][9] != "'"+a.Comment || rows[2][10] != "a@b.c" {
			t.Errorf("comment/contact columns: %q / %q %q", rows[1][9], rows[2][9], rows[2][10])
		}
	})
}

// An upload is contact too: a kiosk that uploads but has not sent a heartbeat yet is
// not shown as silent.
func TestUploadCountsAsDeviceContact(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		hq := e.c.APIToken(t, "")
		var before struct{ Stores []storage.StoreReport }
		e.get("/v1/reports/stores", hq, &before)
		if len(before.Stores) != 1 || !before.Stores[0].LastSeen.IsZero() {
			t.Fatalf("before any upload: %+v", before.Stores)
		}
		e.now = e.now.Add(time.Minute)
		r := collectortest.Response(rand.New(rand.NewPCG(5, 6)), e.now.Add(-time.Hour))
		if code := e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: []wire.Response{r}}, nil); code != 200 {
			t.Fatalf("upload: %d", code)
		}
		var after struct{ Stores []storage.StoreReport }
		e.get("/v1/reports/stores", hq, &after)
		if len(after.Stores) != 1 || !after.Stores[0].LastSeen.Equal(e.now) {
			t.Errorf("last device contact after an upload at %s: %+v", e.now, after.Stores)
		}
	})
}

// TestCommentsAPIPaging: GET /v1/comments pages with next/after through every matching
// comment once, applies the score filter before the page is cut, and refuses bad
// parameters with 400.
func TestCommentsAPIPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		rng := rand.New(rand.NewPCG(9, 9))
		var batch []wire.Response
		low := map[string]bool{}
		for i := range 200 {
			r := collectortest.Response(rng, e.now.Add(-time.Duration(i/4)*time.Minute)) // four to a minute
			r.Comment = "the queue again"
			if r.Score <= 6 {
				low[r.ID] = true
			}
			batch = append(batch, r)
		}
		for i := 0; i < len(batch); i += 100 {
			e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: batch[i : i+100]}, nil)
		}
		hq, err := e.db.AddAPIToken(context.Background(), "hq", "")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		after := ""
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("next never ends")
			}
			var page struct {
				Comments []storage.Comment
				Next     string
			}
			if code := e.get("/v1/comments?q=queue&score=0-6&limit=7&after="+after, hq.Token, &page); code != 200 {
				t.Fatalf("comments: %d", code)
			}
			for _, c := range page.Comments {
				if seen[c.ID] || !low[c.ID] {
					t.Fatalf("%s (score %d) listed twice or not matching", c.ID, c.Score)
				}
				seen[c.ID] = true
			}
			if page.Next == "" {
				break
			}
			after = page.Next
		}
		if len(seen) != len(low) {
			t.Errorf("paged through %d comments, %d match", len(seen), len(low))
		}
		for _, q := range []string{"score=11", "score=6-2", "sentiment=angry", "after=nonsense", "limit=501", "contact=maybe", "category=happy"} {
			if code := e.get("/v1/comments?"+q, hq.Token, nil); code != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", q, code)
			}
		}
	})
}
