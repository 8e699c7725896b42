package alerts_test

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/alerts"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/followup"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// receiver is a subscriber's endpoint: it verifies every signature and counts each
// event id; while down it answers 503.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	secret  atomic.Pointer[string]
	down    atomic.Bool
	mu      sync.Mutex
	got     map[string]int // event id → deliveries accepted
	types   map[string]string
	refused atomic.Int64
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, got: map[string]int{}, types: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if r.down.Load() {
			r.refused.Add(1)
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		if err := alerts.Verify(*r.secret.Load(), req.Header, body, time.Now()); err != nil {
			t.Errorf("receiver: %v", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		r.got[req.Header.Get("webhook-id")]++
		r.types[req.Header.Get("webhook-id")] = req.Header.Get("Content-Type")
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

type rig struct {
	c      *collectortest.Collector
	rcv    *receiver
	sub    storage.Subscription
	token  string
	clock  atomic.Int64 // unix ms; the collector's clock
	policy alerts.URLPolicy
}

func newRig(t *testing.T, b collectortest.Backend) *rig {
	r := &rig{policy: alerts.URLPolicy{AllowLoopbackHTTP: true}}
	r.clock.Store(time.Now().UnixMilli())
	r.c = collectortest.Start(t, collectortest.Options{Backend: b, Now: func() time.Time { return time.UnixMilli(r.clock.Load()) }})
	r.c.AddStore(t, storage.Store{ID: "S1", Timezone: "Europe/Berlin"})
	r.token = r.c.Enroll(t, "S1", "Till 1").Token
	r.rcv = newReceiver(t)
	sub, err := r.c.Service.AddWebhook(context.Background(), storage.Subscription{ScopeKind: storage.ScopeStore, Scope: "S1",
		URL: r.rcv.srv.URL + "/hook", Events: []string{storage.EventCaseOpened, storage.EventCaseUpdated}}, r.policy)
	if err != nil {
		t.Fatal(err)
	}
	r.sub = sub
	r.rcv.secret.Store(&sub.Secret)
	return r
}

func (r *rig) worker(t *testing.T, pauseAfter int) *alerts.Worker {
	w, err := alerts.New(alerts.Config{DB: r.c.DB, Policy: r.policy, Logger: slog.New(slog.DiscardHandler), Interval: 5 * time.Millisecond, Lease: time.Minute,
		PauseAfter: pauseAfter, Backoff: func(int) time.Duration { return time.Millisecond },
		Now: func() time.Time { return time.UnixMilli(r.clock.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// detractors uploads n detractors with comments: n cases, n case.opened events.
func (r *rig) detractors(t *testing.T, n int) {
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	var batch []wire.Response
	for range n {
		resp := collectortest.Response(rng, time.UnixMilli(r.clock.Load()).Add(-time.Minute))
		resp.Score, resp.Comment = rng.IntN(7), "the queue was too long"
		batch = append(batch, resp)
	}
	if _, err := r.c.Service.IngestFromDevice(context.Background(), r.deviceID(t), batch); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) deviceID(t *testing.T) string {
	ds, err := r.c.DB.Devices(context.Background())
	if err != nil || len(ds) == 0 {
		t.Fatalf("devices: %v", err)
	}
	return ds[0].ID
}

// runUntil runs the worker's rounds, moving the collector's clock on 10 ms each, until
// done says so, for at most 10 s.
func (r *rig) runUntil(t *testing.T, w *alerts.Worker, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatal("not done after 10 s")
		}
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		r.clock.Add(10)
	}
}

// The receiver is down for a while and comes back: every event arrives, signed, once
// per event id; a collector that dies holding a lease loses nothing either.
func TestEveryEventArrivesAfterTheReceiverComesBack(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		r := newRig(t, b)
		w := r.worker(t, 0)
		r.rcv.down.Store(true)
		r.detractors(t, 12)
		r.runUntil(t, w, func() bool { return r.rcv.refused.Load() >= 24 }) // each tried twice or more
		if n := r.rcv.distinct(); n != 0 {
			t.Fatalf("%d events accepted while the receiver was down", n)
		}

		// A collector claims the queue and dies before sending: its lease holds the
		// deliveries for a minute, then they go out again.
		claimed, err := r.c.DB.ClaimDeliveries(context.Background(), 100, time.UnixMilli(r.clock.Load()).Add(time.Minute))
		if err != nil || len(claimed) != 12 {
			t.Fatalf("claimed %d, %v; want the 12 waiting deliveries", len(claimed), err)
		}
		r.rcv.down.Store(false)
		if n, _ := w.RunOnce(context.Background()); n != 0 {
			t.Fatalf("%d leased deliveries sent before their lease ran out", n)
		}
		r.clock.Add((61 * time.Second).Milliseconds())
		r.runUntil(t, w, func() bool { return r.rcv.distinct() == 12 })

		// A case moved at HQ is one more event.
		cs, _ := r.c.DB.Cases(context.Background(), storage.CaseFilter{})
		if _, err := r.c.DB.ChangeCase(context.Background(), cs[0].ID, storage.CaseChange{Actor: "hq", To: followup.Contacted}); err != nil {
			t.Fatal(err)
		}
		r.runUntil(t, w, func() bool { return r.rcv.distinct() == 13 })
		for range 5 { // nothing more goes out once everything is delivered
			w.RunOnce(context.Background())
		}
		r.rcv.mu.Lock()
		defer r.rcv.mu.Unlock()
		for id, n := range r.rcv.got {
			if n != 1 {
				t.Errorf("event %s accepted %d times", id, n)
			}
		}
		log, err := r.c.DB.DeliveryLog(context.Background(), 100)
		if err != nil || len(log) != 13 {
			t.Fatalf("delivery log: %d lines, %v", len(log), err)
		}
		for _, l := range log {
			if l.Status != "delivered" || (l.EventType == storage.EventCaseOpened && l.Attempts < 3) {
				t.Errorf("delivery %d: %+v", l.ID, l)
			}
		}
	})
}

// A subscription that keeps failing is paused and says why; its events wait, and go
// out once it is resumed.
func TestFailingSubscriptionIsPausedNotDropped(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		r := newRig(t, b)
		w := r.worker(t, 3)
		r.rcv.down.Store(true)
		r.detractors(t, 1)
		r.runUntil(t, w, func() bool {
			subs, _ := r.c.DB.Subscriptions(context.Background())
			return subs[0].Paused
		})
		subs, _ := r.c.DB.Subscriptions(context.Background())
		if !subs[0].Paused || subs[0].PauseReason == "" || subs[0].Failures != 3 {
			t.Fatalf("after 3 failures: %+v", subs[0])
		}
		r.detractors(t, 2) // queued while paused
		r.rcv.down.Store(false)
		for range 5 {
			if n, _ := w.RunOnce(context.Background()); n != 0 {
				t.Fatalf("a paused subscription got %d deliveries", n)
			}
		}
		if err := r.c.DB.ResumeSubscription(context.Background(), r.sub.ID); err != nil {
			t.Fatal(err)
		}
		r.runUntil(t, w, func() bool { return r.rcv.distinct() == 3 })
	})
}
