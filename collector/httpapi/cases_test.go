package httpapi_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/sync/wire"
)

type caseList struct{ Cases []storage.Case }

// A detractor and a shopper who asked to be contacted each open one case at ingest; a
// passive and a suspect tap open none; a retried upload opens no second case.
func TestIngestOpensOneCasePerMatchingResponse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		hq := e.c.APIToken(t, "")
		rng := rand.New(rand.NewPCG(7, 8))
		detractor := collectortest.Response(rng, e.now.Add(-time.Hour))
		detractor.Score, detractor.Comment = 3, "queue far too long"
		wantsCall := collectortest.Response(rng, e.now.Add(-time.Hour))
		wantsCall.Score, wantsCall.Contact, wantsCall.ContactConsent = 9, "ana@example.com", true
		passive := collectortest.Response(rng, e.now.Add(-time.Hour))
		passive.Score = 8
		suspect := collectortest.Response(rng, e.now.Add(-time.Hour))
		suspect.Score, suspect.Suspect = 0, true
		batch := []wire.Response{detractor, wantsCall, passive, suspect}
		for range 3 {
			if code := e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: batch}, nil); code != 200 {
				t.Fatalf("upload: %d", code)
			}
		}
		var list caseList
		if code := e.get("/v1/cases", hq, &list); code != 200 || len(list.Cases) != 2 {
			t.Fatalf("GET /v1/cases: %d, %d cases, want 2: %+v", code, len(list.Cases), list.Cases)
		}
		byResponse := map[string]storage.Case{}
		for _, c := range list.Cases {
			byResponse[c.Response.ID] = c
		}
		d, ok := byResponse[detractor.ID]
		if !ok || d.Status != followup.Open || d.Response.Comment != detractor.Comment || d.StoreID != "S042" {
			t.Errorf("the detractor's case: %+v", d)
		}
		if c := byResponse[wantsCall.ID]; c.Response.Contact != "ana@example.com" {
			t.Errorf("the contact of a shopper who agreed is missing: %+v", c)
		}
		// 48 hours on the store's clock (Berlin) from the upload.
		if want := e.now.Add(48 * time.Hour); !d.DueAt.Equal(want) {
			t.Errorf("due %s, want %s", d.DueAt, want)
		}
	})
}

func TestCaseTransitionsAndAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		e.c.AddStore(t, storage.Store{ID: "S043"})
		hq := e.c.APIToken(t, "")
		own := e.c.APIToken(t, "S042")
		other := e.c.APIToken(t, "S043")
		r := collectortest.Response(rand.New(rand.NewPCG(9, 9)), e.now.Add(-time.Hour))
		r.Score = 2
		if code := e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: []wire.Response{r}}, nil); code != 200 {
			t.Fatalf("upload: %d", code)
		}
		var list caseList
		e.get("/v1/cases?store=S042&status=open", own, &list)
		if len(list.Cases) != 1 {
			t.Fatalf("%d open cases for S042, want 1", len(list.Cases))
		}
		id := list.Cases[0].ID
		path := "/v1/cases/" + id
		steps := []struct {
			name  string
			token string
			body  map[string]any
			want  int
		}{
			{"another store's token", other, map[string]any{"status": "contacted"}, 403},
			{"open → contacted", own, map[string]any{"status": "contacted", "note": "called, left a message"}, 200},
			{"contacted → open", own, map[string]any{"status": "open"}, 409},
			{"an unknown status", own, map[string]any{"status": "escalated"}, 409},
			{"a stale version", hq, map[string]any{"status": "resolved", "version": 1}, 409},
			{"assign", hq, map[string]any{"owner": "Ana (store manager)"}, 200},
			{"closed without a note", own, map[string]any{"status": "closed-no-action"}, 409},
			{"contacted → resolved", own, map[string]any{"status": "resolved", "note": "voucher sent"}, 200},
			{"resolved → contacted", hq, map[string]any{"status": "contacted"}, 409},
			{"an unknown field", hq, map[string]any{"state": "open"}, 400},
		}
		for _, s := range steps {
			if got := e.do("POST", path, s.token, s.body, nil); got != s.want {
				t.Errorf("%s: %d, want %d", s.name, got, s.want)
			}
		}
		if got := e.do("POST", "/v1/cases/nope", hq, map[string]any{"status": "contacted"}, nil); got != 404 {
			t.Errorf("unknown case: %d, want 404", got)
		}
		if got := e.get(path, other, nil); got != 403 {
			t.Errorf("another store's case: %d, want 403", got)
		}
		if got := e.get("/v1/cases?store=S042", other, nil); got != 403 {
			t.Errorf("another store's list: %d, want 403", got)
		}
		var c storage.Case
		e.get(path, hq, &c)
		if c.Status != followup.Resolved || c.Owner != "Ana (store manager)" || len(c.History) != 4 {
			t.Fatalf("case after the steps: %+v", c)
		}
		want := []struct{ actor, action, note string }{
			{"collector", "opened", ""}, {"test", "moved", "called, left a message"}, {"test", "assigned", ""}, {"test", "moved", "voucher sent"},
		}
		for i, w := range want {
			h := c.History[i]
			if h.Actor != w.actor || h.Action != w.action || h.Note != w.note {
				t.Errorf("history %d: %+v, want %+v", i, h, w)
			}
		}
	})
}

func TestFollowUpRuleOfStoreThenChain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(1, 1))
		upload := func(score int, reasons ...string) {
			t.Helper()
			r := collectortest.Response(rng, e.now.Add(-time.Minute))
			r.Score, r.Reasons = score, reasons
			if code := e.do("POST", "/v1/responses", e.token, wire.UploadRequest{Responses: []wire.Response{r}}, nil); code != 200 {
				t.Fatalf("upload: %d", code)
			}
		}
		count := func() int {
			t.Helper()
			cs, err := e.db.Cases(ctx, storage.CaseFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return len(cs)
		}
		// The chain follows up 0–4 and any mention of cleanliness; S042 only 0–2, in 24 h.
		if err := e.db.SetFollowUpRule(ctx, "", followup.Rule{Scores: []int{0, 1, 2, 3, 4}, Reasons: []string{"cleanliness"}}); err != nil {
			t.Fatal(err)
		}
		upload(5)
		upload(9, "cleanliness")
		if n := count(); n != 1 {
			t.Fatalf("chain rule: %d cases, want 1 (the cleanliness mention)", n)
		}
		if err := e.db.SetFollowUpRule(ctx, "S042", followup.Rule{Scores: []int{0, 1, 2}, SLAHours: 24}); err != nil {
			t.Fatal(err)
		}
		upload(4)
		upload(1)
		cs, _ := e.db.Cases(ctx, storage.CaseFilter{})
		if len(cs) != 2 {
			t.Fatalf("store rule: %d cases, want 2", len(cs))
		}
		for _, c := range cs {
			if c.Response.Score == 1 && !c.DueAt.Equal(e.now.Add(24*time.Hour)) {
				t.Errorf("store rule SLA: due %s, want 24 h after %s", c.DueAt, e.now)
			}
		}
		for _, bad := range []followup.Rule{{Scores: []int{11}}, {SLAHours: -1}} {
			if err := e.db.SetFollowUpRule(ctx, "S042", bad); err == nil {
				t.Errorf("rule %+v accepted", bad)
			}
		}
		if err := e.db.SetFollowUpRule(ctx, "S999", followup.Rule{}); err == nil {
			t.Error("a rule for an unknown store was accepted")
		}
	})
}
