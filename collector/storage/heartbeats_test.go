package storage_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// beatFixture is a database with one store and one enrolled device, on a clock the test
// moves.
type beatFixture struct {
	path   string
	db     *storage.DB
	clock  *testClock
	device storage.EnrolledDevice
}

func newBeatFixture(t *testing.T, b storagetest.Backend) *beatFixture {
	t.Helper()
	ctx := context.Background()
	f := &beatFixture{path: b.Path(t), clock: newTestClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))}
	f.db = f.open(t)
	if err := f.db.AddStore(ctx, storage.Store{ID: "S001", Name: "Main St", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	nd, err := f.db.AddDevice(ctx, "S001", "Till 1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Enroll(ctx, wire.EnrollRequest{Code: nd.Code}); err != nil {
		t.Fatal(err)
	}
	f.device = storage.EnrolledDevice{ID: nd.ID, StoreID: "S001", Timezone: "UTC"}
	return f
}

// open opens another handle on the fixture's database: another process, as far as the
// heartbeats kept in memory go.
func (f *beatFixture) open(t *testing.T) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), storage.Config{Path: f.path, Now: f.clock.now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (f *beatFixture) device1(t *testing.T, db *storage.DB) storage.Device {
	t.Helper()
	ds, err := db.Devices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("%d devices, want 1", len(ds))
	}
	return ds[0]
}

func (f *beatFixture) storeSeen(t *testing.T, db *storage.DB) time.Time {
	t.Helper()
	rs, err := db.Stores(context.Background(), storage.Filter{From: "2026-03-01", To: "2026-03-02"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d stores, want 1", len(rs))
	}
	return rs[0].LastSeen
}

var fullBeat = wire.Heartbeat{AppVersion: "1.4.2", QueueLength: 7, OldestPendingAge: 42.5, FreeDiskBytes: 3 << 30,
	CollectorCertExpiry: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), ContactKeyID: "ck1", DBBytes: 5 << 20,
	LastPurgeAt: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC), LastPurged: 12}

// checkBeat fails unless d shows fullBeat, heard at seen with the skew given.
func checkBeat(t *testing.T, d storage.Device, seen time.Time, skewMS int64) {
	t.Helper()
	if !d.LastSeen.Equal(seen) || d.AppVersion != "1.4.2" || d.QueueLength != 7 || d.OldestPending != 42.5 ||
		d.FreeDisk != 3<<30 || !d.CollectorCertExpiry.Equal(fullBeat.CollectorCertExpiry) || d.ContactKeyID != "ck1" ||
		d.DBBytes != 5<<20 || !d.LastPurgeAt.Equal(fullBeat.LastPurgeAt) || d.LastPurged != 12 || d.ClockSkewMS != skewMS {
		t.Errorf("device = %+v, want the heartbeat of %s with skew %d ms", d, seen, skewMS)
	}
}

func TestHeartbeatIsReadThroughUntilFlushed(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, b storagetest.Backend) {
		f := newBeatFixture(t, b)
		other := f.open(t)
		heard := f.clock.now()
		hb := fullBeat
		hb.DeviceTime = heard.Add(3 * time.Second)
		f.db.RecordHeartbeat(f.device, hb)

		// This process's devices page, metrics and stores report see it at once.
		checkBeat(t, f.device1(t, f.db), heard, 3000)
		if got := f.storeSeen(t, f.db); !got.Equal(heard) {
			t.Errorf("store's last contact = %s, want %s", got, heard)
		}
		// Another process sees the database: nothing yet.
		if d := f.device1(t, other); !d.LastSeen.IsZero() || d.AppVersion != "" {
			t.Errorf("before the flush another handle sees %+v, want nothing heard", d)
		}

		if err := f.db.FlushHeartbeats(context.Background()); err != nil {
			t.Fatal(err)
		}
		checkBeat(t, f.device1(t, other), heard, 3000)
		if got := f.storeSeen(t, other); !got.Equal(heard) {
			t.Errorf("after the flush the store's last contact = %s, want %s", got, heard)
		}
		checkBeat(t, f.device1(t, f.db), heard, 3000)
	})
}

func TestCloseFlushesHeartbeats(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, b storagetest.Backend) {
		f := newBeatFixture(t, b)
		heard := f.clock.now()
		f.db.RecordHeartbeat(f.device, fullBeat)
		if err := f.db.Close(); err != nil {
			t.Fatal(err)
		}
		checkBeat(t, f.device1(t, f.open(t)), heard, 0)
	})
}

