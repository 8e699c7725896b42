package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// monoClock keeps, for what happened since the database was opened, when it happened by
// the monotonic clock: the rapid-tap rule and the ages sent with an upload hold even when
// the wall clock is stepped (NTP fixing a wrong clock, a manager setting it by hand).
// What happened before the process started is only known by the wall clock, from the
// database.
type monoClock struct {
	elapsed func() time.Duration // monotonic time since an arbitrary origin

	mu            sync.Mutex
	openedWall    time.Time // the wall clock at open: rows stamped before are from earlier runs
	lastCompleted time.Duration
	hasCompleted  bool
	taps          []time.Duration              // recent taps, for the burst rule
	at            map[string]*[2]time.Duration // id → created, completed (0: open)
	order         []string                     // ids in at, oldest first, to bound it
}

// maxMonoEntries bounds what monoClock remembers; older responses fall back to the skew.
const maxMonoEntries = 20000

// newMonoClock reads elapsed, or else the differences of now's readings: time.Now
// carries a monotonic reading that Sub uses (a test's fake now moves as it is told).
func newMonoClock(elapsed func() time.Duration, now func() time.Time) *monoClock {
	wall := now()
	if elapsed == nil {
		elapsed = func() time.Duration { return now().Sub(wall) }
	}
	return &monoClock{elapsed: elapsed, openedWall: wall, at: map[string]*[2]time.Duration{}}
}

func (m *monoClock) tapped(id string) {
	now := m.elapsed()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.taps = append(m.taps, now)
	if len(m.taps) > 1000 {
		m.taps = m.taps[len(m.taps)-1000:]
	}
	m.at[id] = &[2]time.Duration{now, 0}
	m.order = append(m.order, id)
	for len(m.order) > maxMonoEntries {
		delete(m.at, m.order[0])
		m.order = m.order[1:]
	}
}

func (m *monoClock) completed(id string) {
	now := m.elapsed()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastCompleted, m.hasCompleted = now, true
	if a := m.at[id]; a != nil {
		a[1] = now
	}
}

// CaptureAge is how long ago, by the monotonic clock, a response was created and
// completed.
type CaptureAge struct {
	ID                 string
	Created, Completed time.Duration
}

// CaptureAges returns the ages of the completed responses among ids that were captured
// since the database was opened; the others are left out (only their wall-clock times
// are known).
func (db *DB) CaptureAges(ids []string) []CaptureAge {
	m := db.mono
	if m == nil {
		return nil
	}
	now := m.elapsed()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []CaptureAge
	for _, id := range ids {
		if a := m.at[id]; a != nil && a[1] != 0 {
			out = append(out, CaptureAge{ID: id, Created: now - a[0], Completed: now - a[1]})
		}
	}
	return out
}

// isRapidTap applies capture rule 3 to a tap at wall time now: by the monotonic clock for
// the taps of this run, by the wall clock (ignoring times ahead of now, which a clock set
// back leaves behind) for earlier runs'.
func (db *DB) isRapidTap(ctx context.Context, tx *sql.Tx, now time.Time) (bool, error) {
	db.mu.Lock()
	rule := db.rapidTap
	db.mu.Unlock()
	m := db.mono
	mono := m.elapsed()
	m.mu.Lock()
	hasCompleted, lastCompleted, opened := m.hasCompleted, m.lastCompleted, m.openedWall
	recent := 0
	for _, t := range m.taps {
		if mono-t < rule.BurstWindow {
			recent++
		}
	}
	m.mu.Unlock()

	if rule.MinGapAfterCompletion > 0 {
		if hasCompleted {
			if mono-lastCompleted < rule.MinGapAfterCompletion {
				return true, nil
			}
		} else {
			var last sql.NullInt64
			if err := tx.QueryRowContext(ctx,
				`SELECT MAX(completed_at) FROM responses
				  WHERE created_at >= ? AND completed_at <= ? AND outcome <> 'recovered'`,
				millis(now.Add(-time.Hour)), millis(now)).Scan(&last); err != nil {
				return false, fmt.Errorf("check rapid tap: %w", err)
			}
			if last.Valid && now.Sub(fromMillis(last.Int64)) < rule.MinGapAfterCompletion {
				return true, nil
			}
		}
	}
	if rule.BurstLimit > 0 && rule.BurstWindow > 0 {
		n := recent
		if mono < rule.BurstWindow {
			// This run is younger than the window: count the last run's taps too.
			var earlier int
			if err := tx.QueryRowContext(ctx,
				`SELECT COUNT(*) FROM responses WHERE created_at > ? AND created_at < ? AND created_at <= ?`,
				millis(now.Add(-rule.BurstWindow)), millis(opened), millis(now)).Scan(&earlier); err != nil {
				return false, fmt.Errorf("check burst: %w", err)
			}
			n += earlier
		}
		if n >= rule.BurstLimit {
			return true, nil
		}
	}
	return false, nil
}
