package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// pragma reads one PRAGMA's value through the store's read pool.
func pragma(t *testing.T, db *DB, name string) string {
	t.Helper()
	var v string
	if err := db.read.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func countResponses(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.read.QueryRow(`SELECT COUNT(*) FROM responses`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNewDatabaseHas1KiBPages: a database the store creates has 1 KiB pages and is in
// WAL mode from its first page on.
func TestNewDatabaseHas1KiBPages(t *testing.T) {
	db := openTest(t, Config{RapidTap: noRapid})
	mustRecord(t, db, 9)
	if got := pragma(t, db, "page_size"); got != "1024" {
		t.Errorf("page_size = %s, want 1024", got)
	}
	if got := pragma(t, db, "journal_mode"); got != "wal" {
		t.Errorf("journal_mode = %s, want wal", got)
	}
}

// oldDatabase writes a database of the current schema with taps rows, then rewrites it
// with 4 KiB pages, as every kiosk had them before; it is left in WAL mode, closed.
func oldDatabase(t *testing.T, taps int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	db, err := Open(context.Background(), Config{Path: path, RapidTap: noRapid, Logger: quiet, ReserveBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range taps {
		mustRecord(t, db, i%11)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	for _, q := range []string{"PRAGMA journal_mode = DELETE", "PRAGMA page_size = 4096", "VACUUM", "PRAGMA journal_mode = WAL"} {
		if _, err := conn.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var size int
	if err := conn.QueryRow("PRAGMA page_size").Scan(&size); err != nil || size != 4096 {
		t.Fatalf("the old database has %d-byte pages (%v), want 4096", size, err)
	}
	return path
}

// TestConvertsTo1KiBPages: a database with 4 KiB pages is rewritten with 1 KiB pages once,
// keeping every row, unless the disk has no room for the copy or another connection has
// the file open; then it keeps its pages, opens as it is, and the next start converts it.
func TestConvertsTo1KiBPages(t *testing.T) {
	const taps = 200
	for _, tc := range []struct {
		name   string
		free   func(used int64) int64 // bytes free on the disk, given the database's size
		reader bool                   // another connection holds a read transaction
		want   int64                  // page size after usePageSize
	}{
		{"room to spare", func(int64) int64 { return 1 << 40 }, false, 1024},
		{"free space unknown", func(int64) int64 { return -1 }, false, 1024},
		{"exactly twice the database", func(used int64) int64 { return 2 * used }, false, 1024},
		{"no room for the copy", func(used int64) int64 { return 2*used - 1 }, false, 4096},
		{"another connection reads", func(int64) int64 { return 1 << 40 }, true, 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := oldDatabase(t, taps)
			ctx := context.Background()
			var release func()
			if tc.reader {
				other, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL")
				if err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				tx, err := other.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				var n int
				if err := tx.QueryRow(`SELECT COUNT(*) FROM responses`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				release = func() { tx.Rollback(); other.Close() }
			}
			conv := &DB{path: path, log: quiet, space: newSpace(path, -1, quiet)}
			used := conv.Size()
			if err := conv.usePageSize(ctx, func() int64 { return tc.free(used) }); err != nil {
				t.Fatalf("usePageSize: %v", err)
			}
			if release != nil {
				release()
			}
			checkPages(t, path, tc.want, taps)
			if tc.want != pageSize {
				// Skipped, not given up: the next start, with room and nobody else
				// reading, converts it.
				if err := conv.usePageSize(ctx, func() int64 { return 1 << 40 }); err != nil {
					t.Fatalf("usePageSize, second time: %v", err)
				}
				checkPages(t, path, pageSize, taps)
			}
		})
	}
}

// checkPages opens the database read-only (which converts nothing) and checks its page
// size, its journal mode and its responses.
func checkPages(t *testing.T, path string, want int64, taps int) {
	t.Helper()
	ro, err := OpenReadOnly(context.Background(), Config{Path: path, Logger: quiet})
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	defer ro.Close()
	if got := pragma(t, ro, "page_size"); got != strconv.FormatInt(want, 10) {
		t.Errorf("page_size = %s, want %d", got, want)
	}
	if got := pragma(t, ro, "journal_mode"); got != "wal" {
		t.Errorf("journal_mode = %s, want wal", got)
	}
	if n := countResponses(t, ro); n != taps {
		t.Errorf("%d responses, want %d", n, taps)
	}
}

// TestOpenConvertsTo1KiBPages: Open itself rewrites a 4 KiB database, which then takes
// taps and keeps the ones it had.
func TestOpenConvertsTo1KiBPages(t *testing.T) {
	const taps = 200
	path := oldDatabase(t, taps)
	db := openTest(t, Config{Path: path, RapidTap: noRapid})
	if got := pragma(t, db, "page_size"); got != "1024" {
		t.Errorf("page_size = %s after Open, want 1024", got)
	}
	if got := pragma(t, db, "journal_mode"); got != "wal" {
		t.Errorf("journal_mode = %s after Open, want wal", got)
	}
	mustRecord(t, db, 10)
	if n := countResponses(t, db); n != taps+1 {
		t.Errorf("%d responses, want %d", n, taps+1)
	}
	if err := db.CheckIntegrity(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestTapWALBytes: what a tap's commit writes and syncs, the pages it appends to the WAL,
// stays at most six 1 KiB pages (the row's leaf, a leaf of each index, now and then a
// page split). With 4 KiB pages it was about four pages, 17 KB a tap.
func TestTapWALBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("550 durable taps")
	}
	const (
		warm     = 50  // past the first leaves' fill and split
		taps     = 500 // measured
		maxPages = 6
	)
	path := filepath.Join(t.TempDir(), "kiosk.db")
	// No checkpoint: the WAL only grows, so its size counts the frames appended.
	db := openTest(t, Config{Path: path, RapidTap: noRapid, CheckpointIdle: time.Hour, CheckpointEvery: 1 << 30})
	for i := range warm {
		mustRecord(t, db, i%11)
	}
	walSize := func() int64 {
		st, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	before := walSize()
	for i := range taps {
		mustRecord(t, db, i%11)
	}
	appended := walSize() - before

	head := make([]byte, 32)
	f, err := os.Open(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.ReadFull(f, head); err != nil {
		t.Fatal(err)
	}
	page := int64(binary.BigEndian.Uint32(head[8:12])) // the WAL header's page size
	frame := page + 24                                 // each frame: a header, then the page
	if appended%frame != 0 {
		t.Fatalf("the WAL grew by %d bytes, not a whole number of %d-byte frames", appended, frame)
	}
	pages := float64(appended/frame) / taps
	t.Logf("%d-byte pages: %.2f pages, %.0f bytes of WAL a tap", page, pages, float64(appended)/taps)
	if pages > maxPages {
		t.Errorf("a tap appends %.2f pages to the WAL, want at most %d", pages, maxPages)
	}
	if perTap, most := float64(appended)/taps, float64(maxPages*(1024+24)); perTap > most {
		t.Errorf("a tap appends %.0f bytes to the WAL, want at most %.0f (%d frames of 1 KiB)", perTap, most, maxPages)
	}
}
