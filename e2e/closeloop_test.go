package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/npskiosk/npskiosk/collector/collectortest"
)

const (
	chromiumPath = "/usr/bin/chromium"
	storeID      = "S1"
	deviceName   = "Till 1"
	managerPIN   = "1234"
	comment      = "long queue"
	contact      = "ana.shopper@example.com"
	note         = "called back"
	hqEmail      = "dana@hq.example.com"
	hqPassword   = "correct horse battery"
)

// TestCloseTheLoop follows one unhappy shopper to the end, through the real programs
// only, over HTTPS with a certificate from the chain's private CA (the kiosk trusts it
// with ca_file). A shopper taps 3 on the kiosk window (Xvfb) with a comment and her
// e-mail address, which the kiosk seals to the collector's contact key before it stores
// it; the kiosk syncs;
// the collector opens a case, e-mails the store's subscriber through a real SMTP server
// (Mailpit) and posts a signed webhook to a real receiver; the store's line to HQ is
// cut; the manager resolves the case with a note on the kiosk, offline; the line comes
// back and the kiosk sends the move on its own; HQ's dashboard, in Chromium, shows the
// case resolved with the manager's note. Screenshots of each step are kept on failure,
// or in NPS_E2E_ARTIFACTS.
func TestCloseTheLoop(t *testing.T) {
	h := newHarness(t)
	smtp, mailAPI := collectortest.Mailpit(t)
	start := time.Now()

	// HQ: the collector, a store and its kiosk, a person for the dashboard, an API token
	// for HQ's tools, and both kinds of alert subscription.
	c := h.startCollector(smtp.Host, smtp.Port)
	c.cli("store add", "--id", storeID, "--name", "Main Street", "--timezone", "UTC")
	var device struct{ Code string }
	c.cliJSON(&device, "device add", "--store", storeID, "--name", deviceName)
	var token struct{ Token string }
	c.cliJSON(&token, "token add", "--name", "e2e")
	c.token = token.Token
	if err := os.WriteFile(h.path("hq-password"), []byte(hqPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.cli("user add", "--email", hqEmail, "--name", "Dana HQ", "--password-file", h.path("hq-password"))
	// A fresh address per run: the Mailpit of make test may hold other tests' mail.
	manager := fmt.Sprintf("manager-%d@main-street.example.com", time.Now().UnixNano())
	c.cli("alert add", "--email", manager, "--store", storeID, "--events", "case.opened,case.updated")
	receiver := newHookReceiver(t)
	var sub struct{ Secret string }
	c.cliJSON(&sub, "webhook add", "--url", receiver.url(), "--allow-loopback-http")
	receiver.setSecret(sub.Secret)

	// The store: a kiosk enrolled through the line to HQ, with a manager PIN.
	line := newLink(t, c.addr)
	kioskConfig := h.path("kiosk.toml")
	pinHash := h.run(strings.NewReader(managerPIN+"\n"), filepath.Join(h.bin, "npskiosk"), "pin-hash")
	config := fmt.Sprintf("db = %q\nmanager_pin_hash = %q\nca_file = %q\n", h.path("kiosk.db"), strings.TrimSpace(pinHash), c.ca.File)
	if err := os.WriteFile(kioskConfig, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	h.run(nil, filepath.Join(h.bin, "npskiosk"), "enroll", "--config", kioskConfig, "--collector", line.url(), "--code", device.Code)
	scr := h.startDisplay(1280, 800)
	kioskCmd := scr.command(filepath.Join(h.bin, "npskiosk"), "--config", kioskConfig, "--window-size", "1280x800")
	// Fyne's preferences of its own: another kiosk on this machine must not rewrite them
	// under this one.
	kioskCmd.Env = append(kioskCmd.Env, "XDG_CONFIG_HOME="+h.path("config"))
	kiosk := h.spawn("kiosk", kioskCmd)
	t.Cleanup(func() { // before the kiosk and Xvfb stop (cleanups run last first)
		if t.Failed() {
			if _, err := scr.grab("failed.png"); err == nil {
				t.Logf("the screen at the failure: %s", h.path("failed.png"))
			}
		}
	})
	kdb := openKioskDB(t, h.path("kiosk.db"))
	scr.waitFor("the kiosk's rating screen", 30*time.Second, func(img image.Image) bool {
		return kiosk.exited() == nil && ratingShown(img)
	})
	scr.shot("rating")

	// 1. A shopper taps 3, the reason "Waiting time", types a comment, and submits.
	scr.tap(atScore3, 250*time.Millisecond)
	scr.waitFor("the follow-up screen after tapping 3", 5*time.Second, followUpShown)
	scr.tap(atWaitTime, 250*time.Millisecond)
	scr.tap(atComment, 250*time.Millisecond)
	scr.waitFor("the on-screen keyboard for the comment", 5*time.Second, keyboardShown)
	scr.typeText(comment)
	scr.shot("comment")
	scr.tap(atKeyDone, 250*time.Millisecond)
	// She may be contacted, and types her e-mail address.
	scr.tap(atConsent, 250*time.Millisecond)
	scr.tap(atContact, 250*time.Millisecond)
	scr.waitFor("the on-screen keyboard for the contact", 5*time.Second, keyboardShown)
	scr.typeText(contact)
	scr.tap(atKeyDone, 250*time.Millisecond)
	scr.shot("followup")
	scr.tap(atSubmit, 250*time.Millisecond)
	waitFor(t, "the response in the kiosk's database", 5*time.Second, func() (bool, error) {
		rs, err := kdb.responses()
		want := kioskResponse{Score: 3, Outcome: "submitted", Reasons: `["wait_time"]`, Comment: comment, Consent: true, Sealed: true}
		return len(rs) == 1 && rs[0] == want, fmt.Errorf("rows %+v, want one %+v (%v)", rs, want, err)
	})
	scr.shot("thanks")
	// The contact was sealed to the collector's key before it reached the kiosk's disk:
	// its bytes are in neither the database, its WAL nor its shared memory.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(h.path("kiosk.db" + suffix))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(contact)) || bytes.Contains(b, []byte("ana.shopper")) {
			t.Errorf("kiosk.db%s holds the shopper's contact in clear", suffix)
		}
	}

	// 2. Sync: the kiosk uploads at once, and the collector opens a case in the same
	// transaction; the kiosk pulls it for the manager view in the same round.
	var cs struct{ Cases []apiCase }
	waitFor(t, "a case at the collector", 20*time.Second, func() (bool, error) {
		err := c.get("/v1/cases?store="+storeID, &cs)
		return err == nil && len(cs.Cases) > 0, err
	})
	opened := cs.Cases[0]
	if len(cs.Cases) != 1 || opened.Status != "open" || opened.StoreID != storeID || opened.Response.Score != 3 ||
		opened.Response.Comment != comment || !slices.Equal(opened.Response.Reasons, []string{"wait_time"}) {
		t.Fatalf("the collector's cases: %+v; want one open case of %s, score 3, wait_time, %q", cs.Cases, storeID, comment)
	}
	if opened.Response.Contact != contact {
		t.Errorf("the case at HQ has the contact %q, want %q opened with the collector's key", opened.Response.Contact, contact)
	}
	caseID := opened.ID
	waitFor(t, "the case cached on the kiosk", 20*time.Second, func() (bool, error) {
		cached, err := kdb.cachedCases()
		return cached[caseID] != 0, fmt.Errorf("cached %v (%v)", cached, err)
	})
	t.Logf("%s: case %s open at HQ and on the kiosk", since(start), caseID)

	// 3. Alerts: a signed webhook at the receiver, and one e-mail to the subscriber, both
	// about this case (the e-mail names the event the webhook carries).
	var openedHook hook
	waitFor(t, "the case.opened webhook", 15*time.Second, func() (bool, error) {
		for _, hk := range receiver.hooks() {
			if hk.Type == "case.opened" {
				openedHook = hk
				return true, nil
			}
		}
		return false, fmt.Errorf("received %v", hookTypes(receiver.hooks()))
	})
	checkHooks(t, receiver.hooks())
	var hookCase apiCase
	if err := json.Unmarshal(openedHook.Data, &hookCase); err != nil || hookCase.ID != caseID || hookCase.StoreID != storeID ||
		hookCase.Response.Comment != comment {
		t.Errorf("the case.opened webhook carries %s (%v); want case %s of %s with the comment", openedHook.Data, err, caseID, storeID)
	}
	mails := collectortest.MailTo(t, mailAPI, manager, 1)
	if len(mails) != 1 {
		t.Fatalf("%d e-mails to %s, want exactly 1", len(mails), manager)
	}
	if m := mails[0]; !strings.Contains(m.Subject, storeID) || !strings.Contains(m.Subject, "3") || !strings.Contains(m.Text, comment) {
		t.Errorf("the e-mail %q does not name the store, the score and the comment:\n%s", m.Subject, m.Text)
	}
	if id, err := mailHeader(mailAPI, mails[0].ID, "X-NPS-Event-Id"); err != nil || id != openedHook.ID {
		t.Errorf("the e-mail is about event %q (%v), the case.opened webhook about %q", id, err, openedHook.ID)
	}
	t.Logf("%s: e-mail %q and %d verified webhooks received", since(start), mails[0].Subject, len(receiver.hooks()))

	// 4. The line to HQ goes down. Cut it just after one of the kiosk's sync rounds,
	// so the manager's move below meets the first failed round (the kiosk then retries
	// within 5-20 s) rather than a later one that would have backed off further.
	// A round ends with the pull of the store's cases (which rewrites the kiosk's cache
	// only when they changed); after a round that found nothing to do, the next comes a
	// minute later.
	pulls, err := c.served("GET /v1/device/cases")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the kiosk's next sync round", 75*time.Second, func() (bool, error) {
		n, err := c.served("GET /v1/device/cases")
		return n > pulls, err
	})
	time.Sleep(200 * time.Millisecond)
	line.Cut()
	cutAt := kiosk.logSize()

	// The manager opens the view with the PIN, finds the case and resolves it with a
	// note typed on the on-screen keyboard.
	scr.waitFor("the rating screen after the thank-you", 10*time.Second, ratingShown)
	for range 5 {
		scr.tap(atCorner, 100*time.Millisecond)
	}
	scr.waitFor("the PIN pad", 5*time.Second, pinShown)
	for _, d := range managerPIN {
		scr.tap(atPINDigits[d], 200*time.Millisecond)
	}
	scr.tap(atPINOK, 0)
	scr.findResolved(5 * time.Second) // the manager view, showing the case
	scr.shot("manager-offline")
	scr.tapUntil("the note editor's keyboard", func() image.Point { return scr.findResolved(5 * time.Second) }, keyboardShown)
	scr.typeText(note)
	scr.shot("note")
	doneAt := kiosk.logSize()
	scr.tap(atKeyDone, 250*time.Millisecond)
	waitFor(t, "the move queued on the kiosk", 5*time.Second, func() (bool, error) {
		chs, err := kdb.caseChanges()
		want := caseChange{CaseID: caseID, Status: "resolved", Note: note}
		return len(chs) == 1 && chs[0] == want, fmt.Errorf("queued %+v, want %+v (%v)", chs, want, err)
	})
	// Done asks for a sync at once; it fails on the cut line, and the kiosk says when it
	// will try again.
	failed := regexp.MustCompile(`msg="sync round failed; [^"]*".* retry_in=(\S+)`)
	waitFor(t, "a failed sync round on the kiosk after Done", 10*time.Second, func() (bool, error) {
		return failed.MatchString(kiosk.logSince(doneAt)), nil
	})
	if line.Refused() == 0 {
		t.Error("the kiosk never tried the cut line")
	}
	scr.shot("resolved-offline")
	var atHQ apiCase
	if err := c.get("/v1/cases/"+caseID, &atHQ); err != nil || atHQ.Status != "open" {
		t.Fatalf("while the kiosk is offline HQ has the case as %q (%v), want still open", atHQ.Status, err)
	}
	// The kiosk's next try is the last failed round's retry_in away (any round after the
	// line is back succeeds).
	fails := failed.FindAllStringSubmatch(kiosk.logSince(cutAt), -1)
	retryIn, err := time.ParseDuration(fails[len(fails)-1][1])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: resolved on the kiosk offline; %d failed sync round(s), the next in %s", since(start), len(fails), retryIn)

	// 5. The line comes back; the kiosk sends the queued move on its own.
	line.Restore()
	waitFor(t, "the case resolved at HQ", retryIn+15*time.Second, func() (bool, error) {
		err := c.get("/v1/cases/"+caseID, &atHQ)
		return err == nil && atHQ.Status == "resolved", fmt.Errorf("status %q (%v)", atHQ.Status, err)
	})
	last := atHQ.History[len(atHQ.History)-1]
	if last.Action != "moved" || last.From != "open" || last.To != "resolved" || last.Note != note || last.Actor != "kiosk "+deviceName {
		t.Errorf("the case's last event at HQ is %+v; want moved open → resolved by %q with the note %q", last, "kiosk "+deviceName, note)
	}
	waitFor(t, "the move marked synced on the kiosk, and the case gone from its open cases", 10*time.Second, func() (bool, error) {
		chs, err := kdb.caseChanges()
		cached, err2 := kdb.cachedCases()
		return len(chs) == 1 && chs[0].Synced && !chs[0].Rejected && len(cached) == 0,
			fmt.Errorf("queued %+v, cached %v (%v, %v)", chs, cached, err, err2)
	})
	// The manager view redraws its sync and follow-up panels every 5 s.
	redrawn := time.Now().Add(5500 * time.Millisecond)
	t.Logf("%s: the kiosk reconnected and HQ has the case resolved by %s", since(start), last.Actor)

	// HQ hears of the resolution the same two ways.
	waitFor(t, "the case.updated webhook", 15*time.Second, func() (bool, error) {
		for _, hk := range receiver.hooks() {
			var d apiCase
			if hk.Type == "case.updated" && json.Unmarshal(hk.Data, &d) == nil && d.ID == caseID && d.Status == "resolved" {
				return true, nil
			}
		}
		return false, fmt.Errorf("received %v", hookTypes(receiver.hooks()))
	})
	checkHooks(t, receiver.hooks())
	mails = collectortest.MailTo(t, mailAPI, manager, 2)
	if len(mails) != 2 || !slices.ContainsFunc(mails, func(m collectortest.Mail) bool { return strings.Contains(m.Subject, "resolved") }) {
		t.Errorf("e-mails to %s after the resolution: %v; want the opening one and one saying resolved", manager, subjects(mails))
	}

	// 6. HQ's dashboard, in a real browser, shows the case resolved with the manager's
	// note, by the kiosk.
	status, timeline := dashboardCase(t, h, c.url(), caseID)
	if !strings.EqualFold(strings.TrimSpace(status), "resolved") {
		t.Errorf("the dashboard's case page shows the status %q, want resolved", status)
	}
	if !strings.Contains(timeline, note) || !strings.Contains(timeline, "kiosk "+deviceName) || !strings.Contains(timeline, "to resolved") {
		t.Errorf("the dashboard's timeline does not show the kiosk resolving the case with the note %q:\n%s", note, timeline)
	}

	// The kiosk's manager view, back online, has nothing left to follow up.
	time.Sleep(time.Until(redrawn))
	scr.shot("manager-online")
	if b, _ := os.ReadFile(kiosk.log); strings.Contains(string(b), "Fyne error") {
		t.Errorf("Fyne logged errors:\n%s", b)
	}
	t.Logf("%s: closed the loop", since(start))
}

