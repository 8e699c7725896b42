package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/collectortest"
	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/response"
	"github.com/npskiosk/npskiosk/store"
)

// diskFullDirEnv names the tmpfs mount point in the re-executed test process.
const diskFullDirEnv = "NPS_DISKFULL_DIR"

// TestDiskFull runs the kiosk's store and sync worker on a 24 MiB tmpfs of their own and
// fills it while shoppers tap and the worker uploads to a real collector. The test
// re-executes itself inside a private mount namespace (unshare -Urm) that mounts the
// tmpfs, so nothing outside the test sees it; it skips only when that is not possible.
func TestDiskFull(t *testing.T) {
	if dir := os.Getenv(diskFullDirEnv); dir != "" {
		diskFull(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("-short: the disk-full test mounts a tmpfs")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1): cannot mount a private tmpfs for the disk-full test")
	}
	dir := t.TempDir()
	mount := `mount -t tmpfs -o size=24m tmpfs "$1" && shift && exec "$@"`
	if out, err := exec.Command(unshare, "-Urm", "sh", "-c", mount, "sh", dir, "true").CombinedOutput(); err != nil {
		t.Skipf("cannot mount a private tmpfs (unshare -Urm: %v: %s): the disk-full test needs user namespaces or root", err, strings.TrimSpace(string(out)))
	}
	args := []string{"-Urm", "sh", "-c", mount, "sh", dir, os.Args[0], "-test.run=^TestDiskFull$", "-test.count=1", "-test.v", "-test.timeout=3m"}
	cmd := exec.Command(unshare, args...)
	cmd.Env = append(os.Environ(), diskFullDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("inside the private mount namespace:\n%s", out)
	if err != nil {
		t.Fatalf("disk-full run failed: %v", err)
	}
}

func diskFull(t *testing.T, dir string) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || int64(st.Blocks)*st.Bsize > 32<<20 {
		t.Fatalf("%s is not the small tmpfs this test needs (%v)", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	c := collectortest.Start(t, collectortest.Options{Logger: quiet})
	c.AddStore(t, storage.Store{ID: "S1"})
	en := c.Enroll(t, "S1", "Till 1")

	path := filepath.Join(dir, "kiosk.db")
	// The default reserve: three quarters of it (what a running kiosk may spend) hold
	// more than SQLite's WAL grows to before it checkpoints by itself (1,000 pages of
	// 1 KiB), so the checkpoint that lets the WAL be reused always fits.
	const reserve = store.DefaultReserveBytes
	open := func() *store.DB {
		t.Helper()
		db, err := store.Open(ctx, store.Config{Path: path, ReserveBytes: reserve, Logger: quiet})
		if err != nil {
			t.Fatalf("open the kiosk's database: %v", err)
		}
		return db
	}
	// run starts what the kiosk runs beside the window: the sync worker and maintenance.
	run := func(db *store.DB) (stop func()) {
		rctx, rcancel := context.WithCancel(ctx)
		w, err := New(Config{Store: db, CollectorURL: c.URL, Token: en.Token, Logger: quiet,
			RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 100 * time.Millisecond, AttemptTimeout: 5 * time.Second,
			// The taps below wake no worker (the window would): it looks every Idle.
			Idle: 50 * time.Millisecond, IdleMax: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		w.Start(rctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			db.Maintain(rctx, 50*time.Millisecond, 50*time.Millisecond, time.Hour)
		}()
		return func() {
			rcancel()
			w.Stop()
			<-done
		}
	}

	var acked []string // every tap Record acknowledged
	refused := 0       // taps the kiosk turned away because the storage was full
	comment := strings.Repeat("the queue was long but the staff were kind. ", 20)
	// tap is one shopper: a score, then the follow-up. A tap is refused only as the
	// UI does: storage full, said before or by Record.
	tap := func(db *store.DB) {
		t.Helper()
		if db.StorageFull() {
			refused++
			return
		}
		rec, err := db.Record(ctx, response.Tap{Score: len(acked) % 11, Locale: "en", SurveyVersion: 1})
		if errors.Is(err, store.ErrStorageFull) {
			refused++
			return
		}
		if err != nil {
			t.Fatalf("tap %d: %v", len(acked), err)
		}
		acked = append(acked, rec.ID)
		err = db.Complete(ctx, rec.ID, response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: comment})
		if err != nil && !errors.Is(err, store.ErrStorageFull) {
			t.Fatalf("complete tap %d: %v", len(acked), err)
		}
		// A follow-up that found no room stays open: the next start completes it.
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(40 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	outbox := func(db *store.DB) store.OutboxStats {
		t.Helper()
		ob, err := db.Outbox(ctx)
		if err != nil {
			t.Fatalf("outbox: %v", err)
		}
		return ob
	}

	db := open()
	if !db.Storage().ReserveHeld {
		t.Fatalf("no reserve file after open: %+v", db.Storage())
	}
	stop := run(db)
	for range 30 {
		tap(db)
	}

	// The filler takes every free byte while shoppers keep tapping.
	filler := filepath.Join(dir, "filler")
	fillDisk(t, filler)
	t.Logf("disk filled: %s bytes free, %+v", freeOn(dir), db.Storage())
	for i := 0; !db.StorageFull(); i++ {
		if i > 20000 {
			t.Fatalf("the disk never filled: %+v", db.Storage())
		}
		tap(db)
	}
	t.Logf("storage full after %d acknowledged taps; %d refused", len(acked), refused)
	for range 20 {
		tap(db) // the kiosk keeps running: taps are refused, not lost
	}

	// Sync still drains on the full disk: every completed tap reaches the collector
	// and is marked synced.
	waitFor("the outbox drains on the full disk", func() bool { return outbox(db).Pending == 0 })
	// Whether draining needed the reserve depends on how many free pages the WAL had
	// left when the filler took the rest: sometimes marking synced fits without it.
	if s := db.Storage(); !s.Full {
		t.Errorf("storage after draining on the full disk: %+v, want still full", s)
	} else {
		t.Logf("drained on the full disk; reserve given back: %v", !s.ReserveHeld)
	}
	stop()
	if err := db.Close(); err != nil {
		t.Logf("close on the full disk: %v", err)
	}

	// A restart on a full disk (what closing freed is taken again) opens the database
	// and says it is full.
	fillDisk(t, filler+"2")
	db = open()
	if !db.StorageFull() {
		t.Errorf("reopened on a full disk: %+v, want full", db.Storage())
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Errorf("integrity on the full disk: %v", err)
	}
	stop = run(db)
	defer func() { stop(); db.Close() }()

	// Space returns: the kiosk finds it by itself, takes the reserve again and taps.
	tap(db)
	if err := errors.Join(os.Remove(filler), os.Remove(filler+"2")); err != nil {
		t.Fatal(err)
	}
	waitFor("the storage is usable again", func() bool { s := db.Storage(); return !s.Full && s.ReserveHeld })
	before := len(acked)
	for range 20 {
		tap(db)
	}
	if got := len(acked) - before; got != 20 {
		t.Fatalf("after recovery %d of 20 taps were stored", got)
	}
	// As the kiosk does at start-up: follow-ups left open are completed.
	if _, err := db.RecoverOpen(ctx, 0); err != nil {
		t.Fatal(err)
	}
	waitFor("the outbox drains after recovery", func() bool { return outbox(db).Pending == 0 })
	ob := outbox(db)
	if ob.Open != 0 || ob.Quarantined != 0 || ob.Synced != int64(len(acked)) {
		t.Errorf("kiosk outbox %+v, want %d synced and nothing else", ob, len(acked))
	}
	if n := c.Count(t, "S1"); n != int64(len(acked)) {
		t.Errorf("the collector holds %d responses, want the %d acknowledged taps exactly once", n, len(acked))
	}
	for _, id := range acked {
		if _, err := db.Get(ctx, id); err != nil {
			t.Errorf("acknowledged tap %s: %v", id, err)
		}
	}
	t.Logf("%d taps acknowledged and at the collector once each, %d refused while full", len(acked), refused)
}

// fillDisk writes path until the file system has no space left.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			return
		}
	}
}

func freeOn(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return err.Error()
	}
	return fmt.Sprint(int64(st.Bavail) * st.Bsize)
}
