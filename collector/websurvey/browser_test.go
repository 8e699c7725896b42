package websurvey_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/dashboard"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/websurvey"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium (as the dashboard's tests do) and fails the test on
// any script error or any console error, such as a Content-Security-Policy refusal.
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
		chromedp.Flag("lang", "en-US"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() {
		chromedp.Cancel(ctx)
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			t.Errorf("a script failed: %s", ev.ExceptionDetails.Error())
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError && !strings.Contains(ev.Entry.URL, "favicon") {
				t.Errorf("browser console: %s (%s)", ev.Entry.Text, ev.Entry.URL)
			}
		}
	})
	if err := chromedp.Run(ctx, cdplog.Enable(), chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// shoot saves the phone's screen as docs/screenshots/websurvey_NAME_390.png when
// UPDATE_SCREENSHOTS is set (make screenshots); the whole page with full.
func shoot(t *testing.T, ctx context.Context, name string, full bool) {
	t.Helper()
	var png []byte
	action := chromedp.CaptureScreenshot(&png)
	if full {
		action = chromedp.FullScreenshot(&png, 100)
	}
	if err := chromedp.Run(ctx, action); err != nil {
		t.Fatal(err)
	}
	if len(png) < 1000 {
		t.Fatalf("%s: empty screenshot", name)
	}
	if os.Getenv("UPDATE_SCREENSHOTS") != "" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", "websurvey_"+name+"_390.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A shopper opens the QR link on a 390×844 phone and answers in Spanish with scripts on
// (a tap on the score sends it), another in German with scripts off (the score, then
// Send); both see the thank-you page, and both answers are stored under the link's
// channel and touchpoint, in their languages, and shown there on HQ's dashboard.
func TestPhoneAnswersInRealChromium(t *testing.T) {
	e := start(t, collectortest.SQLite, websurvey.Config{})
	ctx := browser(t)
	survey := e.c.URL + "/s/" + e.link.Code
	text := func(sel string) string {
		var s string
		if err := chromedp.Run(ctx, chromedp.Text(sel, &s, chromedp.ByQuery)); err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}

	// Spanish, scripts on: the language switch, then one tap on 9.
	if err := chromedp.Run(ctx,
		chromedp.Navigate(survey),
		chromedp.WaitVisible("#score-form", chromedp.ByQuery),
		chromedp.Click(`a[hreflang="es"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`html[lang="es"] #score-form`, chromedp.ByQuery),
		chromedp.Click(`#score-form input[value="9"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#followup-form", chromedp.ByQuery), // sent by the tap alone
	); err != nil {
		t.Fatalf("Spanish score: %v", err)
	}
	if got := text("#your-score"); got != "9" {
		t.Errorf("the follow-up says score %q", got)
	}
	if err := chromedp.Run(ctx,
		chromedp.Click(`input[name="reason"][value="staff"]`, chromedp.ByQuery),
		chromedp.SendKeys("#comment", "Muy amables en caja", chromedp.ByQuery),
		chromedp.Click("#submit", chromedp.ByQuery),
		chromedp.WaitVisible(".thanks", chromedp.ByQuery),
	); err != nil {
		t.Fatalf("Spanish follow-up: %v", err)
	}
	if got := text(".thanks h1"); got != "¡Gracias!" {
		t.Errorf("Spanish thanks: %q", got)
	}

	// German from Accept-Language, scripts off: a tap chooses 4, Send sends it.
	var sent []*cdp.Node
	if err := chromedp.Run(ctx,
		network.ClearBrowserCookies(),
		network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": "de-DE,de;q=0.9"}),
		emulation.SetScriptExecutionDisabled(true),
		chromedp.Navigate(survey),
		chromedp.WaitVisible(`html[lang="de"] #score-form`, chromedp.ByQuery),
		chromedp.Click(`#score-form input[value="4"]`, chromedp.ByQuery),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.Nodes("#followup-form", &sent, chromedp.ByQuery, chromedp.AtLeast(0)),
	); err != nil {
		t.Fatalf("German score: %v", err)
	}
	if len(sent) != 0 {
		t.Fatal("the tap sent the score with scripts off: scripts ran")
	}
	if err := chromedp.Run(ctx,
		chromedp.Click("#send", chromedp.ByQuery),
		chromedp.WaitVisible("#followup-form", chromedp.ByQuery),
		chromedp.WaitVisible("#contact", chromedp.ByQuery), // shown without the script that hides it
		chromedp.Click(`input[name="reason"][value="wait_time"]`, chromedp.ByQuery),
		chromedp.SendKeys("#comment", "Lange Schlange", chromedp.ByQuery),
		chromedp.Click("#consent", chromedp.ByQuery),
		chromedp.SendKeys("#contact", "ben@example.com", chromedp.ByQuery),
		chromedp.Click("#submit", chromedp.ByQuery),
		chromedp.WaitVisible(".thanks", chromedp.ByQuery),
	); err != nil {
		t.Fatalf("German follow-up: %v", err)
	}
	if got := text(".thanks h1"); got != "Vielen Dank!" {
		t.Errorf("German thanks: %q", got)
	}

	// The pictures for the README: English, scripts on, a passive's follow-up.
	if err := chromedp.Run(ctx,
		network.ClearBrowserCookies(),
		network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": "en-GB,en;q=0.9"}),
		emulation.SetScriptExecutionDisabled(false),
		chromedp.Navigate(survey),
		chromedp.WaitVisible(`html[lang="en"] #score-form`, chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, "score", false)
	if err := chromedp.Run(ctx,
		chromedp.Click(`#score-form input[value="8"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#followup-form", chromedp.ByQuery),
		chromedp.Click(`input[name="reason"][value="checkout_speed"]`, chromedp.ByQuery),
		chromedp.SendKeys("#comment", "Quick, but the bakery was sold out.", chromedp.ByQuery),
		chromedp.Evaluate(`document.activeElement.blur(); window.scrollTo(0, 0)`, nil),
	); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, "followup", false)
	shoot(t, ctx, "followup_full", true)
	if err := chromedp.Run(ctx, chromedp.Click("#submit", chromedp.ByQuery), chromedp.WaitVisible(".thanks", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, "thanks", false)

	// HQ's dashboard shows them under the link's channel and touchpoint.
	var channels, touchpoints, comments string
	if err := chromedp.Run(ctx,
		network.SetCookie(dashboard.SessionCookie, e.c.Session(t, "")).WithURL(e.c.URL).WithHTTPOnly(true),
		chromedp.Navigate(e.c.URL+"/channels"),
		chromedp.Text("#channel-table tbody", &channels, chromedp.ByQuery),
		chromedp.Text("#touchpoint-table tbody", &touchpoints, chromedp.ByQuery),
		chromedp.Navigate(e.c.URL+"/comments?channel=qr&touchpoint=checkout"),
		chromedp.Text("main", &comments, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	// At a phone's width each row reads "qr NPS +0.0 ± 92.4 · n = 3 …".
	if !strings.HasPrefix(channels, "qr\n") || !strings.Contains(channels, "n = 3") {
		t.Errorf("the dashboard's channels: %q, want qr with 3 responses", channels)
	}
	if !strings.HasPrefix(touchpoints, "checkout\n") || !strings.Contains(touchpoints, "n = 3") {
		t.Errorf("the dashboard's touchpoints: %q, want checkout with 3 responses", touchpoints)
	}
	for _, c := range []string{"Muy amables en caja", "Lange Schlange", "qr at checkout"} {
		if !strings.Contains(comments, c) {
			t.Errorf("the dashboard's comments of qr at checkout lack %q:\n%s", c, comments)
		}
	}

	// Stored under the link's channel and touchpoint, in each shopper's language.
	rep := e.nps(storage.Filter{Channel: "qr", Touchpoint: "checkout"})
	if rep.Responses != 3 || rep.Promoters != 1 || rep.Passives != 1 || rep.Detractors != 1 || rep.Suspect != 0 {
		t.Errorf("qr/checkout: %+v, want a promoter (es), a passive (en) and a detractor (de)", rep)
	}
	if other := e.nps(storage.Filter{Channel: "kiosk"}); other.Responses != 0 {
		t.Errorf("kiosk: %+v, want none", other)
	}
	want := map[string]row{
		"es": {score: 9, reasons: `["staff"]`, comment: "Muy amables en caja", locale: "es", outcome: "submitted", channel: "qr", touch: "checkout"},
		"de": {score: 4, reasons: `["wait_time"]`, comment: "Lange Schlange", contact: "ben@example.com", locale: "de", outcome: "submitted", channel: "qr", touch: "checkout"},
	}
	for locale, w := range want {
		var id string
		if err := e.c.DB.RawQueryRow(context.Background(), `SELECT id FROM responses WHERE locale = ?`, locale).Scan(&id); err != nil {
			t.Fatalf("the %s answer: %v", locale, err)
		}
		if got := e.row(id); got != w {
			t.Errorf("the %s answer: %+v, want %+v", locale, got, w)
		}
	}
}