// checkHooks fails the test unless every webhook verifies and no event came twice.
func checkHooks(t *testing.T, hooks []hook) {
	t.Helper()
	seen := map[string]bool{}
	for _, hk := range hooks {
		if hk.Verified != nil {
			t.Errorf("webhook %s (%s) does not verify: %v", hk.ID, hk.Type, hk.Verified)
		}
		if seen[hk.ID] {
			t.Errorf("webhook event id %s (%s) received twice", hk.ID, hk.Type)
		}
		seen[hk.ID] = true
	}
}

func hookTypes(hooks []hook) []string {
	out := make([]string, len(hooks))
	for i, hk := range hooks {
		out[i] = hk.Type
	}
	return out
}

func subjects(ms []collectortest.Mail) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Subject
	}
	return out
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// run runs a program to the end and returns its output.
func (h *harness) run(stdin *strings.Reader, name string, args ...string) string {
	h.t.Helper()
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// dashboardCase signs in to the dashboard in headless Chromium as the HQ person, opens
// the case's page, keeps a screenshot of it, and returns its status and timeline.
func dashboardCase(t *testing.T, h *harness, base, caseID string) (status, timeline string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // as root in a container; the page is our own dashboard
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 900),
		// The collector's certificate is from the test's own CA, which this throwaway
		// browser profile does not know.
		chromedp.Flag("ignore-certificate-errors", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	defer cancelTimeout()
	defer chromedp.Cancel(ctx) // closes the browser, first of all
	var png []byte
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SetValue("#email", hqEmail, chromedp.ByID),
		chromedp.SetValue("#password", hqPassword, chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible("#nps", chromedp.ByID),
		chromedp.Navigate(base+"/cases/"+caseID),
		chromedp.WaitVisible("#timeline", chromedp.ByID),
		chromedp.Text("#status", &status, chromedp.ByID),
		chromedp.Text("#timeline", &timeline, chromedp.ByID),
		chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			png, err = page.CaptureScreenshot().WithCaptureBeyondViewport(true).Do(ctx)
			return err
		}),
	)
	if err != nil {
		t.Fatalf("the dashboard in Chromium: %v", err)
	}
	if err := os.WriteFile(h.path("dashboard-case.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", h.path("dashboard-case.png"))
	return status, timeline
}
