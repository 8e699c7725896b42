package widget_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/widget"
	"github.com/npskiosk/npskiosk/response"
)

const shop = "https://shop.example.com"

// env is a collector serving the widget, a store WEB with a site key for checkout, and
// the survey's extra questions for web checkout and for the kiosk.
type env struct {
	c    *collectortest.Collector
	w    *widget.Widget
	key  storage.Link
	now  *clock
	base string
}

// clock is a settable clock for the collector.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func start(t testing.TB, b collectortest.Backend, cfg widget.Config, rate int) *env {
	t.Helper()
	clk := &clock{}
	c := collectortest.Start(t, collectortest.Options{Backend: b, Now: clk.Now})
	c.AddStore(t, storage.Store{ID: "WEB", Name: "Web shop"})
	ctx := context.Background()
	sv, err := c.DB.Survey(ctx, "WEB")
	if err != nil {
		t.Fatal(err)
	}
	sv.Languages = []string{"en", "de"}
	sv.Questions = []response.Question{
		{Key: "found", Kind: response.QuestionSingle, Labels: map[string]string{"en": "Did you find what you wanted?", "de": "Haben Sie gefunden, was Sie suchten?"},
			Options:  []response.Option{{Key: "yes", Labels: map[string]string{"en": "Yes", "de": "Ja"}}, {Key: "no", Labels: map[string]string{"en": "No", "de": "Nein"}}},
			Channels: []string{"web"}, Touchpoints: []string{"checkout"}},
		{Key: "ease", Kind: response.QuestionRating, Labels: map[string]string{"en": "How easy was paying?"}, Channels: []string{"web"}},
		{Key: "till", Kind: response.QuestionText, Labels: map[string]string{"en": "Which till?"}, Channels: []string{"kiosk"}},
	}
	if _, err := c.DB.SetSurvey(ctx, sv, []string{"WEB"}); err != nil {
		t.Fatal(err)
	}
	key, err := c.DB.AddLink(ctx, storage.NewLink{Kind: "site", StoreID: "WEB", Channel: "web", Touchpoint: "checkout",
		Origins: []string{shop, "http://localhost:3000"}, RatePerMinute: rate})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Service == nil {
		cfg.Service = c.Service
	}
	w, err := widget.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.Register(c.API)
	return &env{c: c, w: w, key: key, now: clk, base: c.URL}
}

// reply is an HTTP reply, read whole.
type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("reply %d is not JSON: %v\n%s", r.status, err, r.body)
	}
}

// errorCode is a JSON error reply's code.
func (r reply) errorCode(t *testing.T) string {
	t.Helper()
	var e struct{ Error, Detail string }
	r.json(t, &e)
	if e.Detail == "" {
		t.Errorf("error %q without a detail", e.Error)
	}
	return e.Error
}

