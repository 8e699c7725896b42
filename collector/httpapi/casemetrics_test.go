package httpapi_test

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// Two detractors' cases, one contacted after an hour, read 49 hours on: both are
// unfinished and overdue, one of the two judged was handled in time, and the median
// first contact is the one hour.
func TestMetricsShowCaseFigures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		rng := rand.New(rand.NewPCG(3, 4))
		var batch []wire.Response
		for range 2 {
			r := collectortest.Response(rng, e.now.Add(-time.Minute))
			r.Score = 1
			batch = append(batch, r)
		}
		if code := e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: batch}, nil); code != 200 {
			t.Fatalf("upload: %d", code)
		}
		var list caseList
		if code := e.get("/v1/cases", e.c.APIToken(t, ""), &list); code != 200 || len(list.Cases) != 2 {
			t.Fatalf("GET /v1/cases: %d, %d cases", code, len(list.Cases))
		}
		e.now = e.now.Add(time.Hour)
		if _, err := e.db.ChangeCase(t.Context(), list.Cases[0].ID, storage.CaseChange{Actor: "hq", To: followup.Contacted}); err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(48 * time.Hour)

		resp, err := http.Get(e.c.MetricsURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b2, _ := io.ReadAll(resp.Body)
		body := string(b2)
		for _, want := range []string{
			`npscollector_cases_open{store="S042"} 2`,
			`npscollector_cases_open{store=""} 2`,
			`npscollector_cases_overdue{store="S042"} 2`,
			`npscollector_cases_within_sla_ratio{store="S042"} 0.5`,
			`npscollector_cases_within_sla_ratio{store=""} 0.5`,
			`npscollector_case_first_contact_seconds_median{store="S042"} 3600`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
		if strings.Contains(body, "npscollector_case_resolution_seconds_median{") {
			t.Error("a median time to resolution is reported with no case resolved")
		}
		if t.Failed() {
			t.Logf("metrics:\n%s", body)
		}
	})
}
