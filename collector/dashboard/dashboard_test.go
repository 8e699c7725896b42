package dashboard_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
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

	"github.com/chromedp/cdproto/network"
	cdpage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

const chromiumPath = "/usr/bin/chromium"

// dashboardEnv is a collector with a dozen stores of data on a loopback listener.
type dashboardEnv struct {
	srv        *httptest.Server
	hq, store2 storage.APIToken
}

func newDashboardEnv(t *testing.T) *dashboardEnv {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	c := collectortest.Start(t, collectortest.Options{})
	db := c.Service
	names := []string{"Main Street", "Harbour", "Old Town", "Station", "Riverside", "Market Square",
		"Airport", "University", "Mall West", "Hillside", "Lakeside", "North Gate"}
	rng := rand.New(rand.NewPCG(42, 42))
	for i, name := range names {
		id := fmt.Sprintf("S%03d", i+1)
		region := []string{"North", "South", "East"}[i%3]
		if err := db.AddStore(ctx, storage.Store{ID: id, Name: name, Timezone: "Europe/Berlin", Region: region}); err != nil {
			t.Fatal(err)
		}
		nd, _ := db.AddDevice(ctx, id, "Till 1", 0)
		en, err := db.Enroll(ctx, nd.Code)
		if err != nil {
			t.Fatal(err)
		}
		db.RecordHeartbeat(ctx, en.DeviceID, wire.Heartbeat{AppVersion: "0.1.0", QueueLength: int64(i % 4), DeviceTime: now, FreeDiskBytes: 8 << 30})
		if i%4 == 3 { // a second till that has never reported: the devices page flags it
			silent, _ := db.AddDevice(ctx, id, "Till 2", 0)
			db.Enroll(ctx, silent.Code)
		}
		var batch []wire.Response
		bias := i % 5 // some stores do better than others
		for range 60 + rng.IntN(60) {
			r := collectortest.Response(rng, now.Add(-time.Duration(rng.IntN(29*24*60))*time.Minute))
			r.Score = retailScore(rng, bias-2)
			if rng.IntN(4) == 0 {
				r.Comment = "Friendly staff, found everything."
				if r.Score <= 6 {
					r.Comment = "The queue was far too long today."
				}
			}
			batch = append(batch, r)
		}
		if i == 0 {
			xss := collectortest.Response(rng, now.Add(-time.Hour))
			xss.Score, xss.Comment = 2, `<script>alert("xss")</script><img src=x onerror=alert(1)>`
			batch = append(batch, xss)
		}
		if _, err := db.IngestFromDevice(ctx, en.DeviceID, batch); err != nil {
			t.Fatal(err)
		}
	}
	e := &dashboardEnv{}
	e.hq, _ = db.AddAPIToken(ctx, "hq", "")
	e.store2, _ = db.AddAPIToken(ctx, "harbour manager", "S002")
	e.srv = httptest.NewServer(c.API)
	t.Cleanup(e.srv.Close)
	return e
}

// browser starts headless Debian Chromium, with the flags this closed network needs.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the browser tests: %s is missing (make deps installs chromium)", chromiumPath)
		}
		t.Skipf("no %s: install chromium (make deps) to run the browser tests", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		// No UserDataDir: chromedp makes a temporary one and removes it when Chromium has
		// exited; a t.TempDir() raced Chromium's last writes at cleanup.
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		chromedp.Cancel(ctx) // close the browser gracefully first
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	// Fail on any JavaScript dialog: no page may run script.
	chromedp.ListenTarget(ctx, func(ev any) {
		if d, ok := ev.(*cdpage.EventJavascriptDialogOpening); ok {
			t.Errorf("a script ran and opened a dialog: %q", d.Message)
		}
	})
	return ctx
}

func signIn(ctx context.Context, base, token string) error {
	return chromedp.Run(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SetValue("#token", token, chromedp.ByID),
		chromedp.Submit("#token", chromedp.ByID),
		chromedp.WaitVisible("#nps", chromedp.ByID),
	)
}

func apiGet(t *testing.T, base, path, token string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := jsonDecode(resp, out); err != nil {
		t.Fatal(err)
	}
}

