package collector_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// Responses through survey links carry the link's channel and touchpoint into storage,
// the rollups and every filtered report; a revision (the follow-up after the score, a
// second answer) moves the response's count rather than adding one; kiosks, which send
// no channel, stay kiosk and may not claim another.
func TestChannelsEndToEnd(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return now }})
		ctx := context.Background()
		c.AddStore(t, storage.Store{ID: "S1"})
		c.AddStore(t, storage.Store{ID: "S2"})
		rng := rand.New(rand.NewPCG(7, 7))

		// Link validation.
		for _, nl := range []storage.NewLink{
			{StoreID: "S1", Channel: "QR"},
			{StoreID: "S1", Channel: "kiosk"},
			{StoreID: "S1", Channel: "qr", Touchpoint: "check out"},
			{StoreID: "S1", Channel: "qr", ExpiresAt: now.Add(-time.Hour)},
			{StoreID: "S1", Channel: "email", Label: storage.EmailLinkLabel},
		} {
			if _, err := c.DB.AddLink(ctx, nl); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("AddLink(%+v) = %v, want ErrInvalid", nl, err)
			}
		}
		if _, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "S9", Channel: "qr"}); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a link to an unknown store: %v", err)
		}
		qr, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "qr", Touchpoint: "checkout", Label: "Receipt"})
		if err != nil {
			t.Fatal(err)
		}
		sms, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "sms", ExpiresAt: now.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if !storage.ValidLinkCode(qr.Code) || storage.ValidLinkCode("O0l1abcd") {
			t.Errorf("link code %q", qr.Code)
		}
		if got, err := c.DB.LinkByCode(ctx, qr.Code); err != nil || got.ID != qr.ID || got.Touchpoint != "checkout" {
			t.Fatalf("LinkByCode = %+v, %v", got, err)
		}

		answer := func(l storage.Link, score int) response.Response {
			t.Helper()
			r := collectortest.Response(rng, now.Add(-time.Minute))
			r.Score, r.Reasons, r.Outcome = score, nil, response.OutcomeSkipped
			res, err := c.Service.IngestFromLink(ctx, l, r)
			if err != nil || res != storage.Inserted {
				t.Fatalf("answer %d through %s: %v, %v", score, l.Channel, res, err)
			}
			return r
		}
		first := answer(qr, 3) // a detractor at the checkout, by QR
		answer(qr, 10)
		answer(sms, 9)
		// A retry (the page posted twice) is the same content, whatever channel it names.
		retry := first
		retry.Channel = "web"
		for _, r := range []response.Response{first, retry} {
			if res, err := c.Service.IngestFromLink(ctx, qr, r); err != nil || res != storage.SameContent {
				t.Errorf("the same answer again: %v, %v; want SameContent", res, err)
			}
		}
		// An old kiosk: no channel field at all.
		dev := c.Enroll(t, "S1", "Till 1")
		kiosk := collectortest.Response(rng, now.Add(-2*time.Minute))
		kiosk.Score = 8
		claimed := collectortest.Response(rng, now.Add(-2*time.Minute))
		claimed.Channel = "qr"
		res, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, []response.Response{kiosk, claimed})
		if err != nil || len(res.Accepted) != 1 || len(res.Rejected) != 1 || res.Rejected[0].ID != claimed.ID {
			t.Fatalf("kiosk upload: %+v, %v", res, err)
		}

		day := now.Format(time.DateOnly)
		nps := func(f storage.Filter) storage.NPSReport {
			t.Helper()
			f.From, f.To = day, day
			r, err := c.DB.NPS(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		for _, tt := range []struct {
			f         storage.Filter
			n         int64
			nps       float64
			detractor int64
		}{
			{storage.Filter{}, 4, 25, 1},                      // 3, 10, 9, 8: (2−1)/4
			{storage.Filter{Channel: "qr"}, 2, 0, 1},          // 3, 10
			{storage.Filter{Channel: "kiosk"}, 1, 0, 0},       // 8
			{storage.Filter{Channel: "sms"}, 1, 100, 0},       // 9
			{storage.Filter{Touchpoint: "checkout"}, 2, 0, 1}, // the QR's
			{storage.Filter{Channel: "qr", StoreID: "S2"}, 0, 0, 0},
		} {
			got := nps(tt.f)
			if got.Responses != tt.n || math.Abs(got.NPS-tt.nps) > 1e-9 || got.Detractors != tt.detractor {
				t.Errorf("NPS %+v = %+v, want n %d, NPS %.0f, %d detractors", tt.f, got, tt.n, tt.nps, tt.detractor)
			}
		}
		cases, err := c.DB.Cases(ctx, storage.CaseFilter{StoreID: "S1"})
		if err != nil || len(cases) != 1 || cases[0].Response.ID != first.ID {
			t.Fatalf("cases: %+v, %v; want the QR detractor's", cases, err)
		}

		// The shopper adds a comment, then thinks better of the score: counted once,
		// as a promoter now, under the same channel and touchpoint.
		revised := first
		revised.Score, revised.Comment, revised.Outcome = 9, "Quick after all", response.OutcomeSubmitted
		if rev, err := c.Service.ReviseFromLink(ctx, qr, revised); err != nil || !rev.Changed {
			t.Fatalf("revise: %+v, %v", rev, err)
		}
		if rev, err := c.Service.ReviseFromLink(ctx, qr, revised); err != nil || rev.Changed {
			t.Errorf("the same revision again: %+v, %v; want no change", rev, err)
		}
		if _, err := c.Service.ReviseFromLink(ctx, sms, revised); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("revising through another link: %v, want ErrNotFound", err)
		}
		if got := nps(storage.Filter{Channel: "qr"}); got.Responses != 2 || got.NPS != 100 || got.Detractors != 0 {
			t.Errorf("QR after the revision: %+v, want 2 promoters", got)
		}
		if got := nps(storage.Filter{}); got.Responses != 4 || got.NPS != 75 {
			t.Errorf("all after the revision: %+v, want n 4, NPS 75", got)
		}
		if n, err := c.DB.CountResponses(ctx, "S1"); err != nil || n != 4 {
			t.Errorf("rows: %d, %v; want 4", n, err)
		}

		// Closed links answer no more.
		if _, err := c.DB.DisableLink(ctx, qr.Code); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DB.DisableLink(ctx, qr.ID); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("disabling twice: %v, want ErrConflict", err)
		}
		closed, _ := c.DB.LinkByCode(ctx, qr.Code)
		if _, err := c.Service.IngestFromLink(ctx, closed, collectortest.Response(rng, now)); !errors.Is(err, storage.ErrLinkClosed) {
			t.Errorf("answer through a disabled link: %v", err)
		}
		now = now.Add(25 * time.Hour)
		if _, err := c.Service.IngestFromLink(ctx, sms, collectortest.Response(rng, now)); !errors.Is(err, storage.ErrLinkClosed) {
			t.Errorf("answer through an expired link: %v", err)
		}
	})
}

