package dashboard_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// alertsEnv is a collector with two stores and a dashboard that checks webhook URLs
// with the given policy, as serve does with its flag.
type alertsEnv struct {
	c           *collectortest.Collector
	url         string
	hqToken     string
	hq, harbour *http.Client
	device      string // a till of S001
	policy      alerts.URLPolicy
	rng         *rand.Rand
}

func newAlertsEnv(t *testing.T, policy alerts.URLPolicy) *alertsEnv {
	t.Helper()
	c := collectortest.Start(t, collectortest.Options{})
	c.AddStore(t, storage.Store{ID: "S001", Name: "Main Street", Region: "North"})
	c.AddStore(t, storage.Store{ID: "S002", Name: "Harbour", Region: "South"})
	mux := http.NewServeMux()
	dashboard.New(dashboard.Config{Service: c.Service, Policy: policy, Logger: slog.New(slog.DiscardHandler)}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &alertsEnv{c: c, url: srv.URL, policy: policy, device: c.Enroll(t, "S001", "Till 1").DeviceID, rng: rand.New(rand.NewPCG(5, 5))}
	e.hqToken = c.Session(t, "")
	e.hq = e.client(t, e.hqToken)
	e.harbour = e.client(t, c.Session(t, "S002"))
	return e
}

func (e *alertsEnv) client(t *testing.T, token string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.url)
	jar.SetCookies(u, []*http.Cookie{{Name: dashboard.SessionCookie, Value: token}})
	return &http.Client{Jar: jar}
}

// csrf reads the CSRF token from the Alerts page, as a browser's form would carry it.
func (e *alertsEnv) csrf(t *testing.T, c *http.Client) string {
	t.Helper()
	code, body := fetch(t, c, e.url+"/alerts")
	m := csrfField.FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("alerts page: %d, no CSRF field", code)
	}
	return m[1]
}

