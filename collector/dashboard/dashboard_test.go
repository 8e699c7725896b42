package dashboard_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdpage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/sync/wire"
)

const chromiumPath = "/usr/bin/chromium"

// password is every test user's.
const password = "correct horse battery"

// dashboardEnv is a collector with a dozen stores of data on a loopback listener. Its
// clock can be shifted, so that the follow-up cases have a past: most were opened three
// days ago and moved since, at known hours.
type dashboardEnv struct {
	srv *httptest.Server
	db  *storage.DB
	// hq sees the chain, north the North region (S001, S004, …), store2 Harbour (S002)
	// only; ana owns S001's cases. All sign in with password.
	hq, north, store2, ana storage.User
	apiToken               string       // HQ's API token, to compare pages with the API
	shift                  atomic.Int64 // how far the collector's clock is behind the real one
	// freshCase is the open case of the markup comment, opened an hour ago in S001;
	// busyCase an overdue, contacted case with a history, in S001 too.
	freshCase, busyCase string
}

// setClock puts the collector's clock at ago before now.
func (e *dashboardEnv) setClock(ago time.Duration) { e.shift.Store(int64(ago)) }

func newDashboardEnv(t *testing.T) *dashboardEnv {
	t.Helper()
	ctx := context.Background()
	e := &dashboardEnv{}
	c := collectortest.Start(t, collectortest.Options{Now: func() time.Time { return time.Now().Add(-time.Duration(e.shift.Load())) }})
	db := c.Service
	e.db = c.DB
	names := []string{"Main Street", "Harbour", "Old Town", "Station", "Riverside", "Market Square",
		"Airport", "University", "Mall West", "Hillside", "Lakeside", "North Gate"}
	rng := rand.New(rand.NewPCG(42, 42))
	const past = 72 * time.Hour
	e.setClock(past)
	realNow := time.Now().UTC()
	devices := map[string]string{}
	recent := map[string][]wire.Response{} // answered after the clock's setting: ingested later
	for i, name := range names {
		id := fmt.Sprintf("S%03d", i+1)
		region := []string{"North", "South", "East"}[i%3]
		if err := db.AddStore(ctx, storage.Store{ID: id, Name: name, Timezone: "Europe/Berlin", Region: region}); err != nil {
			t.Fatal(err)
		}
		nd, _ := db.AddDevice(ctx, id, "Till 1", 0)
		en, err := db.Enroll(ctx, wire.EnrollRequest{Code: nd.Code})
		if err != nil {
			t.Fatal(err)
		}
		devices[id] = en.DeviceID
		if i%4 == 3 { // a second till that has never reported: the devices page flags it
			silent, _ := db.AddDevice(ctx, id, "Till 2", 0)
			db.Enroll(ctx, wire.EnrollRequest{Code: silent.Code})
		}
		var batch []wire.Response
		bias := i % 5 // some stores do better than others
		for range 60 + rng.IntN(60) {
			r := collectortest.Response(rng, realNow.Add(-time.Duration(rng.IntN(29*24*60))*time.Minute))
			r.Score = retailScore(rng, bias-2)
			if rng.IntN(4) == 0 {
				r.Comment = "Friendly staff, found everything."
				if r.Score <= 6 {
					r.Comment = "The queue was far too long today."
				}
			}
			if rng.IntN(12) == 0 {
				r.Contact, r.ContactConsent = "shopper@example.com", true
			}
			if realNow.Sub(r.CreatedAt) < past {
				recent[id] = append(recent[id], r)
				continue
			}
			batch = append(batch, r)
		}
		if _, err := db.IngestFromDevice(ctx, en.DeviceID, batch); err != nil {
			t.Fatal(err)
		}
	}

	// Move the cases at known hours after they opened (72 hours ago, due 24 hours ago):
	// contacted at 3 and resolved at 20; resolved late at 50; closed without action at 5;
	// contacted at 30 (overdue, not finished); or left alone (overdue).
	cases, err := db.Cases(ctx, storage.CaseFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	type move struct {
		hour int
		id   string
		to   followup.Status
		note string
	}
	var moves []move
	for i, k := range cases {
		switch i % 5 {
		case 0:
			moves = append(moves, move{3, k.ID, followup.Contacted, "Called, apologised for the wait."}, move{20, k.ID, followup.Resolved, "Voucher sent."})
		case 1:
			moves = append(moves, move{50, k.ID, followup.Resolved, "Refunded."})
		case 2:
			moves = append(moves, move{5, k.ID, followup.ClosedNoAction, "No contact details left."})
		case 3:
			moves = append(moves, move{30, k.ID, followup.Contacted, "Left a voicemail."})
			if k.StoreID == "S001" && e.busyCase == "" {
				e.busyCase = k.ID
			}
		}
	}
	slices.SortStableFunc(moves, func(a, b move) int { return a.hour - b.hour })
	for _, m := range moves {
		e.setClock(past - time.Duration(m.hour)*time.Hour)
		if _, err := db.ChangeCase(ctx, m.id, storage.CaseChange{Actor: "Store team", To: m.to, Note: m.note}); err != nil {
			t.Fatal(err)
		}
	}
	if e.busyCase == "" {
		t.Fatal("no contacted case in S001 for the screenshots")
	}
	owner := "Ana Ruiz" // the S001 user below
	if _, err := db.ChangeCase(ctx, e.busyCase, storage.CaseChange{Actor: "hq", Owner: &owner}); err != nil {
		t.Fatal(err)
	}

	// Now: the tills upload the last three days and report, and a detractor's markup
	// comment opens a fresh case.
	e.setClock(0)
	now := time.Now().UTC()
	for i := range names {
		id := fmt.Sprintf("S%03d", i+1)
		if _, err := db.IngestFromDevice(ctx, devices[id], recent[id]); err != nil {
			t.Fatal(err)
		}
		db.RecordHeartbeat(storage.EnrolledDevice{ID: devices[id], StoreID: id}, wire.Heartbeat{AppVersion: "0.1.0", QueueLength: int64(i % 4), DeviceTime: now, FreeDiskBytes: 8 << 30})
	}
	xss := collectortest.Response(rng, now.Add(-time.Hour))
	xss.Score, xss.Comment = 2, `<script>alert("xss")</script><img src=x onerror=alert(1)>`
	formula := collectortest.Response(rng, now.Add(-time.Hour))
	formula.Score, formula.Comment = 1, `=HYPERLINK("http://evil.example","click")`
	if _, err := db.IngestFromDevice(ctx, devices["S001"], []wire.Response{xss, formula}); err != nil {
		t.Fatal(err)
	}
	fresh, err := db.Cases(ctx, storage.CaseFilter{StoreID: "S001", Status: followup.Open, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range fresh {
		if k.Response.ID == xss.ID {
			e.freshCase = k.ID
		}
	}
	if e.freshCase == "" {
		t.Fatal("the markup comment opened no case")
	}
	addChannelResponses(t, db)
	for _, u := range []struct {
		to *storage.User
		nu storage.NewUser
	}{
		{&e.hq, storage.NewUser{Email: "hana@example.com", Name: "Hana HQ"}},
		{&e.north, storage.NewUser{Email: "nils@example.com", Name: "Nils North", Language: "de", ScopeKind: storage.UserScopeRegion, Scope: "North"}},
		{&e.store2, storage.NewUser{Email: "hari@example.com", Name: "Hari Harbour", ScopeKind: storage.UserScopeStore, Scope: "S002"}},
		{&e.ana, storage.NewUser{Email: "ana@example.com", Name: "Ana Ruiz", Language: "es", ScopeKind: storage.UserScopeStore, Scope: "S001"}},
	} {
		u.nu.Password = password
		if *u.to, err = db.AddUser(ctx, u.nu); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := db.AddAPIToken(ctx, "hq", "")
	if err != nil {
		t.Fatal(err)
	}
	e.apiToken = tok.Token
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

// signIn signs the browser in with a session token (collectortest's Session) set as
// the session cookie.
func signIn(ctx context.Context, base, token string) error {
	return chromedp.Run(ctx,
		chromedp.ActionFunc(func(ctx context.Context) error {
			return network.SetCookie(dashboard.SessionCookie, token).WithURL(base).WithHTTPOnly(true).Do(ctx)
		}),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible("#nps", chromedp.ByID),
	)
}

// signInAs signs the browser in through the form, as a person does.
func signInAs(ctx context.Context, base string, u storage.User) error {
	return chromedp.Run(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SetValue("#email", u.Email, chromedp.ByID),
		chromedp.SetValue("#password", password, chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID),
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
	if err := signInAs(ctx, base, e.hq); err != nil {
		t.Fatal(err)
	}
	var npsText, responsesText, who string
	if err := chromedp.Run(ctx, chromedp.Text("#nps", &npsText, chromedp.ByID), chromedp.Text("#responses", &responsesText, chromedp.ByID),
		chromedp.Text("#who", &who, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if who != e.hq.Name {
		t.Errorf("the header names %q, want %q", who, e.hq.Name)
	}
	var rep storage.NPSReport
	apiGet(t, base, "/v1/reports/nps", e.apiToken, &rep)
	if npsText != fmt.Sprintf("%+.1f", rep.NPS) || responsesText != fmt.Sprint(rep.Responses) {
		t.Errorf("overview shows NPS %s from %s responses; the API says %+.1f from %d", npsText, responsesText, rep.NPS, rep.Responses)
	}

	// storage.Filter comments: detractors mentioning the queue, each one a detractor.
	var badges []string
	var rows int
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/comments?category=detractor&q=queue&limit=500"),
		chromedp.WaitVisible("h1", chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("table.comments .badge")).map(b => b.title)`, &badges),
		chromedp.Evaluate(`document.querySelectorAll("table.comments tr").length`, &rows),
	); err != nil {
		t.Fatal(err)
	}
	var api struct{ Comments []storage.Comment }
	apiGet(t, base, "/v1/comments?category=detractor&q=queue&limit=500", e.apiToken, &api)
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
		chromedp.WaitVisible("#password", chromedp.ByID),
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

func TestDashboardStoreUser(t *testing.T) {
	e := newDashboardEnv(t)
	ctx := browser(t)
	base := e.srv.URL
	if err := signInAs(ctx, base, e.store2); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/stores/S001", "/comments?store=S001", "/?store=S001"} {
		var body string
		if err := chromedp.Run(ctx, chromedp.Navigate(base+path), chromedp.Text("main", &body, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, "You may see your own store only.") {
			t.Errorf("%s for Harbour's manager shows %q", path, body)
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
		t.Errorf("stores table for Harbour's manager: %q", storeRows)
	}
}

// TestDashboardScreenshots renders every page at desktop and phone width. With
// UPDATE_SCREENSHOTS=1 it writes them to docs/screenshots (make screenshots does).
func TestDashboardScreenshots(t *testing.T) {
	e := newDashboardEnv(t)
	ctx := browser(t)
	shoot := func(name, path string) {
		t.Helper()
		for _, width := range []int64{1280, 390} {
			var png []byte
			if err := chromedp.Run(ctx,
				chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(e.srv.URL+path),
				chromedp.WaitVisible("main", chromedp.ByQuery),
				chromedp.FullScreenshot(&png, 100),
			); err != nil {
				t.Fatal(err)
			}
			if len(png) < 1000 {
				t.Fatalf("%s at %d: empty screenshot", name, width)
			}
			if os.Getenv("UPDATE_SCREENSHOTS") != "" {
				file := filepath.Join("..", "..", "docs", "screenshots", fmt.Sprintf("dashboard_%s_%d.png", name, width))
				if err := os.WriteFile(file, png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	shoot("login", "/login")
	for u, alerts := range map[string][]string{e.ana.ID: storage.DefaultUserAlerts, e.north.ID: {storage.EventDigest}} {
		if err := e.db.SetUserAlerts(context.Background(), u, alerts); err != nil {
			t.Fatal(err)
		}
	}
	if err := signInAs(ctx, e.srv.URL, e.hq); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{"people": "/people",
		"overview": "/", "stores": "/stores?sort=-nps", "store": "/stores/S001",
		"comments": "/comments?category=detractor", "devices": "/devices",
		"cases": "/cases?region=North&status=open", "case": "/cases/" + e.busyCase,
		"channels": "/channels", "regions": "/regions", "drivers": "/drivers", "devicesettings": "/devices/settings",
	}
	for name, path := range pages {
		shoot(name, path)
	}
	// Last, as its answers would change the other pages' figures.
	seedQuestionAnswers(t, e.db)
	shoot("questions", "/questions")
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
	client := e.client(t, e.hq)
	for _, path := range []string{"/people", "/", "/stores?sort=nps", "/stores/S001", "/comments?category=promoter&score=9&q=staff",
		"/devices", "/devices/settings", "/export/stores.csv", "/export/comments.csv", "/export/devices.csv", "/login", "/static/style.css",
		"/cases", "/cases?region=North&status=open&overdue=true", "/cases?store=S001&status=closed-no-action",
		"/cases/" + e.freshCase, "/cases/" + e.busyCase, "/export/cases.csv?store=S001", "/questions", "/export/questions.csv"} {
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
	for path, want := range map[string]int{"/stores/S999": 404, "/comments?score=11": 400, "/export/secrets.csv": 404,
		"/cases/nope": 404, "/cases?status=escalated": 400, "/cases?overdue=maybe": 400, "/export/cases.csv?status=x": 400} {
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
	overview := func(u storage.User) string {
		t.Helper()
		resp, err := e.client(t, u).Get(e.srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	links := regexp.MustCompile(`href="/stores/(S\d+)"`)
	one := overview(e.store2)
	if n := len(links.FindAllString(one, -1)); n != 0 || strings.Count(one, "A ranking needs two or more stores") != 2 {
		t.Errorf("a one-store overview ranks %d stores; want none and the reason, twice", n)
	}
	seen := map[string]int{}
	for _, m := range links.FindAllStringSubmatch(overview(e.hq), -1) {
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

// client is an HTTP client signed in as u through the sign-in form, as a browser is.
func (e *dashboardEnv) client(t *testing.T, u storage.User) *http.Client {
	t.Helper()
	return signInForm(t, e.srv.URL, u.Email, password)
}

// signInForm posts the sign-in form with the CSRF token the form page set, and fails
// the test unless it leads to the overview.
func signInForm(t *testing.T, base, email, password string) *http.Client {
	t.Helper()
	c, code, _ := tryToSignIn(t, base, email, password)
	if code != 200 {
		t.Fatalf("sign in as %s: %d", email, code)
	}
	return c
}

// tryToSignIn posts the sign-in form and returns the client, the status and the page
// it ends on.
func tryToSignIn(t *testing.T, base, email, password string) (*http.Client, int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	_, form := fetch(t, c, base+"/login")
	m := csrfField.FindStringSubmatch(form)
	if m == nil {
		t.Fatal("no CSRF field on the sign-in form")
	}
	resp, err := c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return c, resp.StatusCode, string(b)
}

func fetch(t *testing.T, c *http.Client, target string) (int, string) {
	t.Helper()
	resp, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var (
	csrfField    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	versionField = regexp.MustCompile(`name="version" value="(\d+)"`)
	caseLink     = regexp.MustCompile(`href="/cases/([^"?]+)"`)
)

// The Follow-ups list shows what storage holds for the filter, soonest due first, marks
// the overdue ones in words, and exports the same rows as CSV with formulas defused.
func TestDashboardCaseList(t *testing.T) {
	e := newDashboardEnv(t)
	hq := e.client(t, e.hq)
	ctx := context.Background()
	for _, f := range []storage.CaseFilter{{}, {StoreID: "S001", Status: followup.Open}, {Region: "North", Overdue: true}} {
		q := url.Values{}
		for k, v := range map[string]string{"store": f.StoreID, "region": f.Region, "status": string(f.Status)} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if f.Overdue {
			q.Set("overdue", "true")
		}
		want, err := e.db.Cases(ctx, storage.CaseFilter{StoreID: f.StoreID, Region: f.Region, Status: f.Status, Overdue: f.Overdue, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		code, body := fetch(t, hq, e.srv.URL+"/cases?"+q.Encode())
		var got []string
		for _, m := range caseLink.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		if code != 200 || len(got) != len(want) {
			t.Fatalf("/cases?%s: %d, %d cases shown, storage has %d", q.Encode(), code, len(got), len(want))
		}
		overdue := 0
		for i, c := range want {
			if got[i] != c.ID {
				t.Fatalf("/cases?%s: row %d is %s, want %s (soonest due first)", q.Encode(), i, got[i], c.ID)
			}
			if c.Overdue {
				overdue++
			}
		}
		if n := strings.Count(body, `<span class="flag">Overdue</span>`); n != overdue {
			t.Errorf("/cases?%s marks %d cases overdue in words, want %d", q.Encode(), n, overdue)
		}

		resp, err := hq.Get(e.srv.URL + "/export/cases.csv?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(resp.Body).ReadAll()
		resp.Body.Close()
		if err != nil || len(rows) != len(want)+1 || rows[0][0] != "id" {
			t.Fatalf("cases.csv?%s: %d rows for %d cases, %v", q.Encode(), len(rows), len(want), err)
		}
		for i, c := range want {
			if rows[i+1][0] != c.ID {
				t.Errorf("cases.csv row %d is %s, want %s", i+1, rows[i+1][0], c.ID)
			}
			if strings.HasPrefix(c.Response.Comment, "=") && rows[i+1][10] != "'"+c.Response.Comment {
				t.Errorf("cases.csv leaves a formula as it is: %q", rows[i+1][10])
			}
		}
	}
	// The closed-loop figures on the page are storage's.
	stats, err := e.db.CaseStats(ctx, storage.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	_, body := fetch(t, hq, e.srv.URL+"/cases")
	want := fmt.Sprintf(`id="within-sla">%.0f%%<`, 100*stats[0].WithinSLARatio())
	if !strings.Contains(body, want) || !strings.Contains(body, fmt.Sprintf(`id="overdue">%d<`, stats[0].Overdue)) {
		t.Errorf("the Follow-ups page lacks %s and %d overdue", want, stats[0].Overdue)
	}
}

// A store's manager sees their own store's cases only: another store's case is 403 to
// read and to change, and changes nothing.
func TestDashboardCasesOfAnotherStore(t *testing.T) {
	e := newDashboardEnv(t)
	harbour := e.client(t, e.store2)
	for path, want := range map[string]int{"/cases/" + e.freshCase: 403, "/cases?store=S001": 403, "/export/cases.csv?store=S001": 403, "/cases/nope": 404} {
		if code, _ := fetch(t, harbour, e.srv.URL+path); code != want {
			t.Errorf("GET %s as Harbour's manager: %d, want %d", path, code, want)
		}
	}
	code, body := fetch(t, harbour, e.srv.URL+"/cases")
	if code != 200 || strings.Contains(body, "S001") || !strings.Contains(body, "S002") {
		t.Errorf("Harbour's Follow-ups page: %d, names S001: %v", code, strings.Contains(body, "S001"))
	}
	// Its own CSRF cookie and token, from its own pages: still refused.
	_, own := fetch(t, harbour, e.srv.URL+"/cases")
	m := csrfField.FindStringSubmatch(own)
	if m == nil {
		t.Fatal("no CSRF field on the page")
	}
	resp, err := harbour.PostForm(e.srv.URL+"/cases/"+e.freshCase, url.Values{"csrf": {m[1]}, "version": {"1"}, "action": {"close"}, "note": {"not ours"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c, err := e.db.Case(context.Background(), e.freshCase)
	if resp.StatusCode != 403 || err != nil || c.Status != followup.Open {
		t.Errorf("POST to another store's case: %d; case now %s, %v", resp.StatusCode, c.Status, err)
	}
}

// Each action of the case page, then the refusals: a stale version, a move the status
// does not allow, closing without a note, a missing CSRF token.
func TestDashboardCaseActions(t *testing.T) {
	e := newDashboardEnv(t)
	hq := e.client(t, e.hq)
	target := e.srv.URL + "/cases/" + e.freshCase
	// A name that a spreadsheet would run as a formula: the export must defuse it.
	eve, err := e.db.AddUser(context.Background(), storage.NewUser{Email: "eve@example.com", Name: "=Eve", Password: password,
		ScopeKind: storage.UserScopeStore, Scope: "S001"})
	if err != nil {
		t.Fatal(err)
	}
	form := func() (csrf, version string) {
		t.Helper()
		code, body := fetch(t, hq, target)
		c := csrfField.FindStringSubmatch(body)
		if code != 200 || c == nil {
			t.Fatalf("case page: %d, csrf %v", code, c)
		}
		if v := versionField.FindStringSubmatch(body); v != nil {
			return c[1], v[1]
		}
		// A finished case has no forms: post what a form left open in another tab would.
		k, err := e.db.Case(context.Background(), e.freshCase)
		if err != nil {
			t.Fatal(err)
		}
		return c[1], strconv.FormatInt(k.Version, 10)
	}
	post := func(v url.Values) (int, string) {
		t.Helper()
		resp, err := hq.PostForm(target, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	csrf, v1 := form()
	steps := []struct {
		name    string
		values  url.Values
		status  int
		message string
	}{
		{"assign to someone of another store", url.Values{"action": {"assign"}, "owner": {e.store2.ID}}, 400, "choose an active person who may see this store"},
		{"assign to a name typed in", url.Values{"action": {"assign"}, "owner": {"Somebody"}}, 400, "choose an active person who may see this store"},
		{"assign", url.Values{"action": {"assign"}, "owner": {eve.ID}}, 200, "Assigned to =Eve"},
		{"a stale version", url.Values{"action": {"contacted"}, "version": {v1}}, 409, "Someone changed this case after you opened it"},
		{"contacted", url.Values{"action": {"contacted"}, "note": {"Called back."}}, 200, "Moved from open to contacted"},
		{"close without a note", url.Values{"action": {"close"}}, 409, "Closing without action needs a note saying why."},
		{"an unknown action", url.Values{"action": {"escalate"}}, 400, "Unknown action"},
		{"no CSRF token", url.Values{"action": {"resolve"}, "note": {"x"}, "csrf": {""}}, 403, "The form expired"},
		{"resolve", url.Values{"action": {"resolve"}, "note": {"Voucher sent."}}, 200, "Voucher sent."},
		{"contacted again", url.Values{"action": {"contacted"}}, 409, "A resolved case cannot become contacted."},
	}
	for _, s := range steps {
		_, version := form()
		if s.values.Get("version") == "" {
			s.values.Set("version", version)
		}
		if !s.values.Has("csrf") {
			s.values.Set("csrf", csrf)
		}
		code, body := post(s.values)
		if code != s.status || !strings.Contains(body, html.EscapeString(s.message)) {
			t.Errorf("%s: %d, want %d and %q in the page", s.name, code, s.status, s.message)
		}
	}
	c, err := e.db.Case(context.Background(), e.freshCase)
	if err != nil || c.Status != followup.Resolved || c.Owner != "=Eve" || len(c.History) != 4 || c.History[3].Actor != e.hq.Name {
		t.Errorf("case after the steps: %+v, %v", c, err)
	}
	resp, err := hq.Get(e.srv.URL + "/export/cases.csv?store=S001&status=resolved")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), ",'=Eve,") {
		t.Errorf("cases.csv does not defuse the owner =Eve")
	}
}

// HQ opens a case from the Follow-ups list, resolves it with a note, and sees it resolved
// with the note and its own name in the timeline.
func TestDashboardResolveACaseInABrowser(t *testing.T) {
	e := newDashboardEnv(t)
	ctx := browser(t)
	base := e.srv.URL
	if err := signInAs(ctx, base, e.hq); err != nil {
		t.Fatal(err)
	}
	const note = "Called back, voucher sent."
	var status, timeline string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/cases?store=S001&status=open"),
		chromedp.Click(`#cases a[href="/cases/`+e.freshCase+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#resolve-note", chromedp.ByID),
		chromedp.SetValue("#resolve-note", note, chromedp.ByID),
		chromedp.Click(`#resolve button`, chromedp.ByQuery),
		chromedp.WaitNotPresent("#resolve-note", chromedp.ByID),
		chromedp.Text("#status", &status, chromedp.ByID),
		chromedp.Text("#timeline", &timeline, chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if status != "resolved" || !strings.Contains(timeline, "Moved from open to resolved") || !strings.Contains(timeline, note) ||
		!strings.Contains(timeline, "· "+e.hq.Name) {
		t.Errorf("after resolving: status %q, timeline %q", status, timeline)
	}
}
