package sync

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// A new kiosk drains everything once, whether the collector answers in the compact form
// or, being from before, ignores the preference and lists every id; a rejected response
// stays in quarantine either way.
func TestDrainWithCompactOrFullReplies(t *testing.T) {
	for _, tt := range []struct {
		name        string
		oldReply    bool // the collector ignores Prefer, as one from before does
		wantApplied string
	}{
		{name: "compact-capable collector", wantApplied: wire.PreferMinimal},
		{name: "collector answering the full form", oldReply: true, wantApplied: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			ctx := context.Background()
			rec := r.rejectable()
			r.fill(1200)
			var asked, applied atomic.Int64
			r.setIntercept(func(w http.ResponseWriter, req *http.Request) bool {
				if req.URL.Path != "/v1/responses" {
					return false
				}
				if req.Header.Get(wire.PreferHeader) == wire.PreferMinimal {
					asked.Add(1)
				}
				if tt.oldReply {
					req.Header.Del(wire.PreferHeader)
				}
				rec := httptest.NewRecorder()
				r.api.ServeHTTP(rec, req)
				if got := rec.Header().Get(wire.PreferenceAppliedHeader); got == tt.wantApplied {
					applied.Add(1)
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return true
			})
			w := r.worker(nil)
			n, err := w.Drain(ctx)
			if err != nil || n != 1200 {
				t.Fatalf("Drain = %d, %v; want 1200", n, err)
			}
			if asked.Load() != 3 || applied.Load() != 3 {
				t.Errorf("%d uploads asked for the compact reply, %d answered with Preference-Applied %q; want 3 and 3",
					asked.Load(), applied.Load(), tt.wantApplied)
			}
			ob, _ := r.kiosk.Outbox(ctx)
			if ob.Pending != 0 || ob.Quarantined != 1 || ob.Synced != 1200 {
				t.Fatalf("outbox %+v, want 1200 synced and 1 quarantined", ob)
			}
			if q, _ := r.kiosk.Quarantined(ctx, 5); len(q) != 1 || q[0].ID != rec.ID || !strings.Contains(q[0].Reason, "not_in_survey") {
				t.Fatalf("quarantined %+v", q)
			}
			if _, c := r.counts(); c != 1200 {
				t.Fatalf("collector holds %d, want 1200", c)
			}
		})
	}
}

// A compact answer that does not account for the batch exactly is not applied at all:
// every response not named would be marked synced on its word.
func TestCompactReplyThatDoesNotAddUpIsNotApplied(t *testing.T) {
	for _, tt := range []struct {
		name string
		body func(ids []string) string
	}{
		{"too few counted", func(ids []string) string {
			return `{"accepted_count":9,"duplicate_count":0,"rejected":[]}`
		}},
		{"too many counted", func(ids []string) string {
			return `{"accepted_count":10,"duplicate_count":1,"rejected":[]}`
		}},
		{"a rejection not in the batch", func(ids []string) string {
			return `{"accepted_count":9,"duplicate_count":0,"rejected":[{"id":"0192f6a4-0000-7000-8000-000000000000","error":"x"}]}`
		}},
		{"a rejection named twice", func(ids []string) string {
			return fmt.Sprintf(`{"accepted_count":8,"duplicate_count":0,"rejected":[{"id":%q,"error":"x"},{"id":%q,"error":"x"}]}`, ids[0], ids[0])
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.fill(10)
			pending, err := r.kiosk.Pending(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range pending {
				ids = append(ids, p.ID)
			}
			r.setIntercept(func(w http.ResponseWriter, req *http.Request) bool {
				if req.URL.Path != "/v1/responses" {
					return false
				}
				w.Header().Set(wire.PreferenceAppliedHeader, wire.PreferMinimal)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tt.body(ids))
				return true
			})
			w := r.worker(nil)
			if _, err := w.Drain(context.Background()); err == nil {
				t.Fatal("Drain applied an answer that does not add up")
			}
			ob, _ := r.kiosk.Outbox(context.Background())
			if ob.Pending != 10 || ob.Synced != 0 || ob.Quarantined != 0 {
				t.Fatalf("outbox %+v, want all 10 still pending", ob)
			}
			if w.Status().LastError == "" {
				t.Error("status shows no error")
			}
		})
	}
}

