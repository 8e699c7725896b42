package sync

import (
	"context"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/contactseal"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/store"
)

// openCase has a detractor who left a sealed contact upload through the kiosk, which
// opens a case at the collector, and pulls it into the kiosk's cache.
func (r *rig) openCase(w *Worker) store.Case {
	r.t.Helper()
	ctx := context.Background()
	resp := collectortest.Response(rand.New(rand.NewPCG(1, 2)), time.Now().Add(-time.Minute))
	sealed, err := contactseal.Seal(collectortest.ContactKeys(r.t).Current(), resp.ID, "ana@example.com")
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Score, resp.Comment, resp.SealedContact, resp.ContactConsent = 1, "cold coffee", sealed, true
	if err := r.kiosk.Insert(ctx, resp); err != nil {
		r.t.Fatal(err)
	}
	if _, err := w.Drain(ctx); err != nil {
		r.t.Fatal(err)
	}
	if err := w.SyncCases(ctx); err != nil {
		r.t.Fatal(err)
	}
	cs, err := r.kiosk.Cases(ctx)
	if err != nil || len(cs) != 1 {
		r.t.Fatalf("cached cases: %+v, %v; want the detractor's", cs, err)
	}
	if c := cs[0]; c.Comment != "cold coffee" || c.Status != followup.Open {
		r.t.Fatalf("cached case: %+v", c)
	}
	return cs[0]
}

func (r *rig) collectorCase(id string) storage.Case {
	r.t.Helper()
	c, err := r.collector.Case(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// The manager resolves a case while the collector is out of reach; the move waits in
// the outbox and reaches the collector, once, when it is back.
func TestCaseResolvedOfflineReachesTheCollector(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	w := r.worker(func(c *Config) { c.RetryMax = 1 })
	c := r.openCase(w)

	r.setIntercept(func(w http.ResponseWriter, req *http.Request) bool {
		panic(http.ErrAbortHandler) // the connection drops, as when the network is down
	})
	if _, err := r.kiosk.QueueCaseChange(ctx, c.ID, followup.Resolved, "called her, voucher sent"); err != nil {
		t.Fatal(err)
	}
	if cs, _ := r.kiosk.Cases(ctx); cs[0].Status != followup.Resolved || !cs[0].Pending {
		t.Fatalf("offline, the case shows %+v; want resolved and pending", cs[0])
	}
	if err := w.SyncCases(ctx); err == nil {
		t.Fatal("SyncCases with the collector offline succeeded")
	}
	if p, _ := r.kiosk.PendingCaseChanges(ctx); len(p) != 1 {
		t.Fatalf("%d queued changes after a failed round, want 1", len(p))
	}

	// Back online: the first answer is lost on the way, so the move is sent twice.
	lost := true
	r.setIntercept(func(rw http.ResponseWriter, req *http.Request) bool {
		if req.Method == http.MethodPost && lost {
			lost = false
			r.api.ServeHTTP(httptestDiscard{rw.Header()}, req)
			panic(http.ErrAbortHandler)
		}
		return false
	})
	for range 2 {
		w.SyncCases(ctx)
	}
	if p, _ := r.kiosk.PendingCaseChanges(ctx); len(p) != 0 {
		t.Fatalf("%d changes still queued after reconnecting", len(p))
	}
	got := r.collectorCase(c.ID)
	moves := 0
	for _, e := range got.History {
		if e.Action == "moved" {
			moves++
		}
	}
	last := got.History[len(got.History)-1]
	if got.Status != followup.Resolved || moves != 1 || last.Note != "called her, voucher sent" || last.Actor != "kiosk Till 1" {
		t.Fatalf("at the collector: %s, history %+v; want resolved once by kiosk Till 1 with the note", got.Status, got.History)
	}
	if cs, _ := r.kiosk.Cases(ctx); len(cs) != 0 {
		t.Fatalf("a resolved case is still cached after the pull: %+v", cs)
	}
}

// HQ moves the case first: the kiosk's move is refused, the manager is told what HQ did,
// the note stays on the kiosk and the case shows as HQ left it.
func TestCaseChangedAtHQFirstIsRejectedAndTold(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	w := r.worker(nil)
	c := r.openCase(w)
	if _, err := r.kiosk.QueueCaseChange(ctx, c.ID, followup.Contacted, "left a voicemail"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.collector.ChangeCase(ctx, c.ID, storage.CaseChange{Actor: "hq", To: followup.Resolved, Note: "refunded"}); err != nil {
		t.Fatal(err)
	}
	if err := w.SyncCases(ctx); err != nil {
		t.Fatalf("a refused move failed the round: %v", err)
	}
	rejected, err := r.kiosk.RejectedCaseChanges(ctx)
	if err != nil || len(rejected) != 1 {
		t.Fatalf("rejected: %+v, %v", rejected, err)
	}
	if rj := rejected[0]; rj.Note != "left a voicemail" || rj.RejectedStatus != followup.Resolved || rj.RejectedReason == "" {
		t.Fatalf("the rejection: %+v; want the note kept and HQ's status", rj)
	}
	got := r.collectorCase(c.ID)
	for _, e := range got.History {
		if e.Note == "left a voicemail" {
			t.Fatalf("the refused note reached the collector: %+v", got.History)
		}
	}
	if cs, _ := r.kiosk.Cases(ctx); len(cs) != 0 {
		t.Fatalf("the case HQ resolved is still cached: %+v", cs)
	}
}

// httptestDiscard is a ResponseWriter that throws the reply away.
type httptestDiscard struct{ h http.Header }

func (d httptestDiscard) Header() http.Header       { return d.h }
func (httptestDiscard) Write(b []byte) (int, error) { return len(b), nil }
func (httptestDiscard) WriteHeader(int)             {}