func (e *env) do(t *testing.T, method, path, origin string, header map[string]string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// post sends an answer as the widget does.
func (e *env) post(t *testing.T, key, origin string, a any) reply {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return e.do(t, http.MethodPost, "/w/v1/responses?key="+url.QueryEscape(key), origin, map[string]string{"Content-Type": "application/json"}, bytes.NewReader(b))
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// CORS: the key's own origins may read the replies and send answers (preflight and
// actual request), with exactly these headers; any other origin gets none of them,
// and never "*".
func TestCORSOnlyForTheKeysOrigins(t *testing.T) {
	e := start(t, collectortest.SQLite, widget.Config{}, 0)
	pre := func(origin string) reply {
		return e.do(t, http.MethodOptions, "/w/v1/responses?key="+e.key.Code, origin,
			map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}, nil)
	}
	r := pre(shop)
	want := map[string]string{
		"Access-Control-Allow-Origin":  shop,
		"Access-Control-Allow-Methods": "GET, POST",
		"Access-Control-Allow-Headers": "Content-Type",
		"Access-Control-Max-Age":       "600",
	}
	if r.status != http.StatusNoContent {
		t.Fatalf("preflight from %s: %d %s", shop, r.status, r.body)
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}
	if r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Error("preflight allows credentials")
	}
	if vary := r.header.Values("Vary"); !slices.Contains(vary, "Origin") {
		t.Errorf("preflight Vary = %q, want Origin among them", vary)
	}
	// Origins as browsers send them: a default port is the same origin, a path is not sent.
	if r := pre("https://shop.example.com:443"); r.status != http.StatusNoContent {
		t.Errorf("preflight from the same origin with its default port: %d", r.status)
	}
	for _, origin := range []string{"https://evil.example.com", "http://shop.example.com", "https://shop.example.com.evil.net", "null"} {
		r := pre(origin)
		if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("preflight from %s: %d, CORS headers %v", origin, r.status, r.header)
		}
		if code := r.errorCode(t); code != "origin_not_allowed" {
			t.Errorf("preflight from %s: %s", origin, code)
		}
		r = e.post(t, e.key.Code, origin, widget.Answer{ID: newID(), Score: 9, Locale: "en", SurveyVersion: 1})
		if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("answer from %s: %d, ACAO %q", origin, r.status, r.header.Get("Access-Control-Allow-Origin"))
		}
		r = e.do(t, http.MethodGet, "/w/v1/survey?key="+e.key.Code, origin, nil, nil)
		if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("survey from %s: %d, ACAO %q", origin, r.status, r.header.Get("Access-Control-Allow-Origin"))
		}
	}
	if n := e.c.Count(t, "WEB"); n != 0 {
		t.Errorf("%d answers stored from origins not on the key", n)
	}
	// Without an Origin (not a browser on the shop's page), a site key answers nothing.
	if r := e.post(t, e.key.Code, "", widget.Answer{ID: newID(), Score: 9, Locale: "en"}); r.status != http.StatusForbidden || r.errorCode(t) != "origin_required" {
		t.Errorf("answer without an Origin: %d %s", r.status, r.body)
	}
	// The actual requests from the shop: readable there, and only there.
	r = e.do(t, http.MethodGet, "/w/v1/survey?key="+e.key.Code+"&lang=en", shop, nil, nil)
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != shop || !slices.Contains(r.header.Values("Vary"), "Origin") {
		t.Fatalf("survey from the shop: %d, ACAO %q, Vary %q", r.status, r.header.Get("Access-Control-Allow-Origin"), r.header.Values("Vary"))
	}
	r = e.post(t, e.key.Code, "http://localhost:3000", widget.Answer{ID: newID(), Score: 9, Locale: "en", SurveyVersion: 1})
	if r.status != http.StatusCreated || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Errorf("answer from the shop's development origin: %d, ACAO %q, %s", r.status, r.header.Get("Access-Control-Allow-Origin"), r.body)
	}
}

