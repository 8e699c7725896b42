package websurvey_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/websurvey"
	"github.com/npskiosk/npskiosk/response"
)

// env is a collector serving the web survey, with a store S042 and a QR link at its
// checkout.
type env struct {
	t    *testing.T
	c    *collectortest.Collector
	link storage.Link
	now  atomic.Pointer[time.Time]
	ip   atomic.Uint32 // the next client address handed out
}

// start serves the web survey beside a real collector. The collector trusts loopback as
// a proxy, so that each client a test makes comes from an address of its own
// (X-Forwarded-For) and tests do not share one rate limit.
func start(t *testing.T, b collectortest.Backend, cfg websurvey.Config) *env {
	t.Helper()
	e := &env{t: t}
	e.SetNow(time.Now())
	e.c = collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return *e.now.Load() }})
	e.c.AddStore(t, storage.Store{ID: "S042", Name: "Main Street", Timezone: "Europe/Berlin"})
	cfg.Service = e.c.Service
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	s, err := websurvey.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Register(e.c.API)
	e.link = e.addLink(storage.NewLink{StoreID: "S042", Channel: "qr", Touchpoint: "checkout"})
	return e
}

func (e *env) SetNow(t time.Time) { e.now.Store(&t) }

func (e *env) addLink(nl storage.NewLink) storage.Link {
	e.t.Helper()
	l, err := e.c.DB.AddLink(context.Background(), nl)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// client is a phone: its own address, a cookie jar when it keeps cookies, and it does
// not follow redirects, so tests see each step.
type client struct {
	e    *env
	addr string
	lang string // Accept-Language
	http *http.Client
}

func (e *env) client(cookies bool) *client {
	c := &client{e: e, addr: fmt.Sprintf("198.51.%d.%d", 100+e.ip.Load()/250, 1+e.ip.Add(1)%250),
		http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if cookies {
		c.http.Jar, _ = cookiejar.New(nil)
	}
	return c
}

// reply is what came back.
type reply struct {
	status   int
	header   http.Header
	body     string
	location string
}

func (c *client) do(method, path, contentType, body string) reply {
	c.e.t.Helper()
	req, err := http.NewRequest(method, c.e.c.URL+path, strings.NewReader(body))
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", c.addr)
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b), location: resp.Header.Get("Location")}
}

func (c *client) get(path string) reply { return c.do(http.MethodGet, path, "", "") }

func (c *client) post(path string, form url.Values) reply {
	return c.do(http.MethodPost, path, "application/x-www-form-urlencoded", form.Encode())
}

