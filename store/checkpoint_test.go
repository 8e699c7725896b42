package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
)

// rowsInMainFile copies the database file alone, without its WAL, and counts the
// responses in the copy: what a checkpoint has already moved out of the WAL.
func rowsInMainFile(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "main-only.db")
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("sqlite3", "file:"+cp+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'responses'`).Scan(&n); err != nil || n == 0 {
		return 0 // the schema itself is still in the WAL
	}
	if err := conn.QueryRow(`SELECT COUNT(*) FROM responses`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCheckpointAfterIdle: taps stay in the WAL while they come, even past SQLite's
// automatic threshold of 1000 pages (turned off), and are copied into the database file
// once the kiosk has been idle for CheckpointIdle.
func TestCheckpointAfterIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("300 durable taps")
	}
	path := filepath.Join(t.TempDir(), "kiosk.db")
	const taps = 300 // about five pages each: past 1000 pages of WAL
	idle := 2 * time.Second
	db := openTest(t, Config{Path: path, RapidTap: noRapid, CheckpointIdle: idle, CheckpointEvery: 1 << 30})
	ctx := context.Background()
	start := time.Now()
	for i := range taps {
		if _, err := db.Record(ctx, response.Tap{Score: i % 11, Locale: "en", SurveyVersion: 1}); err != nil {
			t.Fatal(err)
		}
	}
	// Only meaningful if the taps came faster than the idle time.
	if time.Since(start) < idle {
		if n := rowsInMainFile(t, path); n != 0 {
			t.Fatalf("%d taps in the database file before the kiosk was idle: the tap path checkpointed", n)
		}
	}
	deadline := time.Now().Add(idle + 10*time.Second)
	for rowsInMainFile(t, path) != taps {
		if time.Now().After(deadline) {
			t.Fatalf("the database file holds %d of %d taps %s after the last: no idle checkpoint", rowsInMainFile(t, path), taps, idle+10*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWALBoundedUnderConstantTaps: with no idle moment, the WAL still starts over once
// it holds CheckpointFrames pages, so its file stops growing.
func TestWALBoundedUnderConstantTaps(t *testing.T) {
	if testing.Short() {
		t.Skip("600 durable taps")
	}
	path := filepath.Join(t.TempDir(), "kiosk.db")
	const (
		taps   = 600 // about 3000 pages of WAL without a checkpoint
		frames = 100
	)
	db := openTest(t, Config{Path: path, RapidTap: noRapid, CheckpointIdle: time.Hour, CheckpointEvery: 20, CheckpointFrames: frames})
	ctx := context.Background()
	for i := range taps {
		if _, err := db.Record(ctx, response.Tap{Score: i % 11, Locale: "en", SurveyVersion: 1}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// A frame is a page and its 24-byte header. The checkpointer runs beside the taps,
	// so the WAL may pass the bound by what comes in while it works: allow 4×.
	if max := int64(4*frames) * (pageSize + 24); st.Size() > max {
		t.Errorf("WAL is %d bytes after %d taps, want at most %d: it grows without bound", st.Size(), taps, max)
	}
	if n := rowsInMainFile(t, path); n < taps-4*frames/4 {
		t.Errorf("the database file holds %d of %d taps: the WAL was not checkpointed while busy", n, taps)
	}
}

// TestCommitHookWakesOnlyForWork: the commit hook, which runs inside every tap's commit,
// wakes the checkpointer only to start its idle timer and when a busy round is due, not
// once per commit.
func TestCommitHookWakesOnlyForWork(t *testing.T) {
	c := newCheckpointer(nil, time.Hour, 4, 0, time.Now, quiet)
	woke := func() bool {
		select {
		case <-c.wake:
			return true
		default:
			return false
		}
	}
	for _, step := range []struct {
		name string
		wake bool
	}{
		{"first commit starts the idle timer", true},
		{"second commit: the timer runs", false},
		{"third commit", false},
		{"fourth commit: a busy round is due", true},
	} {
		c.committed()
		if got := woke(); got != step.wake {
			t.Errorf("%s: woke = %v, want %v", step.name, got, step.wake)
		}
	}
	// The checkpointer moves the next round on, as run does.
	c.due.Store(c.commits.Load() + c.every)
	for i := range 3 {
		c.committed()
		if woke() {
			t.Errorf("commit %d after the busy round woke the checkpointer", i+1)
		}
	}
}

// TestIdleCheckpointWaitsForTheLastTap: the idle checkpoint counts from the newest
// commit, so taps that keep coming faster than CheckpointIdle hold it off, and it runs
// once they stop.
func TestIdleCheckpointWaitsForTheLastTap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiosk.db")
	const (
		idle = 500 * time.Millisecond
		gap  = 50 * time.Millisecond
		taps = 20 // 1 s of taps, twice the idle time
	)
	db := openTest(t, Config{Path: path, RapidTap: noRapid, CheckpointIdle: idle, CheckpointEvery: 1 << 30})
	ctx := context.Background()
	for i := range taps {
		if _, err := db.Record(ctx, response.Tap{Score: i % 11, Locale: "en", SurveyVersion: 1}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(gap)
	}
	last := time.Now()
	if n := rowsInMainFile(t, path); n != 0 && time.Since(last) < idle-gap {
		t.Fatalf("%d taps in the database file while taps kept coming: the idle checkpoint did not wait for the last", n)
	}
	deadline := last.Add(idle + 10*time.Second)
	for rowsInMainFile(t, path) != taps {
		if time.Now().After(deadline) {
			t.Fatalf("the database file holds %d of %d taps long after the last: no idle checkpoint", rowsInMainFile(t, path), taps)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