// A missing key is 401, one that is not a site key 404 (survey links and app keys
// answer elsewhere), a disabled one 410, readable by the shop so the widget stays quiet.
func TestWrongAndClosedKeys(t *testing.T) {
	e := start(t, collectortest.SQLite, widget.Config{}, 0)
	ctx := context.Background()
	link, err := e.c.DB.AddLink(ctx, storage.NewLink{StoreID: "WEB", Channel: "qr"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := e.c.DB.AddLink(ctx, storage.NewLink{Kind: "app", StoreID: "WEB", Channel: "app", BundleIDs: []string{"com.example.shop"}})
	if err != nil {
		t.Fatal(err)
	}
	a := widget.Answer{ID: newID(), Score: 3, Locale: "en", SurveyVersion: 1}
	for _, tt := range []struct {
		key    string
		status int
		code   string
	}{
		{"", http.StatusUnauthorized, "key_required"},
		{"zzzzzzzz", http.StatusNotFound, "unknown_key"},
		{"not a key at all", http.StatusNotFound, "unknown_key"},
		{link.Code, http.StatusNotFound, "unknown_key"},
		{app.Code, http.StatusNotFound, "unknown_key"},
	} {
		for _, r := range []reply{e.post(t, tt.key, shop, a), e.do(t, http.MethodGet, "/w/v1/survey?key="+url.QueryEscape(tt.key), shop, nil, nil)} {
			if r.status != tt.status || r.errorCode(t) != tt.code || r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("key %q: %d %s, want %d %s", tt.key, r.status, r.body, tt.status, tt.code)
			}
		}
	}
	if _, err := e.c.DB.DisableLink(ctx, e.key.Code); err != nil {
		t.Fatal(err)
	}
	for _, r := range []reply{e.post(t, e.key.Code, shop, a), e.do(t, http.MethodGet, "/w/v1/survey?key="+e.key.Code, shop, nil, nil)} {
		if r.status != http.StatusGone || r.errorCode(t) != "key_closed" || r.header.Get("Access-Control-Allow-Origin") != shop {
			t.Errorf("disabled key: %d %s, ACAO %q", r.status, r.body, r.header.Get("Access-Control-Allow-Origin"))
		}
	}
	if n := e.c.Count(t, "WEB"); n != 0 {
		t.Errorf("%d answers stored through wrong or closed keys", n)
	}
}

// Over the key's rate: 429 with Retry-After, readable by the shop; over the client's
// rate, the same, before the key is even looked up.
func TestRateLimits(t *testing.T) {
	e := start(t, collectortest.SQLite, widget.Config{ClientBurst: 1000, ClientRate: 100}, 3)
	for i := range 5 {
		r := e.post(t, e.key.Code, shop, widget.Answer{ID: newID(), Score: 9, Locale: "en", SurveyVersion: 1})
		if i < 3 && r.status != http.StatusCreated {
			t.Fatalf("answer %d within the key's rate: %d %s", i+1, r.status, r.body)
		}
		if i >= 3 && (r.status != http.StatusTooManyRequests || r.errorCode(t) != "rate_limited" || r.header.Get("Retry-After") == "" ||
			r.header.Get("Access-Control-Allow-Origin") != shop) {
			t.Errorf("answer %d over the key's rate of 3: %d %s %v", i+1, r.status, r.body, r.header)
		}
	}
	if n := e.c.Count(t, "WEB"); n != 3 {
		t.Errorf("%d answers stored, want the 3 within the rate", n)
	}

	e = start(t, collectortest.SQLite, widget.Config{ClientBurst: 2, ClientRate: 0.01}, 0)
	var last reply
	for range 3 {
		last = e.do(t, http.MethodGet, "/w/v1/survey?key="+e.key.Code, shop, nil, nil)
	}
	if last.status != http.StatusTooManyRequests || last.errorCode(t) != "rate_limited" || last.header.Get("Retry-After") == "" {
		t.Errorf("third request from one client with a burst of 2: %d %s", last.status, last.body)
	}
}

// Bodies: over 32 KiB is 413, not JSON 400, an unknown field 400, not JSON 415, an
// answer the rules refuse 400 with the rule's words; nothing is stored.
func TestBadBodies(t *testing.T) {
	e := start(t, collectortest.SQLite, widget.Config{ClientBurst: 1000, ClientRate: 100}, 1000)
	raw := func(ct, body string) reply {
		return e.do(t, http.MethodPost, "/w/v1/responses?key="+e.key.Code, shop, map[string]string{"Content-Type": ct}, strings.NewReader(body))
	}
	big := `{"id":"` + newID() + `","score":9,"locale":"en","comment":"` + strings.Repeat("x", 40<<10) + `"}`
	for _, tt := range []struct {
		name   string
		r      reply
		status int
		code   string
	}{
		{"oversized", raw("application/json", big), http.StatusRequestEntityTooLarge, "too_large"},
		{"not JSON", raw("application/json", "score=9"), http.StatusBadRequest, "bad_json"},
		{"trailing data", raw("application/json", `{"id":"x","score":9} {}`), http.StatusBadRequest, "bad_json"},
		{"unknown field", raw("application/json", `{"id":"`+newID()+`","score":9,"locale":"en","created_at":"2020-01-01T00:00:00Z"}`), http.StatusBadRequest, "bad_json"},
		{"a form", raw("application/x-www-form-urlencoded", "score=9"), http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"text", raw("text/plain", `{"id":"`+newID()+`","score":9,"locale":"en"}`), http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"score 11", e.post(t, e.key.Code, shop, widget.Answer{ID: newID(), Score: 11, Locale: "en"}), http.StatusBadRequest, "invalid"},
		{"not a UUIDv7", e.post(t, e.key.Code, shop, widget.Answer{ID: uuid.NewString(), Score: 9, Locale: "en"}), http.StatusBadRequest, "invalid"},
		{"no locale", e.post(t, e.key.Code, shop, widget.Answer{ID: newID(), Score: 9}), http.StatusBadRequest, "invalid"},
		{"unknown reason", e.post(t, e.key.Code, shop, widget.Answer{ID: newID(), Score: 9, Locale: "en", Reasons: []string{"nope"}}), http.StatusBadRequest, "invalid"},
		{"a question not asked here", e.post(t, e.key.Code, shop, widget.Answer{ID: newID(), Score: 9, Locale: "en",
			Answers: map[string][]string{"till": {"3"}}}), http.StatusBadRequest, "invalid"},
		{"an order id with a line break", e.post(t, e.key.Code, shop, widget.Answer{ID: newID(), Score: 9, Locale: "en", OrderID: "A\nB"}), http.StatusBadRequest, "invalid"},
		{"a segment in capitals", e.post(t, e.key.Code, shop, widget.Answer{ID: newID(), Score: 9, Locale: "en", Segment: "VIP"}), http.StatusBadRequest, "invalid"},
		{"an unknown outcome", e.post(t, e.key.Code, shop, widget.Answer{ID: newID(), Score: 9, Locale: "en", Outcome: "timed_out"}), http.StatusBadRequest, "invalid"},
	} {
		if tt.r.status != tt.status || tt.r.errorCode(t) != tt.code || tt.r.header.Get("Access-Control-Allow-Origin") != shop {
			t.Errorf("%s: %d %.200s, want %d %s", tt.name, tt.r.status, tt.r.body, tt.status, tt.code)
		}
	}
	if n := e.c.Count(t, "WEB"); n != 0 {
		t.Errorf("%d bad answers stored", n)
	}
}

// The score, then the follow-up with the same id: stored once under the key's channel
// and touchpoint with the order id and segment, retries change nothing (a late retry
// of the score does not undo the follow-up), the follow-up revises it, and after two
// hours it can no longer be changed. On SQLite and PostgreSQL.
func TestAnswerStoredOnceThenRevised(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := start(t, b, widget.Config{ClientBurst: 1000, ClientRate: 100}, 1000)
		ctx := context.Background()
		id := newID()
		score := widget.Answer{ID: id, Score: 9, Locale: "de", SurveyVersion: 2, OrderID: "A-1001", Segment: "returning"}
		want := []struct {
			a      widget.Answer
			status int
			result string
		}{
			{score, http.StatusCreated, "stored"},
			{score, http.StatusOK, "duplicate"},
		}
		followUp := score
		followUp.Outcome, followUp.Reasons, followUp.Comment = "submitted", []string{"staff"}, "  Quick and friendly.  "
		followUp.Answers = map[string][]string{"found": {"yes"}, "ease": {"5"}}
		want = append(want, []struct {
			a      widget.Answer
			status int
			result string
		}{{followUp, http.StatusOK, "revised"}, {followUp, http.StatusOK, "duplicate"}, {score, http.StatusOK, "duplicate"}}...)
		for i, w := range want {
			r := e.post(t, e.key.Code, shop, w.a)
			var got widget.Stored
			r.json(t, &got)
			if r.status != w.status || got.Result != w.result || got.ID != id {
				t.Fatalf("post %d: %d %s, want %d %s", i+1, r.status, r.body, w.status, w.result)
			}
		}
		if n := e.c.Count(t, "WEB"); n != 1 {
			t.Errorf("%d rows for one answer", n)
		}
		got, err := e.c.DB.ResponseOfLink(ctx, e.key.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Channel != "web" || got.Touchpoint != "checkout" || got.OrderID != "A-1001" || got.Segment != "returning" ||
			got.Score != 9 || got.Outcome != response.OutcomeSubmitted || got.Comment != "Quick and friendly." ||
			!slices.Equal(got.Reasons, []string{"staff"}) || !slices.Equal(got.Answers["found"], []string{"yes"}) ||
			!slices.Equal(got.Answers["ease"], []string{"5"}) || got.Locale != "de" {
			t.Errorf("stored: %+v", got)
		}
		// The export carries the order id and segment.
		var csv bytes.Buffer
		if _, err := e.c.DB.Export(ctx, storage.Filter{From: "2000-01-01", To: "2999-12-31"}, &csv); err != nil {
			t.Fatal(err)
		}
		if lines := strings.Split(strings.TrimSpace(csv.String()), "\n"); len(lines) != 2 || !strings.HasSuffix(lines[0], ",order_id,segment") ||
			!strings.HasSuffix(lines[1], ",A-1001,returning") {
			t.Errorf("export:\n%s", csv.String())
		}
		// Another key's answer with the same id is not this key's to change.
		other, err := e.c.DB.AddLink(ctx, storage.NewLink{Kind: "site", StoreID: "WEB", Channel: "web", Origins: []string{shop}})
		if err != nil {
			t.Fatal(err)
		}
		if r := e.post(t, other.Code, shop, widget.Answer{ID: id, Score: 0, Locale: "en"}); r.status != http.StatusConflict || r.errorCode(t) != "conflict" {
			t.Errorf("another key's id: %d %s", r.status, r.body)
		}
		e.now.Set(time.Now().Add(2*time.Hour + time.Minute))
		late := followUp
		late.Comment = "changed my mind"
		if r := e.post(t, e.key.Code, shop, late); r.status != http.StatusGone || r.errorCode(t) != "expired" {
			t.Errorf("a change after two hours: %d %s", r.status, r.body)
		}
	})
}