func postForm(t *testing.T, c *http.Client, target string, v url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(target, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// detractor uploads a detractor at S001: a case opens, and a case.opened event with it.
func (e *alertsEnv) detractor(t *testing.T) {
	t.Helper()
	r := collectortest.Response(e.rng, time.Now().Add(-time.Minute))
	r.Score, r.Comment = 1, "Nobody at the till."
	if _, err := e.c.Service.IngestFromDevice(context.Background(), e.device, []wire.Response{r}); err != nil {
		t.Fatal(err)
	}
}

// pausedSubscription is a chain webhook that failed once with a pause threshold of one.
// Make it before any other subscription: it claims every delivery due.
func (e *alertsEnv) pausedSubscription(t *testing.T) storage.Subscription {
	t.Helper()
	ctx := context.Background()
	sub, err := e.c.DB.AddSubscription(ctx, storage.Subscription{ScopeKind: storage.ScopeChain, URL: "https://hooks.example/paused",
		Secret: "whsec_AAAA", Events: []string{storage.EventCaseOpened}})
	if err != nil {
		t.Fatal(err)
	}
	e.detractor(t)
	ds, err := e.c.DB.ClaimDeliveries(ctx, 10, time.Now().Add(time.Minute))
	if err != nil || len(ds) != 1 {
		t.Fatalf("claimed %d deliveries, %v", len(ds), err)
	}
	if err := e.c.DB.RecordAttempt(ctx, ds[0], storage.Attempt{StatusCode: 503, Err: "the receiver answered 503 Service Unavailable",
		Retry: time.Now().Add(time.Hour), PauseAfter: 1}); err != nil {
		t.Fatal(err)
	}
	return sub
}

func (e *alertsEnv) subscriptions(t *testing.T) []storage.Subscription {
	t.Helper()
	subs, err := e.c.DB.Subscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return subs
}

// The page lists every subscription with where it sends, its stores, its events and its
// state; a paused one says so in words, why, and offers a Resume button.
func TestAlertsPageListsSubscriptions(t *testing.T) {
	e := newAlertsEnv(t, alerts.URLPolicy{})
	ctx := context.Background()
	paused := e.pausedSubscription(t)
	if _, err := e.c.DB.AddSubscription(ctx, storage.Subscription{ScopeKind: storage.ScopeStore, Scope: "S002", URL: "https://hooks.example/harbour",
		Secret: "whsec_BBBB", Events: []string{storage.EventNPSDropped, storage.EventNPSRecovered}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Service.AddEmailAlert(ctx, storage.Subscription{ScopeKind: storage.ScopeRegion, Scope: "North"}, "cx@example.com", "de"); err != nil {
		t.Fatal(err)
	}
	code, body := fetch(t, e.hq, e.url+"/alerts")
	if code != 200 {
		t.Fatalf("GET /alerts: %d", code)
	}
	for _, want := range []string{
		"https://hooks.example/paused", "All stores", "case.opened",
		"https://hooks.example/harbour", "Store S002 (Harbour)", "nps.dropped, nps.recovered",
		"E-mail to cx@example.com in German", "Region North", "every event",
		`<div class="flag">PAUSED</div>`, "paused after 1 failed deliveries in a row; last: the receiver answered 503 Service Unavailable",
		"Failed deliveries in a row: 1", `action="/alerts/subscriptions/` + paused.ID + `/resume"`,
		`id="paused-banner"`, "1 paused subscription:",
		"Active", "the receiver answered 503 Service Unavailable", "Waiting: subscription paused", // the paused one's delivery, in the log
	} {
		if !strings.Contains(body, html.EscapeString(want)) && !strings.Contains(body, want) {
			t.Errorf("the Alerts page lacks %q", want)
		}
	}
	if n := strings.Count(body, "/resume\""); n != 1 {
		t.Errorf("%d Resume buttons, want 1 (for the paused subscription only)", n)
	}
	if strings.Contains(body, "whsec_") {
		t.Error("the Alerts page shows a signing secret")
	}
}

// Alerts are the chain's: a store-limited sign-in neither sees nor changes them, and
// has no link to them.
func TestAlertsRefusedToAStoreSignIn(t *testing.T) {
	e := newAlertsEnv(t, alerts.URLPolicy{})
	sub := e.pausedSubscription(t)
	_, own := fetch(t, e.harbour, e.url+"/")
	m := csrfField.FindStringSubmatch(own)
	if m == nil {
		t.Fatal("no CSRF field on Harbour's overview")
	}
	for _, tc := range []struct {
		method, path string
	}{
		{"GET", "/alerts"},
		{"GET", "/alerts/deliveries/1"},
		{"POST", "/alerts/webhooks"},
		{"POST", "/alerts/emails"},
		{"POST", "/alerts/subscriptions/" + sub.ID + "/resume"},
	} {
		var code int
		var body string
		if tc.method == "GET" {
			code, body = fetch(t, e.harbour, e.url+tc.path)
		} else {
			code, body = postForm(t, e.harbour, e.url+tc.path, url.Values{"csrf": {m[1]}, "url": {"https://hooks.example/x"},
				"address": {"x@example.com"}, "lang": {"en"}, "scope": {"chain"}, "events": {"case.opened"}})
		}
		if code != http.StatusForbidden || !strings.Contains(body, "Alerts are managed for the whole chain") {
			t.Errorf("%s %s with a Harbour sign-in: %d, want 403 and why", tc.method, tc.path, code)
		}
	}
	if subs := e.subscriptions(t); len(subs) != 1 || !subs[0].Paused {
		t.Errorf("after Harbour's posts: %+v", subs)
	}
	_, body := fetch(t, e.harbour, e.url+"/")
	if strings.Contains(body, `href="/alerts"`) {
		t.Error("Harbour's navigation links to Alerts")
	}
	_, body = fetch(t, e.hq, e.url+"/")
	if !strings.Contains(body, `href="/alerts"`) {
		t.Error("HQ's navigation lacks Alerts")
	}
}

var secretShown = regexp.MustCompile(`<code class="secret" id="secret">(whsec_[^<]+)</code>`)

// Adding a webhook from the page: the URL policy's refusals are a 400 that says why and
// adds nothing; an allowed URL is added, and its secret is shown on that page only.
func TestAlertsAddWebhook(t *testing.T) {
	strict := newAlertsEnv(t, alerts.URLPolicy{})
	loopback := newAlertsEnv(t, alerts.URLPolicy{AllowLoopbackHTTP: true})
	for _, tc := range []struct {
		name    string
		env     *alertsEnv
		form    url.Values
		status  int
		message string
	}{
		{"a private address", strict, url.Values{"url": {"https://10.1.2.3/hook"}}, 400,
			"The collector will not send alerts there: 10.1.2.3 is a private address."},
		{"the cloud metadata address", strict, url.Values{"url": {"https://169.254.169.254/latest"}}, 400, "169.254.169.254 is a link-local address"},
		{"loopback, not allowed", strict, url.Values{"url": {"http://127.0.0.1:9/hook"}}, 400, "127.0.0.1 is a loopback address"},
		{"plain http to a public address", loopback, url.Values{"url": {"http://203.0.113.7/hook"}}, 400, `"http://203.0.113.7/hook" must be https`},
		{"no event ticked", loopback, url.Values{"url": {"http://127.0.0.1:9/hook"}, "events": nil}, 400, "Not added: tick at least one event."},
		{"an unknown store", loopback, url.Values{"url": {"http://127.0.0.1:9/hook"}, "scope": {"store:S999"}}, 400, "There is no such store."},
		{"no CSRF token", loopback, url.Values{"url": {"http://127.0.0.1:9/hook"}, "csrf": {""}}, 403, "The form expired."},
		{"loopback, allowed", loopback, url.Values{"url": {"http://127.0.0.1:9/hook"}, "scope": {"region:North"}}, 200,
			"Copy this secret now: it is shown this once and will not be shown again."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(tc.env.subscriptions(t))
			form := url.Values{"csrf": {tc.env.csrf(t, tc.env.hq)}, "scope": {"chain"}, "events": {"case.opened", "nps.dropped"}}
			for k, v := range tc.form {
				form[k] = v
			}
			code, body := postForm(t, tc.env.hq, tc.env.url+"/alerts/webhooks", form)
			if code != tc.status || !strings.Contains(body, html.EscapeString(tc.message)) {
				t.Fatalf("POST /alerts/webhooks: %d, want %d and %q in the page", code, tc.status, tc.message)
			}
			subs := tc.env.subscriptions(t)
			if code != 200 {
				if len(subs) != before {
					t.Errorf("a refused webhook was added: %d subscriptions, had %d", len(subs), before)
				}
				if code == 400 && !strings.Contains(body, `value="`+html.EscapeString(form.Get("url"))+`"`) {
					t.Errorf("the refused form lost its URL")
				}
				return
			}
			m := secretShown.FindStringSubmatch(body)
			if len(subs) != before+1 || m == nil {
				t.Fatalf("added: %d subscriptions (had %d), secret shown: %v", len(subs), before, m != nil)
			}
			got := subs[len(subs)-1]
			if got.URL != "http://127.0.0.1:9/hook" || got.ScopeKind != storage.ScopeRegion || got.Scope != "North" ||
				strings.Join(got.Events, ",") != "case.opened,nps.dropped" {
				t.Errorf("added %+v", got)
			}
			secret := html.UnescapeString(m[1])
			if _, err := alerts.Sign(secret, "msg_1", time.Now(), []byte("{}")); err != nil {
				t.Errorf("the secret shown is not whsec_<base64>: %v", err)
			}
			if _, again := fetch(t, tc.env.hq, tc.env.url+"/alerts"); strings.Contains(again, m[1]) || strings.Contains(again, secret) {
				t.Error("the secret shows again on the Alerts page")
			}
		})
	}
}

// An e-mail alert from the page: added with its language and stores; a bad address or
// language is a 400 that says why.
func TestAlertsAddEmail(t *testing.T) {
	e := newAlertsEnv(t, alerts.URLPolicy{})
	for _, tc := range []struct {
		name    string
		form    url.Values
		status  int
		message string
	}{
		{"a bad address", url.Values{"address": {"not an address"}}, 400, `e-mail address "not an address"`},
		{"an unknown language", url.Values{"lang": {"it"}}, 400, "alerts are written in en, es, fr and de"},
		{"added", url.Values{}, 200, "E-mail to cx@example.com in French"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"csrf": {e.csrf(t, e.hq)}, "address": {"cx@example.com"}, "lang": {"fr"}, "scope": {"store:S001"}, "events": {"case.opened"}}
			for k, v := range tc.form {
				form[k] = v
			}
			code, body := postForm(t, e.hq, e.url+"/alerts/emails", form)
			if code != tc.status || !strings.Contains(body, html.EscapeString(tc.message)) {
				t.Errorf("POST /alerts/emails: %d, want %d and %q in the page", code, tc.status, tc.message)
			}
		})
	}
	subs := e.subscriptions(t)
	if len(subs) != 1 || subs[0].URL != "mailto:cx@example.com?lang=fr" || subs[0].Scope != "S001" {
		t.Errorf("subscriptions: %+v", subs)
	}
}

// Resume needs the form's CSRF token; with it the subscription is active again.
func TestAlertsResume(t *testing.T) {
	e := newAlertsEnv(t, alerts.URLPolicy{})
	sub := e.pausedSubscription(t)
	target := e.url + "/alerts/subscriptions/" + sub.ID + "/resume"
	for _, tc := range []struct {
		name    string
		csrf    string
		status  int
		message string
		paused  bool
	}{
		{"no CSRF token", "", 403, "The form expired. Nothing was changed", true},
		{"a wrong CSRF token", strings.Repeat("x", 32), 403, "The form expired. Nothing was changed", true},
		{"the form's token", e.csrf(t, e.hq), 200, "Active", false},
	} {
		code, body := postForm(t, e.hq, target, url.Values{"csrf": {tc.csrf}})
		if code != tc.status || !strings.Contains(body, tc.message) {
			t.Errorf("%s: %d, want %d and %q", tc.name, code, tc.status, tc.message)
		}
		if subs := e.subscriptions(t); subs[0].Paused != tc.paused {
			t.Errorf("%s: paused %v, want %v", tc.name, subs[0].Paused, tc.paused)
		}
	}
	if code, _ := postForm(t, e.hq, e.url+"/alerts/subscriptions/nope/resume", url.Values{"csrf": {e.csrf(t, e.hq)}}); code != 404 {
		t.Errorf("resume an unknown subscription: %d, want 404", code)
	}
}

var deliveryLink = regexp.MustCompile(`href="/alerts/deliveries/(\d+)"`)

// failingDelivery adds a webhook from the page to a receiver that answers 500 and lets
// a worker try it twice, then give up. It returns the delivery's id.
func (e *alertsEnv) failingDelivery(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "database is down", http.StatusInternalServerError)
	}))
	t.Cleanup(rcv.Close)
	code, _ := postForm(t, e.hq, e.url+"/alerts/webhooks", url.Values{"csrf": {e.csrf(t, e.hq)}, "url": {rcv.URL + "/hook"},
		"scope": {"store:S001"}, "events": {"case.opened"}})
	if code != 200 {
		t.Fatalf("add webhook: %d", code)
	}
	e.detractor(t)
	worker := func(giveUpAfter time.Duration) *alerts.Worker {
		w, err := alerts.New(alerts.Config{DB: e.c.DB, Policy: e.policy, Logger: slog.New(slog.DiscardHandler),
			Backoff: func(int) time.Duration { return time.Millisecond }, GiveUpAfter: giveUpAfter})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	// The first worker retries; the second, whose deliveries may not outlive their event
	// by a nanosecond, gives up.
	for _, w := range []*alerts.Worker{worker(time.Hour), worker(time.Nanosecond)} {
		time.Sleep(5 * time.Millisecond) // the backoff
		if n, err := w.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("RunOnce: %d sent, %v", n, err)
		}
	}
	_, body := fetch(t, e.hq, e.url+"/alerts")
	m := deliveryLink.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no delivery in the log")
	}
	return m[1]
}

