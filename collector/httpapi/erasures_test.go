package httpapi_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// POST /v1/erasures: no token or an unknown one is 401, a store's token 403, a bad body
// or no contact 400, each as JSON; a chain token's dry run counts and changes nothing,
// and its erasure clears the contact and comment, keeps the score and names its audit
// record.
func TestErasuresEndpoint(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		c.AddStore(t, storage.Store{ID: "S1"})
		dev := c.Enroll(t, "S1", "Till 1")
		r := collectortest.Response(rand.New(rand.NewPCG(1, 2)), time.Now().Add(-time.Minute))
		r.Score, r.Comment, r.Contact, r.ContactConsent = 3, "rude at the till", "ana@example.com", true
		if _, err := c.Service.IngestFromDevice(ctx, dev.DeviceID, []wire.Response{r}); err != nil {
			t.Fatal(err)
		}
		post := func(token, body string) (int, map[string]any) {
			t.Helper()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/v1/erasures", strings.NewReader(body))
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d reply is not JSON: %v", resp.StatusCode, err)
			}
			return resp.StatusCode, out
		}
		chain, store := c.APIToken(t, "", storage.ScopeAdmin), c.APIToken(t, "S1", storage.ScopeAdmin)
		reports := c.APIToken(t, "")
		for _, tc := range []struct {
			name, token, body string
			status            int
			code              string
		}{
			{"no token", "", `{"contact":"ana@example.com"}`, 401, "unauthorized"},
			{"unknown token", "nope", `{"contact":"ana@example.com"}`, 401, "unauthorized"},
			{"a store's token", store, `{"contact":"ana@example.com"}`, 403, "forbidden"},
			{"a token without admin", reports, `{"contact":"ana@example.com"}`, 403, "insufficient_scope"},
			{"no contact", chain, `{"dry_run":true}`, 400, "invalid"},
			{"unknown field", chain, `{"contact":"ana@example.com","everything":true}`, 400, "bad_json"},
		} {
			status, out := post(tc.token, tc.body)
			if status != tc.status || out["error"] != tc.code || out["detail"] == "" {
				t.Errorf("%s: %d %v, want %d %s with a detail", tc.name, status, out, tc.status, tc.code)
			}
		}
		contact := func() (comment string, score int) {
			if err := c.DB.RawQueryRow(ctx, `SELECT comment, score FROM responses WHERE id = ?`, r.ID).Scan(&comment, &score); err != nil {
				t.Fatal(err)
			}
			return comment, score
		}
		status, out := post(chain, `{"contact":" ANA@example.com","dry_run":true}`)
		if changed, _ := out["changed"].(map[string]any); status != 200 || out["dry_run"] != true || changed["responses"] != 1.0 || out["audit_id"] != nil {
			t.Errorf("dry run: %d %v", status, out)
		}
		if comment, _ := contact(); comment == "" {
			t.Error("the dry run cleared the comment")
		}
		status, out = post(chain, `{"contact":"ana@example.com"}`)
		if changed, _ := out["changed"].(map[string]any); status != 200 || out["dry_run"] != false || changed["responses"] != 1.0 ||
			changed["kiosk_scrubs"] != 1.0 || out["audit_id"] == "" {
			t.Errorf("erasure: %d %v", status, out)
		}
		if comment, score := contact(); comment != "" || score != 3 {
			t.Errorf("after the erasure: comment %q, score %d", comment, score)
		}
		var actor string
		if err := c.DB.RawQueryRow(ctx, `SELECT actor FROM erasures WHERE id = ?`, out["audit_id"]).Scan(&actor); err != nil || !strings.HasPrefix(actor, "token:") {
			t.Errorf("audit actor %q, %v", actor, err)
		}
	})
}
