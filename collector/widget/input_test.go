package widget_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/widget"
	"github.com/npskiosk/npskiosk/response"
)

// An answer the JSON decoder would misread is refused with a 400 naming the field: a
// missing or null score (else stored as 0, a detractor), text that is not UTF-8 (else
// rewritten to U+FFFD), a reason given twice; nothing is stored.
func TestAnswerRefusesWhatTheDecoderWouldMisread(t *testing.T) {
	e := start(t, collectortest.SQLite, widget.Config{ClientBurst: 1000, ClientRate: 100}, 1000)
	for _, tc := range []struct{ name, body, detail string }{
		{"score missing", `{"id":"ID","locale":"en"}`, "invalid input: score is missing"},
		{"score null", `{"id":"ID","score":null,"locale":"en"}`, "invalid input: score is null"},
		{"comment not UTF-8", `{"id":"ID","score":3,"locale":"en","outcome":"submitted","comment":"bad ` + "\xff" + `"}`,
			"invalid input: comment is not valid UTF-8"},
		{"comment half a surrogate pair", `{"id":"ID","score":3,"locale":"en","outcome":"submitted","comment":"\udc00"}`,
			"invalid input: comment is not valid UTF-8"},
		{"order id not UTF-8", `{"id":"ID","score":3,"locale":"en","order_id":"` + "A\xc3" + `"}`, "invalid input: order_id is not valid UTF-8"},
		{"reason three times", `{"id":"ID","score":3,"locale":"en","outcome":"submitted","reasons":["staff","staff","staff"]}`,
			`invalid input: reason "staff" given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/w/v1/responses?key="+e.key.Code, shop, map[string]string{"Content-Type": "application/json"},
				strings.NewReader(strings.Replace(tc.body, "ID", newID(), 1)))
			var got struct{ Error, Detail string }
			r.json(t, &got)
			if r.status != http.StatusBadRequest || !strings.HasSuffix(got.Detail, tc.detail) {
				t.Errorf("%d %s, want 400 with %q", r.status, r.body, tc.detail)
			}
		})
	}
	if n := e.c.Count(t, "WEB"); n != 0 {
		t.Errorf("%d refused answers stored", n)
	}
}

// FuzzAnswer posts arbitrary bodies to POST /w/v1/responses, seeded with the domain's
// invalid JSON corpus and the widget's own shapes: whatever arrives, the reply is a 2xx
// or a 4xx, never a 5xx or a panic, and nothing out of the rules is stored. A longer
// search: go test -run '^$' -fuzz FuzzAnswer -fuzztime 30s ./collector/widget.
func FuzzAnswer(f *testing.F) {
	for _, tc := range response.InvalidJSONCorpus() {
		f.Add(tc.JSON)
	}
	for _, tc := range response.InvalidCorpus() {
		b, _ := json.Marshal(widget.Answer{ID: tc.Response.ID, Score: tc.Response.Score, Locale: tc.Response.Locale,
			Reasons: tc.Response.Reasons, Comment: tc.Response.Comment, Outcome: string(tc.Response.Outcome),
			Answers: tc.Response.Answers, OrderID: tc.Response.OrderID, Segment: tc.Response.Segment})
		f.Add(string(b))
	}
	for _, s := range []string{
		`{"id":"0195a3c4-7f00-7abc-8def-0123456789ab","score":9,"locale":"en"}`,
		`{"id":"0195a3c4-7f00-7abc-8def-0123456789ab","score":9,"locale":"en","outcome":"submitted","reasons":["staff"],"comment":"gr\u00e9at"}`,
		`{"id":"0195a3c4-7f00-7abc-8def-0123456789ab","locale":"en"}`,
		`{"id":"0195a3c4-7f00-7abc-8def-0123456789ab","score":null,"locale":"en"}`,
		`{"id":"0195a3c4-7f00-7abc-8def-0123456789ab","score":9,"score":null,"locale":"en"}`,
		`{"id":"0195a3c4-7f00-7abc-8def-0123456789ab","score":1e400,"locale":"en"}`,
		`{"id":"0195a3c4-7f00-7abc-8def-0123456789ab","score":9,"locale":"en","comment":"\ud800\udc00\ud800"}`,
		`{"id":"0195a3c4-7f00-7abc-8def-0123456789ab","score":9,"locale":"en","answers":{"found":["yes","yes"]}}`,
		`null`, ``, `{`, `[]`,
	} {
		f.Add(s)
	}
	e := start(f, collectortest.SQLite, widget.Config{ClientBurst: 1 << 30, ClientRate: 1e9}, 100000)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/w/v1/responses?key="+e.key.Code, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", shop)
		rec := httptest.NewRecorder()
		e.c.API.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code < 200 {
			t.Fatalf("body %q: status %d: %s", body, rec.Code, rec.Body.String())
		}
		if !utf8.ValidString(body) && rec.Code < 300 {
			t.Fatalf("body %q is not UTF-8 but was taken: %d %s", body, rec.Code, rec.Body.String())
		}
		var bad int
		if err := e.c.DB.RawQueryRow(context.Background(), `SELECT COUNT(*) FROM responses WHERE score NOT BETWEEN 0 AND 10
			OR channel <> 'web'`).Scan(&bad); err != nil || bad != 0 {
			t.Fatalf("body %q: rows out of the rules stored: %d (%v)", body, bad, err)
		}
	})
}
