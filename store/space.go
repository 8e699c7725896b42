package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"
)

// ErrStorageFull means the disk is full and the write could not be stored, even after
// the reserve file was given back. The kiosk shows "out of service" until Probe finds
// space again.
var ErrStorageFull = errors.New("storage full")

// DefaultReserveBytes is the size of the reserve file kept next to the database when
// Config.ReserveBytes is zero: room for thousands of responses and their sync marks.
const DefaultReserveBytes = 8 << 20

// Storage is what the database knows of its disk, for the UI, status and doctor.
type Storage struct {
	// Full: a tap cannot be stored now. It clears when Probe finds space again.
	Full bool
	// ReserveHeld: the reserve file is in place; false once it was given back to the
	// database because the disk filled (or when the kiosk runs without one).
	ReserveHeld bool
	// Free is the space left on the database's file system, in bytes; -1 if unknown.
	Free int64
	// Reserve is the reserve file's path and size.
	Reserve      string
	ReserveBytes int64
}

// space keeps the reserve file: space set aside on the database's disk and given back
// when the disk fills, so the kiosk can still complete the taps it took, mark them
// synced, checkpoint and purge; it is re-created when space returns.
type space struct {
	path  string // the reserve file
	size  int64  // 0: no reserve
	log   *slog.Logger
	mu    sync.Mutex // serialises creating and removing the file
	full  atomic.Bool
	spent atomic.Bool // the reserve was given back and is not yet re-created
	// filled is signalled when the disk is found full, for Maintain to start probing.
	filled chan struct{}
}

func newSpace(dbPath string, size int64, log *slog.Logger) *space {
	switch {
	case size == 0:
		size = DefaultReserveBytes
	case size < 0:
		size = 0
	}
	return &space{path: dbPath + "-reserve", size: size, log: log, filled: make(chan struct{}, 1)}
}

func (s *space) dir() string { return filepath.Dir(s.path) }

// held reports whether the reserve file is in place at its full size.
func (s *space) held() bool {
	if s.size == 0 {
		return false
	}
	st, err := os.Stat(s.path)
	return err == nil && st.Size() >= s.size
}

// release shrinks the reserve file to keep bytes (removes it for zero) and reports
// whether that freed anything. Writes at run time keep a quarter of it: the room a
// restart on the full disk needs to open the database (its shared-memory file).
func (s *space) release(keep int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spent.Store(true)
	st, err := os.Stat(s.path)
	if err != nil || st.Size() <= keep {
		return false
	}
	if keep == 0 {
		err = os.Remove(s.path)
	} else {
		err = os.Truncate(s.path, keep)
	}
	if err != nil {
		s.log.Error("disk full: could not give back the reserve", "reserve", s.path, "err", err)
		return false
	}
	s.log.Warn("disk full: gave reserved space back to the database", "reserve", s.path, "bytes", st.Size()-keep)
	return true
}

// ensure creates the reserve file when it is missing and the disk has room for it and
// as much again; a half-written file is removed.
func (s *space) ensure() error {
	if s.size == 0 || s.held() {
		s.spent.Store(false)
		return nil
	}
	if free := freeBytes(s.dir()); free >= 0 && free < 2*s.size {
		return fmt.Errorf("re-create reserve %s: %d bytes free, need %d: %w", s.path, free, 2*s.size, ErrStorageFull)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := writeReserve(s.path, s.size); err != nil {
		os.Remove(s.path)
		return fmt.Errorf("re-create reserve %s: %w", s.path, err)
	}
	s.spent.Store(false)
	return nil
}

// writeReserve writes size bytes of zeros (real blocks, not a sparse file) and syncs them.
func writeReserve(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// needsProbe reports whether the disk is full or the reserve is not in place: Probe has
// work.
func (s *space) needsProbe() bool { return s.full.Load() || (s.size > 0 && !s.held()) }

func (s *space) setFull(full bool) {
	if full && s.full.CompareAndSwap(false, true) {
		s.log.Error("storage full: taps cannot be stored until space is freed", "dir", s.dir(), "free", freeBytes(s.dir()))
		select {
		case s.filled <- struct{}{}:
		default:
		}
	} else if !full && s.full.CompareAndSwap(true, false) {
		s.log.Info("storage free again: taking taps", "dir", s.dir(), "free", freeBytes(s.dir()))
	}
}

// isFull tells a write that failed for want of space: SQLite's SQLITE_FULL, an I/O error
// while the disk has no room (a WAL or shared-memory file that cannot grow), or ENOSPC.
func (s *space) isFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, io.ErrShortWrite) {
		return true
	}
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code {
	case sqlite3.ErrFull:
		return true
	case sqlite3.ErrIoErr:
		free := freeBytes(s.dir())
		return free >= 0 && free < 1<<20
	}
	return false
}

// write runs op, a write that must not wait for space (anything but a new tap); when it fails for want of space it gives the
// reserve back and runs op once more. A write that still finds no room sets the full
// state and returns an error wrapping ErrStorageFull.
func (s *space) write(op func() error) error {
	err := op()
	if !s.isFull(err) {
		return err
	}
	if s.release(s.size / 4) {
		if err = op(); !s.isFull(err) {
			return err
		}
	}
	s.setFull(true)
	return fmt.Errorf("%w: %w", ErrStorageFull, err)
}

// tap runs op, a new tap's write. A tap never takes the reserve: that is kept for
// amending the taps already stored, marking them synced, checkpoints and purges, so
// the outbox drains on a full disk. A tap that finds no room sets the full state (the
// kiosk shows "out of service") and returns an error wrapping ErrStorageFull.
func (s *space) tap(op func() error) error {
	if s.spent.Load() {
		// What is free now is the reserve given back: it is not a tap's to take.
		s.setFull(true)
		return fmt.Errorf("%w: the disk is full and its reserve is spent", ErrStorageFull)
	}
	err := op()
	if !s.isFull(err) {
		return err
	}
	s.setFull(true)
	return fmt.Errorf("%w: %w", ErrStorageFull, err)
}

// Storage reports the disk state: full or not, the reserve, the free space.
func (db *DB) Storage() Storage {
	s := db.space
	return Storage{Full: s.full.Load(), ReserveHeld: s.held(), Free: freeBytes(s.dir()), Reserve: s.path, ReserveBytes: s.size}
}

// StorageFull reports whether a tap cannot be stored now (the UI shows "out of service").
func (db *DB) StorageFull() bool { return db.space.full.Load() }

// Probe looks for space after the disk filled: it re-creates the reserve when there is
// room for it and clears the full state once the reserve is in place, some space is free
// beside it and a test write succeeds. The kiosk calls it periodically (Maintain does);
// it is cheap when all is well.
func (db *DB) Probe(ctx context.Context) Storage {
	s := db.space
	if err := s.ensure(); err != nil && !errors.Is(err, ErrStorageFull) {
		db.log.Warn("could not re-create the reserve file", "err", err)
	}
	headroom := max(s.size/4, 64<<10)
	if s.full.Load() && !s.spent.Load() && freeBytes(s.dir()) >= headroom {
		// The test write is a tap's: it never takes the reserve, which would only look
		// like space returned.
		err := s.tap(func() error { return db.SetSetting(ctx, "storage_probe", db.now().UTC().Format(time.RFC3339)) })
		if err == nil {
			s.setFull(false)
		} else if !errors.Is(err, ErrStorageFull) {
			db.log.Warn("storage probe failed", "err", err)
		}
	}
	return db.Storage()
}