// score posts a score as the score page's form does; it must be stored, and the token
// of the follow-up comes back.
func (c *client) score(l storage.Link, score int, lang string) (followUp string) {
	c.e.t.Helper()
	r := c.post("/s/"+l.Code, url.Values{"score": {fmt.Sprint(score)}, "lang": {lang}, "website": {""}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/s/"+l.Code+"/more?") {
		c.e.t.Fatalf("score %d: %d %s, want 303 to the follow-up\n%s", score, r.status, r.location, r.body)
	}
	return r.location
}

// token is the follow-up token in a follow-up address.
func token(t *testing.T, followUp string) string {
	t.Helper()
	u, err := url.Parse(followUp)
	if err != nil || u.Query().Get("r") == "" {
		t.Fatalf("no token in %q", followUp)
	}
	return u.Query().Get("r")
}

// stored reads the link's answers back: n, and the NPS report of the link's channel
// and touchpoint today.
func (e *env) nps(f storage.Filter) storage.NPSReport {
	e.t.Helper()
	if f.From == "" {
		day := e.now.Load().In(time.FixedZone("", 0)).Format(time.DateOnly)
		f.From, f.To = "2000-01-01", day[:4]+"-12-31"
	}
	r, err := e.c.DB.NPS(context.Background(), f)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) count() int64 { return e.c.Count(e.t, "S042") }

// row is one stored response, read back raw.
type row struct {
	score                                             int
	reasons, comment, contact, locale, outcome, touch string
	channel                                           string
	suspect                                           bool
}

func (e *env) row(id string) row {
	e.t.Helper()
	var r row
	if err := e.c.DB.RawQueryRow(context.Background(), `SELECT score, reasons, comment, contact, locale, outcome, channel, touchpoint, suspect FROM responses WHERE id = ?`, id).
		Scan(&r.score, &r.reasons, &r.comment, &r.contact, &r.locale, &r.outcome, &r.channel, &r.touch, &r.suspect); err != nil {
		e.t.Fatalf("response %s: %v", id, err)
	}
	var err error
	if r.contact, err = e.c.Vault.Open(r.contact); err != nil {
		e.t.Fatalf("response %s: contact: %v", id, err)
	}
	return r
}

// answerID is the response id a follow-up token carries.
func answerID(t *testing.T, followUp string) string {
	id, _, _ := strings.Cut(token(t, followUp), ".")
	return id
}

// A score-only answer is two posts' worth of taps on one form (the score, then Send)
// and is stored at once, complete, under the link's channel and touchpoint; Skip then
// ends it without changing what counts.
func TestScoreOnlyAnswer(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := start(t, b, websurvey.Config{})
		c := e.client(true)
		page := c.get("/s/" + e.link.Code)
		if page.status != 200 || !strings.Contains(page.body, `name="score" value="10"`) || !strings.Contains(page.body, `<fieldset class="scores"`) {
			t.Fatalf("score page: %d\n%s", page.status, page.body)
		}
		followUp := c.score(e.link, 9, "en")
		if n := e.count(); n != 1 {
			t.Fatalf("%d responses after the score, want it stored at once", n)
		}
		if u, _ := url.Parse(e.c.URL + "/s/" + e.link.Code); len(c.http.Jar.Cookies(u)) != 1 {
			t.Error("no cookie marks the browser that answered")
		}
		id := answerID(t, followUp)
		if r := e.row(id); r.score != 9 || r.channel != "qr" || r.touch != "checkout" || r.locale != "en" || r.outcome != "skipped" || r.suspect {
			t.Errorf("stored %+v", r)
		}
		more := c.get(followUp)
		if more.status != 200 || !strings.Contains(more.body, `id="your-score">9<`) || !strings.Contains(more.body, "checkout_speed") {
			t.Fatalf("follow-up page: %d\n%s", more.status, more.body)
		}
		if strings.Contains(more.body, `value="wait_time"`) {
			t.Error("a promoter is offered the detractors' reasons")
		}
		done := c.post("/s/"+e.link.Code+"/more", url.Values{"r": {token(t, followUp)}, "lang": {"en"}, "action": {"skip"}, "comment": {"ignored on skip"}})
		if done.status != http.StatusSeeOther || done.location != "/s/"+e.link.Code+"/thanks?lang=en" {
			t.Fatalf("skip: %d %s\n%s", done.status, done.location, done.body)
		}
		thanks := c.get(done.location)
		if thanks.status != 200 || !strings.Contains(thanks.body, "Thank you!") {
			t.Errorf("thanks: %d\n%s", thanks.status, thanks.body)
		}
		if r := e.row(id); r.score != 9 || r.comment != "" || r.outcome != "skipped" {
			t.Errorf("after Skip: %+v", r)
		}
		got := e.nps(storage.Filter{Channel: "qr", Touchpoint: "checkout"})
		if got.Responses != 1 || got.Promoters != 1 || e.count() != 1 {
			t.Errorf("NPS of qr/checkout: %+v, %d rows; want one promoter", got, e.count())
		}
	})
}

// The follow-up revises the answer the score stored: reasons, comment, contact with
// consent and a changed score, counted once, in its new category.
func TestFollowUpRevisesTheAnswer(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := start(t, b, websurvey.Config{})
		c := e.client(true)
		followUp := c.score(e.link, 3, "en")
		id := answerID(t, followUp)
		if got := e.nps(storage.Filter{Channel: "qr"}); got.Detractors != 1 {
			t.Fatalf("after the score: %+v", got)
		}
		more := c.get(followUp)
		if !strings.Contains(more.body, `value="wait_time"`) {
			t.Errorf("a detractor is not offered waiting time:\n%s", more.body)
		}
		form := url.Values{"r": {token(t, followUp)}, "lang": {"en"}, "action": {"submit"}, "score": {"7"},
			"reason": {"wait_time", "staff"}, "comment": {"  Long queue, kind staff  "}, "consent": {"yes"}, "contact": {"ana@example.com"}}
		r := c.post("/s/"+e.link.Code+"/more", form)
		if r.status != http.StatusSeeOther {
			t.Fatalf("follow-up: %d\n%s", r.status, r.body)
		}
		got := e.row(id)
		if got.score != 7 || got.reasons != `["wait_time","staff"]` || got.comment != "Long queue, kind staff" ||
			got.contact != "ana@example.com" || got.outcome != "submitted" || got.channel != "qr" {
			t.Errorf("revised: %+v", got)
		}
		if rep := e.nps(storage.Filter{Channel: "qr", Touchpoint: "checkout"}); rep.Responses != 1 || rep.Passives != 1 || rep.Detractors != 0 {
			t.Errorf("after the revision: %+v, want one passive", rep)
		}
		// The same follow-up again (a double tap without script) changes nothing more.
		if again := c.post("/s/"+e.link.Code+"/more", form); again.status != http.StatusSeeOther || e.count() != 1 {
			t.Errorf("sent twice: %d, %d rows", again.status, e.count())
		}
	})
}

