package appapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// An item the JSON decoder would misread (a missing or null score taken as 0, broken
// text rewritten to U+FFFD, an unknown field) or that breaks the rules is rejected
// alone, by its id, with an error naming the field; the rest of the request is stored
// and nothing of the refused item is.
func TestAppRefusesMalformedItemsAlone(t *testing.T) {
	g := newRig(t, collectortest.SQLite)
	stored := 0
	for i, tc := range response.InvalidJSONCorpus() {
		t.Run(tc.Name, func(t *testing.T) {
			good, _ := json.Marshal(g.answer(9))
			rep := g.post(t, call{client: fmt.Sprintf("10.%d.0.1", i+1),
				body: []byte(`{"responses":[` + tc.JSON + `,` + string(good) + `]}`)})
			res := rep.result(t)
			stored++
			wantID := "0195a3c4-7f00-7abc-8def-0123456789ab"
			if tc.Name == "not an object" {
				wantID = ""
			}
			if len(res.Accepted) != 1 || len(res.Rejected) != 1 || res.Rejected[0].ID != wantID || res.Rejected[0].Error != tc.Error {
				t.Errorf("accepted %v, rejected %+v; want the good one accepted and %s rejected: %q", res.Accepted, res.Rejected, wantID, tc.Error)
			}
			if n := g.c.Count(t, "S1"); n != int64(stored) {
				t.Errorf("%d rows stored, want %d: the refused item was written", n, stored)
			}
		})
	}
}

// FuzzAppResponses posts arbitrary bodies to POST /v1/app/responses, seeded with the
// domain's invalid corpora: whatever arrives, the reply is a 2xx or a 4xx, never a 5xx
// or a panic, a body that is not UTF-8 stores nothing, and nothing out of the rules is
// stored. A longer search: go test -run '^$' -fuzz FuzzAppResponses -fuzztime 30s
// ./collector/appapi.
func FuzzAppResponses(f *testing.F) {
	for _, tc := range response.InvalidJSONCorpus() {
		f.Add(`{"responses":[` + tc.JSON + `]}`)
	}
	for _, tc := range response.InvalidCorpus() {
		b, _ := json.Marshal(tc.Response)
		f.Add(`{"responses":[` + string(b) + `]}`)
	}
	for _, s := range []string{`{"responses":[]}`, `{"responses":null}`, `{"responses":[{}],"extra":1}`, `[1]`, ``, `{`,
		`{"responses":[{"id":"0195a3c4-7f00-7abc-8def-0123456789ab","score":9,"score":null}]}`} {
		f.Add(s)
	}
	g := newRig(f, collectortest.SQLite)
	key, err := g.c.DB.AddLink(context.Background(), storage.NewLink{Kind: storage.LinkKindApp, StoreID: "S1", Channel: "app",
		Touchpoint: "in-app", RatePerMinute: 100000})
	if err != nil {
		f.Fatal(err)
	}
	counted := 0
	f.Fuzz(func(t *testing.T, body string) {
		counted++
		req := httptest.NewRequest(http.MethodPost, "/v1/app/responses", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "127.0.0.1:40000" // a trusted proxy: each call from its own client network
		req.Header.Set("Authorization", "Bearer "+key.Code)
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.1", counted>>8&255, counted&255))
		before := g.c.Count(t, "S1")
		rec := httptest.NewRecorder()
		g.c.API.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code < 200 {
			t.Fatalf("body %q: status %d: %s", body, rec.Code, rec.Body.String())
		}
		if !utf8.ValidString(body) && g.c.Count(t, "S1") != before {
			t.Fatalf("body %q is not UTF-8 but something of it was stored: %s", body, rec.Body.String())
		}
		var bad int
		if err := g.c.DB.RawQueryRow(context.Background(), `SELECT COUNT(*) FROM responses WHERE score NOT BETWEEN 0 AND 10 OR channel <> 'app'`).Scan(&bad); err != nil || bad != 0 {
			t.Fatalf("body %q: rows out of the rules stored: %d (%v)", body, bad, err)
		}
	})
}
