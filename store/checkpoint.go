package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/npskiosk/npskiosk/internal/sqlite"
)

// Defaults for Config.CheckpointIdle and CheckpointEvery.
const (
	DefaultCheckpointIdle  = 2 * time.Second
	DefaultCheckpointEvery = 256
)

// busyRetry is how long a busy round waits before it tries again when a reader's
// snapshot kept it from starting the WAL over: long enough for the reads the kiosk makes
// (a stats query, the sync worker's batch) to finish, short enough that the WAL grows by
// a few taps at most meanwhile.
const busyRetry = 100 * time.Millisecond

// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so the
// tap that crosses it would also copy the WAL into the database and sync it before it is
// acknowledged. The write connection turns it off: a checkpointer copies the WAL once the
// kiosk is idle, which at a kiosk is nearly always, and, while taps keep coming, in
// between two of them every CheckpointEvery commits, where a tap waits for it only if it
// comes while it runs. A tap's commit stays synchronous=FULL: it is durable once it is in
// the WAL, whenever the checkpoint comes.

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
// coming, every `every` commits (a busy round: RESTART in between two taps, which lets
// the WAL start over) so it cannot grow without bound.
type checkpointer struct {
	conn *sql.DB // its own connection, for the idle PASSIVE checkpoint
	// write is the taps' connection, for what must exclude them: the busy rounds'
	// RESTART and the write that starts the WAL over. Taking it from the pool queues
	// fairly behind a tap; waiting for SQLite's write lock from another connection
	// would poll and starve while taps come back to back.
	write *sql.DB
	idle  time.Duration
	every int64
	log   *slog.Logger
	now   func() time.Time

	commits atomic.Int64 // commits on the write connection, counted by its commit hook
	due     atomic.Int64 // the count of commits at which the next busy round is due
	// last is when the newest of them committed, as time since epoch (Go's monotonic
	// clock, not the database's, which tests and benchmarks step).
	last  atomic.Int64
	epoch time.Time
	// armed: the idle timer runs, or a wake to start it is pending. While it is set a
	// commit signals only when a busy round is due, not once per tap.
	armed atomic.Bool
	wake  chan struct{} // work for the checkpointer; capacity 1, never blocks the commit

	stop func()
	done sync.WaitGroup
}

func newCheckpointer(conn *sql.DB, idle time.Duration, every int, now func() time.Time, log *slog.Logger) *checkpointer {
	if idle <= 0 {
		idle = DefaultCheckpointIdle
	}
	if every <= 0 {
		every = DefaultCheckpointEvery
	}
	c := &checkpointer{conn: conn, idle: idle, every: int64(every), now: now, log: log,
		epoch: time.Now(), wake: make(chan struct{}, 1), stop: func() {}}
	c.due.Store(c.every)
	return c
}

// committed is the write connection's commit hook. It runs inside SQLite's commit, on
// every tap, so it only counts, notes the time and wakes the checkpointer when there is
// work: the first commit after an idle checkpoint (to start the idle timer, which then
// finds later commits by their time) and a commit that makes a busy round due. A
// goroutine woken per tap would compete with the next tap for the CPU.
func (c *checkpointer) committed() {
	n := c.commits.Add(1)
	c.last.Store(int64(time.Since(c.epoch)))
	if n >= c.due.Load() || (!c.armed.Load() && c.armed.CompareAndSwap(false, true)) {
		c.signal()
	}
}

