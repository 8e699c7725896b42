package invitations_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/invitations"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// clock is a test's settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// address is an address no other test or run writes to.
func address(name string) string { return name + "-" + uuid.NewString()[:8] + "@example.com" }

// noRedirect is a client that shows redirects rather than following them.
var noRedirect = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var linkPattern = regexp.MustCompile(`https?://[^\s"'<>]+`)

// links are every URL in a message's text and HTML parts.
func links(m collectortest.Mail) []string {
	var out []string
	for _, body := range []string{m.Text, m.HTML} {
		for _, l := range linkPattern.FindAllString(body, -1) {
			out = append(out, html.UnescapeString(l))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// headers reads a message's header fields from Mailpit.
func headers(t *testing.T, api, id string) map[string][]string {
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

// An invitation's round trip through a real SMTP server: the e-mail arrives in the
// invitee's language with the score links in it; fetching every link as a mail scanner
// does records nothing; a click and one POST record the score as channel email; the
// follow-up completes it; a second click and POST with another score revises the one
// response (the NPS moves, nothing is counted twice); unsubscribing stops the next
// invitation; the quiet period skips a re-invite; an expired invitation is 410 and a
// wrong token 404.
func TestInvitationRoundTrip(t *testing.T) {
	smtp, mailpit := collectortest.Mailpit(t)
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		clk := &clock{t: time.Now().Add(-time.Hour).Truncate(time.Second)}
		c := collectortest.Start(t, collectortest.Options{Backend: b, Now: clk.Now, SMTP: &smtp})
		ctx := context.Background()
		c.AddStore(t, storage.Store{ID: "S042", Name: "Hauptstraße", Timezone: "Europe/Berlin"})
		ana := address("ana")

		sum, err := c.Inviter.Invite(ctx, invitations.Batch{StoreID: "S042", Touchpoint: "delivery",
			Invitees: []invitations.Invitee{{Email: ana, Language: "de", OrderID: "A-100", Segment: "vip"}}})
		if err != nil || sum.Sent != 1 || sum.Results[0].Status != invitations.StatusSent {
			t.Fatalf("invite: %+v, %v", sum, err)
		}
		mails := collectortest.MailTo(t, mailpit, ana, 1)
		if len(mails) != 1 {
			t.Fatalf("%d e-mails to %s, want 1", len(mails), ana)
		}
		m := mails[0]
		if m.Subject != "Hauptstraße: Wie waren wir?" || !strings.Contains(m.Text, "Zu Ihrer Bestellung A-100.") ||
			!strings.Contains(m.Text, "Wie wahrscheinlich ist es, dass Sie Hauptstraße einem Freund") ||
			!strings.Contains(m.HTML, `lang="de"`) {
			t.Errorf("the e-mail is not in German:\nSubject: %s\n%s", m.Subject, m.Text)
		}
		h := headers(t, mailpit, m.ID)
		all := links(m)
		var scoreLinks []string
		unsubscribe := ""
		for _, l := range all {
			switch {
			case strings.HasPrefix(l, c.URL+"/i/"):
				scoreLinks = append(scoreLinks, l)
			case strings.HasPrefix(l, c.URL+"/u/"):
				unsubscribe = l
			default:
				t.Errorf("a link elsewhere: %s", l)
			}
		}
		if len(scoreLinks) != 11 || unsubscribe == "" {
			t.Fatalf("links: %q; want 11 scores and an unsubscribe", all)
		}
		if got := h["List-Unsubscribe"]; len(got) != 1 || got[0] != "<"+unsubscribe+">" {
			t.Errorf("List-Unsubscribe: %q, want <%s>", got, unsubscribe)
		}
		token := strings.TrimPrefix(unsubscribe, c.URL+"/u/")
		scoreURL := func(score string) string { return c.URL + "/i/" + token + "/" + score }
		if !slices.Contains(scoreLinks, scoreURL("0")) || !slices.Contains(scoreLinks, scoreURL("10")) {
			t.Fatalf("score links %q do not carry the token %s", scoreLinks, token)
		}

		// A mail scanner opens every link, and then some: nothing is recorded.
		for _, l := range append(all, c.URL+"/i/"+token, c.URL+"/i/"+token+"/thanks") {
			if status, _ := get(t, l); status != http.StatusOK {
				t.Errorf("GET %s: %d", l, status)
			}
		}
		inv, err := c.DB.InvitationByToken(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if n := c.Count(t, "S042"); n != 0 || !inv.AnsweredAt.IsZero() || !inv.UnsubscribedAt.IsZero() {
			t.Fatalf("after the scanner: %d responses, invitation %+v; want nothing recorded", n, inv)
		}

		// A click on 9 shows 9 chosen and one button; the POST records it.
		status, page := get(t, scoreURL("9"))
		if status != http.StatusOK || !strings.Contains(page, `value="9" checked`) || strings.Count(page, `<button`) != 1 ||
			!strings.Contains(page, "Bewertung senden") {
			t.Fatalf("the page of 9: %d\n%s", status, page)
		}
		resp, _ := post(t, c.URL+"/i/"+token+"/score", url.Values{"score": {"9"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/i/"+token {
			t.Fatalf("POST the score: %s, to %q", resp.Status, resp.Header.Get("Location"))
		}
		day := clk.Now().In(mustLoad(t, "Europe/Berlin")).Format(time.DateOnly)
		checkNPS := func(n int64, want float64) {
			t.Helper()
			// The invitation's segment (its list's column) is the answer's, through revisions.
			for _, f := range []storage.Filter{{Channel: "email"}, {Touchpoint: "delivery"}, {Segment: "vip"}, {}} {
				f.From, f.To = day, day
				got, err := c.DB.NPS(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if got.Responses != n || math.Abs(got.NPS-want) > 1e-9 {
					t.Errorf("NPS %+v: n %d, %.0f; want n %d, %.0f", f, got.Responses, got.NPS, n, want)
				}
			}
			if rows := c.Count(t, "S042"); rows != n {
				t.Errorf("%d response rows, want %d", rows, n)
			}
		}
		checkNPS(1, 100)
		inv, _ = c.DB.InvitationByToken(ctx, token)
		answer, ok, err := c.Service.InvitationAnswer(ctx, inv)
		if err != nil || !ok || answer.Score != 9 || answer.Channel != "email" || answer.Touchpoint != "delivery" ||
			answer.Locale != "de" || inv.AnsweredAt.IsZero() {
			t.Fatalf("the stored answer: %+v, %v, %v; invitation %+v", answer, ok, err, inv)
		}

		// The follow-up page offers the promoter's reasons; a contact without consent is
		// refused in German and stores nothing; then the follow-up completes the answer.
		status, page = get(t, c.URL+"/i/"+token)
		if status != http.StatusOK || !strings.Contains(page, `value="checkout_speed"`) || strings.Contains(page, `value="wait_time"`) {
			t.Fatalf("the follow-up page: %d\n%s", status, page)
		}
		resp, page = post(t, c.URL+"/i/"+token+"/followup", url.Values{"reason": {"staff"}, "comment": {"Schnelle Lieferung"},
			"contact": {"0171 555"}, "action": {"submit"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Häkchen") || !strings.Contains(page, "Schnelle Lieferung") {
			t.Errorf("a contact without consent: %s\n%s", resp.Status, page)
		}
		resp, _ = post(t, c.URL+"/i/"+token+"/followup", url.Values{"reason": {"staff"}, "comment": {"Schnelle Lieferung"},
			"action": {"submit"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/i/"+token+"/thanks" {
			t.Fatalf("POST the follow-up: %s to %q", resp.Status, resp.Header.Get("Location"))
		}
		if status, page := get(t, c.URL+"/i/"+token+"/thanks"); status != http.StatusOK || !strings.Contains(page, "Vielen Dank!") {
			t.Errorf("thanks: %d\n%s", status, page)
		}
		answer, _, _ = c.Service.InvitationAnswer(ctx, inv)
		if answer.Comment != "Schnelle Lieferung" || !slices.Equal(answer.Reasons, []string{"staff"}) || answer.Outcome != response.OutcomeSubmitted {
			t.Fatalf("after the follow-up: %+v", answer)
		}
		checkNPS(1, 100)

		// A second click, days later, on 3: the page says what was answered; the POST
		// revises the one response, which moves from promoter to detractor and keeps
		// its comment, and opens a follow-up case.
		clk.Add(2 * 24 * time.Hour)
		status, page = get(t, scoreURL("3"))
		if status != http.StatusOK || !strings.Contains(page, "Ihre bisherige Antwort: 9") || !strings.Contains(page, `value="3" checked`) {
			t.Fatalf("the page of 3 after 9: %d\n%s", status, page)
		}
		if resp, _ := post(t, c.URL+"/i/"+token+"/score", url.Values{"score": {"3"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST the second score: %s", resp.Status)
		}
		checkNPS(1, -100)
		answer, _, _ = c.Service.InvitationAnswer(ctx, inv)
		if answer.Score != 3 || answer.Comment != "Schnelle Lieferung" || !slices.Equal(answer.Reasons, []string{"staff"}) {
			t.Errorf("after the second score: %+v", answer)
		}
		cases, err := c.DB.Cases(ctx, storage.CaseFilter{StoreID: "S042"})
		if err != nil || len(cases) != 1 || cases[0].Response.ID != inv.ResponseID {
			t.Errorf("cases: %+v, %v; want the detractor's", cases, err)
		}

		// The unsubscribe page asks first (a scanner opened it above); the one-click
		// POST of a mail client records it; the address is not invited again.
		resp, body := post(t, unsubscribe, url.Values{"List-Unsubscribe": {"One-Click"}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sie sind abgemeldet.") {
			t.Fatalf("one-click unsubscribe: %s %q", resp.Status, body)
		}
		if status, page := get(t, unsubscribe); status != http.StatusOK || !strings.Contains(page, "Sie sind abgemeldet.") {
			t.Errorf("the unsubscribe page afterwards: %d\n%s", status, page)
		}
		bo, cy := address("bo"), address("cy")
		sum, err = c.Inviter.Invite(ctx, invitations.Batch{StoreID: "S042", Invitees: []invitations.Invitee{
			{Email: strings.ToUpper(ana), Language: "en"}, {Email: bo, Language: "fr-CA"}, {Email: " " + bo + " ", Language: "fr"},
			{Email: "cy@", Language: "en"}, {Email: cy, Language: "it"}}})
		if err != nil || sum.Sent != 1 || sum.Skipped != 2 || sum.Failed != 2 ||
			sum.Results[0].Reason != invitations.ReasonUnsubscribed || sum.Results[1].Status != invitations.StatusSent ||
			sum.Results[2].Reason != invitations.ReasonDuplicate || sum.Results[3].Reason != invitations.ReasonInvalid ||
			sum.Results[4].Reason != invitations.ReasonInvalid {
			t.Fatalf("the second batch: %+v, %v", sum, err)
		}
		if got := collectortest.MailTo(t, mailpit, ana, 1); len(got) != 1 {
			t.Errorf("%d e-mails to the unsubscribed address, want the first only", len(got))
		}
		if got := collectortest.MailTo(t, mailpit, bo, 1); len(got) != 1 || !strings.Contains(got[0].Text, "Quelle est la probabilité") {
			t.Errorf("the French invitation: %+v", got)
		}
		// The quiet period: bo, invited a moment ago, is skipped at another touchpoint.
		clk.Add(24 * time.Hour)
		sum, err = c.Inviter.Invite(ctx, invitations.Batch{StoreID: "S042", Touchpoint: "returns",
			Invitees: []invitations.Invitee{{Email: bo, Language: "fr"}}})
		if err != nil || sum.Skipped != 1 || sum.Results[0].Reason != invitations.ReasonQuietPeriod {
			t.Errorf("a re-invite within the quiet period: %+v, %v", sum, err)
		}

		// Expired: 410 in the invitee's language, for the page and the POST; unsubscribing
		// still works.
		boMail := collectortest.MailTo(t, mailpit, bo, 1)[0]
		boToken := ""
		for _, l := range links(boMail) {
			if rest, ok := strings.CutPrefix(l, c.URL+"/u/"); ok {
				boToken = rest
			}
		}
		clk.Add(14 * 24 * time.Hour)
		if status, page := get(t, c.URL+"/i/"+boToken+"/8"); status != http.StatusGone || !strings.Contains(page, "Cette invitation a expiré") {
			t.Errorf("an expired invitation: %d\n%s", status, page)
		}
		if resp, _ := post(t, c.URL+"/i/"+boToken+"/score", url.Values{"score": {"8"}}); resp.StatusCode != http.StatusGone {
			t.Errorf("POST to an expired invitation: %s", resp.Status)
		}
		if status, _ := get(t, c.URL+"/u/"+boToken); status != http.StatusOK {
			t.Errorf("the unsubscribe page of an expired invitation: %d", status)
		}
		// Wrong tokens.
		wrong := strings.Repeat("A", storage.InvitationTokenLength)
		for _, u := range []string{c.URL + "/i/" + wrong + "/5", c.URL + "/i/short/5", c.URL + "/i/" + token + "/11",
			c.URL + "/i/" + token + "/x", c.URL + "/u/" + wrong, c.URL + "/i/" + wrong} {
			if status, page := get(t, u); status != http.StatusNotFound || !strings.Contains(page, "This link is not valid") {
				t.Errorf("GET %s: %d, want 404", u, status)
			}
		}
		if resp, _ := post(t, c.URL+"/i/"+wrong+"/score", url.Values{"score": {"5"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST with a wrong token: %s", resp.Status)
		}
		if n := c.Count(t, "S042"); n != 1 {
			t.Errorf("%d responses in the end, want 1", n)
		}
	})
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// POST /v1/invitations sends a JSON list with an API token and replies with what
// became of each; a store's token invites for its store only; bad bodies are 4xx; a
// collector without SMTP says so with 503.
func TestInvitationsAPI(t *testing.T) {
	smtp, mailpit := collectortest.Mailpit(t)
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: b, SMTP: &smtp})
		c.AddStore(t, storage.Store{ID: "S1"})
		c.AddStore(t, storage.Store{ID: "S2"})
		chain, own := c.APIToken(t, ""), c.APIToken(t, "S1")
		call := func(url, token, body string) (int, string) {
			t.Helper()
			req, err := http.NewRequest(http.MethodPost, url+"/v1/invitations", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		dee := address("dee")
		status, body := call(c.URL, own, `{"store_id":"S1","touchpoint":"pickup","expires_in":"72h","invitations":[
			{"email":"`+dee+`","language":"fr","order_id":"W-9"},{"email":"nobody","language":"fr"}]}`)
		var sum invitations.Summary
		if status != http.StatusOK || json.Unmarshal([]byte(body), &sum) != nil || sum.Sent != 1 || sum.Failed != 1 ||
			sum.Results[0].InvitationID == "" || sum.Results[1].Index != 1 || sum.Results[1].Reason != invitations.ReasonInvalid {
			t.Fatalf("POST /v1/invitations: %d %s", status, body)
		}
		if got := collectortest.MailTo(t, mailpit, dee, 1); len(got) != 1 || !strings.Contains(got[0].Text, "Au sujet de votre commande W-9.") {
			t.Errorf("the invitation sent through the API: %+v", got)
		}
		many := `{"store_id":"S1","invitations":[` + strings.TrimSuffix(strings.Repeat(`{"email":"a@example.com","language":"en"},`, 101), ",") + `]}`
		for _, tt := range []struct {
			token, body string
			status      int
		}{
			{own, `{"store_id":"S2","invitations":[{"email":"a@example.com","language":"en"}]}`, http.StatusForbidden},
			{chain, `{"store_id":"S9","invitations":[{"email":"a@example.com","language":"en"}]}`, http.StatusNotFound},
			{chain, `{"store_id":"S1","invitations":[]}`, http.StatusBadRequest},
			{chain, many, http.StatusRequestEntityTooLarge},
			{chain, `{"store_id":"S1","invitations":[{"email":"a@example.com","language":"en","name":"Ana"}]}`, http.StatusBadRequest},
			{chain, `{"store_id":"S1","expires_in":"2 weeks","invitations":[{"email":"a@example.com","language":"en"}]}`, http.StatusBadRequest},
			{chain, `{"store_id":"S1","expires_in":"3000h","invitations":[{"email":"a@example.com","language":"en"}]}`, http.StatusBadRequest},
			{chain, `{"store_id":"S1","touchpoint":"Pick Up","invitations":[{"email":"a@example.com","language":"en"}]}`, http.StatusBadRequest},
			{"wrong", `{}`, http.StatusUnauthorized},
		} {
			if status, body := call(c.URL, tt.token, tt.body); status != tt.status {
				t.Errorf("%.80s: %d %s, want %d", tt.body, status, body, tt.status)
			}
		}
		off := collectortest.Start(t, collectortest.Options{Backend: b})
		if status, body := call(off.URL, off.APIToken(t, ""), `{"store_id":"S1","invitations":[]}`); status != http.StatusServiceUnavailable ||
			!strings.Contains(body, "--smtp-host") {
			t.Errorf("without SMTP: %d %s", status, body)
		}
	})
}

// When the SMTP server cannot be reached, the first invitation fails (and does not
// count towards the quiet period), the rest are not attempted, and rows screened out
// are still reported as what they are.
func TestInviteWithoutSMTPServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there now
	p, _ := strconv.Atoi(port)
	c := collectortest.Start(t, collectortest.Options{SMTP: &alerts.SMTPConfig{Host: host, Port: p, Security: "none", From: "nps@example.com"}})
	c.AddStore(t, storage.Store{ID: "S1"})
	sum, err := c.Inviter.Invite(context.Background(), invitations.Batch{StoreID: "S1", Invitees: []invitations.Invitee{
		{Email: "ana@example.com", Language: "en"}, {Email: "bo@example.com", Language: "en"},
		{Email: "ANA@example.com", Language: "en"}, {Email: "cy@", Language: "en"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{invitations.ReasonSendFailed, invitations.ReasonNotAttempted, invitations.ReasonDuplicate, invitations.ReasonInvalid}
	for i, r := range sum.Results {
		if r.Reason != want[i] {
			t.Errorf("row %d: %+v, want %s", i, r, want[i])
		}
	}
	if sum.Failed != 3 || sum.Skipped != 1 || !strings.Contains(sum.Results[0].Detail, "could not be reached") {
		t.Errorf("summary %+v", sum)
	}
	stats, err := c.DB.InvitationStats(context.Background(), storage.Filter{From: "2000-01-01", To: "2100-01-01"})
	if err != nil || len(stats) != 1 || stats[0].Failed != 1 || stats[0].Invited != 0 {
		t.Errorf("stats: %+v, %v; want one not sent", stats, err)
	}
	if _, _, err := c.DB.AddInvitation(context.Background(), storage.NewInvitation{StoreID: "S1", Address: "ana@example.com",
		Language: "en", ExpiresAt: time.Now().Add(time.Hour), QuietSince: time.Now().Add(-time.Hour)}); err != nil {
		t.Errorf("an address whose invitation was never sent is held back: %v", err)
	}
}