// The survey comes in the page's language (de-CH reads as de; a language the store does
// not offer falls back to its first), with the reasons per category and only the
// extra questions of the key's channel and touchpoint; a page of another touchpoint
// is told.
func TestSurveyForThePage(t *testing.T) {
	e := start(t, collectortest.SQLite, widget.Config{}, 0)
	get := func(q string) (widget.Survey, reply) {
		r := e.do(t, http.MethodGet, "/w/v1/survey?key="+e.key.Code+q, shop, nil, nil)
		var sv widget.Survey
		if r.status == http.StatusOK {
			r.json(t, &sv)
		}
		return sv, r
	}
	sv, r := get("&lang=de-CH&touchpoint=checkout")
	if r.status != http.StatusOK || sv.Lang != "de" || !strings.Contains(sv.Question, "Web shop") || !strings.HasPrefix(sv.Question, "Wie wahrscheinlich") ||
		sv.Texts["close"] != "Schließen" || sv.Touchpoint != "checkout" || r.header.Get("Content-Language") != "de" {
		t.Errorf("survey in de-CH: %d %+v", r.status, sv)
	}
	if keys := func() (out []string) {
		for _, q := range sv.Questions {
			out = append(out, q.Key)
		}
		return out
	}(); !slices.Equal(keys, []string{"found", "ease"}) || sv.Questions[0].Label != "Haben Sie gefunden, was Sie suchten?" ||
		sv.Questions[0].Options[1].Label != "Nein" || sv.Questions[1].Label != "How easy was paying?" {
		t.Errorf("extra questions: %+v", sv.Questions)
	}
	if sv.CategoryOf[6] != "detractor" || sv.CategoryOf[7] != "passive" || sv.CategoryOf[10] != "promoter" || len(sv.Reasons["detractor"]) == 0 {
		t.Errorf("categories and reasons: %v %v", sv.CategoryOf, sv.Reasons)
	}
	if sv, _ := get("&lang=fr"); sv.Lang != "en" {
		t.Errorf("a language the store does not offer: %s", sv.Lang)
	}
	if _, r := get("&touchpoint=delivery"); r.status != http.StatusConflict || r.errorCode(t) != "touchpoint_mismatch" {
		t.Errorf("a page of another touchpoint: %d %s", r.status, r.body)
	}
}

