package dashboard_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// TestCommentsPagingInABrowser: 1,000 comments over four stores in two regions, two
// segments and two channels, five to a second. A German HQ user picks a region, a
// segment, a channel and a score range with the page's controls, then follows "Next
// page" to the end: every matching comment is shown exactly once and nothing else. A
// search for a phrase finds exactly the comments with it. Themes and reasons are named
// in German, on the store page too. The CSV export has all 1,000, or the filter's. COMMENTS_SCREENSHOT=file.png keeps a screenshot of the first page.
func TestCommentsPagingInABrowser(t *testing.T) {
	ctx := context.Background()
	c := collectortest.Start(t, collectortest.Options{})
	for _, s := range []storage.Store{{ID: "N1", Name: "North One", Region: "North", Format: "supermarket"}, {ID: "N2", Name: "North Two", Region: "North", Format: "express"},
		{ID: "S1", Name: "South One", Region: "South", Format: "supermarket"}, {ID: "S2", Name: "South Two", Region: "South", Format: "express"}} {
		c.AddStore(t, s)
	}
	stores := []string{"N1", "S1", "N2", "S2"}
	region := map[string]string{"N1": "North", "N2": "North", "S1": "South", "S2": "South"}
	devices := map[string]string{}
	for _, s := range stores {
		devices[s] = c.Enroll(t, s, "Till 1").DeviceID
	}
	rng := rand.New(rand.NewPCG(7, 8))
	now := time.Now().UTC().Truncate(time.Second)
	batches := map[string][]storage.NewResponse{}
	var want, phrase []string
	for i := range 1000 {
		at := now.Add(-time.Hour - time.Duration(i/5)*time.Second) // five to a second: ties broken by id
		r := collectortest.Response(rng, at)
		r.Score = i % 11
		store := stores[i%4]
		r.Segment = []string{"gold", "gold", "silver"}[i%3]
		r.Channel = []string{"qr", "kiosk", "qr"}[(i/4)%3]
		r.Comment = fmt.Sprintf("Comment %d about the shop", i)
		if i%50 == 7 {
			r.Comment = fmt.Sprintf("Comment %d: the queue at the till was a late delivery of patience", i)
			phrase = append(phrase, r.ID)
		}
		if i%50 == 8 {
			r.Comment = fmt.Sprintf("Comment %d: delivery was late", i) // the words, not the phrase
		}
		tags := &storage.Tags{Fingerprint: "test", HasSentiment: true, Sentiment: -1, Themes: []storage.ThemeMention{{Theme: "wait_time", Polarity: -1}}}
		if region[store] == "North" && r.Segment == "gold" && r.Channel == "qr" && r.Score <= 6 {
			want = append(want, r.ID)
		}
		batches[store] = append(batches[store], storage.NewResponse{Response: r, Day: at.Format(time.DateOnly), Hash: r.ID, Tags: tags})
	}
	for s, batch := range batches {
		if _, err := c.DB.InsertBatch(ctx, storage.Origin{StoreID: s, DeviceID: devices[s]}, batch); err != nil {
			t.Fatal(err)
		}
	}
	if len(want) <= 2*storage.DefaultCommentPage {
		t.Fatalf("only %d comments match: too few to page through", len(want))
	}
	u, err := c.DB.AddUser(ctx, storage.NewUser{Email: "greta@example.com", Name: "Greta HQ", Language: "de", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.API)
	t.Cleanup(srv.Close)
	base := srv.URL
	bctx := browser(t)
	if err := signInAs(bctx, base, u); err != nil {
		t.Fatal(err)
	}

	// The filters, chosen with the page's controls.
	var shotPNG []byte
	if err := chromedp.Run(bctx,
		chromedp.Navigate(base+"/comments"),
		chromedp.WaitVisible("#comment-filters", chromedp.ByID),
		chromedp.SetValue(`select[name="region"]`, "North", chromedp.ByQuery),
		chromedp.SetValue(`select[name="segment"]`, "gold", chromedp.ByQuery),
		chromedp.SetValue(`select[name="channel"]`, "qr", chromedp.ByQuery),
		chromedp.SetValue("#score", "0-6", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	// RunResponse waits for the page the click opens.
	if _, err := chromedp.RunResponse(bctx, chromedp.Click("#apply", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(bctx, chromedp.CaptureScreenshot(&shotPNG)); err != nil {
		t.Fatal(err)
	}
	if file := os.Getenv("COMMENTS_SCREENSHOT"); file != "" {
		if err := os.WriteFile(file, shotPNG, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Page to the end with "Next page".
	var seen []string
	for pages := 1; ; pages++ {
		if pages > 20 {
			t.Fatal("Next page does not end")
		}
		var ids []string
		var next, search string
		var themes []string
		if err := chromedp.Run(bctx,
			chromedp.Evaluate(`Array.from(document.querySelectorAll("table.comments tr[data-id]")).map(tr => tr.dataset.id)`, &ids),
			chromedp.Evaluate(`Array.from(document.querySelectorAll("table.comments .themes")).map(s => s.textContent)`, &themes),
			chromedp.Evaluate(`(document.getElementById("next-page") || {}).href || ""`, &next),
			chromedp.Evaluate(`location.search`, &search),
		); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"region=North", "segment=gold", "channel=qr", "score=0-6"} {
			if !strings.Contains(search, k) {
				t.Errorf("page %d's address %s lost %s", pages, search, k)
			}
		}
		if len(ids) == 0 || len(ids) > storage.DefaultCommentPage {
			t.Fatalf("page %d shows %d comments", pages, len(ids))
		}
		for _, th := range themes {
			if th != "Wartezeit" {
				t.Fatalf("a theme is shown as %q, not in German", th)
			}
		}
		seen = append(seen, ids...)
		if next == "" {
			break
		}
		if _, err := chromedp.RunResponse(bctx, chromedp.Click("#next-page", chromedp.ByID)); err != nil {
			t.Fatal(err)
		}
		var at string
		if err := chromedp.Run(bctx, chromedp.Location(&at)); err != nil || at != next {
			t.Fatalf("Next page opened %s (%v), its link said %s", at, err, next)
		}
	}
	sameIDs(t, "paged", seen, want)
	t.Logf("%d of 1,000 comments match, all shown once over the pages", len(want))

	// The CSV export has every comment, not 500, and the page's filters.
	if rows := exportWithBrowserSession(t, bctx, base+"/export/comments.csv"); len(rows) != 1001 {
		t.Errorf("comments.csv has %d rows, want a header and 1,000", len(rows))
	}
	var filtered []string
	for _, r := range exportWithBrowserSession(t, bctx, base+"/export/comments.csv?region=North&segment=gold&channel=qr&score=0-6")[1:] {
		filtered = append(filtered, r[0])
	}
	sameIDs(t, "export", filtered, want)

	// A phrase search, typed into the search box with the other filters cleared.
	var hits []string
	if err := chromedp.Run(bctx,
		chromedp.Navigate(base+"/comments"),
		chromedp.WaitVisible("#q", chromedp.ByID),
		chromedp.SetValue("#q", `"late delivery"`, chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click("#apply", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(bctx,
		chromedp.Evaluate(`Array.from(document.querySelectorAll("table.comments tr[data-id]")).map(tr => tr.dataset.id)`, &hits),
	); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "search", hits, phrase)
	var texts []string
	if err := chromedp.Run(bctx, chromedp.Evaluate(`Array.from(document.querySelectorAll("table.comments .comment")).map(d => d.textContent)`, &texts)); err != nil {
		t.Fatal(err)
	}
	for _, s := range texts {
		if !strings.HasSuffix(s, "the queue at the till was a late delivery of patience") {
			t.Errorf("a search hit shows %q", s)
		}
	}

	// The store page names its reasons in German too, not by their keys.
	var reasons []string
	if err := chromedp.Run(bctx,
		chromedp.Navigate(base+"/stores/N1"),
		chromedp.WaitVisible("main", chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll(".grid2 > section:first-child table tbody tr td:first-child")).map(td => td.textContent)`, &reasons),
	); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reasons, []string{"Personal"}) {
		t.Errorf("the store page's reasons are %q, want Personal (staff in German)", reasons)
	}
}

// sameIDs fails unless got lists each of want exactly once and nothing else.
func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	counts := map[string]int{}
	for _, id := range got {
		counts[id]++
	}
	for id, n := range counts {
		if n > 1 {
			t.Errorf("%s: %s shown %d times", what, id, n)
		}
		if !slices.Contains(want, id) {
			t.Errorf("%s: %s shown but does not match", what, id)
		}
	}
	for _, id := range want {
		if counts[id] == 0 {
			t.Errorf("%s: %s never shown", what, id)
		}
	}
	if t.Failed() {
		t.Logf("%s: %d shown, %d match", what, len(got), len(want))
	}
}