// scoreForm is the score form of a page just loaded: its hidden fields, without a score.
func (c *client) scoreForm(l storage.Link) url.Values {
	c.e.t.Helper()
	page := c.get("/s/" + l.Code)
	m := answerField.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		c.e.t.Fatalf("score page: %d, no answer id\n%s", page.status, page.body)
	}
	return url.Values{"a": {m[1]}, "lang": {"en"}, "website": {""}}
}

// answerField finds the answer id in a score page's form.
var answerField = regexp.MustCompile(`name="a" value="([^"]+)"`)

// withScore is form with its score set.
func withScore(form url.Values, score int) url.Values {
	f := maps.Clone(form)
	f.Set("score", fmt.Sprint(score))
	return f
}

// The score form names its answer: posted twice (a double tap without script, a
// browser's retry) it stores one, counted once; posted again with another score (the
// back button) it changes that answer; once the follow-up was sent, or 2 hours on, it
// changes nothing. A form of another link, or with a forged id, stores a new answer.
func TestScoreFormPostedAgainIsOneAnswer(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := start(t, b, websurvey.Config{})
		score := "/s/" + e.link.Code
		// No cookies: the repeat rules would not flag a second answer of this browser.
		c := e.client(false)
		form := c.scoreForm(e.link)
		first := c.score(e.link, 3, "en") // a form without an id still stores a new answer
		if id := answerID(t, first); strings.HasPrefix(form.Get("a"), id) {
			t.Fatal("a form without an id took the page's")
		}
		var followUps []string
		for range 2 {
			r := c.post(score, withScore(form, 3))
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, score+"/more?") {
				t.Fatalf("score: %d %s\n%s", r.status, r.location, r.body)
			}
			followUps = append(followUps, r.location)
		}
		id := answerID(t, followUps[0])
		if !strings.HasPrefix(form.Get("a"), id+".") || followUps[1] != followUps[0] {
			t.Errorf("posted twice: follow-ups %q, want both for the form's answer %s", followUps, form.Get("a"))
		}
		if rep := e.nps(storage.Filter{Channel: "qr"}); e.count() != 2 || rep.Responses != 2 || rep.Detractors != 2 || rep.Suspect != 0 {
			t.Errorf("after the same form twice: %d rows, %+v; want it stored once beside the first answer", e.count(), rep)
		}

		// Back to the page, another score: the same answer, now a passive.
		r := c.post(score, withScore(form, 8))
		if r.status != http.StatusSeeOther || answerID(t, r.location) != id {
			t.Fatalf("score changed: %d %s\n%s", r.status, r.location, r.body)
		}
		if more := c.get(r.location); !strings.Contains(more.body, `id="your-score">8<`) {
			t.Errorf("follow-up after the change does not show 8:\n%s", more.body)
		}
		if got := e.row(id); got.score != 8 || got.outcome != "skipped" || got.suspect {
			t.Errorf("changed: %+v", got)
		}
		if rep := e.nps(storage.Filter{Channel: "qr"}); e.count() != 2 || rep.Responses != 2 || rep.Passives != 1 || rep.Detractors != 1 {
			t.Errorf("after the change: %d rows, %+v; want one detractor and one passive", e.count(), rep)
		}

		// The follow-up is sent; the score form posted once more leaves it be.
		sent := c.post(score+"/more", url.Values{"r": {token(t, r.location)}, "lang": {"en"}, "action": {"submit"}, "comment": {"Quick checkout"}})
		if sent.status != http.StatusSeeOther {
			t.Fatalf("follow-up: %d\n%s", sent.status, sent.body)
		}
		late := c.post(score, withScore(form, 2))
		if late.status != http.StatusSeeOther || late.location != score+"/thanks?lang=en" {
			t.Errorf("score form after the follow-up: %d %s, want 303 to the thanks", late.status, late.location)
		}
		if got := e.row(id); got.score != 8 || got.comment != "Quick checkout" || got.outcome != "submitted" {
			t.Errorf("after a late score post: %+v, want the follow-up kept", got)
		}

		// 2 hours after the score, the form no longer changes it.
		other := e.client(true)
		stale := other.scoreForm(e.link)
		if r := other.post(score, withScore(stale, 5)); r.status != http.StatusSeeOther {
			t.Fatalf("score: %d\n%s", r.status, r.body)
		}
		staleID, _, _ := strings.Cut(stale.Get("a"), ".")
		e.SetNow(e.now.Load().Add(2*time.Hour + time.Minute))
		if r := other.post(score, withScore(stale, 6)); r.status != http.StatusSeeOther || r.location != score+"/thanks?lang=en" {
			t.Errorf("score form 2 hours on: %d %s, want 303 to the thanks", r.status, r.location)
		}
		if got := e.row(staleID); got.score != 5 {
			t.Errorf("2 hours on: %+v, want the score kept", got)
		}

		// Posted by four at once (a browser retrying while the first is under way): one.
		racer := e.client(false)
		raced := racer.scoreForm(e.link)
		before := e.count()
		var wg sync.WaitGroup
		statuses := make([]int, 4)
		for i := range statuses {
			wg.Go(func() { statuses[i] = racer.post(score, withScore(raced, 10)).status })
		}
		wg.Wait()
		if n := e.count(); n != before+1 || slices.ContainsFunc(statuses, func(s int) bool { return s != http.StatusSeeOther }) {
			t.Errorf("four posts at once: %v, %d new rows; want all 303 and one row", statuses, n-before)
		}

		// A forged id, or another link's form, names no answer: the post stores a new
		// one under an id made by the collector, as a form without an id does.
		second := e.addLink(storage.NewLink{StoreID: "S042", Channel: "qr", Touchpoint: "entrance"})
		forged := withScore(form, 9)
		forged.Set("a", strings.Replace(forged.Get("a"), ".", ".x", 1))
		for name, post := range map[string]func() reply{
			"forged":       func() reply { return e.client(false).post(score, forged) },
			"another link": func() reply { return e.client(false).post("/s/"+second.Code, withScore(form, 9)) },
		} {
			before := e.count()
			r := post()
			if r.status != http.StatusSeeOther || !strings.Contains(r.location, "/more?") {
				t.Fatalf("%s: %d %s, want 303 to the follow-up\n%s", name, r.status, r.location, r.body)
			}
			if got := answerID(t, r.location); got == id || e.count() != before+1 {
				t.Errorf("%s: stored as %s (%d new rows), want a new answer beside %s", name, got, e.count()-before, id)
			}
		}
		if got := e.row(id); got.score != 8 || got.comment != "Quick checkout" {
			t.Errorf("after forged posts: %+v, want the answer untouched", got)
		}
	})
}

