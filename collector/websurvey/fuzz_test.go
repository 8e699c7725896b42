package websurvey_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/websurvey"
	"github.com/npskiosk/npskiosk/response"
)

// FuzzForms posts arbitrary forms to the score and follow-up pages, with a real token
// and answer id or mangled ones: whatever arrives, the reply is a page with a 2xx, 3xx or 4xx, never
// a 5xx or a panic, and nothing out of the rules is stored. go test runs the seeds; a
// longer search: go test -run '^$' -fuzz FuzzForms -fuzztime 1m ./collector/websurvey.
func FuzzForms(f *testing.F) {
	for _, seed := range []struct{ path, contentType, body string }{
		{"", "application/x-www-form-urlencoded", "score=7&lang=de"},
		{"", "application/x-www-form-urlencoded", "score=%ff%fe&lang=%00"},
		{"", "application/x-www-form-urlencoded", "score=99999999999999999999"},
		{"", "multipart/form-data; boundary=--", "--\r\n"},
		{"/more", "application/x-www-form-urlencoded", "r=TOKEN&action=submit&reason=staff&reason=staff&comment=%ed%a0%80"},
		{"/more", "application/x-www-form-urlencoded", "r=TOKEN&action=skip&score=-0"},
		{"/more", "application/x-www-form-urlencoded", "r=TOKEN.x&consent=yes&contact=" + strings.Repeat("%F0%9F%98%80", 300)},
		{"/more", "text/plain", "r=TOKEN"},
		{"/more", "application/x-www-form-urlencoded", "r=" + strings.Repeat(".", 300)},
		// The input rules of the hardening: a missing or empty score, text that is not
		// UTF-8 in every field, a reason three times.
		{"", "application/x-www-form-urlencoded", "lang=en"},
		{"", "application/x-www-form-urlencoded", "score=&lang=en"},
		{"", "application/x-www-form-urlencoded", "score=5&lang=%c3"},
		{"/more", "application/x-www-form-urlencoded", "r=TOKEN&action=submit&reason=staff&reason=staff&reason=staff"},
		{"/more", "application/x-www-form-urlencoded", "r=TOKEN&action=submit&comment=bad+%ff"},
		{"/more", "application/x-www-form-urlencoded", "r=TOKEN&action=submit&consent=yes&contact=a%c3%40b.c"},
		{"/more", "application/x-www-form-urlencoded", "r=TOKEN&action=submit&reason=staff%fe"},
		{"/more", "application/x-www-form-urlencoded", "r=TOKEN&action=skip&score="},
		// The score form's answer id: real, posted again with another score, mangled.
		{"", "application/x-www-form-urlencoded", "score=7&lang=en&a=ANSWER"},
		{"", "application/x-www-form-urlencoded", "score=2&a=ANSWER&a=ANSWER"},
		{"", "application/x-www-form-urlencoded", "score=7&a=ANSWER.x"},
		{"", "application/x-www-form-urlencoded", "score=7&a=.ANSWER"},
		{"", "application/x-www-form-urlencoded", "score=7&a=" + strings.Repeat("%ff", 100)},
	} {
		f.Add(seed.path, seed.contentType, seed.body)
	}
	for _, tc := range response.InvalidCorpus() {
		form := url.Values{"r": {"TOKEN"}, "action": {"submit"}, "comment": {tc.Response.Comment}, "contact": {tc.Response.Contact},
			"reason": tc.Response.Reasons, "score": {strconv.Itoa(tc.Response.Score)}}
		for key, values := range tc.Response.Answers {
			form["q_"+key] = values
		}
		f.Add("/more", "application/x-www-form-urlencoded", form.Encode())
	}
	c := collectortest.Start(f, collectortest.Options{})
	c.AddStore(f, storage.Store{ID: "S1", Name: "Fuzz", Timezone: "UTC"})
	s, err := websurvey.New(websurvey.Config{Service: c.Service, ClientRate: 1e9, ClientBurst: 1 << 30, LinkRate: 1e9, LinkBurst: 1 << 30})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Register(mux)
	link, err := c.DB.AddLink(context.Background(), storage.NewLink{StoreID: "S1", Channel: "qr"})
	if err != nil {
		f.Fatal(err)
	}
	// A real token, for the follow-up seeds to mangle.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/s/"+link.Code, strings.NewReader("score=5"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	mux.ServeHTTP(rec, req)
	_, token, _ := strings.Cut(rec.Header().Get("Location"), "r=")
	token, _, _ = strings.Cut(token, "&")
	if token == "" {
		f.Fatalf("no token: %d %s", rec.Code, rec.Body)
	}
	// A real answer id, from the score page's form.
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/s/"+link.Code, nil))
	m := answerField.FindStringSubmatch(rec.Body.String())
	if m == nil {
		f.Fatalf("no answer id on the score page: %d %s", rec.Code, rec.Body)
	}
	answer := m[1]
	f.Fuzz(func(t *testing.T, path, contentType, body string) {
		if path != "/more" {
			path = ""
		}
		body = strings.NewReplacer("TOKEN", token, "ANSWER", url.QueryEscape(answer)).Replace(body)
		req := httptest.NewRequest(http.MethodPost, "/s/"+link.Code+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code < 200 {
			t.Fatalf("%s %q: status %d: %s", path, body, rec.Code, rec.Body.String())
		}
		if rec.Code != http.StatusSeeOther && !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("%s %q: a %d that is not a page", path, body, rec.Code)
		}
		var bad int
		if err := c.DB.RawQueryRow(context.Background(), `SELECT COUNT(*) FROM responses WHERE score NOT BETWEEN 0 AND 10 OR channel <> 'qr' OR length(comment) > 4000`).Scan(&bad); err != nil || bad != 0 {
			t.Fatalf("rows out of the rules stored: %d (%v)", bad, err)
		}
	})
}
