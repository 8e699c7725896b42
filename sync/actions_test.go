package sync

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/internal/logring"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// actionKiosk is a real collector over 127.0.0.1 with store S1, and an enrolled kiosk
// with its database file.
type actionKiosk struct {
	c        *collectortest.Collector
	db       *store.DB
	deviceID string
	token    string
}

func newActionKiosk(t *testing.T) actionKiosk {
	t.Helper()
	return newActionKioskOn(t, collectortest.SQLite)
}

// newActionKioskOn is newActionKiosk with the collector on backend b.
func newActionKioskOn(t *testing.T, b collectortest.Backend) actionKiosk {
	t.Helper()
	ctx := context.Background()
	c := collectortest.Start(t, collectortest.Options{Logger: quiet, Backend: b})
	c.AddStore(t, storage.Store{ID: "S1"})
	nd := c.EnrollmentCode(t, "S1", "Till 1")
	en, err := Enroll(ctx, c.URL, nd.Code, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "kiosk.db"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return actionKiosk{c: c, db: db, deviceID: en.DeviceID, token: en.Token}
}

// waitAction polls the collector until the action is finished.
func (k actionKiosk) waitAction(t *testing.T, id string) storage.DeviceAction {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		as, err := k.c.DB.DeviceActions(context.Background(), k.deviceID, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.ID == id && !a.Open() {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("action %s not finished: %+v", id, as)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The must-show round trip: IT asks for diagnostics at the collector; the running
// worker gets the action on a heartbeat reply, uploads the bundle to the device
// endpoint and reports the result on the next heartbeat. The kiosk logged a line with
// a shopper's phone number and a line with its token: the bundle the collector keeps
// has the phone number masked and neither the number nor the token in any form, and
// carries the kiosk's versions, queue and doctor lines. On each of the collector's
// databases (PostgreSQL when NPS_TEST_POSTGRES names one).
func TestDiagnosticsBundleRoundTripMasksPhoneNumber(t *testing.T) {
	collectortest.ForEachBackend(t, testDiagnosticsRoundTrip)
}

func testDiagnosticsRoundTrip(t *testing.T, b collectortest.Backend) {
	ctx := context.Background()
	k := newActionKioskOn(t, b)
	const phone = "+44 20 7946 0958"
	ring := logring.New(200, nil)
	log := slog.New(ring.Handler(slog.DiscardHandler))
	log.Info("manager note saved", "note", "please call the shopper back on "+phone)
	log.Info("collector configured", "device_token", k.token)
	log.Warn("auth header was " + k.token) // a secret in the message, not an attribute
	if _, err := k.db.Record(ctx, response.Tap{Score: 7, Locale: "en", SurveyVersion: 1}); err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{Store: k.db, CollectorURL: k.c.URL, Token: k.token, AppVersion: "1.2.3-test", Logger: log,
		Idle: 20 * time.Millisecond, Heartbeat: time.Hour,
		Diagnostics: func(_ context.Context, d *wire.Diagnostics) {
			d.Doctor = []string{"OK   config             /etc/npskiosk/config.toml"}
			d.Logs = ring.Lines()
		}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := k.c.Service.QueueDeviceAction(ctx, k.deviceID, wire.ActionDiagnostics, "it@hq.example")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	w.Start(runCtx)
	defer func() {
		cancel()
		w.Stop()
	}()
	got := k.waitAction(t, a.ID)
	if got.State != storage.ActionDone || got.RequestedBy != "it@hq.example" || got.BundleBytes == 0 ||
		!strings.Contains(got.Result, "diagnostics bundle uploaded") {
		t.Fatalf("the action at the collector: %+v", got)
	}
	_, body, err := k.c.DB.Diagnostics(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw := string(body)
	for _, secret := range []string{phone, "7946 0958", "79460958", k.token} {
		if strings.Contains(raw, secret) {
			t.Errorf("the bundle at the collector holds %q:\n%s", secret, raw)
		}
	}
	var d wire.Diagnostics
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	masked := false
	for _, l := range d.Logs {
		masked = masked || strings.Contains(l, "please call the shopper back on [phone]")
	}
	if !masked {
		t.Errorf("no log line shows the phone number masked: %q", d.Logs)
	}
	if d.AppVersion != "1.2.3-test" || d.GoVersion == "" || d.SchemaVersion != store.SchemaVersion() || len(d.Doctor) != 1 ||
		d.Queue.Pending != 0 || d.TakenAt.IsZero() {
		t.Errorf("bundle: %+v", d)
	}
}

// A kiosk that gets the same action twice (the collector sent it again: the reply
// with it or the heartbeat with its result was lost) does it once and reports it
// until a heartbeat carrying the result is answered. A restart is noted before the
// app is asked to stop, and its result is reported by the next process (a new worker
// on the same database), not done again.
func TestActionsDoneOnceRestartReportedByNextProcess(t *testing.T) {
	ctx := context.Background()
	k := newActionKiosk(t)
	rec, err := k.db.Record(ctx, response.Tap{Score: 9, Locale: "en", SurveyVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.db.Complete(ctx, rec.ID, response.FollowUp{Outcome: response.OutcomeSkipped}); err != nil {
		t.Fatal(err)
	}
	var restarts atomic.Int32
	newWorker := func() *Worker {
		w, err := New(Config{Store: k.db, CollectorURL: k.c.URL, Token: k.token, AppVersion: "1.2.3-test", Logger: quiet,
			OnRestart: func() { restarts.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := newWorker()
	syncNow, err := k.c.Service.QueueDeviceAction(ctx, k.deviceID, wire.ActionSyncNow, "cli:root")
	if err != nil {
		t.Fatal(err)
	}
	restart, err := k.c.Service.QueueDeviceAction(ctx, k.deviceID, wire.ActionRestart, "it@hq.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SendHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if restarts.Load() != 1 {
		t.Fatalf("restart callback ran %d times, want 1", restarts.Load())
	}
	if ob, err := k.db.Outbox(ctx); err != nil || ob.Pending != 0 {
		t.Errorf("sync now left %+v, %v", ob, err)
	}
	// The same actions again, as a collector whose lease passed would send them.
	if err := w.runActions(ctx, []wire.DeviceAction{{ID: syncNow.ID, Kind: wire.ActionSyncNow}, {ID: restart.ID, Kind: wire.ActionRestart}}); err != nil {
		t.Fatal(err)
	}
	if restarts.Load() != 1 {
		t.Errorf("an action sent twice ran twice: %d restarts", restarts.Load())
	}
	// The process restarts: a new worker on the same database sends the results.
	w2 := newWorker()
	if err := w2.SendHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{syncNow.ID: "uploaded 1; 0 waiting", restart.ID: "stopped to restart"} {
		got := k.waitAction(t, id)
		if got.State != storage.ActionDone || !strings.Contains(got.Result, want) {
			t.Errorf("action %s at the collector: %+v, want done with %q", id, got, want)
		}
	}
	if w2.resultsWaiting() {
		t.Errorf("results still waiting after an answered heartbeat: %+v", w2.pendingResults())
	}
	if restarts.Load() != 1 {
		t.Errorf("the next process restarted again: %d", restarts.Load())
	}
}

// Without an OnRestart (npskiosk sync --once), a restart fails and says why; an action
// the kiosk does not know fails too, naming it.
func TestActionsThisProcessCannotDo(t *testing.T) {
	ctx := context.Background()
	k := newActionKiosk(t)
	w, err := New(Config{Store: k.db, CollectorURL: k.c.URL, Token: k.token, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []wire.DeviceAction{{ID: "a1", Kind: wire.ActionRestart}, {ID: "a2", Kind: "format_disk"}} {
		if err := w.runActions(ctx, []wire.DeviceAction{a}); err != nil {
			t.Fatal(err)
		}
	}
	res := w.pendingResults()
	if len(res) != 2 || res[0].OK || !strings.Contains(res[0].Detail, "cannot restart itself") || res[1].OK || !strings.Contains(res[1].Detail, `"format_disk"`) {
		t.Errorf("results: %+v", res)
	}
}

// The kiosk masks the bundle itself, before it leaves: personal data becomes
// placeholders, the token and the configured secrets "[secret]", and a bundle too big
// for the collector loses its oldest log lines, counted.
func TestDiagnosticsMaskedAndBoundedOnTheKiosk(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "kiosk.db"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const token, pinHash = "dev_TOKENtoken123", "$argon2id$v=19$PINHASH"
	filler := strings.Repeat("x", 1000)
	w, err := New(Config{Store: db, CollectorURL: "http://127.0.0.1:1", Token: token, Secrets: []string{pinHash}, Logger: quiet,
		Diagnostics: func(_ context.Context, d *wire.Diagnostics) {
			d.Doctor = []string{"FAIL token " + token}
			for range wire.MaxDiagnosticsBytes / 1000 {
				d.Logs = append(d.Logs, "old "+filler)
			}
			d.Logs = append(d.Logs, "call 07700 900123 or mail ana@example.com; pin "+pinHash)
		}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.Diagnostics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > wire.MaxDiagnosticsBytes {
		t.Errorf("bundle of %d bytes, over %d", len(b), wire.MaxDiagnosticsBytes)
	}
	for _, s := range []string{token, pinHash, "07700 900123", "ana@example.com"} {
		if strings.Contains(string(b), s) {
			t.Errorf("the bundle holds %q", s)
		}
	}
	var d wire.Diagnostics
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if last := d.Logs[len(d.Logs)-1]; last != "call [phone] or mail [email]; pin [secret]" || d.LogsDropped == 0 || d.Doctor[0] != "FAIL token [secret]" {
		t.Errorf("last line %q, dropped %d, doctor %q", last, d.LogsDropped, d.Doctor)
	}
}
