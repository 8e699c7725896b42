package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/npskiosk/npskiosk/response"
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
	earlier       []earlierRow                 // responses without a monotonic time (isRapidTap)
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
// back leaves behind) for earlier runs'. It reads nothing from the disk: what it needs of
// earlier runs was loaded at Open (loadEarlier) and what Insert added since.
func (db *DB) isRapidTap(now time.Time) bool {
	db.mu.Lock()
	rule := db.rapidTap
	db.mu.Unlock()
	m := db.mono
	mono := m.elapsed()
	nowMs := millis(now)
	m.mu.Lock()
	defer m.mu.Unlock()

	if rule.MinGapAfterCompletion > 0 {
		if m.hasCompleted {
			if mono-m.lastCompleted < rule.MinGapAfterCompletion {
				return true
			}
		} else {
			// The newest completion within the hour, not one that only a crash recovery
			// closed.
			var last int64
			found := false
			for _, r := range m.earlier {
				if r.completed != 0 && r.created >= millis(now.Add(-time.Hour)) && r.completed <= nowMs && (!found || r.completed > last) {
					last, found = r.completed, true
				}
			}
			if found && now.Sub(fromMillis(last)) < rule.MinGapAfterCompletion {
				return true
			}
		}
	}
	if rule.BurstLimit > 0 && rule.BurstWindow > 0 {
		n := 0
		for _, t := range m.taps {
			if mono-t < rule.BurstWindow {
				n++
			}
		}
		if mono < rule.BurstWindow {
			// This run is younger than the window: count the last run's taps too.
			from, opened := millis(now.Add(-rule.BurstWindow)), millis(m.openedWall)
			for _, r := range m.earlier {
				if r.created > from && r.created < opened && r.created <= nowMs {
					n++
				}
			}
		}
		if n >= rule.BurstLimit {
			return true
		}
	}
	return false
}

// earlierRow is what the rapid-tap rule needs of a response it has no monotonic time for
// (stored by an earlier run, or by Insert): its wall-clock times in Unix milliseconds.
// completed is zero while it is open and for one a crash recovery completed, which never
// counts as the thank-you screen.
type earlierRow struct{ created, completed int64 }

// earlierLookback and maxEarlier bound what Open loads for the rapid-tap rule: the rule
// looks an hour back for the last completion and one burst window back for taps, and
// counts at most BurstLimit of them.
const (
	earlierLookback = 24 * time.Hour
	maxEarlier      = 1000
)

// loadEarlier reads, once at Open, the newest responses of earlier runs the rapid-tap
// rule may need, so that a restart keeps the rule without a tap reading the disk.
func (db *DB) loadEarlier(ctx context.Context) error {
	db.mu.Lock()
	lookback := max(earlierLookback, db.rapidTap.BurstWindow)
	db.mu.Unlock()
	m := db.mono
	rows, err := db.read.QueryContext(ctx,
		`SELECT created_at, COALESCE(completed_at, 0), COALESCE(outcome, '') FROM responses
		  WHERE created_at >= ? ORDER BY created_at DESC LIMIT ?`,
		millis(m.openedWall.Add(-lookback)), maxEarlier)
	if err != nil {
		return fmt.Errorf("load recent taps: %w", err)
	}
	defer rows.Close()
	var earlier []earlierRow
	for rows.Next() {
		var (
			r       earlierRow
			outcome string
		)
		if err := rows.Scan(&r.created, &r.completed, &outcome); err != nil {
			return fmt.Errorf("load recent taps: %w", err)
		}
		if outcome == "" || outcome == string(response.OutcomeRecovered) {
			r.completed = 0
		}
		earlier = append(earlier, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load recent taps: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.earlier = append(m.earlier, earlier...)
	return nil
}

// inserted tells the rapid-tap rule of a response stored with its own times (Insert).
func (m *monoClock) inserted(created, completed time.Time, outcome response.Outcome) {
	r := earlierRow{created: millis(created)}
	if !completed.IsZero() && outcome != "" && outcome != response.OutcomeRecovered {
		r.completed = millis(completed)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.created < millis(m.openedWall.Add(-earlierLookback)) {
		return // demo history: too old for the rule unless the clock is set back a day
	}
	m.earlier = append(m.earlier, r)
	if len(m.earlier) > maxEarlier {
		// Keep the newest, as Open does.
		slices.SortFunc(m.earlier, func(a, b earlierRow) int { return cmp.Compare(b.created, a.created) })
		m.earlier = m.earlier[:maxEarlier]
	}
}