// A follow-up the rules refuse comes back as the form, with what was typed and why, and
// the stored answer is left as it was; a token that is not the answer's own is refused.
func TestFollowUpRefusals(t *testing.T) {
	e := start(t, collectortest.SQLite, websurvey.Config{FollowUpFor: time.Hour, ClientBurst: 1000})
	c := e.client(true)
	followUp := c.score(e.link, 8, "en")
	tok, id := token(t, followUp), answerID(t, followUp)
	other := e.addLink(storage.NewLink{StoreID: "S042", Channel: "sms"})
	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
		want   string
	}{
		{"comment too long", "", url.Values{"comment": {strings.Repeat("é", response.MaxCommentRunes+1)}}, 400, "at most 1000 characters"},
		{"contact without consent", "", url.Values{"contact": {"ana@example.com"}, "comment": {"keep me"}}, 400, "Tick the box"},
		{"contact too long", "", url.Values{"consent": {"yes"}, "contact": {strings.Repeat("a", response.MaxContactRunes+1)}}, 400, "too long"},
		{"too many reasons", "", url.Values{"reason": {"staff", "price", "choice", "cleanliness", "product_quality", "checkout_speed", "wait_time", "out_of_stock", "staff"}}, 400, "at most 8"},
		{"unknown reason", "", url.Values{"reason": {"parking"}}, 400, "could not be read"},
		{"comment not UTF-8", "", url.Values{"comment": {"bad \xff"}}, 400, "could not be read"},
		{"contact not UTF-8", "", url.Values{"consent": {"yes"}, "contact": {"ana\xc3@example.com"}}, 400, "could not be read"},
		{"a reason three times", "", url.Values{"reason": {"staff", "staff", "staff"}}, 400, "could not be read"},
		{"a reason not UTF-8", "", url.Values{"reason": {"staff\xff"}}, 400, "could not be read"},
		{"score out of range", "", url.Values{"score": {"11"}}, 400, "could not be read"},
		{"no token", "", url.Values{"r": {""}}, 400, "could not be read"},
		{"a forged token", "", url.Values{"r": {strings.Replace(tok, ".8.", ".2.", 1)}}, 400, "could not be read"},
		{"another link's answer", "/s/" + other.Code + "/more", url.Values{}, 400, "could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"r": {tok}, "lang": {"en"}, "action": {"submit"}}
			for k, v := range tt.form {
				form[k] = v
			}
			path := tt.path
			if path == "" {
				path = "/s/" + e.link.Code + "/more"
			}
			r := c.post(path, form)
			if r.status != tt.status || !strings.Contains(r.body, tt.want) {
				t.Errorf("%d, want %d with %q\n%s", r.status, tt.status, tt.want, r.body)
			}
			if v := form.Get("comment"); r.status == 400 && strings.Contains(r.body, `id="followup-form"`) && v != "" && !strings.Contains(r.body, ">"+v+"</textarea>") {
				t.Error("the comment typed is not kept in the form")
			}
			if got := e.row(id); got.score != 8 || got.comment != "" || got.contact != "" {
				t.Errorf("the refused follow-up changed the answer: %+v", got)
			}
		})
	}
	// Past FollowUpFor the answer stays as it was.
	e.SetNow(time.Now().Add(2 * time.Hour))
	if r := c.post("/s/"+e.link.Code+"/more", url.Values{"r": {tok}, "action": {"submit"}, "comment": {"late"}}); r.status != http.StatusGone ||
		!strings.Contains(r.body, "can no longer be changed") {
		t.Errorf("a follow-up 2 h later: %d\n%s", r.status, r.body)
	}
	if r := c.get(followUp); r.status != http.StatusGone {
		t.Errorf("the follow-up page 2 h later: %d", r.status)
	}
}

