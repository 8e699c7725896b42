package dashboard_test

import (
	"context"
	"fmt"
	"html"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/nps"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// The insight data set's two periods: the previous ten days and the current ten.
const (
	insightPrevFrom, insightPrevTo = "2026-03-01", "2026-03-10"
	insightFrom, insightTo         = "2026-03-11", "2026-03-20"
	insightPeriod                  = "from=" + insightFrom + "&to=" + insightTo
)

// insightEnv is a small chain with known figures, for the filter bar, the significance
// marks and the drivers page:
//
//	N1 (North, supermarket): 40 a period; before 30 promoters and 10 passives (+75),
//	    now 30 detractors naming staff and 10 passives (−75): a real drop, and a real
//	    difference from the rest.
//	N2 (North, express) and S2 (South, express): 40 a period, 20 promoters, 10 passives,
//	    10 detractors naming price (+25), both periods: a tie.
//	S1 (South, supermarket): 40 a period, 24 promoters, 10 passives, 6 detractors (+45).
//	E1 (East, express): 3 a period, too few to rank or to judge.
//
// Every other response is segment vip, and N1 and S1 also have QR answers
// (10 promoters each period) besides their kiosks'.
type insightEnv struct {
	c     *collectortest.Collector
	srv   string
	hq    storage.User
	north storage.User
	token string
}

func insightResponse(score int, day string, i int, reasons ...string) wire.Response {
	at, _ := time.Parse(time.DateOnly, day)
	at = at.Add(time.Duration(9+i%8) * time.Hour)
	r := collectortest.Response(rand.New(rand.NewPCG(uint64(i), 1)), at)
	r.Score, r.Reasons = score, reasons
	if i%2 == 0 {
		r.Segment = "vip"
	}
	return r
}

func newInsightEnv(t *testing.T) *insightEnv {
	t.Helper()
	ctx := context.Background()
	c := collectortest.Start(t, collectortest.Options{})
	e := &insightEnv{c: c, srv: c.URL}
	type mix struct{ promoters, passives, detractors int }
	stores := []struct {
		id, name, region, format string
		before, now              mix
		detractorReason          string
	}{
		{"N1", "Nordplatz", "North", "supermarket", mix{30, 10, 0}, mix{0, 10, 30}, "staff"},
		{"N2", "Nordhafen", "North", "express", mix{20, 10, 10}, mix{20, 10, 10}, "price"},
		{"S1", "Südstadt", "South", "supermarket", mix{24, 10, 6}, mix{24, 10, 6}, "price"},
		{"S2", "Südhafen", "South", "express", mix{20, 10, 10}, mix{20, 10, 10}, "price"},
		{"E1", "Ostend", "East", "express", mix{1, 1, 1}, mix{1, 1, 1}, "price"},
	}
	i := 0
	for _, s := range stores {
		c.AddStore(t, storage.Store{ID: s.id, Name: s.name, Region: s.region, Format: s.format})
		dev := c.Enroll(t, s.id, "Till 1")
		var batch []wire.Response
		for _, p := range []struct {
			from string
			m    mix
		}{{insightPrevFrom, s.before}, {insightFrom, s.now}} {
			start, _ := time.Parse(time.DateOnly, p.from)
			day := func() string { i++; return start.AddDate(0, 0, i%10).Format(time.DateOnly) }
			for range p.m.promoters {
				batch = append(batch, insightResponse(10, day(), i))
			}
			for range p.m.passives {
				batch = append(batch, insightResponse(8, day(), i))
			}
			for range p.m.detractors {
				batch = append(batch, insightResponse(2, day(), i, s.detractorReason))
			}
		}
		res, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, batch)
		if err != nil || len(res.Accepted) != len(batch) {
			t.Fatalf("ingest %s: %d of %d, %v", s.id, len(res.Accepted), len(batch), err)
		}
		if s.id != "N1" && s.id != "S1" {
			continue
		}
		l, err := c.Service.AddLink(ctx, storage.NewLink{StoreID: s.id, Channel: "qr", Touchpoint: "checkout"})
		if err != nil {
			t.Fatal(err)
		}
		for _, from := range []string{insightPrevFrom, insightFrom} {
			for k := range 10 {
				i++
				start, _ := time.Parse(time.DateOnly, from)
				if _, err := c.Service.IngestFromLink(ctx, l, insightResponse(9, start.AddDate(0, 0, k).Format(time.DateOnly), i)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var err error
	if e.hq, err = c.DB.AddUser(ctx, storage.NewUser{Email: "hq@example.com", Name: "Hana HQ", Password: password}); err != nil {
		t.Fatal(err)
	}
	if e.north, err = c.DB.AddUser(ctx, storage.NewUser{Email: "north@example.com", Name: "Nils North", Password: password, Language: "de",
		ScopeKind: storage.UserScopeRegion, Scope: "North"}); err != nil {
		t.Fatal(err)
	}
	e.token = c.APIToken(t, "")
	return e
}

// navLink finds the header's link to a page.
var navLink = regexp.MustCompile(`<a href="(/[a-z]*)(\?[^"]*)?" (?:aria-current="page")?>([A-Z][a-z-]+)</a>`)

// The filter bar offers the regions, formats, segments and channels of the data, keeps
// what was chosen selected on every report page, and every link between the pages keeps
// the selection.
func TestFilterBarKeepsTheSelection(t *testing.T) {
	e := newInsightEnv(t)
	hq := signInForm(t, e.srv, e.hq.Email, password)
	sel := insightPeriod + "&region=North&format=supermarket&segment=vip&channel=kiosk"
	for _, path := range []string{"/", "/stores", "/channels", "/regions", "/drivers", "/comments", "/questions"} {
		code, page := fetch(t, hq, e.srv+path+"?"+sel)
		if code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		if path == "/questions" { // no filter bar of its own yet; its links keep the selection
			goto links
		}
		for _, want := range []string{
			`<label>Region <select name="region">`, `<option value="East" >East</option>`, `<option value="North" selected>North</option>`, `<option value="South" >South</option>`,
			`<label>Format <select name="format">`, `<option value="express" >express</option>`, `<option value="supermarket" selected>supermarket</option>`,
			`<label>Segment <select name="segment">`, `<option value="vip" selected>vip</option>`,
			`<label>Channel <select name="channel">`, `<option value="kiosk" selected>kiosk</option>`, `<option value="qr" >qr</option>`,
			`value="` + insightFrom + `"`, `value="` + insightTo + `"`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: the filter bar lacks %s", path, want)
			}
		}
	links:
		seen := map[string]bool{}
		for _, m := range navLink.FindAllStringSubmatch(page, -1) {
			switch m[3] {
			case "Overview", "Stores", "Comments", "Channels", "Regions", "Drivers", "Questions":
				seen[m[3]] = true
				q := html.UnescapeString(m[2])
				for _, kv := range []string{"region=North", "format=supermarket", "segment=vip", "channel=kiosk", "from=" + insightFrom, "to=" + insightTo} {
					if !strings.Contains(q, kv) {
						t.Errorf("%s: the %s link %s%s drops %s", path, m[3], m[1], q, kv)
					}
				}
			}
		}
		if len(seen) != 7 {
			t.Errorf("%s: nav links %v, want all seven report pages", path, seen)
		}
	}
	// The overview's and stores' links to a store keep the selection too.
	_, stores := fetch(t, hq, e.srv+"/stores?"+insightPeriod+"&segment=vip")
	if !strings.Contains(stores, `href="/stores/N1?from=`+insightFrom+`&amp;segment=vip&amp;to=`+insightTo+`"`) {
		t.Error("the stores table's links drop the selection")
	}
	// A page opened without a choice links on without one.
	_, plain := fetch(t, hq, e.srv+"/")
	if !strings.Contains(plain, `<a href="/stores" >Stores</a>`) {
		t.Error("the overview without a selection links to the stores page with one")
	}
	// A region's reader has no region to choose.
	north := signInForm(t, e.srv, e.north.Email, password)
	if _, page := fetch(t, north, e.srv+"/?"+insightPeriod); strings.Contains(page, `name="region"`) || !strings.Contains(page, `name="format"`) {
		t.Error("a North reader is offered a region, or no format")
	}
}

// wantMark is the mark a difference should carry in words.
func wantMark(d *nps.Difference) string {
	switch {
	case d == nil:
		return ""
	case !d.Enough:
		return "too few to tell"
	case d.Significant:
		return "significant"
	}
	return "not significant"
}

// periodAPI is GET /v1/reports/nps's body as far as the change goes.
type periodAPI struct {
	collector.PeriodReport
}

// The overview shows the change from the previous period with its interval and the mark
// in words; the stores list each store against the rest and their ranks, ties as ties
// and the unranked apart with the reason.
func TestSignificanceMarksOnOverviewAndStores(t *testing.T) {
	e := newInsightEnv(t)
	hq := signInForm(t, e.srv, e.hq.Email, password)
	change := regexp.MustCompile(`<span id="change">([^<]+)</span>`)
	mark := regexp.MustCompile(`(?s)<div class="mark" id="change-mark"><strong>(?:<span aria-hidden="true">[^<]*</span>)?([^<]+)</strong>`)

	for _, tc := range []struct{ query, mark string }{
		{"", "significant"},                  // N1's fall drags the chain down
		{"&store=N2", "not significant"},     // the same both times
		{"&store=E1", "too few to tell"},     // three responses a period
		{"&region=North", "significant"},     // N1 is in the North
		{"&region=South", "not significant"}, // nothing moved
	} {
		var api periodAPI
		apiGet(t, e.srv, "/v1/reports/nps?"+insightPeriod+tc.query, e.token, &api)
		_, page := fetch(t, hq, e.srv+"/?"+insightPeriod+tc.query)
		want := fmt.Sprintf("%+.1f ± %.1f", api.Change.Delta, api.Change.Margin)
		if m := change.FindStringSubmatch(page); m == nil || html.UnescapeString(m[1]) != want {
			t.Errorf("overview%s: change %v, want %s", tc.query, m, want)
		}
		if m := mark.FindStringSubmatch(page); m == nil || m[1] != tc.mark {
			t.Errorf("overview%s: mark %v, want %q", tc.query, m, tc.mark)
		}
	}

	row := regexp.MustCompile(`(?s)<tr>\s*<td><a href="/stores/(\w+)[^"]*">[^\n]*\n<td class="num rank">([^<]+)</td>.*?<td class="num vs-rest">([^<]+)</td><td class="vs-rest-mark">([^<]*)</td>\s*` +
		`<td class="num change">([^<]+)</td><td class="change-mark">([^<]*)</td>\s*<td class="hide-narrow">(.*?)</td>`)
	var ranking collector.StoreRanking
	apiGet(t, e.srv, "/v1/reports/stores?"+insightPeriod, e.token, &ranking)
	byID := map[string]storage.StoreReport{}
	for _, s := range ranking.Stores {
		byID[s.ID] = s
	}
	_, page := fetch(t, hq, e.srv+"/stores?"+insightPeriod)
	rows := row.FindAllStringSubmatch(page, -1)
	if len(rows) != 5 {
		t.Fatalf("stores page shows %d rows, want 5", len(rows))
	}
	got := map[string][]string{}
	for _, r := range rows {
		for i := range r {
			r[i] = html.UnescapeString(r[i])
		}
		id := r[1]
		got[id] = r
		s := byID[id]
		if want := fmt.Sprintf("%+.1f ± %.1f", s.VsRest.Delta, s.VsRest.Margin); r[3] != want {
			t.Errorf("%s against the rest: %s, the API %s", id, r[3], want)
		}
		if want := wantMark(s.VsRest); r[4] != want {
			t.Errorf("%s against the rest: %q, the API says %q", id, r[4], want)
		}
	}
	// S1 is best; N2 and S2 have the same figures and share second place; N1 fell to
	// last, far below the rest; E1 has too few responses to rank or judge.
	for id, want := range map[string][2]string{
		"S1": {"1", ""}, "N2": {"=2", ""}, "S2": {"=2", ""}, "N1": {"4", "significant"}, "E1": {"–", "too few to tell"},
	} {
		if r := got[id]; r == nil || r[2] != want[0] || want[1] != "" && r[4] != want[1] {
			t.Errorf("%s: rank %q, against the rest %q; want %q, %q", id, r[2], r[4], want[0], want[1])
		}
	}
	if got["N1"][6] != "significant" || got["N2"][6] != "not significant" || got["E1"][6] != "too few to tell" {
		t.Errorf("change marks: N1 %q, N2 %q, E1 %q", got["N1"][6], got["N2"][6], got["E1"][6])
	}
	if !strings.Contains(got["E1"][7], "fewer than 30 responses") || !strings.Contains(page, `<tbody id="unranked">`) ||
		strings.Index(page, `/stores/E1`) < strings.Index(page, `id="unranked"`) {
		t.Errorf("E1 is not listed apart with its reason: %q", got["E1"][7])
	}
	_, one := fetch(t, hq, e.srv+"/stores?"+insightPeriod+"&store=N1")
	if !strings.Contains(one, `id="ranking-note">Only one store is in view`) {
		t.Error("a single store is not said to be unranked as the only one")
	}
}

// The drivers page shows the service's report: each theme's figures, rank (ties as
// ties), impact and mark, the themes below the minimum apart, the worth-a-look link and
// the switch to reasons.
func TestDriversPageMatchesTheService(t *testing.T) {
	e := newInsightEnv(t)
	hq := signInForm(t, e.srv, e.hq.Email, password)
	ctx := context.Background()
	for _, kind := range []string{"theme", "reason"} {
		f, ferr := e.c.Service.ParseFilter(ctx, map[string][]string{"from": {insightFrom}, "to": {insightTo}}, storage.Reader{})
		if ferr != nil {
			t.Fatal(ferr)
		}
		rep, err := e.c.Service.Drivers(ctx, f, kind, "en", f.MinResponses)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Drivers) == 0 {
			t.Fatalf("%s: the data set has no drivers", kind)
		}
		code, page := fetch(t, hq, e.srv+"/drivers?"+insightPeriod+"&kind="+kind)
		if code != 200 {
			t.Fatalf("drivers %s: %d", kind, code)
		}
		ranks := map[int]int{}
		for _, d := range rep.Drivers {
			ranks[d.Rank]++
		}
		for _, d := range rep.Drivers {
			rank := fmt.Sprint(d.Rank)
			switch {
			case d.Rank == 0:
				rank = "–"
			case ranks[d.Rank] > 1:
				rank = "=" + rank
			}
			mark := "not significant"
			if !d.Difference.Enough {
				mark = "too few to tell"
			} else if d.Difference.Significant {
				mark = "significant"
			}
			impact := "–"
			if d.Impact != nil {
				impact = fmt.Sprintf("%+.1f ± %.1f", d.Impact.Points, d.Impact.Margin)
			}
			re := regexp.MustCompile(`(?s)data-key="` + regexp.QuoteMeta(d.Key) + `">\s*<td class="num rank">` + regexp.QuoteMeta(rank) +
				`</td><th scope="row" class="name">` + regexp.QuoteMeta(d.Label) + `</th><td class="num n">` + fmt.Sprint(d.N) + `</td>` +
				`\s*<td class="num">` + regexp.QuoteMeta(fmt.Sprintf("%.1f %% ± %.1f", d.Detractors.Percent, d.Detractors.Margin)) + `</td>.*?` +
				`<td class="num diff">` + regexp.QuoteMeta(fmt.Sprintf("%+.1f ± %.1f", d.Difference.Delta, d.Difference.Margin)) + `</td><td class="mark">` + mark + `</td>` +
				`\s*<td class="num impact">` + regexp.QuoteMeta(impact) + `</td>`)
			if !re.MatchString(html.UnescapeString(page)) {
				t.Errorf("%s %s: the page does not show rank %s, n %d, Δ %+.1f (%s), impact %s", kind, d.Key, rank, d.N, d.Difference.Delta, mark, impact)
			}
			if d.Rank == 0 && strings.Index(page, `data-key="`+d.Key+`"`) < strings.Index(page, `id="few"`) {
				t.Errorf("%s %s has too few mentions but is not listed apart", kind, d.Key)
			}
		}
		if kind == "theme" {
			// Staff is what N1's detractors named: a real difference, ranked first.
			if !regexp.MustCompile(`data-key="staff">\s*<td class="num rank">1</td>`).MatchString(page) {
				t.Error("staff is not ranked first")
			}
		}
		if !strings.Contains(page, fmt.Sprintf(`id="worth-a-look">%d<`, rep.WorthALook)) ||
			!strings.Contains(page, `href="/comments?from=`+insightFrom+`&amp;to=`+insightTo+`&amp;worth_a_look=1"`) {
			t.Errorf("%s: no worth-a-look count %d with its link", kind, rep.WorthALook)
		}
	}
	_, page := fetch(t, hq, e.srv+"/drivers?"+insightPeriod+"&region=North")
	if !strings.Contains(page, `href="/drivers?from=`+insightFrom+`&amp;kind=reason&amp;region=North&amp;to=`+insightTo+`"`) {
		t.Error("the switch to reasons drops the selection")
	}
	// A re-tagging job for a store in view: the page says how far it has got, from the
	// service's own count, until it finishes.
	if _, err := e.c.Service.SyncThemeJobs(ctx, []string{"N1"}, true); err != nil {
		t.Fatal(err)
	}
	jobs, err := e.c.Service.ThemeJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	retagging := false // no worker runs in the test collector: the job waits
	for _, j := range jobs {
		if j.StoreID != "N1" || j.Finished() {
			continue
		}
		_, page := fetch(t, hq, e.srv+"/drivers?"+insightPeriod)
		retagging = true
		if want := fmt.Sprintf("Re-tagging comments: %d of %d done", j.Done, j.Total); !strings.Contains(page, want) {
			t.Errorf("the drivers page lacks %q while N1 is re-tagged", want)
		}
	}
	if !retagging {
		t.Error("no unfinished re-tagging job for N1 to show")
	}
	if code, _ := fetch(t, hq, e.srv+"/drivers?kind=mood"); code != 400 {
		t.Errorf("kind=mood: %d, want 400", code)
	}
}

// In a browser: pick a region, a segment and a channel in the filter bar, submit, and
// the overview and the drivers page (reached by the header's link) show the figures of
// that selection.
func TestFilterBarInABrowser(t *testing.T) {
	e := newInsightEnv(t)
	ctx := browser(t)
	if err := signInAs(ctx, e.srv, e.hq); err != nil {
		t.Fatal(err)
	}
	var location, npsText string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(e.srv+"/?"+insightPeriod),
		chromedp.SetValue(`#filter-bar select[name="region"]`, "South", chromedp.ByQuery),
		chromedp.SetValue(`#filter-bar select[name="segment"]`, "vip", chromedp.ByQuery),
		chromedp.SetValue(`#filter-bar select[name="channel"]`, "kiosk", chromedp.ByQuery),
		chromedp.Click(`#filter-bar button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitReady(`#filter-bar option[value="South"][selected]`, chromedp.ByQuery),
		chromedp.Location(&location),
		chromedp.Text("#nps", &npsText, chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	for _, kv := range []string{"region=South", "segment=vip", "channel=kiosk", "from=" + insightFrom} {
		if !strings.Contains(location, kv) {
			t.Errorf("after submitting, the address %s lacks %s", location, kv)
		}
	}
	var rep storage.NPSReport
	apiGet(t, e.srv, "/v1/reports/nps?"+insightPeriod+"&region=South&segment=vip&channel=kiosk", e.token, &rep)
	if npsText != fmt.Sprintf("%+.1f", rep.NPS) {
		t.Errorf("overview shows %s, the API %+.1f for the selection", npsText, rep.NPS)
	}
	shot(t, ctx, "overview_filtered")

	var driversNPS string
	if err := chromedp.Run(ctx,
		chromedp.Click(`header a[href^="/drivers"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#drivers-nps", chromedp.ByID),
		chromedp.Location(&location),
		chromedp.Text("#drivers-nps", &driversNPS, chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(location, e.srv+"/drivers?") || !strings.Contains(location, "region=South") || !strings.Contains(location, "segment=vip") || !strings.Contains(location, "channel=kiosk") {
		t.Errorf("the drivers link led to %s", location)
	}
	f := storage.Filter{From: insightFrom, To: insightTo, Region: "South", Segment: "vip", Channel: "kiosk"}
	drivers, err := e.c.Service.Drivers(context.Background(), f, "theme", "en", 0)
	if err != nil {
		t.Fatal(err)
	}
	if driversNPS != fmt.Sprintf("%+.1f", drivers.All.NPS) || drivers.All.Responses != rep.Responses {
		t.Errorf("drivers page shows NPS %s; the service %+.1f from %d", driversNPS, drivers.All.NPS, drivers.All.Responses)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv+"/drivers?"+insightPeriod), chromedp.WaitVisible("#drivers", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "drivers")
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv+"/stores?"+insightPeriod), chromedp.WaitVisible("#stores", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "stores_ranked")
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv+"/regions?"+insightPeriod), chromedp.WaitVisible("#region-table", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "regions")
}

// shot saves a full-page screenshot of the browser's page in $DASHBOARD_SHOTS, when set,
// for a person to look at.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("DASHBOARD_SHOTS")
	if dir == "" {
		return
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "insight_"+name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
