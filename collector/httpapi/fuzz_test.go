package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
)

// FuzzIngest posts arbitrary bodies to POST /v1/responses: whatever arrives, the reply
// is a clear 2xx or 4xx, never a 5xx or a panic, and nothing invalid is stored.
func FuzzIngest(f *testing.F) {
	seeds := []string{
		`{"responses":[]}`,
		`{"responses":[{"id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","score":9,"reasons":["staff"],"locale":"en","survey_version":1,"created_at":"2026-11-20T10:00:00Z","completed_at":"2026-11-20T10:00:05Z","outcome":"submitted"}]}`,
		`{"responses":[{"id":"x","score":11}]}`,
		`{"responses":[{"id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","score":-1,"comment":"\ud800"}]}`,
		`{"responses":null}`,
		`{"responses":[{}],"extra":1}`,
		`[1,2,3]`,
		`{"responses":[{"score":1e400}]}`,
		``,
		`{`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	// The domain's corpora: each item breaks one rule, and must be rejected alone.
	// Each with an id of its own, so that none is refused only as a conflict.
	for i, tc := range response.InvalidJSONCorpus() {
		f.Add(`{"responses":[` + strings.Replace(tc.JSON, "0123456789ab", fmt.Sprintf("0123456789%02x", i), 1) + `]}`)
	}
	for _, tc := range response.InvalidCorpus() {
		b, _ := json.Marshal(tc.Response)
		f.Add(`{"responses":[` + string(b) + `]}`)
	}
	c := collectortest.Start(f, collectortest.Options{
		Now:        func() time.Time { return time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC) },
		DeviceRate: 1e9, DeviceBurst: 1 << 30})
	c.AddStore(f, storage.Store{ID: "S1", Name: "Fuzz"})
	en := c.Enroll(f, "S1", "Till")
	srv := c.API
	// replaced counts the stored responses with U+FFFD in their text.
	replaced := func(t *testing.T) (n int) {
		if err := c.DB.RawQueryRow(context.Background(), `SELECT COUNT(*) FROM responses
			WHERE instr(comment || reasons || contact || locale || coalesce(answers, ''), char(65533)) > 0`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	f.Fuzz(func(t *testing.T, body string) {
		rewritten := replaced(t)
		req := httptest.NewRequest(http.MethodPost, "/v1/responses", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+en.Token)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("body %q: status %d: %s", body, rec.Code, rec.Body.String())
		}
		if n := replaced(t); n != rewritten && !strings.Contains(body, "\uFFFD") && !strings.Contains(strings.ToLower(body), `\ufffd`) {
			t.Fatalf("body %q: text stored with U+FFFD the body did not have: the decoder rewrote it", body)
		}
		var bad int
		if err := c.DB.RawQueryRow(context.Background(), `SELECT COUNT(*) FROM responses WHERE score NOT BETWEEN 0 AND 10`).Scan(&bad); err != nil || bad != 0 {
			t.Fatalf("invalid rows stored: %d (%v)", bad, err)
		}
	})
}
