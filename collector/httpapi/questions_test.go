package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
)

// GET /v1/reports/questions gives the questions report of the hand-counted set as JSON,
// within what the token may read, with the texts per category asked for.
func TestQuestionsReportOverTheAPI(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		c := collectortest.Start(t, collectortest.Options{Backend: b})
		collectortest.SeedQuestions(t, c)
		hq, q2 := c.APIToken(t, ""), c.APIToken(t, "Q2")
		get := func(path, token string) (int, collector.QuestionsReport, map[string]any) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, c.URL+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var raw map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(raw)
			var rep collector.QuestionsReport
			json.Unmarshal(b, &rep)
			return resp.StatusCode, rep, raw
		}

		code, rep, raw := get("/v1/reports/questions?texts=1", hq)
		if code != 200 || len(rep.Questions) != 4 {
			t.Fatalf("%d, %d questions: %v", code, len(rep.Questions), raw)
		}
		found, speed, improve := rep.Questions[0], rep.Questions[2], rep.Questions[3]
		if found.Key != "found" || found.Answered != (collector.CategoryCounts{Total: 6, Promoters: 3, Passives: 1, Detractors: 2}) ||
			found.Values[1].Key != "partly" || found.Values[1].CategoryCounts != (collector.CategoryCounts{Total: 2, Promoters: 1, Passives: 1}) ||
			found.Labels["de"] != "Did you find everything? (de)" {
			t.Errorf("found: %+v", found)
		}
		if m := speed.Means; m == nil || *m.All != 3 || m.Passives == nil || *m.Passives != 3 || speed.Values[0].Detractors != 2 {
			t.Errorf("speed: %+v", speed)
		}
		if improve.Texts == nil || len(improve.Texts.Detractors) != 1 || improve.Texts.Detractors[0].Text != "Queue too long <b>" ||
			improve.Texts.Detractors[0].StoreID != "Q1" || improve.Texts.Detractors[0].Channel != "qr" || improve.Texts.Detractors[0].Touchpoint != "checkout" {
			t.Errorf("improve: %+v", improve.Texts)
		}
		if f, ok := raw["filter"].(map[string]any); !ok || f["From"] == "" {
			t.Errorf("the reply lacks its filter: %v", raw)
		}

		// A store's token reads its store only.
		if code, rep, _ := get("/v1/reports/questions", q2); code != 200 || rep.Questions[0].Answered.Total != 1 || rep.Questions[2].Answered.Total != 1 {
			t.Errorf("Q2's token: %d %+v", code, rep)
		}
		if code, _, _ := get("/v1/reports/questions?store=Q1", q2); code != http.StatusForbidden {
			t.Errorf("Q2's token asking for Q1: %d, want 403", code)
		}
		for path, want := range map[string]int{
			"/v1/reports/questions?texts=51":       400,
			"/v1/reports/questions?texts=some":     400,
			"/v1/reports/questions?channel=QR":     400,
			"/v1/reports/questions?from=yesterday": 400,
		} {
			if code, _, _ := get(path, hq); code != want {
				t.Errorf("%s: %d, want %d", path, code, want)
			}
		}
		if code, _, _ := get("/v1/reports/questions", ""); code != http.StatusUnauthorized {
			t.Errorf("without a token: %d, want 401", code)
		}
	})
}