func TestDashboardInABrowser(t *testing.T) {
	e := newDashboardEnv(t)
	ctx := browser(t)
	base := e.srv.URL

	// Sign in; the overview's numbers equal the API's for the same period.
	if err := signIn(ctx, base, e.hq.Token); err != nil {
		t.Fatal(err)
	}
	var npsText, responsesText string
	if err := chromedp.Run(ctx, chromedp.Text("#nps", &npsText, chromedp.ByID), chromedp.Text("#responses", &responsesText, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	var rep storage.NPSReport
	apiGet(t, base, "/v1/reports/nps", e.hq.Token, &rep)
	if npsText != fmt.Sprintf("%+.1f", rep.NPS) || responsesText != fmt.Sprint(rep.Responses) {
		t.Errorf("overview shows NPS %s from %s responses; the API says %+.1f from %d", npsText, responsesText, rep.NPS, rep.Responses)
	}

	// storage.Filter comments: detractors mentioning the queue, each one a detractor.
	var badges []string
	var rows int
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/comments?category=detractor&q=queue"),
		chromedp.WaitVisible("h1", chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("table.comments .badge")).map(b => b.title)`, &badges),
		chromedp.Evaluate(`document.querySelectorAll("table.comments tr").length`, &rows),
	); err != nil {
		t.Fatal(err)
	}
	var api struct{ Comments []storage.Comment }
	apiGet(t, base, "/v1/comments?category=detractor&q=queue&limit=500", e.hq.Token, &api)
	if rows == 0 || rows != len(api.Comments) {
		t.Errorf("comments page shows %d rows, the API %d", rows, len(api.Comments))
	}
	for _, b := range badges {
		if b != "detractor" {
			t.Fatalf("filter for detractors shows a %s", b)
		}
	}

	// A comment with markup renders as text and runs nothing.
	var shown string
	var scripts, images int
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/comments?q=script"),
		chromedp.Text("table.comments .comment", &shown, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("main script").length`, &scripts),
		chromedp.Evaluate(`document.querySelectorAll("main img").length`, &images),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown, `<script>alert("xss")</script>`) || scripts != 0 || images != 0 {
		t.Errorf("XSS comment: shown %q, %d script and %d img elements", shown, scripts, images)
	}

	// Export what the stores table shows, with the browser's session.
	var tableRows int
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/stores?sort=-nps"),
		chromedp.WaitVisible("#stores", chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("#stores tbody tr").length`, &tableRows),
	); err != nil {
		t.Fatal(err)
	}
	csvRows := exportWithBrowserSession(t, ctx, base+"/export/stores.csv?sort=-nps")
	if len(csvRows) != tableRows+1 || csvRows[0][0] != "store_id" {
		t.Errorf("CSV has %d rows for a table of %d", len(csvRows), tableRows)
	}

	// Sign out: the session is gone.
	var title string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.Click(`header button`, chromedp.ByQuery),
		chromedp.WaitVisible("#token", chromedp.ByID),
		chromedp.Navigate(base+"/stores"),
		chromedp.Title(&title),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(title, "Sign in") {
		t.Errorf("after signing out /stores shows %q", title)
	}
}

func exportWithBrowserSession(t *testing.T, ctx context.Context, target string) [][]string {
	t.Helper()
	var cookies []*network.Cookie
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().Do(ctx)
		return err
	})); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(target)
	for _, c := range cookies {
		jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value}})
	}
	resp, err := (&http.Client{Jar: jar}).Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("export content type %q", ct)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestDashboardStoreLimitedToken(t *testing.T) {
	e := newDashboardEnv(t)
	ctx := browser(t)
	base := e.srv.URL
	if err := signIn(ctx, base, e.store2.Token); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/stores/S001", "/comments?store=S001", "/?store=S001"} {
		var body string
		if err := chromedp.Run(ctx, chromedp.Navigate(base+path), chromedp.Text("main", &body, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, "This token may read its own store only.") {
			t.Errorf("%s with a Harbour token shows %q", path, body)
		}
	}
	var storeRows []string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/stores"),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("#stores tbody tr td:first-child a")).map(a => a.textContent)`, &storeRows),
	); err != nil {
		t.Fatal(err)
	}
	if len(storeRows) != 1 || storeRows[0] != "Harbour" {
		t.Errorf("stores table for a Harbour token: %q", storeRows)
	}
}

