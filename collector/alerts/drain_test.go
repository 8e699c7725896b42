package alerts_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
)

// A collector draining for a restart stops its worker while a delivery is in flight:
// that one is finished and recorded as delivered (not abandoned to its lease, to go out
// twice), and the deliveries it had claimed and not started are handed back, so another
// collector claims them at once instead of after the lease.
func TestStopFinishesInFlightAndHandsBackTheRest(t *testing.T) {
	collectortest.ForEachBackend(t, func(t *testing.T, b collectortest.Backend) {
		ctx := context.Background()
		r := newRig(t, b)
		entered, release := make(chan struct{}, 1), make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			select {
			case entered <- struct{}{}:
				<-release // the first delivery here waits until the worker is told to stop
			default:
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(slow.Close)
		sub, err := r.c.Service.AddWebhook(ctx, storage.Subscription{ScopeKind: storage.ScopeStore, Scope: "S1",
			URL: slow.URL + "/hook", Events: []string{storage.EventCaseOpened}}, r.policy)
		if err != nil {
			t.Fatal(err)
		}
		r.detractors(t, 8) // 16 deliveries: 8 to each receiver

		w := r.worker(t, 0)
		w.Start(ctx)
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery reached the slow receiver")
		}
		stopped := make(chan struct{})
		go func() { w.Stop(); close(stopped) }()
		time.Sleep(50 * time.Millisecond) // Stop has cancelled the worker, which waits for the send
		close(release)
		select {
		case <-stopped:
		case <-time.After(20 * time.Second):
			t.Fatal("Stop did not return")
		}

		deliveries, err := r.c.DB.DeliveryLog(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		pending, slowDelivered := 0, 0
		for _, d := range deliveries {
			switch {
			case d.Status == "pending":
				pending++
			case d.Subscription == sub.ID && d.Status == "delivered":
				slowDelivered++
			}
		}
		if slowDelivered == 0 {
			t.Errorf("the delivery in flight at Stop was not recorded as delivered: %+v", deliveries)
		}
		if pending == 0 {
			t.Fatalf("nothing left to hand back (%d deliveries); the test needs a claimed batch", len(deliveries))
		}
		claimed, err := r.c.DB.ClaimDeliveries(ctx, 100, time.UnixMilli(r.clock.Load()).Add(time.Minute))
		if err != nil || len(claimed) != pending {
			t.Errorf("another collector claims %d deliveries at once (%v); want the %d pending, handed back", len(claimed), err, pending)
		}
	})
}