// Site and app keys are links that answer only from the origins and apps they list.
func TestSiteAndAppKeys(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		ctx := context.Background()
		c.AddStore(t, storage.Store{ID: "WEB"})
		for _, nl := range []storage.NewLink{
			{Kind: "site", StoreID: "WEB", Channel: "web"},                                               // no origin
			{Kind: "site", StoreID: "WEB", Channel: "web", Origins: []string{"http://shop.example.com"}}, // not https
			{Kind: "site", StoreID: "WEB", Channel: "web", Origins: []string{"https://shop.example.com/checkout"}},
			{Kind: "site", StoreID: "WEB", Channel: "web", Origins: []string{"https://shop.example.com"}, BundleIDs: []string{"com.example.shop"}},
			{Kind: "app", StoreID: "WEB", Channel: "app", BundleIDs: []string{"not a bundle"}},
			{Kind: "link", StoreID: "WEB", Channel: "qr", Origins: []string{"https://shop.example.com"}},
			{Kind: "kiosk", StoreID: "WEB", Channel: "web"},
			{Kind: "app", StoreID: "WEB", Channel: "app", RatePerMinute: -1},
		} {
			if _, err := c.DB.AddLink(ctx, nl); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("AddLink(%+v) = %v, want ErrInvalid", nl, err)
			}
		}
		site, err := c.DB.AddLink(ctx, storage.NewLink{Kind: "site", StoreID: "WEB", Channel: "web", Touchpoint: "checkout",
			Origins: []string{"https://Shop.Example.com:443", "https://shop.example.com", "http://localhost:8080"}})
		if err != nil {
			t.Fatal(err)
		}
		app, err := c.DB.AddLink(ctx, storage.NewLink{Kind: "app", StoreID: "WEB", Channel: "app",
			BundleIDs: []string{"com.example.shop", "com.example.shop"}, RatePerMinute: 30})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.DB.LinkByCode(ctx, site.Code)
		if err != nil || got.Kind != "site" || len(got.Origins) != 2 || got.AnswersAtSurveyURL() {
			t.Fatalf("site key read back: %+v, %v", got, err)
		}
		for origin, want := range map[string]bool{"https://shop.example.com": true, "https://SHOP.example.com:443": true,
			"http://localhost:8080": true, "https://evil.example.com": false, "null": false, "": false} {
			if got.AllowsOrigin(origin) != want {
				t.Errorf("AllowsOrigin(%q) = %v", origin, !want)
			}
		}
		got, err = c.DB.LinkByCode(ctx, app.Code)
		if err != nil || !got.AllowsBundle("com.example.shop") || got.AllowsBundle("com.evil") || got.RatePerMinute != 30 || len(got.BundleIDs) != 1 {
			t.Fatalf("app key read back: %+v, %v", got, err)
		}
	})
}

