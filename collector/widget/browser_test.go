package widget_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/widget"
	"github.com/npskiosk/npskiosk/internal/a11y"
)

const chromiumPath = "/usr/bin/chromium"

// console is what the browser said: errors and the widget's warnings.
type console struct {
	mu       sync.Mutex
	errors   []string
	warnings []string
}

func (c *console) add(level, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if level == "error" {
		c.errors = append(c.errors, text)
	} else if strings.Contains(text, "NPS widget") {
		c.warnings = append(c.warnings, text)
	}
}

// take returns what was said since the last take.
func (c *console) take() (errs, warns []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs, warns, c.errors, c.warnings = c.errors, c.warnings, nil, nil
	return errs, warns
}

// browser starts headless Chromium as the dashboard's tests do, at a laptop's size,
// and notes every console error and script exception.
func browser(t *testing.T, width, height int64) (context.Context, *console) {
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
		chromedp.WindowSize(int(width), int(height)),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 150*time.Second)
	t.Cleanup(func() {
		chromedp.Cancel(ctx)
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	c := &console{}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			c.add("error", "exception: "+ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			}
			c.add(string(ev.Type), strings.Join(parts, " "))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError && !strings.Contains(ev.Entry.URL, "favicon") {
				c.add("error", ev.Entry.Text+" ("+ev.Entry.URL+")")
			}
		}
	})
	if err := chromedp.Run(ctx, cdplog.Enable(), runtime.Enable()); err != nil {
		t.Fatal(err)
	}
	return ctx, c
}

