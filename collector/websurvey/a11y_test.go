package websurvey_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/websurvey"
	"github.com/npskiosk/npskiosk/internal/a11y"
	"github.com/npskiosk/npskiosk/response"
)

// axe-core (internal/a11y) finds no violation of WCAG 2.2 A/AA or its best practices on
// the survey's pages at a phone's size: the score page, the follow-up with the extra
// questions of the link's channel and touchpoint, and the thank-you page. The pages' own policy would refuse the styles axe adds to measure
// contrast, so it is lifted for this test (the other browser tests keep it). On the
// thank-you page axe leaves the contrast of the ✓ to a person (a symbol, hidden from
// screen readers: white on dark green, 9:1).
func TestSurveyPagesAreAccessible(t *testing.T) {
	e := start(t, collectortest.SQLite, websurvey.Config{})
	ctx := context.Background()
	sv, err := e.c.DB.Survey(ctx, "S042")
	if err != nil {
		t.Fatal(err)
	}
	en := func(s string) map[string]string { return map[string]string{sv.Languages[0]: s} }
	sv.Questions = []response.Question{
		{Key: "found", Kind: response.QuestionSingle, Labels: en("Did you find everything?"),
			Options: []response.Option{{Key: "yes", Labels: en("Yes")}, {Key: "no", Labels: en("No")}}, Channels: []string{"qr"}},
		{Key: "queue", Kind: response.QuestionRating, Labels: en("How short was the queue?"), Channels: []string{"qr"}},
		{Key: "missing", Kind: response.QuestionText, Labels: en("What was missing?"), Channels: []string{"qr"}},
	}
	if _, err := e.c.DB.SetSurvey(ctx, sv, []string{"S042"}); err != nil {
		t.Fatal(err)
	}
	bctx := browser(t)
	check := func(what string) {
		t.Helper()
		res, err := a11y.Run(bctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("axe-core %s on %s: %d violations, %d rules passed, to judge by hand: %v", res.Engine, what, len(res.Violations), res.Passes, res.Incomplete)
		for _, v := range res.Violations {
			t.Errorf("%s: %s", what, v)
		}
	}
	survey := e.c.URL + "/s/" + e.link.Code
	if err := chromedp.Run(bctx, page.SetBypassCSP(true), chromedp.Navigate(survey), chromedp.WaitVisible("#score-form", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	check("the score page")
	if err := chromedp.Run(bctx, chromedp.Click(`#score-form input[value="6"]`, chromedp.ByQuery), chromedp.WaitVisible("#followup-form", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	check("the follow-up page")
	if err := chromedp.Run(bctx, chromedp.Click("#submit", chromedp.ByQuery), chromedp.WaitVisible(".thanks", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	check("the thank-you page")
}