// Answers to extra questions are checked against the survey for the response's channel
// and touchpoint, stored, revised with the response, and exported.
func TestExtraAnswersAreStoredAndExported(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		ctx := context.Background()
		c.AddStore(t, storage.Store{ID: "WEB"})
		survey, err := c.DB.Survey(ctx, "WEB")
		if err != nil {
			t.Fatal(err)
		}
		en := func(s string) map[string]string { return map[string]string{survey.Languages[0]: s} }
		survey.Questions = []response.Question{{Key: "speed", Kind: response.QuestionRating, Labels: en("Delivery speed"),
			Channels: []string{"web"}, Touchpoints: []string{"delivery"}}}
		if _, err := c.DB.SetSurvey(ctx, survey, []string{"WEB"}); err != nil {
			t.Fatal(err)
		}
		web, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "WEB", Channel: "web", Touchpoint: "delivery"})
		if err != nil {
			t.Fatal(err)
		}
		qr, err := c.DB.AddLink(ctx, storage.NewLink{StoreID: "WEB", Channel: "qr"})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(9, 9))
		r := collectortest.Response(rng, time.Now().Add(-time.Minute))
		r.Answers = map[string][]string{"speed": {"2"}}
		if _, err := c.Service.IngestFromLink(ctx, qr, r); !errors.Is(err, response.ErrInvalid) {
			t.Errorf("an answer to a question the QR code does not ask: %v", err)
		}
		if res, err := c.Service.IngestFromLink(ctx, web, r); err != nil || res != storage.Inserted {
			t.Fatalf("answer: %v, %v", res, err)
		}
		r.Answers["speed"] = []string{"5"}
		if rev, err := c.Service.ReviseFromLink(ctx, web, r); err != nil || !rev.Changed {
			t.Fatalf("revise: %+v, %v", rev, err)
		}
		var csv strings.Builder
		if _, err := c.DB.Export(ctx, storage.Filter{From: "2000-01-01", To: "2999-12-31"}, &csv); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(csv.String(), `,answers`) || !strings.Contains(csv.String(), `"{""speed"":[""5""]}"`) {
			t.Errorf("the export lacks the revised answer:\n%s", csv.String())
		}
	})
}