// demoShop is a shop's website on its own loopback origin, with a strict
// Content-Security-Policy: scripts, styles and requests only from itself and the
// collector, Trusted Types required, nothing inline. Checkout leads to an order
// confirmation that embeds the widget as the README says.
func demoShop(t *testing.T, collector string, keyFor func(origin string) string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	key := keyFor("http://" + srv.Listener.Addr().String())
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src 'self' " + collector,
		"connect-src 'self' " + collector,
		"style-src 'self' " + collector,
		"frame-src " + collector,
		"img-src 'self'",
		"form-action 'self'",
		"base-uri 'none'",
		"frame-ancestors 'none'",
		"require-trusted-types-for 'script'",
		"trusted-types 'none'",
	}, "; ")
	page := func(title, body string) string {
		return `<!doctype html><html lang="de"><head><meta charset="utf-8"><title>` + title + ` · Example Shop</title>
<link rel="stylesheet" href="/shop.css"><script src="/shop.js"></script></head>
<body><header><p class="logo">Example Shop</p></header><main><h1>` + title + `</h1>` + body + `</main></body></html>`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page("Warenkorb", `<p>1 × Regenjacke, 89,00 €</p>
<form method="post" action="/checkout"><button type="submit" id="buy">Jetzt kaufen</button></form>`))
	})
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/confirmation?order=A-1001", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /confirmation", func(w http.ResponseWriter, r *http.Request) {
		order := r.URL.Query().Get("order")
		fmt.Fprint(w, page("Danke für Ihre Bestellung", `<p id="order">Bestellung `+order+` ist bestätigt.</p>
<script src="`+collector+`/w/widget.js" data-key="`+key+`" data-touchpoint="checkout" data-order-id="`+order+`" data-segment="returning" defer></script>`))
	})
	mux.HandleFunc("GET /shop.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		// Every policy violation on the page is noted for the test to read.
		fmt.Fprint(w, `window.violations = [];
document.addEventListener('securitypolicyviolation', function (e) { window.violations.push(e.violatedDirective + ' ' + e.blockedURI); });`)
	})
	mux.HandleFunc("GET /shop.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, `body { font: 17px/1.5 Georgia, serif; margin: 0; color: #222; background: #faf7f2; }
header { background: #2d4739; color: #fff; padding: 12px 32px; } .logo { margin: 0; font-weight: bold; }
main { padding: 24px 32px; max-width: 760px; } button { font: inherit; padding: 12px 24px; min-height: 48px; }`)
	})
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		if !strings.HasSuffix(r.URL.Path, ".js") && !strings.HasSuffix(r.URL.Path, ".css") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		mux.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// widgetJS reaches into the widget's shadow root.
const widgetJS = `document.querySelector('nps-widget').shadowRoot`

// waitFor polls a JavaScript condition in the page until it holds, for up to 15 s.
func waitFor(ctx context.Context, cond string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Evaluate(`!!(function(){ try { return `+cond+` } catch (e) { return false } })()`, &ok)); err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waited 15 s for %s", cond)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// eval runs JavaScript in the page and returns its string value.
func eval(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	var s string
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &s, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	})); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return s
}

// keys presses keys one by one, as a person at a keyboard.
func keys(ctx context.Context, ks ...string) error {
	for _, k := range ks {
		if err := chromedp.Run(ctx, chromedp.KeyEvent(k)); err != nil {
			return err
		}
	}
	return nil
}

// The Must-show: a shopper checks out on a shop whose page has a strict CSP; the widget
// slides in, in the page's language, with focus on its question; the shopper answers by
// keyboard (score), then a reason, an extra question and a comment; the answer is at
// the collector under channel web, the key's touchpoint and the order id. Escape closes
// it; a reload shows it no more. A page on an origin the key does not list gets nothing:
// the survey's request and a hand-made post both fail CORS in the browser, and nothing
// is stored. No policy violation, no script error on the shop's page.
func TestShopperAnswersOnAStrictCSPPage(t *testing.T) {
	e := start(t, collectortest.SQLite, widget.Config{}, 0)
	ctx, con := browser(t, 1280, 860)
	collector := e.base
	// The key lists the shop's origin, known once its port is.
	var key storage.Link
	shop := demoShop(t, collector, func(origin string) string {
		var err error
		key, err = e.c.DB.AddLink(context.Background(), storage.NewLink{Kind: "site", StoreID: "WEB", Channel: "web", Touchpoint: "checkout",
			Origins: []string{origin}})
		if err != nil {
			t.Fatal(err)
		}
		return key.Code
	})

	if err := chromedp.Run(ctx,
		chromedp.Navigate(shop.URL+"/"),
		chromedp.Click("#buy", chromedp.ByID),
		chromedp.WaitVisible("#order", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, widgetJS+`.querySelector('.nps-card.nps-open')`); err != nil {
		errs, warns := con.take()
		t.Fatalf("the widget did not appear: %v\nconsole errors: %q\nwarnings: %q", err, errs, warns)
	}
	time.Sleep(400 * time.Millisecond) // the slide-in
	if got := eval(t, ctx, widgetJS+`.querySelector('[role=dialog]').getAttribute('aria-label') + '|' + `+
		widgetJS+`.querySelector('[role=dialog]').lang + '|' + `+widgetJS+`.activeElement.className`); got != "Feedback-Umfrage|de|nps-title" {
		t.Errorf("the dialog's name, language and focus: %q", got)
	}
	// Keyboard only: Tab through 0 to 9, Enter.
	if err := keys(ctx, slices.Repeat([]string{kb.Tab}, 10)...); err != nil {
		t.Fatal(err)
	}
	if got := eval(t, ctx, widgetJS+`.activeElement.textContent`); got != "9" {
		t.Fatalf("ten tabs from the question reach %q, want 9", got)
	}
	shoot(t, ctx, "widget_score_1280.png")
	if err := keys(ctx, kb.Enter); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, widgetJS+`.querySelector('form.nps-form')`); err != nil {
		t.Fatal(err)
	}
	if got := eval(t, ctx, widgetJS+`.activeElement.className`); got != "nps-title" {
		t.Errorf("after the score, focus is on %q, want the step's heading", got)
	}
	// A reason, the extra question for web checkout, a comment.
	reason := eval(t, ctx, widgetJS+`.querySelector('input[name=reason]').value`)
	if err := chromedp.Run(ctx,
		chromedp.Click(widgetJS+`.querySelector('input[name=reason]')`, chromedp.ByJSPath),
		chromedp.Click(widgetJS+`.querySelector('input[name="q.found"][value=yes]')`, chromedp.ByJSPath),
		chromedp.SendKeys(widgetJS+`.querySelector('textarea')`, "Schnell geliefert, gerne wieder.", chromedp.ByJSPath),
	); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, "widget_followup_1280.png")
	if err := chromedp.Run(ctx, chromedp.Click(widgetJS+`.querySelector('button.nps-primary')`, chromedp.ByJSPath)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, `!`+widgetJS+`.querySelector('form') && `+widgetJS+`.querySelector('.nps-title').textContent === 'Vielen Dank!'`); err != nil {
		t.Fatal(err)
	}

	// At the collector: one answer, under web and checkout, with the order id.
	rows := export(t, e)
	if len(rows) != 1 {
		t.Fatalf("%d answers at the collector, want 1: %v", len(rows), rows)
	}
	r := rows[0]
	for col, want := range map[string]string{"score": "9", "channel": "web", "touchpoint": "checkout", "order_id": "A-1001",
		"segment": "returning", "comment": "Schnell geliefert, gerne wieder.", "answers": `{"found":["yes"]}`,
		"reasons": `["` + reason + `"]`, "locale": "de", "outcome": "submitted", "link_id": key.ID, "store_id": "WEB"} {
		if r[col] != want {
			t.Errorf("stored %s = %q, want %q", col, r[col], want)
		}
	}

	// Escape closes it and gives focus back to the page.
	if err := keys(ctx, kb.Escape); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, `!document.querySelector('nps-widget')`); err != nil {
		t.Errorf("Escape did not close the widget: %v", err)
	}
	// A reload within the quiet period: nothing asked, nothing shown.
	if err := chromedp.Run(ctx, chromedp.Reload(), chromedp.WaitVisible("#order", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if got := eval(t, ctx, `NPSWidget.show({key: '`+key.Code+`'}).then(String)`); got != "false" {
		t.Errorf("within the quiet period, show() = %s", got)
	}
	time.Sleep(time.Second)
	if got := eval(t, ctx, `String(document.querySelectorAll('nps-widget').length)`); got != "0" {
		t.Errorf("after a reload the widget is shown again (%s)", got)
	}
	if v := eval(t, ctx, `window.violations.join('; ')`); v != "" {
		t.Errorf("the shop's Content-Security-Policy was violated: %s", v)
	}
	if errs, _ := con.take(); len(errs) > 0 {
		t.Errorf("console errors on the shop's page: %q", errs)
	}

	// Another origin (the same page, another port): refused by CORS in the browser.
	other := demoShop(t, collector, func(string) string { return key.Code })
	if err := chromedp.Run(ctx, chromedp.Navigate(other.URL+"/confirmation?order=B-7"), chromedp.WaitVisible("#order", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	var errs, warns []string
	for len(warns) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		e, w := con.take()
		errs, warns = append(errs, e...), append(warns, w...)
	}
	if len(warns) == 0 || !strings.Contains(warns[0], "Failed to fetch") {
		t.Errorf("the widget on an origin not on the key's list: warnings %q", warns)
	}
	if !slices.ContainsFunc(errs, func(s string) bool { return strings.Contains(s, "CORS policy") }) {
		t.Errorf("the browser did not refuse by CORS: %q", errs)
	}
	got := eval(t, ctx, `fetch('`+collector+`/w/v1/responses?key=`+key.Code+`', {method: 'POST', headers: {'Content-Type': 'application/json'},
	  body: JSON.stringify({id: '0195a3c4-7f00-7abc-8def-0123456789ab', score: 0, locale: 'de', survey_version: 1})}).then(r => 'answered ' + r.status, e => 'refused: ' + e.name)`)
	if got != "refused: TypeError" {
		t.Errorf("a post from an origin not on the key's list: %s", got)
	}
	if n := eval(t, ctx, `String(document.querySelectorAll('nps-widget').length)`); n != "0" {
		t.Error("the widget showed on an origin not on the key's list")
	}
	if rows := export(t, e); len(rows) != 1 {
		t.Errorf("%d answers after the refused origin, want still 1", len(rows))
	}
}

// export reads the collector's CSV export as maps by column.
func export(t *testing.T, e *env) []map[string]string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := e.c.DB.Export(context.Background(), storage.Filter{From: "2000-01-01", To: "2999-12-31"}, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, col := range recs[0] {
			m[col] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

// shoot saves the browser's view as docs/screenshots/NAME when UPDATE_SCREENSHOTS is
// set (make screenshots).
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("UPDATE_SCREENSHOTS") == "" {
		return
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// axe-core (internal/a11y) finds no violation of WCAG 2.2 A/AA or its best practices in
// the widget open on the demo shop's page, at each step (score, follow-up with the
// extra questions, thanks), inline as well as sliding in, nor in the iframe's pages.
func TestWidgetIsAccessible(t *testing.T) {
	e := start(t, collectortest.SQLite, widget.Config{ClientBurst: 1000, ClientRate: 100}, 1000)
	ctx, con := browser(t, 1280, 860)
	var key storage.Link
	shop := demoShop(t, e.base, func(origin string) string {
		var err error
		key, err = e.c.DB.AddLink(context.Background(), storage.NewLink{Kind: "site", StoreID: "WEB", Channel: "web", Touchpoint: "checkout",
			Origins: []string{origin}})
		if err != nil {
			t.Fatal(err)
		}
		return key.Code
	})
	check := func(what string) {
		t.Helper()
		res, err := a11y.Run(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("axe-core %s on %s: %d violations, %d rules passed, to judge by hand: %v", res.Engine, what, len(res.Violations), res.Passes, res.Incomplete)
		for _, v := range res.Violations {
			t.Errorf("%s: %s", what, v)
		}
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(shop.URL+"/confirmation?order=A-1"), chromedp.WaitVisible("#order", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, widgetJS+`.querySelector('.nps-card.nps-open')`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	// axe itself adds styles the shop's policy refuses (console errors, harmless to its
	// results): the widget's own are checked before it runs.
	if errs, _ := con.take(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
	check("the widget's score step")
	if err := chromedp.Run(ctx, chromedp.Click(widgetJS+`.querySelectorAll('.nps-score')[4]`, chromedp.ByJSPath)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, widgetJS+`.querySelector('form.nps-form')`); err != nil {
		t.Fatal(err)
	}
	check("the widget's follow-up step")
	if err := chromedp.Run(ctx, chromedp.Click(widgetJS+`.querySelector('.nps-secondary')`, chromedp.ByJSPath)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, `!`+widgetJS+`.querySelector('form')`); err != nil {
		t.Fatal(err)
	}
	check("the widget's thanks")
	shoot(t, ctx, "widget_thanks_1280.png")
	// Inline, in an element of the page, by the script's call.
	eval(t, ctx, `document.querySelector('nps-widget').remove(); const box = document.createElement('section');
	  box.id = 'feedback'; box.setAttribute('aria-label', 'Feedback'); document.querySelector('main').append(box);
	  NPSWidget.show({key: '`+key.Code+`', target: '#feedback', force: true, orderId: 'A-1'}).then(String)`)
	if err := waitFor(ctx, `document.querySelector('#feedback nps-widget:not([hidden])')`); err != nil {
		t.Fatal(err)
	}
	check("the widget inline")
	// The iframe's pages, opened as the shop's iframe would.
	if err := chromedp.Run(ctx, chromedp.Navigate(e.base+"/w/frame?key="+key.Code+"&lang=de&order=A-2")); err != nil {
		t.Fatal(err)
	}
	check("the iframe's score step")
	if err := chromedp.Run(ctx, chromedp.Click(`button.nps-score[value="8"]`, chromedp.ByQuery), chromedp.WaitVisible(`form.nps-form`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	check("the iframe's follow-up step")
	if err := chromedp.Run(ctx, chromedp.Click(`button.nps-primary`, chromedp.ByQuery), chromedp.WaitNotPresent(`form`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	check("the iframe's thanks")
}
