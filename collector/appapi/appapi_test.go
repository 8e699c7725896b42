package appapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/appapi"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// rig is a collector with the app API on it, behind a "proxy" on loopback so that each
// test names its client in X-Forwarded-For, and an app key of store S1.
type rig struct {
	c   *collectortest.Collector
	key storage.Link
	rng *rand.Rand
}

const (
	shopOrigin = "https://shop.example.com"
	bundleID   = "com.example.shop"
)

func newRig(t testing.TB, b collectortest.Backend) *rig {
	t.Helper()
	c := collectortest.Start(t, collectortest.Options{Backend: b})
	c.AddStore(t, storage.Store{ID: "S1"})
	api, err := appapi.New(appapi.Config{Service: c.Service, Logger: slog.New(slog.DiscardHandler), TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		ClientPerMinute: 6, ClientBurst: 5})
	if err != nil {
		t.Fatal(err)
	}
	api.Register(c.API)
	key, err := c.DB.AddLink(context.Background(), storage.NewLink{Kind: storage.LinkKindApp, StoreID: "S1", Channel: "app",
		Touchpoint: "in-app", Origins: []string{shopOrigin}, BundleIDs: []string{bundleID}, RatePerMinute: 50})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{c: c, key: key, rng: rand.New(rand.NewPCG(7, 7))}
}

// call is one request to the API.
type call struct {
	client  string            // X-Forwarded-For: who the request is from
	headers map[string]string // beside the defaults: the key as a bearer token, the bundle id, JSON
	body    []byte
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) error() wire.Error {
	var e wire.Error
	json.Unmarshal(r.body, &e)
	return e
}

func (r reply) result(t *testing.T) wire.UploadResult {
	t.Helper()
	var res wire.UploadResult
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return res
}

func (g *rig) request(t *testing.T, method string, c call) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, g.c.URL+"/v1/app/responses", bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", c.client)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.key.Code)
	req.Header.Set(appapi.HeaderBundleID, bundleID)
	for k, v := range c.headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return req
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (g *rig) post(t *testing.T, c call) reply {
	t.Helper()
	return do(t, g.request(t, http.MethodPost, c))
}

// answer is a valid answer tapped a minute ago.
func (g *rig) answer(score int) wire.Response {
	r := collectortest.Response(g.rng, time.Now().Add(-time.Minute))
	r.Score = score
	return r
}