// TestDashboardScreenshots renders every page at desktop and phone width. With
// UPDATE_SCREENSHOTS=1 it writes them to docs/screenshots (make screenshots does).
func TestDashboardScreenshots(t *testing.T) {
	e := newDashboardEnv(t)
	ctx := browser(t)
	if err := signIn(ctx, e.srv.URL, e.hq.Token); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{
		"overview": "/", "stores": "/stores?sort=-nps", "store": "/stores/S001",
		"comments": "/comments?category=detractor", "devices": "/devices",
	}
	out := filepath.Join("..", "docs", "screenshots")
	for name, path := range pages {
		for _, width := range []int64{1280, 390} {
			var png []byte
			if err := chromedp.Run(ctx,
				chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(e.srv.URL+path),
				chromedp.WaitVisible("main", chromedp.ByQuery),
			); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
				t.Fatal(err)
			}
			if len(png) < 1000 {
				t.Fatalf("%s at %d: empty screenshot", name, width)
			}
			if os.Getenv("UPDATE_SCREENSHOTS") != "" {
				file := filepath.Join(out, fmt.Sprintf("dashboard_%s_%d.png", name, width))
				if err := os.WriteFile(file, png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func jsonDecode(resp *http.Response, out any) error {
	return json.NewDecoder(resp.Body).Decode(out)
}

// retailScore draws a score from a typical retail mix (NPS around +30), shifted by bias.
func retailScore(rng *rand.Rand, bias int) int {
	weights := [11]int{2, 1, 1, 2, 2, 4, 6, 10, 17, 22, 33}
	x := rng.IntN(100)
	for s, w := range weights {
		if x < w {
			return min(10, max(0, s+bias))
		}
		x -= w
	}
	return 10
}

// TestDashboardPagesRender fetches every page without a browser, so a template error
// shows even where Chromium is not installed.
func TestDashboardPagesRender(t *testing.T) {
	e := newDashboardEnv(t)
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: dashboard.SessionCookie, Value: e.hq.Token}})
	client := &http.Client{Jar: jar}
	for _, path := range []string{"/", "/stores?sort=nps", "/stores/S001", "/comments?category=promoter&score=9&q=staff",
		"/devices", "/export/stores.csv", "/export/comments.csv", "/export/devices.csv", "/login", "/static/style.css"} {
		resp, err := client.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != 200 || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: %s, CSP %q", path, resp.Status, csp)
		}
	}
	for path, want := range map[string]int{"/stores/S999": 404, "/comments?score=11": 400, "/export/secrets.csv": 404} {
		resp, err := client.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	// A POST without the CSRF token is refused.
	resp, err := client.PostForm(e.srv.URL+"/logout", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("logout without CSRF token: %d, want 403", resp.StatusCode)
	}
}

// The overview's best and worst lists never name the same store: with one store in
// sight there is nothing to rank; with twelve, five a side, ten different stores.
func TestOverviewBestAndWorstNeverShareAStore(t *testing.T) {
	e := newDashboardEnv(t)
	overview := func(token string) string {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		u, _ := url.Parse(e.srv.URL)
		jar.SetCookies(u, []*http.Cookie{{Name: dashboard.SessionCookie, Value: token}})
		resp, err := (&http.Client{Jar: jar}).Get(e.srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	links := regexp.MustCompile(`href="/stores/(S\d+)"`)
	one := overview(e.store2.Token)
	if n := len(links.FindAllString(one, -1)); n != 0 || strings.Count(one, "A ranking needs two or more stores") != 2 {
		t.Errorf("a one-store overview ranks %d stores; want none and the reason, twice", n)
	}
	seen := map[string]int{}
	for _, m := range links.FindAllStringSubmatch(overview(e.hq.Token), -1) {
		seen[m[1]]++
	}
	if len(seen) != 10 {
		t.Errorf("HQ overview ranks %d different stores, want 10: %v", len(seen), seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("store %s appears %d times in best and worst", id, n)
		}
	}
}