// A robot that fills the hidden field is thanked, and nothing it sent is kept.
func TestHoneypot(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := start(t, b, websurvey.Config{})
		bot := e.client(false)
		r := bot.post("/s/"+e.link.Code, url.Values{"score": {"0"}, "website": {"https://spam.example"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "Thank you!") {
			t.Errorf("honeypot score: %d\n%s", r.status, r.body)
		}
		if n := e.count(); n != 0 {
			t.Errorf("%d responses stored from the robot", n)
		}
		// A person's answer, then a robot's follow-up with its token: dropped too.
		person := e.client(true)
		followUp := person.score(e.link, 10, "en")
		r = bot.post("/s/"+e.link.Code+"/more", url.Values{"r": {token(t, followUp)}, "action": {"submit"}, "comment": {"buy now"}, "website": {"x"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "Thank you!") {
			t.Errorf("honeypot follow-up: %d", r.status)
		}
		if got := e.row(answerID(t, followUp)); got.comment != "" || e.count() != 1 {
			t.Errorf("the robot's follow-up was kept: %+v", got)
		}
	})
}

// 100 rapid posts from one client: the burst gets through and the rest are refused with
// 429 and a Retry-After; of those stored, all but the first are flagged suspect (the
// browser's cookie says it answered) and left out of NPS. Without cookies, the network
// rule flags the answers past its allowance. Many clients on one link meet the link's
// limit.
func TestRapidPostsAreLimitedAndFlagged(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := start(t, b, websurvey.Config{LinkBurst: 30})
		c := e.client(true)
		var stored, limited int
		began := time.Now()
		for i := range 100 {
			r := c.post("/s/"+e.link.Code, url.Values{"score": {fmt.Sprint(i % 11)}, "lang": {"en"}})
			switch r.status {
			case http.StatusSeeOther:
				stored++
			case http.StatusTooManyRequests:
				limited++
				if r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many answers at once") {
					t.Fatalf("429 without Retry-After or its page:\n%s", r.body)
				}
			default:
				t.Fatalf("post %d: %d\n%s", i, r.status, r.body)
			}
		}
		refilled := int(time.Since(began)/(6*time.Second)) + 1 // a token every 6 s
		if stored < 10 || stored > 10+refilled || limited != 100-stored {
			t.Errorf("%d stored, %d limited; want the burst of 10 (and at most %d refilled) through", stored, limited, refilled)
		}
		rep := e.nps(storage.Filter{Channel: "qr"})
		if e.count() != int64(stored) || rep.Responses != 1 || rep.Suspect != int64(stored-1) {
			t.Errorf("%d rows, NPS %+v; want %d rows, 1 counted and %d suspect", e.count(), rep, stored, stored-1)
		}

		// A script that drops cookies: its first 5 answers in 10 minutes count, then the
		// network rule flags the rest.
		script := e.client(false)
		for i := range 8 {
			script.score(e.link, 10, "en")
			if i == 4 {
				if got := e.nps(storage.Filter{Channel: "qr"}); got.Responses != 6 {
					t.Errorf("after 5 cookie-less answers: %+v, want them counted", got)
				}
			}
		}
		if got := e.nps(storage.Filter{Channel: "qr"}); got.Responses != 6 || got.Suspect != int64(stored-1+3) {
			t.Errorf("after 8 cookie-less answers: %+v, want 3 more suspect", got)
		}

		// Everyone together meets the link's own limit (a burst of 30 here).
		limited = 0
		for range 40 {
			if r := e.client(false).post("/s/"+e.link.Code, url.Values{"score": {"5"}}); r.status == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited == 0 {
			t.Error("40 clients at once on one link were never limited")
		}
	})
}