// A delivery the receiver refused until the worker gave up is flagged as failed in the
// log, and its page lists each attempt with the receiver's status.
func TestAlertsFailedDeliveryShowsItsAttempts(t *testing.T) {
	e := newAlertsEnv(t, alerts.URLPolicy{AllowLoopbackHTTP: true})
	id := e.failingDelivery(t)
	_, list := fetch(t, e.hq, e.url+"/alerts")
	if !strings.Contains(list, `<span class="flag">FAILED: gave up</span>`) || !strings.Contains(list, `<tr class="failed">`) {
		t.Error("the log does not flag the failed delivery in words")
	}
	code, body := fetch(t, e.hq, e.url+"/alerts/deliveries/"+id)
	if code != 200 {
		t.Fatalf("GET /alerts/deliveries/%s: %d", id, code)
	}
	statuses := regexp.MustCompile(`<span class="http-status">([^<]*)</span>`).FindAllStringSubmatch(body, -1)
	if len(statuses) != 2 || statuses[0][1] != "500" || statuses[1][1] != "500" {
		t.Errorf("attempts' HTTP statuses: %v, want 500 twice", statuses)
	}
	for _, want := range []string{"FAILED: gave up</span> after 2 attempts", "the receiver answered 500 Internal Server Error",
		"case.opened", "Store S001 (Main Street)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the delivery page lacks %q", want)
		}
	}
	for _, path := range []string{"/alerts/deliveries/999999", "/alerts/deliveries/abc"} {
		if code, _ := fetch(t, e.hq, e.url+path); code != 404 {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}

// TestDashboardScreenshotsAlerts renders the Alerts page and a failed delivery's page at
// desktop and phone width: a paused webhook, an e-mail alert, a failed delivery. Its name
// starts like TestDashboardScreenshots so that make screenshots runs it too.
func TestDashboardScreenshotsAlerts(t *testing.T) {
	e := newAlertsEnv(t, alerts.URLPolicy{AllowLoopbackHTTP: true})
	ctx := context.Background()
	e.pausedSubscription(t)
	if _, err := e.c.Service.AddEmailAlert(ctx, storage.Subscription{ScopeKind: storage.ScopeRegion, Scope: "North",
		Events: []string{storage.EventNPSDropped, storage.EventNPSRecovered}}, "cx-team@example.com", "de"); err != nil {
		t.Fatal(err)
	}
	id := e.failingDelivery(t)
	b := browser(t)
	if err := signIn(b, e.url, e.hqToken); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join("..", "..", "docs", "screenshots")
	for name, path := range map[string]string{"alerts": "/alerts", "alerts_delivery": "/alerts/deliveries/" + id} {
		for _, width := range []int64{1280, 390} {
			var png []byte
			if err := chromedp.Run(b,
				chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(e.url+path),
				chromedp.WaitVisible("main", chromedp.ByQuery),
				chromedp.FullScreenshot(&png, 100),
			); err != nil {
				t.Fatal(err)
			}
			if len(png) < 1000 {
				t.Fatalf("%s at %d: empty screenshot", name, width)
			}
			if os.Getenv("UPDATE_SCREENSHOTS") != "" {
				if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("dashboard_%s_%d.png", name, width)), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// A region's manager is not the chain: alerts may cover any store, so they are refused
// too, and not linked.
func TestAlertsRefusedToARegionSignIn(t *testing.T) {
	e := newAlertsEnv(t, alerts.URLPolicy{})
	ctx := context.Background()
	u, err := e.c.DB.AddUser(ctx, storage.NewUser{Email: "nora@example.com", Name: "Nora North", Password: "correct horse battery",
		ScopeKind: storage.ScopeRegion, Scope: "North"})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := e.c.DB.NewSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	north := e.client(t, token)
	if code, body := fetch(t, north, e.url+"/alerts"); code != http.StatusForbidden || !strings.Contains(body, "Alerts are managed for the whole chain") {
		t.Errorf("GET /alerts as a region manager: %d", code)
	}
	if _, body := fetch(t, north, e.url+"/"); strings.Contains(body, `href="/alerts"`) {
		t.Error("the region manager's navigation links to Alerts")
	}
}
