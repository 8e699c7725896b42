package sync

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// fiction is the true time of a clock test, with a kiosk whose wall clock is off by
// offset (which the test steps) and whose monotonic clock follows the true time.
type fiction struct {
	mu     gosync.Mutex
	true   time.Time
	offset time.Duration
	mono   time.Duration
}

func (f *fiction) Now() time.Time { // the collector's clock: right
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.true
}

func (f *fiction) Kiosk() time.Time { // the kiosk's wall clock
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.true.Add(f.offset)
}

func (f *fiction) Elapsed() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mono
}

func (f *fiction) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.true, f.mono = f.true.Add(d), f.mono+d
}

func (f *fiction) SetOffset(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offset = d
}

// TestWrongKioskClocks: a kiosk 1 hour fast, 1 day slow, set to 2001, or stepped back
// during a burst of shoppers (also across a restart of the app, when only its clock at
// upload is known): every genuine response reaches the collector once, not suspect,
// with its true time, the kiosk's time kept beside it. A kiosk restarted with a 2001 clock
// that is fixed before it uploads has its 2001 responses flagged, not taken as they are.
func TestWrongKioskClocks(t *testing.T) {
	enrolledAt := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	in2001 := time.Date(2001, 3, 4, 5, 6, 7, 0, time.UTC).Sub(enrolledAt.Add(time.Hour))
	type phase struct {
		offset  time.Duration // the kiosk's clock from this phase on
		taps    int
		restart bool // the kiosk app restarts before this phase
		// wantFlag: this phase's responses cannot be corrected (their clock was fixed
		// and the app restarted before they were uploaded) and are flagged instead.
		wantFlag string
	}
	cases := []struct {
		name     string
		phases   []phase
		atUpload time.Duration // the kiosk's offset when it uploads
	}{
		{name: "1 hour fast", phases: []phase{{offset: time.Hour, taps: 6}}, atUpload: time.Hour},
		{name: "1 day slow", phases: []phase{{offset: -24 * time.Hour, taps: 6}}, atUpload: -24 * time.Hour},
		{name: "2001", phases: []phase{{offset: in2001, taps: 6}}, atUpload: in2001},
		{name: "stepped back an hour during a burst", phases: []phase{{offset: time.Hour, taps: 4}, {offset: 0, taps: 4}}},
		{name: "stepped back a day during a burst, then restarted", phases: []phase{
			{offset: 24 * time.Hour, taps: 3, wantFlag: storage.ClockFuture}, {offset: 0, taps: 3}, {offset: 0, taps: 2, restart: true}}},
		{name: "1 hour fast, restarted before upload", phases: []phase{{offset: time.Hour, taps: 5}, {offset: time.Hour, restart: true}},
			atUpload: time.Hour},
		{name: "2001, restarted, fixed before upload", phases: []phase{
			{offset: in2001, taps: 3, wantFlag: storage.ClockBeforeEnrollment}, {offset: 0, restart: true}}},
	}
	for _, b := range collectortest.Backends(t) {
		for _, tc := range cases {
			t.Run(b.Name+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				f := &fiction{true: enrolledAt}
				c := collectortest.Start(t, collectortest.Options{Backend: b, Now: f.Now})
				c.AddStore(t, storage.Store{ID: "S1"})
				dev := c.Enroll(t, "S1", "Till 1")
				f.Advance(time.Hour)

				path := filepath.Join(t.TempDir(), "kiosk.db")
				open := func() *store.DB {
					t.Helper()
					// A new run: the monotonic clock starts again from zero.
					f.mu.Lock()
					f.mono = 0
					f.mu.Unlock()
					db, err := store.Open(ctx, store.Config{Path: path, Now: f.Kiosk, Elapsed: f.Elapsed, Logger: quiet})
					if err != nil {
						t.Fatal(err)
					}
					return db
				}
				kiosk := open()
				defer func() { kiosk.Close() }()
				truth := map[string]time.Time{} // id → true creation time
				kioskTime := map[string]time.Time{}
				flag := map[string]string{}
				for _, p := range tc.phases {
					if p.restart {
						kiosk.Close()
						kiosk = open()
					}
					f.SetOffset(p.offset)
					for range p.taps {
						created := f.Now()
						rec, err := kiosk.Record(ctx, response.Tap{Score: 9, Locale: "en"})
						if err != nil {
							t.Fatal(err)
						}
						if rec.Suspect {
							t.Fatalf("a shopper %v after the last was flagged as a rapid tap", 40*time.Second)
						}
						truth[rec.ID], kioskTime[rec.ID], flag[rec.ID] = created, f.Kiosk(), p.wantFlag
						f.Advance(12 * time.Second) // reasons, a comment
						if err := kiosk.Complete(ctx, rec.ID, response.FollowUp{Outcome: response.OutcomeSubmitted, Reasons: []string{"staff"}}); err != nil {
							t.Fatal(err)
						}
						f.Advance(28 * time.Second) // the next shopper
					}
				}
				f.SetOffset(tc.atUpload)
				f.Advance(10 * time.Minute) // the kiosk was offline for a while

				w, err := New(Config{Store: kiosk, CollectorURL: c.URL, Token: dev.Token, Logger: quiet, Now: f.Kiosk,
					RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 200 * time.Millisecond, AttemptTimeout: 10 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				n, err := w.Drain(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n != len(truth) {
					t.Fatalf("drained %d responses, want %d", n, len(truth))
				}
				if ob, err := kiosk.Outbox(ctx); err != nil || ob.Pending != 0 || ob.Quarantined != 0 {
					t.Fatalf("kiosk outbox after the upload: %+v, %v; want all synced", ob, err)
				}
				if got := c.Count(t, "S1"); got != int64(len(truth)) {
					t.Fatalf("the collector holds %d responses, want %d", got, len(truth))
				}
				for id, want := range truth {
					rt, err := c.DB.ResponseTimes(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					if flag[id] != "" {
						if rt.ClockFlag != flag[id] || !rt.Suspect {
							t.Errorf("%s: flag %q, suspect %v; want %q and suspect", id, rt.ClockFlag, rt.Suspect, flag[id])
						}
						continue
					}
					if d := rt.CreatedAt.Sub(want); d < -time.Second || d > time.Second {
						t.Errorf("%s: stored created %v, true %v (the kiosk said %v)", id, rt.CreatedAt, want, kioskTime[id])
					}
					if d := rt.CompletedAt.Sub(want.Add(12 * time.Second)); d < -time.Second || d > time.Second {
						t.Errorf("%s: stored completed %v, true %v", id, rt.CompletedAt, want.Add(12*time.Second))
					}
					if rt.Suspect || rt.ClockFlag != "" {
						t.Errorf("%s: suspect %v, flag %q; want neither", id, rt.Suspect, rt.ClockFlag)
					}
					if rt.Day != want.Format(time.DateOnly) {
						t.Errorf("%s: day %s, want %s", id, rt.Day, want.Format(time.DateOnly))
					}
					if off := kioskTime[id].Sub(want); off != 0 && !rt.DeviceCreatedAt.Equal(kioskTime[id].Truncate(time.Millisecond)) {
						t.Errorf("%s: device time kept %v, want the kiosk's %v", id, rt.DeviceCreatedAt, kioskTime[id])
					}
				}
				tally, err := c.DB.CountResponses(ctx, "S1")
				if err != nil || tally != int64(len(truth)) {
					t.Fatalf("count %d, %v", tally, err)
				}

				// The same batch again later, as after a lost answer: all duplicates,
				// nothing counted twice, although the estimate of the skew moved.
				f.Advance(3 * time.Minute)
				var all []store.Response
				for id := range truth {
					r, err := kiosk.Get(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					all = append(all, r)
				}
				body, _, err := encodeBatch(all, f.Kiosk(), kiosk.CaptureAges)
				if err != nil {
					t.Fatal(err)
				}
				res := postBatch(t, c.URL, dev.Token, body)
				if len(res.Duplicate) != len(truth) || len(res.Accepted)+len(res.Rejected) != 0 {
					t.Fatalf("resent batch: %d accepted, %d duplicate, %v rejected; want all %d duplicate",
						len(res.Accepted), len(res.Duplicate), res.Rejected, len(truth))
				}
				if got := c.Count(t, "S1"); got != int64(len(truth)) {
					t.Fatalf("after the resend the collector holds %d responses, want %d", got, len(truth))
				}
			})
		}
	}
}

func postBatch(t *testing.T, url, token string, gz []byte) wire.UploadResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/responses", bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res wire.UploadResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %d, %v", resp.StatusCode, err)
	}
	return res
}

// TestQuarantineRequeued: responses a collector rejected (here a kiosk an hour fast, as
// an older collector or kiosk version did) are judged again once the rules change: a new
// survey puts them back in the outbox, and they reach the collector with their true time.
func TestQuarantineRequeued(t *testing.T) {
	ctx := context.Background()
	f := &fiction{true: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC), offset: time.Hour}
	c := collectortest.Start(t, collectortest.Options{Now: f.Now})
	c.AddStore(t, storage.Store{ID: "S1"})
	dev := c.Enroll(t, "S1", "Till 1")
	kiosk, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "kiosk.db"), Now: f.Kiosk, Elapsed: f.Elapsed, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer kiosk.Close()
	var ids []string
	for range 3 {
		rec, err := kiosk.Record(ctx, response.Tap{Score: 3, Locale: "en"})
		if err != nil {
			t.Fatal(err)
		}
		f.Advance(10 * time.Second)
		if err := kiosk.Complete(ctx, rec.ID, response.FollowUp{Outcome: response.OutcomeSkipped}); err != nil {
			t.Fatal(err)
		}
		f.Advance(time.Minute)
		if err := kiosk.Quarantine(ctx, rec.ID, "invalid input: created_at is in the future"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	w, err := New(Config{Store: kiosk, CollectorURL: c.URL, Token: dev.Token, Logger: quiet, Now: f.Kiosk})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.Drain(ctx); err != nil || n != 0 {
		t.Fatalf("drain before the requeue: %d, %v; want nothing sent", n, err)
	}
	if err := w.PullSurvey(ctx); err != nil { // the first survey is new
		t.Fatal(err)
	}
	if ob, _ := kiosk.Outbox(ctx); ob.Quarantined != 0 || ob.Pending != 3 {
		t.Fatalf("after a new survey: %+v; want 3 waiting, none quarantined", ob)
	}
	if n, err := w.Drain(ctx); err != nil || n != 3 {
		t.Fatalf("drain after the requeue: %d, %v; want 3", n, err)
	}
	if got := c.Count(t, "S1"); got != 3 {
		t.Fatalf("the collector holds %d responses, want 3", got)
	}
	rt, err := c.DB.ResponseTimes(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC); !rt.CreatedAt.Equal(want) || rt.Suspect {
		t.Fatalf("requeued response stored at %v (suspect %v), want %v", rt.CreatedAt, rt.Suspect, want)
	}
}

// TestOldCollectorGetsNoClock: a collector from before refuses the unknown device_time
// field; the worker sends the batch again without the clock, and from then on (a batch
// already on its way with the clock is refused and sent again too).
func TestOldCollectorGetsNoClock(t *testing.T) {
	r := newRig(t)
	r.fill(30)
	var refused, withClock, without atomic.Int64
	r.setIntercept(func(rw http.ResponseWriter, req *http.Request) bool {
		if req.URL.Path != "/v1/responses" {
			return false
		}
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			t.Error(err)
			return false
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Error(err)
			return false
		}
		req.Body = io.NopCloser(bytes.NewReader(gzipped(t, raw)))
		if bytes.Contains(raw, []byte(`"device_time"`)) {
			withClock.Add(1)
			refused.Add(1)
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusBadRequest)
			io.WriteString(rw, `{"error":"bad_json","detail":"json: unknown field \"device_time\""}`)
			return true
		}
		without.Add(1)
		return false
	})
	w := r.worker(func(c *Config) { c.BatchItems = 10 })
	n, err := w.Drain(context.Background())
	if err != nil || n != 30 {
		t.Fatalf("Drain = %d, %v; want 30", n, err)
	}
	if p, c := r.counts(); p != 0 || c != 30 {
		t.Fatalf("pending %d, at the collector %d; want 0 and 30", p, c)
	}
	// Each upload in flight when the first refusal came back was refused too.
	if n := withClock.Load(); n < 1 || n > uploadsInFlight || without.Load() != 3 {
		t.Fatalf("%d uploads with the clock, %d without; want 1 to %d refused, then 3 without", n, without.Load(), uploadsInFlight)
	}
}

func gzipped(t *testing.T, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestClockWatchSeesSteps: the worker notices the wall clock being set (then it requeues
// the quarantine), and not its ordinary running.
func TestClockWatchSeesSteps(t *testing.T) {
	var offset atomic.Int64
	wall := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	c := newClockWatch(wall)
	if c.stepped() {
		t.Fatal("a step reported without one")
	}
	offset.Store(int64(-time.Hour))
	if !c.stepped() {
		t.Fatal("the clock set back an hour was not noticed")
	}
	if c.stepped() {
		t.Fatal("one step reported twice")
	}
	offset.Store(int64(-time.Hour + 2*time.Minute))
	if !c.stepped() {
		t.Fatal("the clock set forward two minutes was not noticed")
	}
}
