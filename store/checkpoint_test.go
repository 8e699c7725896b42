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
	n, err := countMainFile(t, path)
	if err != nil {
		t.Fatalf("count the responses in a copy of %s: %v", path, err)
	}
	return n
}

// countMainFile is rowsInMainFile returning the error. A checkpoint that a reader kept
// from finishing leaves pages in the file that only the WAL makes whole: the copy then
// reads as malformed.
func countMainFile(t *testing.T, path string) (int, error) {
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
		return 0, nil // the schema itself is still in the WAL
	}
	if err := conn.QueryRow(`SELECT COUNT(*) FROM responses`).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
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

// TestWALBoundedUnderConstantTaps: with no idle moment, the WAL still starts over every
// CheckpointEvery commits, so its file stops growing, and the taps reach the database
// file.
func TestWALBoundedUnderConstantTaps(t *testing.T) {
	if testing.Short() {
		t.Skip("600 durable taps")
	}
	path := filepath.Join(t.TempDir(), "kiosk.db")
	const (
		taps  = 600 // about 3000 pages of WAL without a checkpoint
		every = 20
	)
	db := openTest(t, Config{Path: path, RapidTap: noRapid, CheckpointIdle: time.Hour, CheckpointEvery: every})
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
	// A frame is a page and its 24-byte header; a tap writes about five. The round is
	// due every `every` commits but runs when the checkpointer gets the write
	// connection, so a few more taps may come in first: allow 4 rounds' worth of six
	// pages a tap.
	if max := int64(4*every*6) * (pageSize + 24); st.Size() > max {
		t.Errorf("WAL is %d bytes after %d taps, want at most %d: it grows without bound", st.Size(), taps, max)
	}
	if n := rowsInMainFile(t, path); n < taps-4*every {
		t.Errorf("the database file holds %d of %d taps: the WAL was not checkpointed while busy", n, taps)
	}
}

// TestBusyRoundWaitsForAReader: a reader's snapshot keeps the busy round from starting
// the WAL over. The round gives up at once rather than holding the taps behind it, and
// tries again shortly, so the WAL is checkpointed once the reader is done even if no
// tap comes after.
func TestBusyRoundWaitsForAReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiosk.db")
	const (
		taps  = 60
		every = 10
	)
	db := openTest(t, Config{Path: path, RapidTap: noRapid, CheckpointIdle: time.Hour, CheckpointEvery: every})
	ctx := context.Background()
	mustRecord(t, db, 10)
	// The reader's snapshot predates the taps below: no round can copy them.
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM responses`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range taps {
		if _, err := db.Record(ctx, response.Tap{Score: i % 11, Locale: "en", SurveyVersion: 1}); err != nil {
			t.Fatal(err)
		}
	}
	// A round that waited for the reader with the connection's busy timeout (5 s) would
	// have held a tap that long.
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("%d taps took %s beside a reader: a busy round held them", taps, took)
	}
	tx.Rollback()
	// No tap comes after and the idle checkpoint is an hour away: only the round's
	// retry can copy the taps into the database file.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := countMainFile(t, path)
		if err == nil && n == taps+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file holds %d of %d taps (%v) after the reader finished: the busy round was not retried",
				n, taps+1, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCommitHookWakesOnlyForWork: the commit hook, which runs inside every tap's commit,
// wakes the checkpointer only to start its idle timer and when a busy round is due, not
// once per commit.
func TestCommitHookWakesOnlyForWork(t *testing.T) {
	c := newCheckpointer(nil, time.Hour, 4, time.Now, quiet)
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
	for {
		// The copy may be taken while the checkpoint writes the file: an error is
		// "not yet".
		n, err := countMainFile(t, path)
		if err == nil && n == taps {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file holds %d of %d taps (%v) long after the last: no idle checkpoint", n, taps, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
