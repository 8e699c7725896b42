package sync

import (
	"context"
	"errors"
	"io"
	"net/http"
	stdsync "sync"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
)

// TestStopWaitsForTheWorker: Stop returns only once Run has, even with an upload held
// in flight, so the caller may close the database right after it.
func TestStopWaitsForTheWorker(t *testing.T) {
	r := newRig(t)
	r.fill(10)
	held := make(chan struct{})
	var once stdsync.Once
	r.setIntercept(func(w http.ResponseWriter, req *http.Request) bool {
		if req.URL.Path != "/v1/responses" {
			return false
		}
		io.Copy(io.Discard, req.Body) // so the server notices the kiosk hang up
		once.Do(func() { close(held) })
		select {
		case <-req.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return true
	})
	w := r.worker(nil)
	if err := w.Stop(); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	w.Start(context.Background())
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("no upload started")
	}
	start := time.Now()
	if err := w.Stop(); err != nil {
		t.Fatalf("Stop: %v, want nil for a plain stop", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Stop took %s with an upload in flight", took)
	}
	select {
	case <-w.Done():
	default:
		t.Fatal("Stop returned before Run did")
	}
	if p, c := r.counts(); p != 10 || c != 0 {
		t.Errorf("pending %d, collector %d; want all 10 still waiting", p, c)
	}
	if err := w.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestCheckCollectorWritesNothing: status and doctor ask through CheckCollector on a
// read-only database; it must tell reachable, refused and unreachable apart.
func TestCheckCollectorWritesNothing(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	w := r.worker(nil)
	if err := w.CheckCollector(ctx); err != nil {
		t.Fatalf("healthy collector: %v", err)
	}
	if _, ok, _ := r.kiosk.Setting(ctx, SettingSurvey); ok {
		t.Error("CheckCollector stored the survey")
	}
	unreachable := r.worker(func(c *Config) { c.CollectorURL = "http://127.0.0.1:1"; c.RetryMax = 1 })
	if err := unreachable.CheckCollector(ctx); err == nil || errors.Is(err, ErrRevoked) {
		t.Errorf("unreachable collector: %v, want a connection error", err)
	}
	if err := r.collector.RevokeDevice(ctx, r.deviceID); err != nil {
		t.Fatal(err)
	}
	if err := w.CheckCollector(ctx); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked token: %v, want ErrRevoked", err)
	}
}

func TestEnrollRetryWindowIsTheCollectors(t *testing.T) {
	if EnrollRetryWindow != storage.EnrollRetryWindow {
		t.Errorf("EnrollRetryWindow = %s, the collector's is %s", EnrollRetryWindow, storage.EnrollRetryWindow)
	}
}