// Bodies over the limit are 413, malformed ones 400, and none of it is stored.
func TestBadBodies(t *testing.T) {
	e := start(t, collectortest.SQLite, websurvey.Config{ClientBurst: 1000, LinkBurst: 1000})
	c := e.client(true)
	tok := token(t, c.score(e.link, 6, "en"))
	score, more := "/s/"+e.link.Code, "/s/"+e.link.Code+"/more"
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, path, contentType, body string
		status                        int
	}{
		{"score form over 4 KiB", score, form, "score=5&lang=" + strings.Repeat("x", 5000), 413},
		{"follow-up over 32 KiB", more, form, "r=" + tok + "&comment=" + strings.Repeat("%C3%A9", 6000), 413},
		{"broken percent-encoding", score, form, "score=%zz", 400},
		{"no score", score, form, "lang=en", 400},
		{"an empty score", score, form, "score=&lang=en", 400},
		{"a score not UTF-8", score, form, "score=%ff5", 400},
		{"score 11", score, form, "score=11", 400},
		{"score -1", score, form, "score=-1", 400},
		{"score 1e1", score, form, "score=1e1", 400},
		{"score in Arabic digits", score, form, "score=" + url.QueryEscape("٣"), 400},
		{"score with a space", score, form, "score=+5", 400},
		{"two scores", score, form, "score=5&score=6", 303}, // the first counts, as a browser sends one
		{"JSON", score, "application/json", `{"score":5}`, 400},
		{"multipart", score, "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"score\"\r\n\r\n5\r\n--x--\r\n", 400},
		{"binary garbage", score, form, "\x00\xff\xfe=\x01&&&==", 400},
		{"follow-up garbage token", more, form, "r=%00%01&action=submit", 400},
	}
	before := e.count()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do(http.MethodPost, tt.path, tt.contentType, tt.body)
			if r.status != tt.status {
				t.Errorf("%d, want %d\n%s", r.status, tt.status, r.body)
			}
			if r.status >= 400 && (!strings.Contains(r.header.Get("Content-Type"), "text/html") || strings.Contains(r.body, "goroutine")) {
				t.Errorf("the error is not a page of its own: %q", r.body)
			}
		})
	}
	if n := e.count(); n != before+1 {
		t.Errorf("%d responses, want %d (only the two-score post)", n, before+1)
	}
}

// Unknown codes are 404, closed links 410, for every page; a GET never records.
func TestLinksThatDoNotAnswer(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := start(t, b, websurvey.Config{ClientBurst: 1000})
		c := e.client(true)
		followUp := c.score(e.link, 9, "en")
		disabled := e.addLink(storage.NewLink{StoreID: "S042", Channel: "web"})
		if _, err := e.c.DB.DisableLink(context.Background(), disabled.Code); err != nil {
			t.Fatal(err)
		}
		expiring := e.addLink(storage.NewLink{StoreID: "S042", Channel: "sms", ExpiresAt: time.Now().Add(time.Hour)})
		invitations, err := e.c.DB.EmailLink(context.Background(), "S042", "delivery")
		if err != nil {
			t.Fatal(err)
		}
		e.SetNow(time.Now().Add(90 * time.Minute))
		tests := []struct {
			method, path string
			status       int
			want         string
		}{
			{"GET", "/s/zzzzzzzz", 404, "Survey not found"},
			{"GET", "/s/abc", 404, "Survey not found"},
			{"GET", "/s/", 404, "Survey not found"},
			{"GET", "/s/" + e.link.Code + "/nope", 404, "Survey not found"},
			{"POST", "/s/zzzzzzzz", 404, "Survey not found"},
			{"GET", "/s/" + disabled.Code, 410, "This survey has closed"},
			{"POST", "/s/" + disabled.Code, 410, "This survey has closed"},
			{"GET", "/s/" + expiring.Code, 410, "This survey has closed"},
			{"POST", "/s/" + expiring.Code, 410, "This survey has closed"},
			{"POST", "/s/" + expiring.Code + "/more", 410, "This survey has closed"},
			// The e-mail invitations' link takes answers with an invitation's token only.
			{"GET", "/s/" + invitations.Code, 404, "Survey not found"},
			{"POST", "/s/" + invitations.Code, 404, "Survey not found"},
			{"GET", "/s/" + e.link.Code + "?score=3", 200, `id="score-form"`},
			{"GET", followUp + "&score=2&action=submit&comment=x", 200, `id="followup-form"`},
			{"GET", "/s/" + e.link.Code + "/thanks?score=1", 200, "Thank you!"},
			{"HEAD", "/s/" + e.link.Code, 200, ""},
		}
		for _, tt := range tests {
			body := ""
			if tt.method == "POST" {
				body = "score=5"
			}
			r := c.do(tt.method, tt.path, "application/x-www-form-urlencoded", body)
			if r.status != tt.status || !strings.Contains(r.body, tt.want) {
				t.Errorf("%s %s: %d, want %d with %q\n%s", tt.method, tt.path, r.status, tt.status, tt.want, r.body)
			}
		}
		if n := e.count(); n != 1 {
			t.Errorf("%d responses, want only the first answer", n)
		}
		if r := e.row(answerID(t, followUp)); r.score != 9 || r.comment != "" {
			t.Errorf("a GET changed the answer: %+v", r)
		}
	})
}

