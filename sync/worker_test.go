package sync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/assets"
	"github.com/npskiosk/npskiosk/collector"
	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/simulate"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

var quiet = slog.New(slog.DiscardHandler)

// rig is a kiosk store and a real collector on a loopback listener, with an optional
// interposer in front of the collector to inject faults.
type rig struct {
	t         *testing.T
	kiosk     *store.DB
	collector *storage.DB
	service   *collector.Service // the collector's, for what no device sends (survey links' answers)
	api       http.Handler
	srv       *httptest.Server
	token     string
	deviceID  string
	intercept atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
	requests  atomic.Int64
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	r := &rig{t: t}
	var err error
	if r.kiosk, err = store.Open(ctx, store.Config{Path: filepath.Join(dir, "kiosk.db"), Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.kiosk.Close() })
	c := collectortest.Start(t, collectortest.Options{Logger: quiet})
	c.AddStore(t, storage.Store{ID: "S1"})
	nd := c.EnrollmentCode(t, "S1", "Till 1")
	r.collector, r.service, r.api = c.DB, c.Service, c.API
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if f := r.intercept.Load(); f != nil && (*f)(w, req) {
			return
		}
		r.api.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	en, err := Enroll(ctx, r.srv.URL, nd.Code, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.token, r.deviceID = en.Token, en.DeviceID
	return r
}

func (r *rig) worker(change func(*Config)) *Worker {
	r.t.Helper()
	cfg := Config{Store: r.kiosk, CollectorURL: r.srv.URL, Token: r.token, Logger: quiet,
		RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 200 * time.Millisecond, AttemptTimeout: 5 * time.Second}
	if change != nil {
		change(&cfg)
	}
	w, err := New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return w
}

func (r *rig) fill(n int) {
	r.t.Helper()
	survey, _ := assets.DefaultSurvey()
	for _, resp := range simulate.Responses(rand.New(rand.NewPCG(uint64(n), 1)), n, 7, time.Now(), survey) {
		if err := r.kiosk.Insert(context.Background(), resp); err != nil {
			r.t.Fatal(err)
		}
	}
}

// rejectable completes a tap with a reason the survey does not have, which the collector
// rejects: it must end in quarantine, never synced.
func (r *rig) rejectable() store.Recorded {
	r.t.Helper()
	ctx := context.Background()
	rec, err := r.kiosk.Record(ctx, response.Tap{Score: 3, Locale: "en", SurveyVersion: 1})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.kiosk.Complete(ctx, rec.ID, response.FollowUp{Outcome: response.OutcomeSubmitted, Reasons: []string{"not_in_survey"}}); err != nil {
		r.t.Fatal(err)
	}
	return rec
}

func (r *rig) counts() (pending, atCollector int64) {
	r.t.Helper()
	ob, err := r.kiosk.Outbox(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	n, err := r.collector.CountResponses(context.Background(), "S1")
	if err != nil {
		r.t.Fatal(err)
	}
	return ob.Pending, n
}

func (r *rig) setIntercept(f func(w http.ResponseWriter, req *http.Request) bool) {
	r.intercept.Store(&f)
}

func TestDrainUploadsEverythingOnce(t *testing.T) {
	r := newRig(t)
	r.fill(1200)
	w := r.worker(nil)
	n, err := w.Drain(context.Background())
	if err != nil || n != 1200 {
		t.Fatalf("Drain = %d, %v", n, err)
	}
	if p, c := r.counts(); p != 0 || c != 1200 {
		t.Fatalf("pending %d, collector %d; want 0 and 1200", p, c)
	}
	if got := r.requests.Load(); got != 1+3 { // enroll + three batches of at most 500
		t.Errorf("%d requests, want 4", got)
	}
	if st := w.Status(); !st.Online || st.LastSuccess.IsZero() || st.Uploaded != 1200 || st.LastError != "" {
		t.Errorf("status %+v", st)
	}
}

// crashyOutbox fails MarkSynced once: the collector has the batch, the kiosk does not know.
type crashyOutbox struct {
	*store.DB
	failed bool
}

func (c *crashyOutbox) MarkSynced(ctx context.Context, ids []string) (int64, error) {
	if !c.failed {
		c.failed = true
		return 0, errors.New("simulated crash after the ack")
	}
	return c.DB.MarkSynced(ctx, ids)
}

func TestLostAckIsReuploadedWithoutDuplicates(t *testing.T) {
	r := newRig(t)
	r.fill(300)
	w := r.worker(func(c *Config) { c.Store = &crashyOutbox{DB: r.kiosk} })
	if _, err := w.Drain(context.Background()); err == nil {
		t.Fatal("the simulated crash did not surface")
	}
	if p, c := r.counts(); p != 300 || c != 300 {
		t.Fatalf("after the lost ack: pending %d, collector %d; want 300 and 300", p, c)
	}
	if _, err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p, c := r.counts(); p != 0 || c != 300 {
		t.Fatalf("after the re-upload: pending %d, collector %d; want 0 and 300", p, c)
	}
}

// TestMarksLostToPowerLossAreResentAndCountedOnce: marking synced commits without an
// fsync of its own (store.DB.MarkSynced), so a power cut can take marks the collector's
// answers led to. It loses them by putting back the kiosk's file as it was before the
// drain; the next drain must resend those responses and the collector hold each once.
func TestMarksLostToPowerLossAreResentAndCountedOnce(t *testing.T) {
	r := newRig(t)
	r.fill(1200)
	path := r.kiosk.Path()
	before := filepath.Join(t.TempDir(), "before-drain.db")
	reopen := func() {
		t.Helper()
		var err error
		if r.kiosk, err = store.Open(context.Background(), store.Config{Path: path, Logger: quiet}); err != nil {
			t.Fatal(err)
		}
	}
	// Closing copies the WAL into the file, so the file alone is the database.
	if err := r.kiosk.Close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, before, path)
	reopen()
	if n, err := r.worker(nil).Drain(context.Background()); err != nil || n != 1200 {
		t.Fatalf("first Drain = %d, %v; want 1200", n, err)
	}
	if p, c := r.counts(); p != 0 || c != 1200 {
		t.Fatalf("after the drain: pending %d, collector %d; want 0 and 1200", p, c)
	}
	if err := r.kiosk.Close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, path, before) // the power cut: every mark is gone
	reopen()
	if p, c := r.counts(); p != 1200 || c != 1200 {
		t.Fatalf("after the lost marks: pending %d, collector %d; want 1200 and 1200", p, c)
	}
	if n, err := r.worker(nil).Drain(context.Background()); err != nil || n != 1200 {
		t.Fatalf("Drain after the lost marks = %d, %v; want 1200 (held as duplicates)", n, err)
	}
	if p, c := r.counts(); p != 0 || c != 1200 {
		t.Fatalf("after the resend: pending %d, collector %d; want 0 and 1200", p, c)
	}
}