// The iframe: framed only by the key's origins (CSP frame-ancestors), a score and a
// follow-up by plain form posts, stored with the order id; an unknown key's page may be
// framed by no one.
func TestFrame(t *testing.T) {
	e := start(t, collectortest.SQLite, widget.Config{ClientBurst: 1000, ClientRate: 100}, 1000)
	r := e.do(t, http.MethodGet, "/w/frame?key="+e.key.Code+"&lang=de&order=A-2002&segment=new", "", nil, nil)
	if r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors "+shop+" http://localhost:3000") ||
		!strings.Contains(r.body, `<html lang="de">`) || !strings.Contains(r.body, `name="score" value="10"`) {
		t.Fatalf("frame: %d %v\n%s", r.status, r.header, r.body)
	}
	id := between(r.body, `name="id" value="`, `"`)
	form := url.Values{"key": {e.key.Code}, "id": {id}, "lang": {"de"}, "order": {"A-2002"}, "segment": {"new"}, "step": {"score"}, "score": {"3"}}
	postForm := func(f url.Values) reply {
		return e.do(t, http.MethodPost, "/w/frame", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(f.Encode()))
	}
	r = postForm(form)
	if r.status != http.StatusOK || !strings.Contains(r.body, `name="step" value="more"`) || !strings.Contains(r.body, `name="q.found"`) ||
		!strings.Contains(r.body, "Haben Sie gefunden") {
		t.Fatalf("frame score: %d\n%s", r.status, r.body)
	}
	form.Set("step", "more")
	form["reason"] = []string{"staff"}
	form.Set("q.found", "no")
	form.Set("comment", "Slow delivery")
	form.Set("action", "send")
	if r = postForm(form); r.status != http.StatusOK || !strings.Contains(r.body, "Vielen Dank") {
		t.Fatalf("frame follow-up: %d\n%s", r.status, r.body)
	}
	got, err := e.c.DB.ResponseOfLink(context.Background(), e.key.ID, id)
	if err != nil || got.Score != 3 || got.OrderID != "A-2002" || got.Segment != "new" || got.Comment != "Slow delivery" ||
		!slices.Equal(got.Answers["found"], []string{"no"}) || got.Touchpoint != "checkout" || got.Channel != "web" {
		t.Errorf("stored through the frame: %+v, %v", got, err)
	}
	form.Set("q.found", "maybe")
	if r = postForm(form); r.status != http.StatusBadRequest || !strings.Contains(r.body, `role="alert"`) || !strings.Contains(r.body, "Slow delivery") {
		t.Errorf("a refused follow-up comes back with what was typed: %d\n%s", r.status, r.body)
	}
	r = e.do(t, http.MethodGet, "/w/frame?key=zzzzzzzz", "", nil, nil)
	if r.status != http.StatusNotFound || !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("frame of an unknown key: %d %v", r.status, r.header)
	}
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}

