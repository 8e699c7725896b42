package alerts_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/invitations"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// shopper is a fresh address for one run, so that runs on several backends against
// the one Mailpit never see each other's mail.
func shopper(name string) string { return name + "-" + uuid.NewString()[:8] + "@example.com" }

// mailHeaders reads a message's header fields from Mailpit.
func mailHeaders(t *testing.T, api, id string) map[string][]string {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/message/" + id + "/headers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string][]string
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// thanksRig is a collector with a store whose chain thanks promoters, and the alert
// worker that sends the thank-yous to Mailpit.
type thanksRig struct {
	c      *collectortest.Collector
	mailer *alerts.Mailer
	device wire.EnrollResponse
	rng    *rand.Rand
}

func newThanksRig(t *testing.T, b collectortest.Backend, smtp alerts.SMTPConfig) *thanksRig {
	t.Helper()
	c := collectortest.Start(t, collectortest.Options{Backend: b, SMTP: &smtp})
	c.AddStore(t, storage.Store{ID: "S1", Name: "Main Street"})
	mailer, err := alerts.NewMailer(smtp)
	if err != nil {
		t.Fatal(err)
	}
	return &thanksRig{c: c, mailer: mailer, device: c.Enroll(t, "S1", "Till 1"), rng: rand.New(rand.NewPCG(4, 2))}
}

