package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/npskiosk/npskiosk/internal/sqlite"
)

// Defaults for Config.CheckpointIdle, CheckpointEvery and CheckpointFrames.
const (
	DefaultCheckpointIdle   = 2 * time.Second
	DefaultCheckpointEvery  = 256
	DefaultCheckpointFrames = 4096 // 16 MiB of 4 KiB pages
)

// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so one
// tap in a few hundred would also copy the WAL into the database and sync it. The write
// connection turns it off, and a checkpointer copies the WAL from a connection of its own
// while the kiosk is idle. A tap's commit stays synchronous=FULL: it is durable once it is
// in the WAL, whenever the checkpoint comes.

// openNoAutoCheckpoint opens a pool whose connections never checkpoint on commit;
// onCommit, if not nil, is called as each of their transactions commits.
func openNoAutoCheckpoint(dsn string, onCommit func()) *sql.DB {
	return sqlite.OpenWithHook(dsn, func(c *sqlite3.SQLiteConn) error {
		if _, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil); err != nil {
			return fmt.Errorf("turn off automatic checkpoints: %w", err)
		}
		if onCommit != nil {
			c.RegisterCommitHook(func() int { onCommit(); return 0 })
		}
		return nil
	})
}

// checkpointer copies the WAL into the database off the tap path: once no write has
// committed for idle (PASSIVE, which never waits for anyone), and, while writes keep
// coming, every `every` commits (PASSIVE, then RESTART once the WAL holds frames or more
// pages, which waits for the writer but lets the WAL start over) so it cannot grow
// without bound.
type checkpointer struct {
	conn *sql.DB // its own connection, for PASSIVE checkpoints beside the taps
	// write is the taps' connection, for what must exclude them: RESTART and the write
	// that starts the WAL over. Taking it from the pool queues fairly behind a tap;
	// waiting for SQLite's write lock from another connection would poll and starve
	// while taps come back to back.
	write  *sql.DB
	idle   time.Duration
	every  int64
	frames int
	log    *slog.Logger
	now    func() time.Time

	commits atomic.Int64  // commits on the write connection, counted by its commit hook
	wake    chan struct{} // a commit happened; capacity 1, never blocks the commit

	stop func()
	done sync.WaitGroup
}

func newCheckpointer(conn *sql.DB, idle time.Duration, every, frames int, now func() time.Time, log *slog.Logger) *checkpointer {
	if idle <= 0 {
		idle = DefaultCheckpointIdle
	}
	if every <= 0 {
		every = DefaultCheckpointEvery
	}
	if frames <= 0 {
		frames = DefaultCheckpointFrames
	}
	return &checkpointer{conn: conn, idle: idle, every: int64(every), frames: frames, now: now, log: log,
		wake: make(chan struct{}, 1), stop: func() {}}
}

// committed is the write connection's commit hook: it runs inside SQLite's commit, so it
// only counts and signals.
func (c *checkpointer) committed() {
	c.commits.Add(1)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *checkpointer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		c.run(ctx)
	}()
}

// close stops the goroutine and waits for it; a checkpoint under way is interrupted.
func (c *checkpointer) close() {
	c.stop()
	c.done.Wait()
}

func (c *checkpointer) run(ctx context.Context) {
	timer := time.NewTimer(c.idle)
	timer.Stop()
	defer timer.Stop()
	var (
		since int64 // c.commits at the last checkpoint
		idle  int64 // c.commits after the last idle checkpoint, its own write included
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
			timer.Reset(c.idle)
			if n := c.commits.Load(); n-since >= c.every {
				since = n
				c.busy(ctx)
			}
		case <-timer.C:
			if c.commits.Load() == idle {
				continue // only the checkpointer's own write since the last one
			}
			c.idleCheckpoint(ctx)
			idle = c.commits.Load()
			since = idle
		}
	}
}

// idleCheckpoint copies the whole WAL into the database, then restarts the WAL with a
// small write of its own: the first commit into a restarted WAL syncs the WAL header as
// well as its frames, and that second sync is better paid now than by the next tap.
func (c *checkpointer) idleCheckpoint(ctx context.Context) {
	busy, log, done, err := c.checkpoint(ctx, c.conn, "PASSIVE")
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("idle wal checkpoint failed; the next idle moment tries again", "err", err)
		}
		return
	}
	if busy || done < log {
		return // a reader holds part of it; the next idle moment finishes
	}
	if _, err := c.write.ExecContext(ctx,
		`INSERT INTO settings (key, value, updated_at) VALUES ('wal_checkpointed_at', ?, ?)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		c.now().UTC().Format(time.RFC3339), millis(c.now())); err != nil && ctx.Err() == nil {
		c.log.Warn("could not restart the wal after a checkpoint", "err", err)
	}
}

// busy runs while writes keep coming: PASSIVE copies what it can beside them; once the
// WAL holds c.frames pages or more, RESTART waits for the writer in between two commits,
// copies the rest and makes the next commit start the WAL over.
func (c *checkpointer) busy(ctx context.Context) {
	_, log, _, err := c.checkpoint(ctx, c.conn, "PASSIVE")
	if err == nil && log >= c.frames {
		_, _, _, err = c.checkpoint(ctx, c.write, "RESTART")
	}
	if err != nil && ctx.Err() == nil {
		c.log.Warn("wal checkpoint failed; the next one tries again", "err", err)
	}
}

// checkpoint runs one checkpoint and returns SQLite's answer: whether it could not finish
// (busy), the WAL's frames, and how many of them are now in the database.
func (c *checkpointer) checkpoint(ctx context.Context, conn *sql.DB, mode string) (busy bool, log, done int, err error) {
	var b int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&b, &log, &done); err != nil {
		return false, 0, 0, fmt.Errorf("wal checkpoint %s: %w", mode, err)
	}
	return b != 0, log, done, nil
}
