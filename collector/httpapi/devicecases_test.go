package httpapi_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// postCase sends a device's case change and decodes the reply into ok (200) or
// conflict (409); it returns the status.
func (e *testEnv) postCase(token, id string, ch wire.CaseChange, ok *wire.Case, conflict *wire.CaseConflict) int {
	e.t.Helper()
	b, _ := json.Marshal(ch)
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/device/cases/"+id, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out any
	switch {
	case resp.StatusCode == 200 && ok != nil:
		out = ok
	case resp.StatusCode == 409 && conflict != nil:
		out = conflict
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("decode the reply to a case change: %v", err)
		}
	}
	return resp.StatusCode
}

// openCases uploads detractors for a store through its device and returns their cases.
func (e *testEnv) openCases(token string, rng *rand.Rand, n int) {
	e.t.Helper()
	var batch []wire.Response
	for range n {
		r := collectortest.Response(rng, e.now.Add(-time.Hour))
		r.Score, r.Comment = 2, "nobody at the till"
		r.Contact, r.ContactConsent = "ana@example.com", true
		batch = append(batch, r)
	}
	if code := e.do("POST", "/v1/responses", token, wire.UploadRequest{Responses: batch}, nil); code != 200 {
		e.t.Fatalf("upload: %d", code)
	}
}

func TestDeviceCasesListsOwnStoresOpenCasesOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		e.c.AddStore(t, storage.Store{ID: "S043"})
		other := e.c.Enroll(t, "S043", "Till 1")
		hq := e.c.APIToken(t, "")
		rng := rand.New(rand.NewPCG(3, 4))
		e.openCases(e.token, rng, 3)
		e.openCases(other.Token, rng, 1)

		var list wire.CaseList
		if code := e.do("GET", "/v1/device/cases", e.token, nil, &list); code != 200 || len(list.Cases) != 3 {
			t.Fatalf("GET /v1/device/cases: %d, %d cases, want 3", code, len(list.Cases))
		}
		// A contacted case stays on the list; a resolved one leaves it.
		first, second := list.Cases[0], list.Cases[1]
		if code := e.do("POST", "/v1/cases/"+first.ID, hq, map[string]any{"status": "contacted"}, nil); code != 200 {
			t.Fatalf("contact: %d", code)
		}
		if code := e.do("POST", "/v1/cases/"+second.ID, hq, map[string]any{"status": "resolved"}, nil); code != 200 {
			t.Fatalf("resolve: %d", code)
		}
		list = wire.CaseList{}
		e.do("GET", "/v1/device/cases", e.token, nil, &list)
		if len(list.Cases) != 2 {
			t.Fatalf("%d cases after one was resolved, want 2", len(list.Cases))
		}
		for _, c := range list.Cases {
			if c.StoreID != "S042" || c.ID == second.ID {
				t.Errorf("listed %s of %s (%s)", c.ID, c.StoreID, c.Status)
			}
			if c.Response.Comment != "nobody at the till" || c.Response.Contact != "ana@example.com" || c.Version == 0 {
				t.Errorf("case %s lacks its comment, contact or version: %+v", c.ID, c)
			}
		}
		if code := e.do("GET", "/v1/device/cases", "", nil, nil); code != 401 {
			t.Errorf("without a token: %d, want 401", code)
		}
	})
}

func TestDeviceCaseChange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		e.c.AddStore(t, storage.Store{ID: "S043"})
		other := e.c.Enroll(t, "S043", "Till 1")
		hq := e.c.APIToken(t, "")
		rng := rand.New(rand.NewPCG(5, 6))
		e.openCases(e.token, rng, 1)
		e.openCases(other.Token, rng, 1)
		var own, theirs wire.CaseList
		e.do("GET", "/v1/device/cases", e.token, nil, &own)
		e.do("GET", "/v1/device/cases", other.Token, nil, &theirs)
		id, v := own.Cases[0].ID, own.Cases[0].Version

		tests := []struct {
			name string
			id   string
			ch   wire.CaseChange
			want int
		}{
			{"another store's case", theirs.Cases[0].ID, wire.CaseChange{ChangeID: "c-1", Status: "contacted", Version: 1}, 403},
			{"an unknown case", "nope", wire.CaseChange{ChangeID: "c-2", Status: "contacted", Version: 1}, 404},
			{"without a change id", id, wire.CaseChange{Status: "contacted", Version: v}, 400},
			{"without a version", id, wire.CaseChange{ChangeID: "c-3", Status: "contacted"}, 400},
			{"open → open", id, wire.CaseChange{ChangeID: "c-4", Status: "open", Version: v}, 409},
			{"open → contacted", id, wire.CaseChange{ChangeID: "c-5", Status: "contacted", Note: "left a message", Version: v}, 200},
			{"the same change again", id, wire.CaseChange{ChangeID: "c-5", Status: "contacted", Note: "left a message", Version: v}, 200},
		}
		for _, tt := range tests {
			if got := e.postCase(e.token, tt.id, tt.ch, nil, nil); got != tt.want {
				t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
			}
		}
		var c storage.Case
		e.get("/v1/cases/"+id, hq, &c)
		if len(c.History) != 2 || c.History[1].Actor != "kiosk Till 3" || c.History[1].Note != "left a message" || c.Version != v+1 {
			t.Fatalf("one change sent twice left history %+v at version %d, want one move by kiosk Till 3 at %d", c.History, c.Version, v+1)
		}

		// HQ resolves it; the kiosk's move made on the version it saw is refused, and the
		// reply carries the case as it now stands.
		if code := e.do("POST", "/v1/cases/"+id, hq, map[string]any{"status": "resolved", "note": "refund given"}, nil); code != 200 {
			t.Fatalf("HQ resolves: %d", code)
		}
		var conflict wire.CaseConflict
		if got := e.postCase(e.token, id, wire.CaseChange{ChangeID: "c-6", Status: "resolved", Note: "voucher", Version: v + 1}, nil, &conflict); got != 409 {
			t.Fatalf("stale version: %d, want 409", got)
		}
		if conflict.Error != "stale_version" || conflict.Case == nil || conflict.Case.Status != "resolved" || conflict.Case.Version != v+2 {
			t.Fatalf("409 body: %+v", conflict)
		}
	})
}

// A change whose first send was applied but whose id was never recorded (a crash in
// between) is recognised by its history line when sent again.
func TestDeviceCaseChangeResentAfterLostRecord(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		e := newEnv(t, b)
		e.openCases(e.token, rand.New(rand.NewPCG(7, 7)), 1)
		var list wire.CaseList
		e.do("GET", "/v1/device/cases", e.token, nil, &list)
		id, v := list.Cases[0].ID, list.Cases[0].Version
		ch := wire.CaseChange{ChangeID: "c-1", Status: "resolved", Note: "called back", Version: v}
		if got := e.postCase(e.token, id, ch, nil, nil); got != 200 {
			t.Fatalf("first send: %d", got)
		}
		if _, err := e.db.RawExec(t.Context(), `DELETE FROM case_changes`); err != nil {
			t.Fatal(err)
		}
		var c wire.Case
		if got := e.postCase(e.token, id, ch, &c, nil); got != 200 || c.Status != "resolved" || c.Version != v+1 {
			t.Fatalf("resend: %d %+v, want 200 with the case resolved at version %d", got, c, v+1)
		}
	})
}