func body(t *testing.T, rs ...wire.Response) []byte {
	t.Helper()
	b, err := json.Marshal(wire.UploadRequest{Responses: rs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An app's answer is stored under its key's store, channel and touchpoint; its retry is
// reported as a duplicate and stored once; the key also works in X-NPS-App-Key, and a
// browser on one of its origins is let in with CORS.
func TestAppAnswersStoredOnce(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		g := newRig(t, b)
		ctx := context.Background()
		first := g.answer(9)
		first.OrderID, first.Segment = "A-100", "returning"
		res := g.post(t, call{client: "198.51.100.1", body: body(t, first)}).result(t)
		if !slices.Equal(res.Accepted, []string{first.ID}) || len(res.Duplicate)+len(res.Rejected) != 0 {
			t.Fatalf("first post: %+v", res)
		}
		// The reply was lost; the app sends the same request again, and once more with
		// the key in its own header and the body gzipped.
		res = g.post(t, call{client: "198.51.100.1", body: body(t, first)}).result(t)
		if !slices.Equal(res.Duplicate, []string{first.ID}) || len(res.Accepted) != 0 {
			t.Fatalf("retry: %+v", res)
		}
		var zipped bytes.Buffer
		zw := gzip.NewWriter(&zipped)
		zw.Write(body(t, first))
		zw.Close()
		res = g.post(t, call{client: "198.51.100.1", body: zipped.Bytes(), headers: map[string]string{
			"Authorization": "", appapi.HeaderAppKey: g.key.Code, "Content-Encoding": "gzip"}}).result(t)
		if !slices.Equal(res.Duplicate, []string{first.ID}) {
			t.Fatalf("retry with X-NPS-App-Key, gzipped: %+v", res)
		}
		if n := g.c.Count(t, "S1"); n != 1 {
			t.Fatalf("%d responses stored, want 1", n)
		}
		stored, err := g.c.DB.ResponseOfLink(ctx, g.key.ID, first.ID)
		if err != nil || stored.Channel != "app" || stored.Touchpoint != "in-app" || stored.Score != 9 || stored.OrderID != "A-100" ||
			stored.Segment != "returning" {
			t.Fatalf("stored: %+v, %v", stored, err)
		}
		day := first.CreatedAt.UTC().Format(time.DateOnly)
		if nps, err := g.c.DB.NPS(ctx, storage.Filter{Channel: "app", Touchpoint: "in-app", From: day, To: day}); err != nil || nps.Responses != 1 {
			t.Fatalf("the app channel's NPS: %+v, %v", nps, err)
		}

		// A batch: a new answer, a conflict (the first id with another score), another
		// channel, an invalid score, and the same new answer twice.
		second, conflict, elsewhere, invalid := g.answer(3), first, g.answer(10), g.answer(11)
		conflict.Score = 2
		elsewhere.Channel = "kiosk"
		res = g.post(t, call{client: "198.51.100.1", body: body(t, second, conflict, elsewhere, invalid, second)}).result(t)
		rejected := map[string]string{}
		for _, r := range res.Rejected {
			rejected[r.ID] = r.Error
		}
		if !slices.Equal(res.Accepted, []string{second.ID}) || !slices.Equal(res.Duplicate, []string{second.ID}) ||
			!strings.Contains(rejected[conflict.ID], "conflict") || !strings.Contains(rejected[elsewhere.ID], `channel "kiosk"`) ||
			!strings.Contains(rejected[invalid.ID], "invalid input") || len(res.Rejected) != 3 {
			t.Fatalf("batch: %+v", res)
		}
		if n := g.c.Count(t, "S1"); n != 2 {
			t.Fatalf("%d responses stored, want 2", n)
		}

		// A browser on the key's origin: its preflight and its POST are let in.
		pre := do(t, g.request(t, http.MethodOptions, call{client: "198.51.100.1", headers: map[string]string{
			"Origin": shopOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}}))
		if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != shopOrigin ||
			!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("preflight: %d %v", pre.status, pre.header)
		}
		browser := g.post(t, call{client: "198.51.100.2", body: body(t, g.answer(8)), headers: map[string]string{"Origin": shopOrigin}})
		if browser.status != http.StatusOK || browser.header.Get("Access-Control-Allow-Origin") != shopOrigin {
			t.Errorf("a browser on the key's origin: %d %v %s", browser.status, browser.header, browser.body)
		}
	})
}

// Every refusal is a clear 4xx with a JSON error code, and stores nothing.
func TestAppRefusals(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		g := newRig(t, b)
		ctx := context.Background()
		site, err := g.c.DB.AddLink(ctx, storage.NewLink{Kind: storage.LinkKindSite, StoreID: "S1", Channel: "web", Origins: []string{shopOrigin}})
		if err != nil {
			t.Fatal(err)
		}
		closed, err := g.c.DB.AddLink(ctx, storage.NewLink{Kind: storage.LinkKindApp, StoreID: "S1", Channel: "app"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.c.DB.DisableLink(ctx, closed.Code); err != nil {
			t.Fatal(err)
		}
		one := body(t, g.answer(10))
		many := make([]wire.Response, appapi.MaxItems+1)
		for i := range many {
			many[i] = g.answer(5)
		}
		huge := g.answer(5)
		huge.Comment = strings.Repeat("x", appapi.MaxBytes)
		tests := []struct {
			name    string
			headers map[string]string
			body    []byte
			status  int
			code    string
		}{
			{"no key", map[string]string{"Authorization": ""}, one, 401, "unauthorized"},
			{"a wrong key", map[string]string{"Authorization": "Bearer 22222222"}, one, 401, "invalid_key"},
			{"a mangled key", map[string]string{"Authorization": "Bearer ' OR 1=1 --"}, one, 401, "invalid_key"},
			{"a site key", map[string]string{"Authorization": "Bearer " + site.Code}, one, 401, "invalid_key"},
			{"a disabled key", map[string]string{"Authorization": "Bearer " + closed.Code}, one, 410, "key_disabled"},
			{"an origin not on the list", map[string]string{"Origin": "https://evil.example.com"}, one, 403, "origin_not_allowed"},
			{"an http origin", map[string]string{"Origin": "http://shop.example.com"}, one, 403, "origin_not_allowed"},
			{"no bundle id", map[string]string{appapi.HeaderBundleID: ""}, one, 403, "bundle_not_allowed"},
			{"another app", map[string]string{appapi.HeaderBundleID: "com.evil.shop"}, one, 403, "bundle_not_allowed"},
			{"not JSON", nil, []byte("score=10"), 400, "bad_json"},
			{"an unknown field", nil, []byte(`{"responses": [], "store_id": "S2"}`), 400, "bad_json"},
			{"no responses", nil, []byte(`{"responses": []}`), 400, "bad_request"},
			{"a form", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, one, 415, "unsupported_media_type"},
			{"too many responses", nil, body(t, many...), 413, "too_large"},
			{"too many bytes", nil, body(t, huge), 413, "too_large"},
		}
		for i, tt := range tests {
			// Each from a client of its own, so that no client limit is reached.
			r := g.post(t, call{client: "203.0.113." + strconv.Itoa(i+1), headers: tt.headers, body: tt.body})
			if r.status != tt.status || r.error().Error != tt.code || r.error().Detail == "" ||
				!strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Errorf("%s: %d %s, want %d %s", tt.name, r.status, r.body, tt.status, tt.code)
			}
			if r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s: refused, yet Access-Control-Allow-Origin %q", tt.name, r.header.Get("Access-Control-Allow-Origin"))
			}
		}
		if n := g.c.Count(t, "S1"); n != 0 {
			t.Errorf("%d responses stored by refused requests", n)
		}
	})
}