// A failure stops the pipeline: the batches acknowledged are marked synced and nothing
// else is; the failed batch stays pending, no batch is sent once the failure is known
// (the other upload in flight may finish), and the next drain sends the rest without
// counting anything twice, also when the collector had stored the failed batch (the
// answer was lost).
func TestDrainPipelineStopsCleanlyOnFailure(t *testing.T) {
	const total = 2200 // five batches
	for _, tt := range []struct {
		name string
		// failOn is the upload that fails (1-based, in the order they reach the
		// collector); stored says whether the collector stored it before the failure.
		failOn int64
		stored bool
	}{
		{name: "second upload refused", failOn: 2},
		{name: "second upload stored, answer lost", failOn: 2, stored: true},
		{name: "first upload refused", failOn: 1},
		{name: "fourth upload stored, answer lost", failOn: 4, stored: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			ctx := context.Background()
			r.fill(total)
			var (
				uploads atomic.Int64
				mu      stdsync.Mutex
				failed  []string // the ids in the failed upload
			)
			r.setIntercept(func(w http.ResponseWriter, req *http.Request) bool {
				if req.URL.Path != "/v1/responses" || uploads.Add(1) != tt.failOn {
					return false
				}
				body, err := io.ReadAll(req.Body)
				if err != nil {
					t.Error(err)
				}
				var up wire.DeviceUpload
				if zr, err := gzip.NewReader(bytes.NewReader(body)); err != nil {
					t.Error(err)
				} else if err := json.NewDecoder(zr).Decode(&up); err != nil {
					t.Error(err)
				}
				mu.Lock()
				for _, resp := range up.Responses {
					failed = append(failed, resp.ID)
				}
				mu.Unlock()
				if tt.stored {
					req.Body = io.NopCloser(bytes.NewReader(body))
					r.api.ServeHTTP(httptest.NewRecorder(), req)
				}
				http.Error(w, `{"error":"injected"}`, http.StatusBadRequest) // not retried
				return true
			})
			w := r.worker(nil)
			if _, err := w.Drain(ctx); err == nil {
				t.Fatal("the failure did not surface")
			}
			// The other upload in flight may finish and, before it learns of the
			// failure, take one more batch; nothing after that.
			if n := uploads.Load(); n > tt.failOn+uploadsInFlight {
				t.Errorf("%d uploads with a failure in upload %d; want the pass stopped", n, tt.failOn)
			}
			pending, err := r.kiosk.Pending(ctx, total)
			if err != nil {
				t.Fatal(err)
			}
			stillPending := map[string]bool{}
			for _, resp := range pending {
				stillPending[resp.ID] = true
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range failed {
				if !stillPending[id] {
					t.Fatalf("response %s of the failed upload is no longer pending", id)
				}
			}
			ob, err := r.kiosk.Outbox(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, c := r.counts()
			wantCollector := ob.Synced
			if tt.stored {
				wantCollector += int64(len(failed))
			}
			if len(failed) == 0 || ob.Synced+ob.Pending != total || c != wantCollector {
				t.Fatalf("after the failure: %d synced, %d pending, collector %d, failed upload of %d; want collector %d",
					ob.Synced, ob.Pending, c, len(failed), wantCollector)
			}
			r.setIntercept(func(http.ResponseWriter, *http.Request) bool { return false })
			if _, err := w.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if p, c := r.counts(); p != 0 || c != total {
				t.Fatalf("after the next drain: pending %d, collector %d; want 0 and %d", p, c, total)
			}
		})
	}
}

// Two uploads are in flight at once: the collector sees the second before it has
// answered the first.
func TestDrainKeepsTwoUploadsInFlight(t *testing.T) {
	r := newRig(t)
	r.fill(1500)
	var (
		inFlight, most atomic.Int64
		paired         atomic.Bool
		second         = make(chan struct{}) // closed when two uploads were in at once
	)
	r.setIntercept(func(w http.ResponseWriter, req *http.Request) bool {
		if req.URL.Path != "/v1/responses" {
			return false
		}
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n >= 2 && paired.CompareAndSwap(false, true) {
			close(second)
		}
		// The first upload waits for another, or a while.
		select {
		case <-second:
		case <-time.After(2 * time.Second):
		}
		return false
	})
	if n, err := r.worker(nil).Drain(context.Background()); err != nil || n != 1500 {
		t.Fatalf("Drain = %d, %v", n, err)
	}
	if m := most.Load(); m != uploadsInFlight {
		t.Errorf("at most %d uploads at the collector at once, want %d", m, uploadsInFlight)
	}
}

// countingOutbox records how far reading the outbox runs ahead of marking it synced.
type countingOutbox struct {
	*store.DB
	reads, marks atomic.Int64
	ahead        atomic.Int64 // the most reads ahead of marks seen at a read
}

func (c *countingOutbox) PendingAfter(ctx context.Context, after store.OutboxKey, limit int) ([]store.Response, error) {
	if d := c.reads.Add(1) - c.marks.Load(); d > c.ahead.Load() {
		c.ahead.Store(d)
	}
	return c.DB.PendingAfter(ctx, after, limit)
}

func (c *countingOutbox) MarkSynced(ctx context.Context, ids []string) (int64, error) {
	defer c.marks.Add(1)
	return c.DB.MarkSynced(ctx, ids)
}

// The pipeline is bounded: to read batch j, batch j-1 must have been taken by an
// uploader. The two uploaders hold it and at most one more; every earlier batch's
// answer has been handed to be applied, one at a time, so all but one of them are
// marked: at least j-4.
func TestDrainReadsAtMostFourBatchesAheadOfMarking(t *testing.T) {
	r := newRig(t)
	r.fill(5000)
	ob := &countingOutbox{DB: r.kiosk}
	w := r.worker(func(c *Config) { c.Store = ob })
	if n, err := w.Drain(context.Background()); err != nil || n != 5000 {
		t.Fatalf("Drain = %d, %v", n, err)
	}
	if ob.marks.Load() != 10 {
		t.Errorf("%d marks, want 10 batches of 500", ob.marks.Load())
	}
	if a := ob.ahead.Load(); a > 4 {
		t.Errorf("a read ran %d batches ahead of marking, want at most 4", a)
	}
}