// The language comes from the switch (?lang= and the forms' lang), else from
// Accept-Language, else is the store's first; it is stored as the answer's locale.
func TestLanguage(t *testing.T) {
	e := start(t, collectortest.SQLite, websurvey.Config{ClientBurst: 1000})
	question := map[string]string{
		"en": "How likely are you to recommend Main Street",
		"es": "¿Qué probabilidad hay de que recomiende Main Street",
		"fr": "Quelle est la probabilité que vous recommandiez Main Street",
		"de": "Wie wahrscheinlich ist es, dass Sie Main Street",
	}
	lang := regexp.MustCompile(`<html lang="([a-z]+)">`)
	tests := []struct{ accept, query, want string }{
		{"", "", "en"},
		{"de-DE,de;q=0.9,en;q=0.5", "", "de"},
		{"pt-BR, es;q=0.8", "", "es"},
		{"fr-CA", "", "fr"},
		{"de", "?lang=fr", "fr"},
		{"de", "?lang=zz", "de"},
	}
	for _, tt := range tests {
		c := e.client(false)
		c.lang = tt.accept
		r := c.get("/s/" + e.link.Code + tt.query)
		m := lang.FindStringSubmatch(r.body)
		if r.status != 200 || m == nil || m[1] != tt.want || !strings.Contains(r.body, question[tt.want]) || r.header.Get("Content-Language") != tt.want {
			t.Errorf("Accept-Language %q%s: %v, want %s", tt.accept, tt.query, m, tt.want)
		}
		for l, name := range map[string]string{"en": "English", "es": "Español", "fr": "Français", "de": "Deutsch"} {
			if !strings.Contains(r.body, `hreflang="`+l+`"`) || !strings.Contains(r.body, ">"+name+"</a>") {
				t.Errorf("the switch lacks %s", name)
			}
		}
	}
	// The answer carries the language it was given in, through every page.
	c := e.client(true)
	c.lang = "de"
	followUp := c.score(e.link, 2, "es")
	if !strings.Contains(followUp, "lang=es") {
		t.Errorf("follow-up address %q drops the language", followUp)
	}
	more := c.get(followUp)
	if !strings.Contains(more.body, "Tiempo de espera") || !strings.Contains(more.body, `<html lang="es">`) {
		t.Errorf("the Spanish follow-up:\n%s", more.body)
	}
	// Switching language on the follow-up page keeps the answer's token.
	if sw := c.get(strings.Replace(followUp, "lang=es", "lang=fr", 1)); !strings.Contains(sw.body, "Temps d&#39;attente") {
		t.Errorf("the follow-up in French:\n%s", sw.body)
	}
	done := c.post("/s/"+e.link.Code+"/more", url.Values{"r": {token(t, followUp)}, "lang": {"fr"}, "action": {"submit"}, "reason": {"wait_time"}})
	if thanks := c.get(done.location); !strings.Contains(thanks.body, "Merci !") {
		t.Errorf("French thanks:\n%s", thanks.body)
	}
	if r := e.row(answerID(t, followUp)); r.locale != "fr" || r.reasons != `["wait_time"]` {
		t.Errorf("stored %+v, want the French follow-up", r)
	}

	// A store whose survey offers German and English only.
	s, err := e.c.DB.Survey(context.Background(), "S042")
	if err != nil {
		t.Fatal(err)
	}
	s.Languages = []string{"de", "en", "it"}
	if _, err := e.c.DB.SetSurvey(context.Background(), s, []string{"S042"}); err != nil {
		t.Fatal(err)
	}
	c = e.client(false)
	c.lang = "fr"
	r := c.get("/s/" + e.link.Code)
	if !strings.Contains(r.body, `<html lang="de">`) || strings.Contains(r.body, "Français") || strings.Contains(r.body, `hreflang="it"`) {
		t.Errorf("a de/en store asked in French:\n%s", r.body)
	}
}

