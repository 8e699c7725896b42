package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// pageSize is the kiosk database's page size. A tap appends to the WAL every page it
// changes (its row's leaf and a leaf of each of the responses table's indexes) and syncs
// them: with SQLite's default 4 KiB pages that is about 17 KB a tap for a row of a
// hundred bytes; with 1 KiB pages about 5 KB, and the commit's fsync has that much less
// to write. The kiosk's tables hold small rows, so the deeper trees cost little.
const pageSize = 1024

// usePageSize gives the database pageSize pages before anything else opens it.
// A new (empty) file gets them before its first page is written: the page size cannot
// change once the file is in WAL mode, which every connection of the store asks for as
// it opens. An existing file with another page size is rewritten once (VACUUM, which
// needs the rollback journal). That is skipped, to be tried again at the next start,
// when another process has the file open or the disk has no room for the copy; free
// reports the bytes free on the database's disk (-1: unknown). The reserve file's size
// stays free besides, so converting never takes the room the kiosk needs once it runs.
func (db *DB) usePageSize(ctx context.Context, free func() int64) error {
	path, log, keep := db.path, db.log, db.space.size
	// No journal mode and no busy wait of a store connection: the file is read as it is,
	// and a file another process holds is left for the next start rather than waited for.
	pool, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_busy_timeout=200&_synchronous=FULL")
	if err != nil {
		return fmt.Errorf("page size of %s: open: %w", path, err)
	}
	defer pool.Close()
	conn, err := pool.Conn(ctx) // the PRAGMAs below hold for their connection only
	if err != nil {
		return fmt.Errorf("page size of %s: open: %w", path, err)
	}
	defer conn.Close()

	var pages, size int64
	if err := conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return fmt.Errorf("page size of %s: count pages: %w", path, err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return fmt.Errorf("page size of %s: read it: %w", path, err)
	}
	switch {
	case pages == 0:
		// Setting WAL mode writes the file's first page, with the page size set here.
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d", pageSize)); err != nil {
			return fmt.Errorf("new database %s: set page size: %w", path, err)
		}
		if err := journalMode(ctx, conn, "wal"); err != nil {
			return fmt.Errorf("new database %s: %w", path, err)
		}
		return nil
	case size == pageSize:
		return nil
	}

	used := db.Size()
	// VACUUM builds the new file in a temporary database (on this disk unless TMPDIR is
	// elsewhere) and copies it back under a rollback journal of the old pages: up to
	// twice the database at once.
	if avail := free(); avail >= 0 && avail < 2*used+keep {
		log.Warn("database keeps its page size for now: not enough free space to rewrite it; the next start tries again",
			"path", path, "page_size", size, "db_bytes", used, "free", avail, "need", 2*used+keep)
		return nil
	}
	if ok, err := quickCheck(ctx, conn); err != nil || !ok {
		// Open's integrity check reports it; a damaged file is not rewritten.
		return nil
	}
	start := time.Now()
	if err := journalMode(ctx, conn, "delete"); err != nil {
		log.Warn("database keeps its page size for now: another process has it open; the next start tries again",
			"path", path, "page_size", size, "err", err)
		return nil
	}
	_, err = conn.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d", pageSize))
	if err == nil {
		_, err = conn.ExecContext(ctx, "VACUUM")
	}
	// Back to WAL whatever happened: the store's connections would set it anyway, and a
	// failed VACUUM has left the old file as it was.
	if werr := journalMode(ctx, conn, "wal"); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("rewrite %s with %d-byte pages: %w", path, pageSize, err)
	}
	log.Info("rewrote the database with smaller pages", "path", path, "page_size", pageSize, "was", size,
		"db_bytes", db.Size(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// journalMode sets the journal mode and checks SQLite took it: a mode it cannot switch to
// (another connection has the file open) is no error from the PRAGMA, just the old mode.
func journalMode(ctx context.Context, conn *sql.Conn, mode string) error {
	var got string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode = "+mode).Scan(&got); err != nil {
		return fmt.Errorf("set journal mode %s: %w", mode, err)
	}
	if got != mode {
		return fmt.Errorf("set journal mode %s: %w: still %s", mode, errJournalBusy, got)
	}
	return nil
}

var errJournalBusy = errors.New("the database is in use")

func quickCheck(ctx context.Context, conn *sql.Conn) (bool, error) {
	var res string
	if err := conn.QueryRowContext(ctx, "PRAGMA quick_check(1)").Scan(&res); err != nil {
		return false, err
	}
	return res == "ok", nil
}