func copyFile(t *testing.T, dst, src string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(src + suffix); err == nil {
			t.Fatalf("%s%s is left after closing: the file alone is not the database", src, suffix)
		}
		if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRetryBehaviour(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		retryAfter   string
		failures     int64 // how many requests fail before the collector answers normally
		wantErr      bool
		wantAttempts int64
	}{
		{name: "503 is retried", status: 503, failures: 2, wantAttempts: 3},
		{name: "429 with a huge Retry-After is capped", status: 429, retryAfter: "3600", failures: 1, wantAttempts: 2},
		{name: "400 is not retried", status: 400, failures: 100, wantErr: true, wantAttempts: 1},
		{name: "413 is not retried", status: 413, failures: 100, wantErr: true, wantAttempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.fill(10)
			var attempts atomic.Int64
			r.setIntercept(func(w http.ResponseWriter, req *http.Request) bool {
				if req.URL.Path != "/v1/responses" {
					return false
				}
				if attempts.Add(1) > tt.failures {
					return false
				}
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				http.Error(w, `{"error":"injected"}`, tt.status)
				return true
			})
			w := r.worker(nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := w.Drain(ctx)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Drain error = %v, want error %v", err, tt.wantErr)
			}
			if got := attempts.Load(); got != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", got, tt.wantAttempts)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %s: Retry-After was not capped", time.Since(start))
			}
			if tt.wantErr {
				if p, _ := r.counts(); p != 10 {
					t.Errorf("pending %d after a refused batch, want 10 (nothing lost)", p)
				}
				if w.Status().LastError == "" {
					t.Error("status shows no error")
				}
			}
		})
	}
}