func TestHeartbeatFlusher(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, b storagetest.Backend) {
		f := newBeatFixture(t, b)
		other := f.open(t)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); f.db.RunHeartbeatFlusher(ctx, 20*time.Millisecond) }()

		heard := f.clock.now()
		f.db.RecordHeartbeat(f.device, fullBeat)
		deadline := time.Now().Add(10 * time.Second)
		for f.device1(t, other).LastSeen.IsZero() {
			if time.Now().After(deadline) {
				t.Fatal("the flusher did not write the heartbeat within 10 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		checkBeat(t, f.device1(t, other), heard, 0)

		// Stopping flushes what came in since the last tick.
		f.clock.set(heard.Add(time.Minute))
		later := fullBeat
		later.QueueLength = 0
		f.db.RecordHeartbeat(f.device, later)
		stop()
		<-done
		if d := f.device1(t, other); !d.LastSeen.Equal(heard.Add(time.Minute)) || d.QueueLength != 0 {
			t.Errorf("after the flusher stopped another handle sees %+v, want the heartbeat of a minute later", d)
		}
	})
}

// TestHeartbeatMerge checks what a flush writes against what others wrote meanwhile:
// last seen never goes back, the latest clock skew wins whether from a heartbeat or an
// upload, and a skew from an upload alone leaves the heartbeat's fields as they were.
func TestHeartbeatMerge(t *testing.T) {
	type step struct {
		beat     bool          // a heartbeat, DeviceTime ahead by skew
		upload   bool          // an upload notes skew (NoteClockSkew) and, in SQL, a later contact
		skew     time.Duration // of the heartbeat or upload
		flush    bool          // flush after the step
		advanced time.Duration // the clock moves this much before the step
	}
	tests := []struct {
		name     string
		steps    []step
		seen     time.Duration // after the start
		skewMS   int64
		wantBeat bool // fullBeat's fields stored
	}{
		{"heartbeat then later upload: upload's contact and skew", []step{
			{beat: true, skew: time.Second},
			{upload: true, skew: 4 * time.Second, advanced: 30 * time.Second, flush: true},
		}, 30 * time.Second, 4000, true},
		{"upload then later heartbeat: heartbeat's", []step{
			{upload: true, skew: 4 * time.Second},
			{beat: true, skew: time.Second, advanced: 30 * time.Second, flush: true},
		}, 30 * time.Second, 1000, true},
		{"skew alone after a flushed heartbeat keeps its fields", []step{
			{beat: true, skew: time.Second, flush: true},
			{upload: true, skew: -2 * time.Second, advanced: 10 * time.Second, flush: true},
		}, 10 * time.Second, -2000, true},
		{"skew alone on a silent device", []step{
			{upload: true, skew: 6 * time.Second, flush: true},
		}, 0, 6000, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storagetest.ForEachBackend(t, func(t *testing.T, b storagetest.Backend) {
				ctx := context.Background()
				f := newBeatFixture(t, b)
				start := f.clock.now()
				for _, s := range tc.steps {
					f.clock.set(f.clock.now().Add(s.advanced))
					if s.beat {
						hb := fullBeat
						hb.DeviceTime = f.clock.now().Add(s.skew)
						f.db.RecordHeartbeat(f.device, hb)
					}
					if s.upload {
						f.db.NoteClockSkew(f.device.ID, s.skew)
						if _, err := f.db.RawExec(ctx, `UPDATE devices SET last_seen_at = ? WHERE id = ?`, f.clock.now().UnixMilli(), f.device.ID); err != nil {
							t.Fatal(err)
						}
					}
					if s.flush {
						if err := f.db.FlushHeartbeats(ctx); err != nil {
							t.Fatal(err)
						}
					}
				}
				for _, db := range []*storage.DB{f.db, f.open(t)} {
					d := f.device1(t, db)
					if want := start.Add(tc.seen); !d.LastSeen.Equal(want) {
						t.Errorf("last seen = %s, want %s", d.LastSeen, want)
					}
					if d.ClockSkewMS != tc.skewMS {
						t.Errorf("clock skew = %d ms, want %d", d.ClockSkewMS, tc.skewMS)
					}
					if got := d.AppVersion == fullBeat.AppVersion && d.DBBytes == fullBeat.DBBytes; got != tc.wantBeat {
						t.Errorf("heartbeat's fields stored = %v, want %v: %+v", got, tc.wantBeat, d)
					}
				}
			})
		})
	}
}
