package dashboard_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// A promoter's thank-you e-mail is in the contact history of the case their answer
// opened (sent, when, in which language, with which review page), and the Follow-ups
// page lists the newest thank-yous of the stores in view, each with what became of it;
// a store's sign-in sees its store's only.
func TestDashboardThankYous(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		ctx := context.Background()
		c.AddStore(t, storage.Store{ID: "S1", Name: "Hauptstraße", Timezone: "Europe/Berlin"})
		c.AddStore(t, storage.Store{ID: "S2", Name: "Gran Vía", Timezone: "Europe/Madrid"})
		const review = "https://reviews.example.com/hauptstrasse"
		if err := c.Service.SetThanksRule(ctx, "", followup.ThanksRule{ReviewURL: review}); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 3))
		promoter := func(store, lang string) wire.Response {
			t.Helper()
			r := collectortest.Response(rng, time.Now().Add(-time.Minute))
			r.Score, r.Locale, r.Contact, r.ContactConsent = 10, lang, "shopper-"+lang+"@example.com", true
			d := c.Enroll(t, store, "Till "+lang)
			if res, err := collectortest.Upload(ctx, c.URL, d.Token, []wire.Response{r}); err != nil || len(res.Accepted) != 1 {
				t.Fatalf("upload: %+v, %v", res, err)
			}
			return r
		}
		sent := promoter("S1", "de")
		promoter("S2", "es")
		// The alert worker's part, by hand: claim the German one and record it sent.
		tys, err := c.DB.ClaimThankYous(ctx, 1, time.Now().Add(time.Minute), time.Now().Add(-time.Hour))
		if err != nil || len(tys) != 1 || tys[0].ResponseID != sent.ID || tys[0].Address != "shopper-de@example.com" {
			t.Fatalf("claim: %+v, %v", tys, err)
		}
		if err := c.DB.RecordThankYou(ctx, tys[0], storage.Attempt{}); err != nil {
			t.Fatal(err)
		}
		cases, err := c.DB.Cases(ctx, storage.CaseFilter{StoreID: "S1"})
		if err != nil || len(cases) != 1 {
			t.Fatalf("the promoter's case (they asked to be contacted): %+v, %v", cases, err)
		}

		hq := withCookie(c.URL, c.Session(t, ""))
		code, page := fetch(t, hq, c.URL+"/cases/"+cases[0].ID)
		for _, want := range []string{`<h2>Contact history</h2>`, `id="contact-history"`, "Thank-you e-mail sent", "CET",
			"In de, with the review page " + review} {
			if code != 200 || !strings.Contains(page, want) {
				t.Errorf("the case page (%d) lacks %q:\n%s", code, want, page)
			}
		}
		code, page = fetch(t, hq, c.URL+"/cases")
		for _, want := range []string{`<h2>Thank-you e-mails to promoters</h2>`, `id="thank-yous"`,
			`<a href="/cases/` + cases[0].ID + `">`, "Thank-you e-mail sent", "Thank-you e-mail queued", "Hauptstraße", "Gran Vía"} {
			if code != 200 || !strings.Contains(page, want) {
				t.Errorf("the Follow-ups page (%d) lacks %q:\n%s", code, want, page)
			}
		}
		if strings.Contains(page, "shopper-de@example.com") {
			t.Error("the Follow-ups page shows a shopper's address")
		}
		code, page = fetch(t, withCookie(c.URL, c.Session(t, "S2")), c.URL+"/cases")
		if code != 200 || strings.Contains(page, "Hauptstraße") || !strings.Contains(page, "Thank-you e-mail queued") {
			t.Errorf("S2's Follow-ups page (%d) shows S1's thank-you, or not its own:\n%s", code, page)
		}
	})
}
