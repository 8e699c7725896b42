package httpapi_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"encoding/json"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// An item of a batch that the JSON decoder would misread (a missing or null score
// taken as 0, broken text rewritten to U+FFFD, an unknown field) or that breaks the
// rules is refused alone, by its id, with an error naming the field; the rest of the
// batch is stored and nothing of the refused item is.
func TestBatchRefusesMalformedItemsAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		rng := rand.New(rand.NewPCG(5, 6))
		stored := 0
		for _, tc := range response.InvalidJSONCorpus() {
			t.Run(tc.Name, func(t *testing.T) {
				good := collectortest.Response(rng, e.now.Add(-time.Minute))
				goodJSON, _ := json.Marshal(good)
				// The corpus's times are from March: move them to the test's day.
				bad := strings.ReplaceAll(tc.JSON, "2026-03-01", e.now.Format(time.DateOnly))
				body := `{"responses":[` + bad + `,` + string(goodJSON) + `]}`
				var res wire.UploadResult
				if code := e.post(body, &res); code != http.StatusOK {
					t.Fatalf("status %d", code)
				}
				stored++
				if len(res.Accepted) != 1 || res.Accepted[0] != good.ID {
					t.Errorf("accepted %v, want the good item %s alone", res.Accepted, good.ID)
				}
				wantID := "0195a3c4-7f00-7abc-8def-0123456789ab"
				if tc.Name == "not an object" {
					wantID = ""
				}
				if len(res.Rejected) != 1 || res.Rejected[0].ID != wantID || res.Rejected[0].Error != tc.Error {
					t.Errorf("rejected %+v, want %s: %q", res.Rejected, wantID, tc.Error)
				}
				if n, _ := e.db.CountResponses(context.Background(), "S042"); n != int64(stored) {
					t.Errorf("%d rows stored, want %d: the refused item was written", n, stored)
				}
			})
		}
		// Unknown fields of the batch itself still refuse it whole.
		if code := e.post(`{"responses":[],"respones":[]}`, nil); code != http.StatusBadRequest {
			t.Errorf("an unknown field of the batch: %d, want 400", code)
		}
	})
}

// post sends a raw JSON body to POST /v1/responses with the device token.
func (e *testEnv) post(body string, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/responses", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("decode reply: %v", err)
		}
	}
	return resp.StatusCode
}