func (c *checkpointer) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// quietFor is how long ago the newest commit was.
func (c *checkpointer) quietFor() time.Duration {
	return time.Since(c.epoch) - time.Duration(c.last.Load())
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
	retry := time.NewTimer(busyRetry) // a busy round a reader kept from finishing
	retry.Stop()
	defer retry.Stop()
	round := func() {
		if c.busy(ctx) {
			retry.Reset(busyRetry)
		} else {
			retry.Stop()
		}
	}
	var (
		idle    int64 // c.commits after the last idle checkpoint, its own write included
		running bool  // timer is set
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
			if !running {
				timer.Reset(c.idle)
				running = true
			}
			if c.commits.Load() >= c.due.Load() {
				round()
			}
		case <-retry.C:
			round()
		case <-timer.C:
			running = false
			if q := c.quietFor(); q < c.idle {
				timer.Reset(c.idle - q) // taps came since it was set: wait from the last
				running = true
				continue
			}
			// Disarm before looking at the count: a commit from here on wakes the loop
			// again, and one that came just before is seen below.
			c.armed.Store(false)
			if q := c.quietFor(); q < c.idle {
				if c.armed.CompareAndSwap(false, true) {
					timer.Reset(c.idle - q)
					running = true
				}
				continue
			}
			if c.commits.Load() == idle {
				continue // only the checkpointer's own write since the last one
			}
			c.idleCheckpoint(ctx)
			idle = c.commits.Load()
			c.due.Store(idle + c.every)
		}
	}
}

// idleCheckpoint copies the whole WAL into the database, then restarts the WAL with a
// small write of its own: the first commit into a restarted WAL syncs the WAL header as
// well as its frames, and that second sync is better paid now than by the next tap.
func (c *checkpointer) idleCheckpoint(ctx context.Context) {
	busy, log, done, err := c.passive(ctx)
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

// busy is a round while writes keep coming: RESTART on the taps' own connection copies
// the WAL into the database and lets the next commit write the WAL from its start. It
// runs in between two taps, not beside them: a checkpoint from another connection
// writes and syncs the database while the taps sync the WAL, and their fsyncs queue
// behind its. It reports whether to try again soon: a reader's snapshot still needed
// part of the WAL.
func (c *checkpointer) busy(ctx context.Context) (again bool) {
	// The next round is due `every` commits from now, not at once: until then the commit
	// hook leaves the checkpointer asleep, and a round a reader kept from finishing is
	// retried by the timer instead of by every tap.
	c.due.Store(c.commits.Load() + c.every)
	busy, err := c.restart(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("wal checkpoint failed; the next round tries again", "err", err)
		}
		return false
	}
	return busy
}

// restart runs a RESTART checkpoint on the write connection without a busy wait: with the
// connection's own timeout it would hold the taps queued behind it for as long as a
// reader kept its snapshot, up to seconds. It reports busy when a reader (or another
// process's writer) kept it from finishing.
func (c *checkpointer) restart(ctx context.Context) (busy bool, err error) {
	conn, err := c.write.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("wal checkpoint RESTART: take the write connection: %w", err)
	}
	defer conn.Close()
	var timeout int
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil {
		return false, fmt.Errorf("wal checkpoint RESTART: read the busy timeout: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		return false, fmt.Errorf("wal checkpoint RESTART: turn off the busy timeout: %w", err)
	}
	var b, log, done int
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&b, &log, &done)
	// Not ctx: a cancelled checkpoint must still give the taps their timeout back.
	if _, rerr := conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA busy_timeout = %d", timeout)); rerr != nil {
		// A tap on this connection would fail at the first lock it meets: drop it, and
		// the pool opens a new one with the settings of the DSN.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		return false, fmt.Errorf("wal checkpoint RESTART: restore the busy timeout: %w", rerr)
	}
	if err != nil {
		return false, fmt.Errorf("wal checkpoint RESTART: %w", err)
	}
	return b != 0, nil
}

// passive runs a PASSIVE checkpoint on the checkpointer's own connection and returns
// SQLite's answer: whether it could not finish (busy), the WAL's frames, and how many of
// them are now in the database.
func (c *checkpointer) passive(ctx context.Context) (busy bool, log, done int, err error) {
	var b int
	if err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&b, &log, &done); err != nil {
		return false, 0, 0, fmt.Errorf("wal checkpoint PASSIVE: %w", err)
	}
	return b != 0, log, done, nil
}