// The script and its stylesheet, as the collector serves them, gzipped: the budget is
// 15 KB. The figure is logged for the docs.
func TestWidgetSize(t *testing.T) {
	e := start(t, collectortest.SQLite, widget.Config{}, 0)
	var raw, zipped int
	for _, name := range []string{"widget.js", "widget.css"} {
		r := e.do(t, http.MethodGet, "/w/"+name, "", nil, nil)
		if r.status != http.StatusOK || r.header.Get("Cross-Origin-Resource-Policy") != "cross-origin" || r.header.Get("ETag") == "" {
			t.Fatalf("%s: %d %v", name, r.status, r.header)
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write([]byte(r.body))
		zw.Close()
		raw, zipped = raw+len(r.body), zipped+buf.Len()
		t.Logf("%s: %d bytes, %d gzipped", name, len(r.body), buf.Len())
	}
	t.Logf("widget.js + widget.css: %d bytes, %d gzipped (budget 15360)", raw, zipped)
	if zipped > 15<<10 {
		t.Errorf("the widget is %d bytes gzipped, over the 15 KB budget", zipped)
	}
	if js := string(e.w.Script()); strings.Contains(js, "__CSS_VERSION__") || strings.Contains(js, "innerHTML") ||
		strings.Contains(js, "eval(") || strings.Contains(js, "http://") || strings.Contains(js, "https://") {
		t.Error("the script must carry its stylesheet's version, build no HTML from strings, and name no other host")
	}
}