func TestRevokedDeviceStopsAndSaysSo(t *testing.T) {
	r := newRig(t)
	r.fill(5)
	if err := r.collector.RevokeDevice(context.Background(), r.deviceID); err != nil {
		t.Fatal(err)
	}
	w := r.worker(nil)
	if _, err := w.Drain(context.Background()); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Drain error = %v, want ErrRevoked", err)
	}
	if st := w.Status(); !st.Revoked || st.LastError == "" {
		t.Errorf("status %+v, want revoked with an error", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	before := r.requests.Load()
	w.Run(ctx) // must park, not hammer the collector
	if extra := r.requests.Load() - before; extra > 2 {
		t.Errorf("a revoked worker sent %d more requests", extra)
	}
	if p, _ := r.counts(); p != 5 {
		t.Errorf("pending %d, want 5 kept", p)
	}
}

func TestRejectedResponsesAreQuarantined(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	rec := r.rejectable()
	r.fill(3)
	w := r.worker(nil)
	if _, err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	ob, _ := r.kiosk.Outbox(ctx)
	if ob.Pending != 0 || ob.Quarantined != 1 || ob.Synced != 3 {
		t.Fatalf("outbox %+v, want 3 synced and 1 quarantined", ob)
	}
	q, _ := r.kiosk.Quarantined(ctx, 5)
	if len(q) != 1 || q[0].ID != rec.ID {
		t.Fatalf("quarantined %+v", q)
	}
}

func TestSurveyETagRoundTripAndCache(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var got []wire.Survey
	w := r.worker(func(c *Config) { c.OnSurvey = func(s wire.Survey) { got = append(got, s) } })
	for range 2 {
		if err := w.PullSurvey(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 1 || got[0].StoreName != "Main Street" {
		t.Fatalf("OnSurvey calls %+v, want one (the second pull is 304)", got)
	}
	s := got[0]
	s.ThankYou = map[string]string{"en": "Thanks from {store}!"}
	if _, err := r.collector.SetSurvey(ctx, s, []string{"S1"}); err != nil {
		t.Fatal(err)
	}
	if err := w.PullSurvey(ctx); err != nil || len(got) != 2 || got[1].Version != 2 {
		t.Fatalf("after a change: %v, %+v", err, got)
	}
	// A kiosk restarted offline reads it back from its own database.
	cached, ok, err := CachedSurvey(ctx, r.kiosk)
	if err != nil || !ok || cached.Version != 2 || cached.ThankYou["en"] != "Thanks from {store}!" {
		t.Fatalf("CachedSurvey = %+v, %v, %v", cached, ok, err)
	}
}

func TestHeartbeatReachesTheFleetList(t *testing.T) {
	r := newRig(t)
	r.fill(4)
	w := r.worker(func(c *Config) { c.AppVersion = "1.0.0"; c.FreeDisk = func() int64 { return 42 } })
	if err := w.SendHeartbeat(context.Background()); err != nil {
		t.Fatal(err)
	}
	ds, _ := r.collector.Devices(context.Background())
	if len(ds) != 1 || ds[0].AppVersion != "1.0.0" || ds[0].QueueLength != 4 || ds[0].FreeDisk != 42 {
		t.Fatalf("devices %+v", ds)
	}
}

func TestRunWakesOnSyncNow(t *testing.T) {
	r := newRig(t)
	w := r.worker(func(c *Config) { c.Idle = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(100 * time.Millisecond) // the first round finds nothing
	r.fill(7)
	w.SyncNow()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if p, c := r.counts(); p == 0 && c == 7 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("SyncNow did not upload the new responses within 5 s")
}

// An idle kiosk's rounds come IdleMax apart, so its CPU sleeps; while the collector has
// news for it each round (here a case HQ moves before every pull) they come Idle apart, and a new response is uploaded at once whatever the pause.
func TestRoundsSpaceOutWhileNothingHappens(t *testing.T) {
	const (
		idle    = 5 * time.Millisecond
		longest = 400 * time.Millisecond
		window  = time.Second
	)
	r := newRig(t)
	var pulls, busy atomic.Int64
	r.setIntercept(func(w http.ResponseWriter, req *http.Request) bool {
		if req.Method != http.MethodGet || req.URL.Path != "/v1/device/cases" {
			return false
		}
		n := pulls.Add(1)
		if busy.Load() == 0 {
			return false
		}
		// HQ moved the store's one case again since the last pull.
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"cases":[{"id":"c1","store_id":"S1","status":"open","opened_at":"2026-01-01T00:00:00Z",`+
			`"due_at":"2026-01-02T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","version":%d,`+
			`"response":{"id":"r1","score":2,"reasons":[],"locale":"en","created_at":"2026-01-01T00:00:00Z"}}]}`, n)
		return true
	})
	w := r.worker(func(c *Config) { c.Idle, c.IdleMax = idle, longest })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	time.Sleep(window)
	// Rounds at 0, 400 and 800 ms; 200 at Idle.
	if n := pulls.Load(); n > 6 {
		t.Errorf("%d rounds in %s with nothing to do; want them IdleMax (%s) apart", n, window, longest)
	}

	r.fill(3)
	w.SyncNow()
	deadline := time.Now().Add(5 * time.Second)
	for p, c := r.counts(); p != 0 || c != 3; p, c = r.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("SyncNow after a quiet spell: %d pending, %d at the collector after 5 s", p, c)
		}
		time.Sleep(5 * time.Millisecond)
	}

	busy.Store(1)
	w.SyncNow()
	time.Sleep(50 * time.Millisecond) // the round under way may still find nothing
	before := pulls.Load()
	time.Sleep(window)
	if n := pulls.Load() - before; n < 40 {
		t.Errorf("%d rounds in %s while every pull brought news; want them at Idle (%s)", n, window, idle)
	}
}
