package kiosk

import (
	"context"
	"errors"
	"testing"
	"time"
)

// memSettings keeps settings in memory; writes of the keys in fail return an error.
type memSettings struct {
	m    map[string]string
	fail map[string]bool // key → fail its writes; "*" fails every write
}

func (s *memSettings) Setting(_ context.Context, key string) (string, bool, error) {
	v, ok := s.m[key]
	return v, ok, nil
}

func (s *memSettings) SetSetting(_ context.Context, key, value string) error {
	if s.fail["*"] || s.fail[key] {
		return errors.New("disk I/O error")
	}
	s.m[key] = value
	return nil
}

// TestPINLockOutDoubles: each lock-out without a right PIN in between lasts twice the one
// before, from 30 s up to an hour, as the README says; a right PIN starts again at 30 s.
func TestPINLockOutDoubles(t *testing.T) {
	ctx := context.Background()
	now := testNow
	settings := &memSettings{m: map[string]string{}}
	g := &pinGuard{hash: func() string { return testPINHash }, settings: settings, now: func() time.Time { return now }}
	lockOut := func() time.Duration {
		t.Helper()
		for i := 1; i <= pinMaxFailures; i++ {
			res, err := g.Check(ctx, "1111")
			if err != nil {
				t.Fatal(err)
			}
			if i < pinMaxFailures && res.outcome != pinWrong {
				t.Fatalf("wrong PIN %d: outcome %v, want wrong", i, res.outcome)
			}
			if i == pinMaxFailures {
				if res.outcome != pinLocked {
					t.Fatalf("wrong PIN %d: outcome %v, want locked", i, res.outcome)
				}
				return res.lockedFor
			}
		}
		return 0
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute,
		8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		got := lockOut()
		if got != w {
			t.Fatalf("lock-out %d lasts %v, want %v", i+1, got, w)
		}
		// Still locked a second before the end, even for the right PIN.
		now = now.Add(got - time.Second)
		if res, _ := g.Check(ctx, "2468"); res.outcome != pinLocked {
			t.Fatalf("lock-out %d: right PIN a second before the end: %v", i+1, res.outcome)
		}
		now = now.Add(time.Second)
	}
	if res, err := g.Check(ctx, "2468"); err != nil || res.outcome != pinAccepted {
		t.Fatalf("right PIN after the lock-out: %v, %v", res.outcome, err)
	}
	if got := lockOut(); got != pinFirstLock {
		t.Fatalf("after a right PIN the lock-out lasts %v, want %v", got, pinFirstLock)
	}
}

// TestPINLockOutDoublesAcrossRestart: the counters and the lock are in the kiosk's
// database; a restarted app is still locked for what is left, and the next lock-out
// doubles. A wall clock set back while the app was down does not lengthen the lock.
func TestPINLockOutDoublesAcrossRestart(t *testing.T) {
	h := newHarness(t, landscape)
	openPIN(h)
	for range pinMaxFailures {
		enterPIN(h, "1111")
	}
	h.requireShowing("Try again in 30 s.")

	restart := func(at time.Time) *harness {
		t.Helper()
		h.db.Close()
		h2 := openHarness(t, h.path, landscape)
		h2.clock.now = at
		return h2
	}
	// Restarted with the wall clock a day back: locked, for 30 s at most.
	h2 := restart(testNow.Add(-24 * time.Hour))
	openPIN(h2)
	h2.requireShowing("Try again in 30 s.")
	h2.clock.now = h2.clock.now.Add(31 * time.Second)
	for range pinMaxFailures {
		enterPIN(h2, "1111")
	}
	h2.requireShowing("Try again in 1 min.") // doubled, across the restart

	h = h2
	h3 := restart(h2.clock.now.Add(10 * time.Second))
	openPIN(h3)
	enterPIN(h3, "2468")
	h3.requireShowing("Too many wrong PINs.")
	h3.clock.now = h3.clock.now.Add(51 * time.Second)
	enterPIN(h3, "2468")
	h3.requireShowing("Store dashboard")
}

// TestPINLockOutFailsClosed: when the lock-out state cannot be written, no attempt is
// compared, the right PIN included, and a lock-out that could not be saved still holds.
func TestPINLockOutFailsClosed(t *testing.T) {
	h := newHarness(t, landscape)
	settings := &memSettings{m: map[string]string{}, fail: map[string]bool{"*": true}}
	h.app.pin.settings = settings
	openPIN(h)
	for range 3 * pinMaxFailures {
		enterPIN(h, "1111")
		if h.showing("Wrong PIN") {
			t.Fatal("a wrong PIN was compared although it could not be counted")
		}
	}
	enterPIN(h, "2468")
	if h.showing("Store dashboard") {
		t.Fatal("the pad opened although the attempt could not be counted")
	}
	h.requireShowing("refused")

	// Only the lock-out's own writes fail: the fifth wrong PIN still locks the pad.
	settings.fail = map[string]bool{settingPINLockedUntil: true, settingPINLockedFor: true}
	for range pinMaxFailures {
		enterPIN(h, "1111")
	}
	for range 10 {
		res, err := h.app.pin.Check(context.Background(), "2468")
		if res.outcome != pinLocked {
			t.Fatalf("after an unsaved lock-out the right PIN gives %v (%v)", res.outcome, err)
		}
	}
	enterPIN(h, "2468")
	if h.showing("Store dashboard") {
		t.Fatal("the pad opened during a lock-out that could not be saved")
	}
}
