package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/response"
)

// TestPurgeNeverTouchesUnsynced: a response that did not reach the collector is kept
// however old it is: open (the follow-up never ended), waiting in the outbox, or
// quarantined; only synced ones past retention go, and each purge is recorded.
func TestPurgeNeverTouchesUnsynced(t *testing.T) {
	clk := newClock(t0)
	db := openTest(t, Config{Path: t.TempDir() + "/kiosk.db", Now: clk.Now, RapidTap: noRapid})
	ctx := context.Background()
	complete := func(id string) string {
		mustComplete(t, db, id, response.FollowUp{Outcome: response.OutcomeSubmitted, Comment: "c"})
		return id
	}
	open := mustRecord(t, db, 3)
	pending := complete(mustRecord(t, db, 4))
	quarantined := complete(mustRecord(t, db, 5))
	synced := complete(mustRecord(t, db, 6))
	if err := db.Quarantine(ctx, quarantined, "rejected"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MarkSynced(ctx, []string{synced}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * 365 * 24 * time.Hour) // ten years on

	if st, err := db.PurgeStats(ctx); err != nil || !st.LastAt.IsZero() {
		t.Fatalf("stats before any purge: %+v %v", st, err)
	}
	n, err := db.Purge(ctx, 24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want the one synced response", n, err)
	}
	for _, id := range []string{open, pending, quarantined} {
		if _, err := db.Get(ctx, id); err != nil {
			t.Errorf("purge took unsynced response %s: %v", id, err)
		}
	}
	if _, err := db.Get(ctx, synced); !errors.Is(err, ErrNotFound) {
		t.Errorf("synced response kept: %v", err)
	}
	if n, err := db.Purge(ctx, 24*time.Hour); err != nil || n != 0 {
		t.Fatalf("second Purge = %d, %v; want 0", n, err)
	}
	st, err := db.PurgeStats(ctx)
	if err != nil || !st.LastAt.Equal(clk.Now().Truncate(time.Millisecond)) || st.LastPurged != 0 || st.Total != 1 {
		t.Fatalf("stats %+v %v; want last now, 0 last, 1 in total", st, err)
	}
	if db.Size() <= 0 {
		t.Fatal("Size is not positive")
	}
}

// TestMaintainPurgesAtStartThenDaily: Maintain's first round purges, the rounds after
// it do not until PurgeEvery has passed on the database's clock, and it stops with its
// context.
func TestMaintainPurgesAtStartThenDaily(t *testing.T) {
	clk := newClock(t0)
	db := openTest(t, Config{Path: t.TempDir() + "/kiosk.db", Now: clk.Now, RapidTap: noRapid})
	ctx := context.Background()
	const retention = 90 * 24 * time.Hour
	syncedAt := func() string {
		id := mustRecord(t, db, 9)
		mustComplete(t, db, id, response.FollowUp{Outcome: response.OutcomeSkipped})
		if _, err := db.MarkSynced(ctx, []string{id}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	gone := func(id string) bool {
		_, err := db.Get(ctx, id)
		return errors.Is(err, ErrNotFound)
	}
	first := syncedAt()
	clk.Advance(retention + time.Hour)

	// The scheduled loop: its first round purges at once; cancelled, it returns.
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- db.Maintain(mctx, time.Hour, time.Hour, retention) }()
	deadline := time.Now().Add(10 * time.Second)
	for !gone(first) {
		if time.Now().After(deadline) {
			t.Fatal("Maintain did not purge in its first round")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Maintain returned %v, want context.Canceled", err)
	}

	// Another response past a short retention: not purged until a day after the last
	// purge.
	const short = 30 * time.Second
	second := syncedAt()
	clk.Advance(time.Minute)
	db.MaintainOnce(ctx, short)
	if gone(second) {
		t.Fatal("purged again a minute after the last purge")
	}
	clk.Advance(PurgeEvery)
	db.MaintainOnce(ctx, short)
	if !gone(second) {
		t.Fatal("not purged a day after the last purge")
	}
	// A clock set back before the last purge does not hold purges off for a day.
	clk.Advance(-time.Hour)
	third := syncedAt()
	clk.Advance(time.Minute)
	db.MaintainOnce(ctx, short)
	if !gone(third) {
		t.Fatal("a clock set back held the purge off")
	}
	st, err := db.PurgeStats(ctx)
	if err != nil || st.Total != 3 {
		t.Fatalf("stats %+v %v; want 3 purged in total", st, err)
	}
}
