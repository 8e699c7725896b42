package websurvey_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/websurvey"
)

// On a 390×844 phone the link's extra questions are big targets (48 px at least) and
// answer with scripts off: the score and Send, then an option, a rating and a text, and
// Submit; the answers are stored with the response.
func TestPhoneAnswersExtraQuestionsInRealChromium(t *testing.T) {
	e := start(t, collectortest.SQLite, websurvey.Config{})
	e.setQuestions(questionSet...)
	ctx := browser(t)
	if err := chromedp.Run(ctx,
		chromedp.Navigate(e.c.URL+"/s/"+e.link.Code),
		chromedp.WaitVisible(`html[lang="en"] #score-form`, chromedp.ByQuery),
		chromedp.Click(`#score-form input[value="8"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#followup-form", chromedp.ByQuery),
		chromedp.WaitVisible("#q_found", chromedp.ByQuery),
	); err != nil {
		t.Fatalf("score: %v", err)
	}
	// Every target of the questions, measured as the phone lays them out.
	var small []string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll(
		'.question .chip span, .question .score span, .question input[type=text]')).
		filter(el => { const r = el.getBoundingClientRect(); return r.height < 48 || r.width < 48; }).
		map(el => (el.textContent || el.id) + ' ' + Math.round(el.getBoundingClientRect().width) + 'x' + Math.round(el.getBoundingClientRect().height))`, &small)); err != nil {
		t.Fatal(err)
	}
	if len(small) > 0 {
		t.Errorf("targets under 48 px: %q", small)
	}
	if err := chromedp.Run(ctx,
		chromedp.Click(`input[name="reason"][value="checkout_speed"]`, chromedp.ByQuery),
		chromedp.Click(`input[name="q_found"][value="partly"]`, chromedp.ByQuery),
		chromedp.Click(`input[name="q_speed"][value="4"]`, chromedp.ByQuery),
		chromedp.SendKeys("#q_improve", "More tills at lunchtime", chromedp.ByQuery),
		chromedp.Evaluate(`document.activeElement.blur(); document.getElementById('q_found').scrollIntoView()`, nil),
	); err != nil {
		t.Fatalf("answers: %v", err)
	}
	shoot(t, ctx, "questions", false)

	// Scripts off from here: the same answers, posted by the form alone.
	if err := chromedp.Run(ctx,
		emulation.SetScriptExecutionDisabled(true),
		chromedp.Click("#submit", chromedp.ByQuery),
		chromedp.WaitVisible(".thanks", chromedp.ByQuery),
	); err != nil {
		t.Fatalf("submit: %v", err)
	}
	var id string
	if err := e.c.DB.RawQueryRow(t.Context(), `SELECT id FROM responses`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if got, want := e.answers(id), `{"found":["partly"],"improve":["More tills at lunchtime"],"speed":["4"]}`; got != want {
		t.Errorf("stored answers %s, want %s", got, want)
	}
	if r := e.row(id); r.score != 8 || !strings.Contains(r.reasons, "checkout_speed") {
		t.Errorf("stored %+v", r)
	}
}
