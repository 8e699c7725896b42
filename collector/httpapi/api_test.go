package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/sync/wire"
)

type testEnv struct {
	t     *testing.T
	c     *collectortest.Collector
	db    *storage.DB
	srv   *httptest.Server
	now   time.Time
	token string
	dev   wire.EnrollResponse
}

func forEachBackend(t *testing.T, f func(t *testing.T, b collectortest.Backend)) {
	collectortest.ForEachBackend(t, f)
}

func newEnv(t *testing.T, b collectortest.Backend) *testEnv {
	t.Helper()
	e := &testEnv{t: t, now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	e.c = collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return e.now }})
	e.db = e.c.DB
	e.srv = httptest.NewServer(e.c.API)
	t.Cleanup(e.srv.Close)
	e.c.AddStore(t, storage.Store{ID: "S042", Name: "Main Street", Timezone: "Europe/Berlin"})
	nd := e.c.EnrollmentCode(t, "S042", "Till 3")
	var res wire.EnrollResponse
	if code := e.do("POST", "/v1/enroll", "", wire.EnrollRequest{Code: nd.Code}, &res); code != 200 {
		t.Fatalf("enroll: %d", code)
	}
	e.dev, e.token = res, res.Token
	return e
}

// do sends a JSON request and decodes the reply into out; it returns the status.
func (e *testEnv) do(method, path, token string, body, out any) int {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("%s %s: decode reply: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func TestEnrollmentCodeWorksOnceAndExpires(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		nd, err := e.db.AddDevice(ctx, "S042", "Till 4", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var first, again wire.EnrollResponse
		if code := e.do("POST", "/v1/enroll", "", wire.EnrollRequest{Code: strings.ToLower(nd.Code)}, &first); code != 200 {
			t.Fatalf("first use: %d", code)
		}
		// A kiosk that could not save its token enrolls again with the same code: the same
		// device, a new token, and the first token stops working.
		e.now = e.now.Add(storage.EnrollRetryWindow - time.Minute)
		if code := e.do("POST", "/v1/enroll", "", wire.EnrollRequest{Code: nd.Code}, &again); code != 200 {
			t.Fatalf("retry within the window: %d, want 200", code)
		}
		if again.DeviceID != first.DeviceID || again.Token == first.Token {
			t.Fatalf("retry gave device %s token changed %v; want device %s and a new token", again.DeviceID, again.Token != first.Token, first.DeviceID)
		}
		if code := e.do("GET", "/v1/config", first.Token, nil, nil); code != 401 {
			t.Errorf("the replaced token still works: %d", code)
		}
		if code := e.do("GET", "/v1/config", again.Token, nil, nil); code != 200 {
			t.Errorf("the new token: %d", code)
		}
		e.now = e.now.Add(2 * time.Minute)
		if code := e.do("POST", "/v1/enroll", "", wire.EnrollRequest{Code: nd.Code}, nil); code != 401 {
			t.Fatalf("use after the retry window: %d, want 401", code)
		}
		if devices, _ := e.db.Devices(ctx); len(devices) != 2 {
			t.Errorf("%d devices after a retried enrollment, want 2 (Till 3 and Till 4)", len(devices))
		}
		late, _ := e.db.AddDevice(ctx, "S042", "Till 5", time.Hour)
		e.now = e.now.Add(61 * time.Minute)
		if code := e.do("POST", "/v1/enroll", "", wire.EnrollRequest{Code: late.Code}, nil); code != 401 {
			t.Fatalf("expired code: %d, want 401", code)
		}
		if _, err := e.db.AddDevice(ctx, "NOPE", "x", 0); err == nil {
			t.Fatal("device for an unknown store was added")
		}
	})
}

func TestReplayedBatchCountsOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		rng := rand.New(rand.NewPCG(1, 2))
		var batch []wire.Response
		for i := range 50 {
			batch = append(batch, collectortest.Response(rng, e.now.Add(-time.Duration(i)*time.Minute)))
		}
		for i := range 10 {
			var res wire.UploadResult
			if code := e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: batch}, &res); code != 200 {
				t.Fatalf("upload %d: %d", i, code)
			}
			wantAcc, wantDup := 50, 0
			if i > 0 {
				wantAcc, wantDup = 0, 50
			}
			if len(res.Accepted) != wantAcc || len(res.Duplicate) != wantDup || len(res.Rejected) != 0 {
				t.Fatalf("upload %d: %d accepted %d duplicate %d rejected", i, len(res.Accepted), len(res.Duplicate), len(res.Rejected))
			}
		}
		n, _ := e.db.CountResponses(context.Background(), "S042")
		if n != 50 {
			t.Fatalf("%d rows after 10 replays, want 50", n)
		}
	})
}

func TestBatchWithBadItemsAndConflict(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		rng := rand.New(rand.NewPCG(3, 4))
		good := collectortest.Response(rng, e.now.Add(-time.Hour))
		var first wire.UploadResult
		e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: []wire.Response{good}}, &first)

		conflict := good
		conflict.Score = (good.Score + 1) % 11
		badScore := collectortest.Response(rng, e.now)
		badScore.Score = 11
		badReason := collectortest.Response(rng, e.now)
		badReason.Reasons = []string{"free_cake"}
		future := collectortest.Response(rng, e.now.Add(time.Hour))
		noConsent := collectortest.Response(rng, e.now)
		noConsent.Contact = "a@b.c"
		ok := collectortest.Response(rng, e.now)
		var res wire.UploadResult
		code := e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: []wire.Response{conflict, badScore, badReason, future, noConsent, ok}}, &res)
		if code != 200 || len(res.Accepted) != 1 || res.Accepted[0] != ok.ID || len(res.Rejected) != 5 {
			t.Fatalf("status %d, result %+v", code, res)
		}
		if !strings.Contains(res.Rejected[0].Error, "conflict") {
			t.Errorf("conflict reason = %q", res.Rejected[0].Error)
		}
		tally, _ := e.db.StoreTally(context.Background(), "S042", "2026-01-01", "2026-12-31")
		if tally.Total() != 2 {
			t.Errorf("rollup counts %d, want 2 (the original kept, the conflict not counted)", tally.Total())
		}
	})
}

func TestAuthAndLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		for _, path := range []struct{ method, path string }{
			{"POST", "/v1/responses"}, {"GET", "/v1/config"}, {"POST", "/v1/heartbeat"},
		} {
			for _, token := range []string{"", "dev_wrong"} {
				if code := e.do(path.method, path.path, token, map[string]any{}, nil); code != 401 {
					t.Errorf("%s %s with token %q: %d, want 401", path.method, path.path, token, code)
				}
			}
		}
		// Unknown fields and malformed JSON are 400, never 5xx.
		if code := e.do("POST", "/v1/heartbeat", e.token, map[string]any{"app_version": "1", "bogus": 1}, nil); code != 400 {
			t.Errorf("unknown field: %d, want 400", code)
		}
		// A body over 1 MiB (even gzipped small) is 413.
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(`{"responses":[{"comment":"` + strings.Repeat("x", wire.MaxBatchBytes) + `"}]}`))
		zw.Close()
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/responses", &buf)
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Errorf("oversized gzip body: %d, want 413", resp.StatusCode)
		}
		many := make([]wire.Response, wire.MaxBatchItems+1)
		if code := e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: many}, nil); code != 413 {
			t.Errorf("501 items: %d, want 413", code)
		}
		// Revoked devices are refused.
		if err := e.db.RevokeDevice(context.Background(), e.dev.DeviceID); err != nil {
			t.Fatal(err)
		}
		if code := e.do("GET", "/v1/config", e.token, nil, nil); code != 401 {
			t.Errorf("revoked token: %d, want 401", code)
		}
	})
}

func TestConfigETagAndHeartbeat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		req, _ := http.NewRequest("GET", e.srv.URL+"/v1/config", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var s wire.Survey
		json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		etag := resp.Header.Get("ETag")
		if s.StoreName != "Main Street" || etag == "" {
			t.Fatalf("config: %+v etag %q", s, etag)
		}
		req.Header.Set("If-None-Match", etag)
		resp, _ = http.DefaultClient.Do(req)
		resp.Body.Close()
		if resp.StatusCode != 304 {
			t.Fatalf("If-None-Match: %d, want 304", resp.StatusCode)
		}
		s.Question = map[string]string{"en": "Would you recommend {store}?"}
		v, err := e.db.SetSurvey(context.Background(), s, []string{"S042"})
		if err != nil || v != 2 {
			t.Fatalf("SetSurvey = %d, %v", v, err)
		}
		resp, _ = http.DefaultClient.Do(req)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
			t.Fatalf("after a change: %d %s", resp.StatusCode, resp.Header.Get("ETag"))
		}

		hb := wire.Heartbeat{AppVersion: "1.2.3", QueueLength: 7, DeviceTime: e.now.Add(90 * time.Second)}
		if code := e.do("POST", "/v1/heartbeat", e.token, hb, nil); code != 204 {
			t.Fatalf("heartbeat: %d", code)
		}
		ds, _ := e.db.Devices(context.Background())
		if len(ds) != 1 || ds[0].QueueLength != 7 || ds[0].ClockSkewMS != 90_000 || !ds[0].LastSeen.Equal(e.now) {
			t.Fatalf("devices = %+v", ds)
		}
	})
}

func TestRollupsEqualRecountAcrossTimezoneDays(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		rng := rand.New(rand.NewPCG(5, 6))
		berlin, _ := time.LoadLocation("Europe/Berlin")
		want := map[string]*nps.Tally{}
		var batch []wire.Response
		for range 400 {
			at := e.now.Add(-time.Duration(rng.IntN(72*60)) * time.Minute)
			r := collectortest.Response(rng, at)
			batch = append(batch, r)
			day := at.In(berlin).Format(time.DateOnly)
			if want[day] == nil {
				want[day] = &nps.Tally{}
			}
			want[day].Add(nps.Score(r.Score))
			if len(batch) == 100 {
				e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: batch}, nil)
				batch = nil
			}
		}
		for day, w := range want {
			got, err := e.db.StoreTally(context.Background(), "S042", day, day)
			if err != nil || got != *w {
				t.Errorf("day %s: rollup %+v, recount %+v (%v)", day, got, *w, err)
			}
		}
		// 23:30 UTC on 19 Nov is already 20 Nov in Berlin.
		late := collectortest.Response(rng, time.Date(2026, 11, 19, 23, 30, 0, 0, time.UTC))
		late.Score = 10
		e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: []wire.Response{late}}, nil)
		var day string
		e.db.RawQueryRow(context.Background(), `SELECT day FROM responses WHERE id = ?`, late.ID).Scan(&day)
		if day != "2026-11-20" {
			t.Errorf("day in the store's zone = %s, want 2026-11-20", day)
		}
	})
}