// A client over its limit gets 429 with Retry-After (others go on), and so does a key
// over its own limit of answers a minute, from every client together.
func TestAppRateLimits(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		g := newRig(t, b)
		// The client limit of the rig: 5 at once. Wrong keys count too: guessing keys
		// costs the same as answering.
		for i := range 5 {
			headers := map[string]string{}
			if i%2 == 1 {
				headers["Authorization"] = "Bearer 33333333"
			}
			if r := g.post(t, call{client: "192.0.2.7", headers: headers, body: body(t, g.answer(9))}); r.status >= 429 {
				t.Fatalf("request %d: %d %s", i+1, r.status, r.body)
			}
		}
		r := g.post(t, call{client: "192.0.2.7", body: body(t, g.answer(9))})
		if r.status != http.StatusTooManyRequests || r.error().Error != "rate_limited" || r.header.Get("Retry-After") == "" {
			t.Fatalf("the sixth request: %d %v %s", r.status, r.header, r.body)
		}
		if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 10 {
			t.Errorf("Retry-After %q, want 1 to 10 s", r.header.Get("Retry-After"))
		}
		// An IPv6 client is its /64: another address in it is the same client.
		for range 5 {
			g.post(t, call{client: "2001:db8:1:2::1", body: body(t, g.answer(9))})
		}
		if r := g.post(t, call{client: "2001:db8:1:2::99", body: body(t, g.answer(9))}); r.status != http.StatusTooManyRequests {
			t.Errorf("another address in the same /64: %d", r.status)
		}
		if r := g.post(t, call{client: "192.0.2.8", body: body(t, g.answer(9))}); r.status != http.StatusOK {
			t.Errorf("another client: %d %s", r.status, r.body)
		}

		// The key takes 3 answers a minute: a fourth, from anyone, waits.
		slow, err := g.c.DB.AddLink(context.Background(), storage.NewLink{Kind: storage.LinkKindApp, StoreID: "S1", Channel: "app", RatePerMinute: 3})
		if err != nil {
			t.Fatal(err)
		}
		key := map[string]string{"Authorization": "Bearer " + slow.Code}
		if r := g.post(t, call{client: "192.0.2.20", headers: key, body: body(t, g.answer(1), g.answer(2), g.answer(3), g.answer(4))}); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("a batch over the key's minute: %d %s", r.status, r.body)
		}
		for i := range 3 {
			if r := g.post(t, call{client: "192.0.2." + strconv.Itoa(21+i), headers: key, body: body(t, g.answer(9))}); r.status != http.StatusOK {
				t.Fatalf("answer %d: %d %s", i+1, r.status, r.body)
			}
		}
		r = g.post(t, call{client: "192.0.2.30", headers: key, body: body(t, g.answer(9))})
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.error().Detail, "3 answers a minute") {
			t.Errorf("the key's fourth answer: %d %v %s", r.status, r.header, r.body)
		}
	})
}
