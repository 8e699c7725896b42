package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
)

// steppedClock is a wall clock that can be stepped, and a monotonic clock that only
// moves forward with Advance.
type steppedClock struct {
	mu   sync.Mutex
	wall time.Time
	mono time.Duration
}

func (c *steppedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

func (c *steppedClock) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

func (c *steppedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall, c.mono = c.wall.Add(d), c.mono+d
}

func (c *steppedClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall = c.wall.Add(d)
}

// TestRapidTapAcrossClockSteps: the rapid-tap rule measures by the monotonic clock, so a
// wall clock stepped back (or forward) during a line of genuine shoppers flags none of
// them, while real rapid taps are still flagged; the ages sent with an upload are the
// monotonic ones.
func TestRapidTapAcrossClockSteps(t *testing.T) {
	for _, step := range []time.Duration{-time.Hour, -24 * time.Hour, 30 * time.Second, -25 * 365 * 24 * time.Hour} {
		t.Run(step.String(), func(t *testing.T) {
			clk := &steppedClock{wall: t0}
			db := openTest(t, Config{Now: clk.Now, Elapsed: clk.Elapsed})
			ctx := context.Background()
			tap := func() Recorded {
				t.Helper()
				rec, err := db.Record(ctx, response.Tap{Score: 9, Locale: "en"})
				if err != nil {
					t.Fatal(err)
				}
				clk.Advance(8 * time.Second) // the follow-up
				mustComplete(t, db, rec.ID, response.FollowUp{Outcome: response.OutcomeSkipped})
				return rec
			}
			var ids []string
			// Five shoppers a minute apart; the clock is stepped after the second.
			for i := range 5 {
				if i > 0 {
					clk.Advance(52 * time.Second)
				}
				if i == 2 {
					clk.Step(step)
				}
				if rec := tap(); rec.Suspect {
					t.Fatalf("shopper %d (clock stepped %v): flagged as a rapid tap", i, step)
				} else {
					ids = append(ids, rec.ID)
				}
			}
			// A real rapid repeat, a second after the last thank-you, is still flagged.
			clk.Step(-step)
			clk.Advance(time.Second)
			if rec := tap(); !rec.Suspect {
				t.Fatal("a tap a second after the thank-you was not flagged")
			}
			ages := db.CaptureAges(ids)
			if len(ages) != len(ids) {
				t.Fatalf("ages of %d responses, want %d", len(ages), len(ids))
			}
			// The first was created when the monotonic clock read 0.
			now := clk.Elapsed()
			if want := now; ages[0].Created != want {
				t.Errorf("first response's age %v, want %v", ages[0].Created, want)
			}
			if ages[0].Created-ages[0].Completed != 8*time.Second {
				t.Errorf("first response's follow-up lasted %v, want 8s", ages[0].Created-ages[0].Completed)
			}
		})
	}
}

// TestRecoverOpenAfterClockSetBack: a crash leaves a response open; the clock is set back
// an hour before the app starts again. RecoverOpen(0) at the start completes it at once
// (not when the clock catches up), never before it was created.
func TestRecoverOpenAfterClockSetBack(t *testing.T) {
	ctx := context.Background()
	clk := &steppedClock{wall: t0}
	path := t.TempDir() + "/kiosk.db"
	db, err := Open(ctx, Config{Path: path, Now: clk.Now, Elapsed: clk.Elapsed, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := db.Record(ctx, response.Tap{Score: 4, Locale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	db.Close() // the crash

	clk.Step(-time.Hour)
	db, err = Open(ctx, Config{Path: path, Now: clk.Now, Elapsed: clk.Elapsed, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.RecoverOpen(ctx, 0); err != nil || n != 1 {
		t.Fatalf("RecoverOpen(0) after the clock was set back = %d, %v; want 1", n, err)
	}
	r, err := db.Get(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != response.OutcomeRecovered || r.CompletedAt.Before(r.CreatedAt) {
		t.Fatalf("recovered response: outcome %q, created %v, completed %v", r.Outcome, r.CreatedAt, r.CompletedAt)
	}
}

// TestRapidTapRuleSurvivesRestart: the rule's state lives in memory, loaded at Open from
// the newest responses, so a tap just after a restart is judged as if the kiosk had kept
// running: the earlier run's thank-you and taps count, a crash recovery's completion does
// not, and neither do responses from outside the window.
func TestRapidTapRuleSurvivesRestart(t *testing.T) {
	rule := RapidTapRule{MinGapAfterCompletion: 3 * time.Second, BurstLimit: 3, BurstWindow: time.Minute}
	type step struct {
		wait     time.Duration
		complete bool // complete it at once (the thank-you screen)
	}
	for _, tc := range []struct {
		name        string
		before      []step        // taps of the earlier run
		restartGap  time.Duration // from the new run's start to its first tap
		recoverAll  bool          // the new run completes what was left open as recovered
		insertAfter int           // responses Insert adds, created just before the tap
		wantSuspect bool
	}{
		{"thank-you just before the restart", []step{{0, true}}, 500 * time.Millisecond, false, 0, true},
		{"thank-you long before the restart", []step{{0, true}}, 10 * time.Second, false, 0, false},
		{"left open and recovered", []step{{0, false}}, time.Second, true, 0, false},
		{"burst across the restart", []step{{0, false}, {5 * time.Second, false}, {5 * time.Second, false}}, 5 * time.Second, false, 0, true},
		{"two taps then the restart", []step{{0, false}, {5 * time.Second, false}}, 5 * time.Second, false, 0, false},
		{"burst older than the window", []step{{0, false}, {5 * time.Second, false}, {5 * time.Second, false}}, 2 * time.Minute, false, 0, false},
		{"inserted responses count", nil, 0, false, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kiosk.db")
			wall := t0
			ctx := context.Background()
			first := openTest(t, Config{Path: path, RapidTap: rule, Now: func() time.Time { return wall }})
			for _, s := range tc.before {
				wall = wall.Add(s.wait)
				rec, err := first.Record(ctx, response.Tap{Score: 9, Locale: "en"})
				if err != nil {
					t.Fatal(err)
				}
				if s.complete {
					mustComplete(t, first, rec.ID, response.FollowUp{Outcome: response.OutcomeSkipped})
				}
			}
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}

			// The restart takes a second: a new monotonic clock, the wall clock carried on.
			clk := &steppedClock{wall: wall.Add(time.Second)}
			db := openTest(t, Config{Path: path, RapidTap: rule, Now: clk.Now, Elapsed: clk.Elapsed})
			if tc.recoverAll {
				if _, err := db.RecoverOpen(ctx, 0); err != nil {
					t.Fatal(err)
				}
			}
			clk.Advance(tc.restartGap)
			for i := range tc.insertAfter {
				created := clk.Now().Add(-time.Duration(10+i) * time.Second)
				if err := db.Insert(ctx, Response{ID: "00000000-0000-7000-8000-00000000000" + string(rune('1'+i)),
					Score: 8, Locale: "en", CreatedAt: created, CompletedAt: created.Add(time.Second),
					Outcome: response.OutcomeSkipped, Reasons: []string{}}); err != nil {
					t.Fatal(err)
				}
			}
			rec, err := db.Record(ctx, response.Tap{Score: 10, Locale: "en"})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Suspect != tc.wantSuspect {
				t.Errorf("tap after the restart: suspect = %v, want %v", rec.Suspect, tc.wantSuspect)
			}
			got, err := db.Get(ctx, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Suspect != tc.wantSuspect {
				t.Errorf("stored suspect = %v, want %v", got.Suspect, tc.wantSuspect)
			}
		})
	}
}