// Every page forbids scripts and styles from elsewhere, and loads none.
func TestPagesLoadNothingFromElsewhere(t *testing.T) {
	e := start(t, collectortest.SQLite, websurvey.Config{})
	c := e.client(true)
	followUp := c.score(e.link, 5, "en")
	for _, path := range []string{"/s/" + e.link.Code, followUp, "/s/" + e.link.Code + "/thanks", "/s/nope"} {
		r := c.get(path)
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: CSP %q, Cache-Control %q", path, csp, r.header.Get("Cache-Control"))
		}
		for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(r.body, -1) {
			if !strings.HasPrefix(m[1], "/s/") {
				t.Errorf("%s loads or links %q", path, m[1])
			}
		}
	}
	for _, f := range []string{"survey.css", "survey.js"} {
		r := c.get("/s/_/" + f)
		if r.status != 200 || len(r.body) < 500 {
			t.Errorf("%s: %d, %d bytes", f, r.status, len(r.body))
		}
	}
	if r := c.get("/s/_/other.js"); r.status != 404 {
		t.Errorf("an unknown static file: %d", r.status)
	}
}

// New refuses to start without a service.
func TestNewNeedsAService(t *testing.T) {
	if _, err := websurvey.New(websurvey.Config{}); err == nil {
		t.Error("New without a service")
	}
}

// The same rules as the kiosk's: every case of the domain's invalid corpus that a
// follow-up form can carry is refused, and nothing is changed.
func TestFollowUpAppliesTheDomainRules(t *testing.T) {
	e := start(t, collectortest.SQLite, websurvey.Config{ClientBurst: 1000, LinkBurst: 1000})
	// The corpus's answers are to a text question "improve" and a choice "found".
	e.setQuestions(
		response.Question{Key: "improve", Kind: response.QuestionText, Labels: map[string]string{"en": "One thing to improve"}},
		response.Question{Key: "found", Kind: response.QuestionSingle, Labels: map[string]string{"en": "Found it?"},
			Options: []response.Option{{Key: "yes", Labels: map[string]string{"en": "Yes"}}, {Key: "no", Labels: map[string]string{"en": "No"}}}})
	c := e.client(true)
	followUp := c.score(e.link, 6, "en")
	for _, tc := range response.InvalidCorpus() {
		f := tc.Response.FollowUp()
		f.Outcome = response.OutcomeSubmitted // the page sets it, from the button pressed
		if err := f.Validate(); !errors.Is(err, response.ErrInvalid) {
			continue // a rule of the tap, the id, the times or the channel: the collector sets those itself
		}
		if f.SealedContact != "" {
			continue // kiosks seal contacts; a form has no field for one
		}
		form := url.Values{"r": {token(t, followUp)}, "action": {"submit"}, "comment": {f.Comment}, "contact": {f.Contact}, "reason": f.Reasons}
		if f.ContactConsent {
			form.Set("consent", "yes")
		}
		unsendable := false
		for key, values := range f.Answers {
			form["q_"+key] = values
			unsendable = unsendable || len(values) == 0 // a form cannot send a question with no value: it is unanswered
		}
		if unsendable {
			continue
		}
		if r := c.post("/s/"+e.link.Code+"/more", form); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.Name, r.status)
		}
	}
	if r := e.row(answerID(t, followUp)); r.score != 6 || r.comment != "" || r.contact != "" || r.reasons != "[]" {
		t.Errorf("the answer changed: %+v", r)
	}
}

// The cookie that marks a browser that answered is HttpOnly, lives for the repeat
// window, and is Secure when the shopper came over HTTPS (here: through a trusted proxy
// that says so).
func TestAnsweredCookie(t *testing.T) {
	e := start(t, collectortest.SQLite, websurvey.Config{RepeatWindow: 7 * time.Minute})
	for _, proto := range []string{"", "http", "https"} {
		req, _ := http.NewRequest(http.MethodPost, e.c.URL+"/s/"+e.link.Code, strings.NewReader("score=6"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", len(proto)+1))
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cookies := resp.Cookies()
		if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 {
			t.Fatalf("proto %q: %d, cookies %v", proto, resp.StatusCode, cookies)
		}
		c := cookies[0]
		if c.Name != "nps_answered" || !c.HttpOnly || c.MaxAge != 420 || c.Path != "/s/" || c.Secure != (proto == "https") {
			t.Errorf("proto %q: cookie %+v", proto, c)
		}
	}
}