// worker is a fresh alert worker on the rig's database, as a collector starts one.
func (r *thanksRig) worker(t *testing.T) *alerts.Worker {
	t.Helper()
	w, err := alerts.New(alerts.Config{DB: r.c.DB, Mailer: r.mailer, PublicURL: r.c.URL, Logger: slog.New(slog.DiscardHandler),
		Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// drain runs a worker until the thank-you queue has nothing due.
func (r *thanksRig) drain(t *testing.T, w *alerts.Worker) {
	t.Helper()
	for range 50 {
		n, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the queue did not drain")
}

// answer is a kiosk's answer with a contact given with consent.
func (r *thanksRig) answer(score int, contact, locale string) wire.Response {
	resp := collectortest.Response(r.rng, time.Now().Add(-time.Minute))
	resp.Score, resp.Reasons, resp.Locale = score, nil, locale
	resp.Contact, resp.ContactConsent = contact, contact != ""
	return resp
}

func (r *thanksRig) upload(t *testing.T, batch ...wire.Response) wire.UploadResult {
	t.Helper()
	res, err := collectortest.Upload(context.Background(), r.c.URL, r.device.Token, batch)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// thankYou is the one thank-you of a response.
func (r *thanksRig) thankYou(t *testing.T, responseID string) storage.ThankYouLine {
	t.Helper()
	ls, err := r.c.DB.ThankYous(context.Background(), storage.ThankYouFilter{ResponseID: responseID})
	if err != nil || len(ls) != 1 {
		t.Fatalf("thank-yous of %s: %+v, %v; want one", responseID, ls, err)
	}
	return ls[0]
}

func (r *thanksRig) noThankYou(t *testing.T, responseID string) {
	t.Helper()
	ls, err := r.c.DB.ThankYous(context.Background(), storage.ThankYouFilter{ResponseID: responseID})
	if err != nil || len(ls) != 0 {
		t.Fatalf("thank-yous of %s: %+v, %v; want none", responseID, ls, err)
	}
}

var unsubscribeLink = regexp.MustCompile(`https?://\S+/u/[A-Za-z0-9_-]{43}`)

// A promoter who left an e-mail address with consent gets one thank-you, through the
// real SMTP server, in the language of their answer, with the chain's review page and
// an unsubscribe link (also List-Unsubscribe); uploading the answer again, revising it,
// and a fresh worker after a restart send nothing more. A detractor, a promoter without
// a contact and a telephone number get none; an address that unsubscribed, through a
// thank-you's link or an invitation's, gets none again; a store that opts out sends none.
func TestPromoterThankYou(t *testing.T) {
	smtp, mailpit := collectortest.Mailpit(t)
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		r := newThanksRig(t, b, smtp)
		ctx := context.Background()
		const review = "https://reviews.example.com/main-street?utm_source=nps"
		if err := r.c.Service.SetThanksRule(ctx, "", followup.ThanksRule{Scores: []int{9, 10}, ReviewURL: review}); err != nil {
			t.Fatal(err)
		}
		w := r.worker(t)

		// Before anything: a rule with an http review page is refused.
		if err := r.c.Service.SetThanksRule(ctx, "", followup.ThanksRule{ReviewURL: "http://reviews.example.com"}); err == nil {
			t.Error("an http review page was accepted")
		}

		ana, bo, cy, dee := shopper("ana"), shopper("bo"), shopper("cy"), shopper("dee")
		promoter := r.answer(10, ana, "de-AT")
		detractor := r.answer(3, bo, "en")
		silent := r.answer(10, "", "fr")             // no contact, no consent
		phone := r.answer(9, "+49 30 1234567", "de") // a contact, not an e-mail address
		res := r.upload(t, promoter, detractor, silent, phone)
		if len(res.Accepted) != 4 {
			t.Fatalf("upload: %+v", res)
		}
		// A contact without consent is not an answer at all: the domain refuses it.
		nosay := r.answer(10, cy, "en")
		nosay.ContactConsent = false
		if res := r.upload(t, nosay); len(res.Rejected) != 1 {
			t.Fatalf("a contact without consent: %+v", res)
		}
		r.drain(t, w)

		mails := collectortest.MailTo(t, mailpit, ana, 1)
		if len(mails) != 1 {
			t.Fatalf("%d e-mails to the promoter, want 1", len(mails))
		}
		m := mails[0]
		if m.Subject != "Danke von Main Street" || !strings.Contains(m.Text, "Danke, dass Sie Main Street mit 10 von 10 bewertet haben.") ||
			!strings.Contains(m.HTML, `lang="de"`) {
			t.Errorf("not a German thank-you:\nSubject: %s\n%s", m.Subject, m.Text)
		}
		if !strings.Contains(m.Text, review) || !strings.Contains(m.HTML, `href="https://reviews.example.com/main-street?utm_source=nps"`) {
			t.Errorf("the review page is missing:\n%s\n%s", m.Text, m.HTML)
		}
		unsubscribe := unsubscribeLink.FindString(m.Text)
		if !strings.HasPrefix(unsubscribe, r.c.URL+"/u/") {
			t.Fatalf("no unsubscribe link of this collector in:\n%s", m.Text)
		}
		h := mailHeaders(t, mailpit, m.ID)
		if got := h["List-Unsubscribe"]; len(got) != 1 || got[0] != "<"+unsubscribe+">" {
			t.Errorf("List-Unsubscribe %q, want <%s>", got, unsubscribe)
		}
		if got := h["Message-Id"]; len(got) != 1 || !strings.HasPrefix(got[0], "<thanks.") {
			t.Errorf("Message-ID %q (headers %v)", got, h)
		}
		if ty := r.thankYou(t, promoter.ID); ty.Status != storage.ThankYouSent || ty.Language != "de" || ty.SentAt.IsZero() || ty.ReviewURL != review {
			t.Errorf("the promoter's thank-you: %+v", ty)
		}
		r.noThankYou(t, detractor.ID)
		r.noThankYou(t, silent.ID)
		r.noThankYou(t, phone.ID)
		if n := len(collectortest.MailTo(t, mailpit, bo, 0)) + len(collectortest.MailTo(t, mailpit, cy, 0)); n != 0 {
			t.Errorf("%d e-mails to the detractor and the shopper without consent", n)
		}

		// The kiosk uploads the same answer again (a lost reply): a duplicate, no mail.
		if res := r.upload(t, promoter); len(res.Duplicate) != 1 {
			t.Fatalf("re-upload: %+v", res)
		}
		r.drain(t, w)
		// A collector restarts: its new worker finds nothing to send.
		w2 := r.worker(t)
		w2.Start(ctx)
		time.Sleep(200 * time.Millisecond)
		w2.Stop()
		if n := len(collectortest.MailTo(t, mailpit, ana, 1)); n != 1 {
			t.Errorf("%d e-mails to the promoter after a re-upload and a restart, want 1", n)
		}

		// The web: a score, then the follow-up that leaves the address (French). The
		// thank-you is queued by the revision, once; revising again sends nothing more.
		link, err := r.c.DB.AddLink(ctx, storage.NewLink{StoreID: "S1", Channel: "qr", Touchpoint: "checkout"})
		if err != nil {
			t.Fatal(err)
		}
		web := r.answer(9, "", "fr")
		web.Outcome = response.OutcomeSkipped
		if res, err := r.c.Service.IngestFromLink(ctx, link, web); err != nil || res != storage.Inserted {
			t.Fatalf("the web score: %v, %v", res, err)
		}
		r.noThankYou(t, web.ID)
		web.Contact, web.ContactConsent, web.Comment, web.Outcome = dee, true, "Très bien", response.OutcomeSubmitted
		if _, err := r.c.Service.ReviseFromLink(ctx, link, web); err != nil {
			t.Fatal(err)
		}
		r.drain(t, w)
		web.Comment = "Très bien, merci"
		if _, err := r.c.Service.ReviseFromLink(ctx, link, web); err != nil {
			t.Fatal(err)
		}
		r.drain(t, w)
		mails = collectortest.MailTo(t, mailpit, dee, 1)
		if len(mails) != 1 || mails[0].Subject != "Merci de la part de Main Street" || !strings.Contains(mails[0].Text, "9 sur 10") {
			t.Fatalf("e-mails to the web promoter: %+v", mails)
		}

		// Ana unsubscribes with her e-mail's link (a mail client's one-click POST); her
		// next promoter answer is not thanked, and the record says why.
		if status, page := httpGet(t, unsubscribe); status != http.StatusOK || !strings.Contains(page, "Dankes-E-Mails") {
			t.Errorf("the unsubscribe page: %d\n%s", status, page)
		}
		resp, err := http.PostForm(unsubscribe, url.Values{"List-Unsubscribe": {"One-Click"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("one-click unsubscribe: %s", resp.Status)
		}
		again := r.answer(10, strings.ToUpper(ana), "de")
		r.upload(t, again)
		r.drain(t, w)
		if ty := r.thankYou(t, again.ID); ty.Status != storage.ThankYouSkipped || !strings.Contains(ty.LastError, "unsubscribed") {
			t.Errorf("after unsubscribing: %+v", ty)
		}
		if ty := r.thankYou(t, promoter.ID); ty.UnsubscribedAt.IsZero() {
			t.Errorf("the thank-you does not show the unsubscribe: %+v", ty)
		}

		// Bo unsubscribes from an e-mail invitation: the one table of unsubscribes
		// stops his thank-you too.
		if _, err := r.c.Inviter.Invite(ctx, invitations.Batch{StoreID: "S1", Invitees: []invitations.Invitee{{Email: bo, Language: "en"}}}); err != nil {
			t.Fatal(err)
		}
		invitation := collectortest.MailTo(t, mailpit, bo, 1)
		if len(invitation) != 1 {
			t.Fatalf("the invitation to bo: %+v", invitation)
		}
		resp, err = http.PostForm(unsubscribeLink.FindString(invitation[0].Text), url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		boPromoter := r.answer(10, bo, "en")
		r.upload(t, boPromoter)
		r.drain(t, w)
		if ty := r.thankYou(t, boPromoter.ID); ty.Status != storage.ThankYouSkipped {
			t.Errorf("a promoter unsubscribed from invitations: %+v", ty)
		}
		if n := len(collectortest.MailTo(t, mailpit, bo, 1)); n != 1 {
			t.Errorf("%d e-mails to bo, want the invitation only", n)
		}

		// A store opts out of the chain's rule.
		r.c.AddStore(t, storage.Store{ID: "S2"})
		if err := r.c.Service.SetThanksRule(ctx, "S2", followup.ThanksRule{Off: true}); err != nil {
			t.Fatal(err)
		}
		s2 := r.c.Enroll(t, "S2", "Till 1")
		quiet := r.answer(10, shopper("eve"), "en")
		if _, err := collectortest.Upload(ctx, r.c.URL, s2.Token, []wire.Response{quiet}); err != nil {
			t.Fatal(err)
		}
		r.noThankYou(t, quiet.ID)
		if n, err := w.RunOnce(ctx); err != nil || n != 0 {
			t.Errorf("a last run sent %d (%v), want nothing", n, err)
		}
	})
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A thank-you the SMTP server does not take is tried again later, and one that could not
// go out within a day of the answer is given up rather than sent late.
func TestThankYouRetriedThenGivenUp(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		var clock time.Time = time.Now()
		now := func() time.Time { return clock }
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: now})
		c.AddStore(t, storage.Store{ID: "S1"})
		ctx := context.Background()
		if err := c.Service.SetThanksRule(ctx, "", followup.ThanksRule{}); err != nil {
			t.Fatal(err)
		}
		d := c.Enroll(t, "S1", "Till 1")
		resp := collectortest.Response(rand.New(rand.NewPCG(1, 1)), clock.Add(-time.Minute))
		resp.Score, resp.Reasons, resp.Contact, resp.ContactConsent = 10, nil, shopper("fay"), true
		if _, err := collectortest.Upload(ctx, c.URL, d.Token, []wire.Response{resp}); err != nil {
			t.Fatal(err)
		}
		// Nothing listens on this port: every attempt fails.
		dead, err := alerts.NewMailer(alerts.SMTPConfig{Host: "127.0.0.1", Port: 1, Security: "none", From: "nps@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		w, err := alerts.New(alerts.Config{DB: c.DB, Mailer: dead, PublicURL: c.URL, Logger: slog.New(slog.DiscardHandler), Now: now,
			Backoff: func(int) time.Duration { return time.Minute }})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := w.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("first attempt: %d, %v", n, err)
		}
		ls, _ := c.DB.ThankYous(ctx, storage.ThankYouFilter{ResponseID: resp.ID})
		if len(ls) != 1 || ls[0].Status != storage.ThankYouPending || ls[0].Attempts != 1 || ls[0].LastError == "" {
			t.Fatalf("after a refused attempt: %+v", ls)
		}
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Errorf("retried before its backoff: %d", n)
		}
		clock = clock.Add(26 * time.Hour)
		if n, err := w.RunOnce(ctx); err != nil || n != 0 {
			t.Fatalf("a day later: %d, %v", n, err)
		}
		ls, _ = c.DB.ThankYous(ctx, storage.ThankYouFilter{ResponseID: resp.ID})
		if len(ls) != 1 || ls[0].Status != storage.ThankYouFailed {
			t.Fatalf("a day later: %+v, want failed", ls)
		}
	})
}
