package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/followup"
)

func pulledCases() []Case {
	return []Case{
		{ID: "c2", Status: followup.Contacted, Version: 3, DueAt: t0.Add(2 * time.Hour), Score: 9, HasContact: true},
		{ID: "c1", Status: followup.Open, Version: 1, DueAt: t0.Add(-time.Hour), Score: 2, Comment: "slow till"},
	}
}

func TestCachedCasesShowQueuedMovesAtOnce(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, Config{Now: newClock(t0).Now})
	if _, err := db.ReplaceCases(ctx, pulledCases()); err != nil {
		t.Fatal(err)
	}
	cs, err := db.Cases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].ID != "c1" || !cs[0].Overdue || cs[1].Overdue || cs[0].Comment != "slow till" || !cs[1].HasContact {
		t.Fatalf("cached cases: %+v, want c1 (overdue) then c2", cs)
	}

	tests := []struct {
		name   string
		id     string
		to     followup.Status
		note   string
		wantOK bool
		want   error
	}{
		{"open → contacted", "c1", followup.Contacted, "left a message", true, nil},
		{"contacted (queued) → contacted", "c1", followup.Contacted, "", false, followup.ErrTransition},
		{"contacted (queued) → resolved", "c1", followup.Resolved, "voucher sent", true, nil},
		{"closed without a note", "c2", followup.ClosedNoAction, "", false, followup.ErrTransition},
		{"a case not cached", "c9", followup.Resolved, "", false, ErrNoCase},
		{"a note too long", "c2", followup.Resolved, string(make([]rune, followup.MaxNoteRunes+1)), false, ErrInvalidInput},
	}
	for _, tt := range tests {
		_, err := db.QueueCaseChange(ctx, tt.id, tt.to, tt.note)
		if tt.wantOK && err != nil || !tt.wantOK && !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want ok=%v or %v", tt.name, err, tt.wantOK, tt.want)
		}
	}
	cs, _ = db.Cases(ctx)
	if c := cs[0]; c.Status != followup.Resolved || !c.Pending || c.Note != "voucher sent" || c.Overdue {
		t.Fatalf("c1 after two queued moves: %+v, want resolved, pending, not overdue", c)
	}
	pending, err := db.PendingCaseChanges(ctx)
	if err != nil || len(pending) != 2 || pending[0].Status != followup.Contacted || pending[0].Version != 1 {
		t.Fatalf("pending: %+v, %v", pending, err)
	}

	// A new pull keeps queued moves on top of what the collector sent.
	if _, err := db.ReplaceCases(ctx, pulledCases()); err != nil {
		t.Fatal(err)
	}
	if cs, _ = db.Cases(ctx); cs[0].Status != followup.Resolved {
		t.Fatalf("a pull dropped the queued move: %+v", cs[0])
	}

	// The first reaches the collector (version 1 → 2): the second now stands on 2.
	synced := Case{ID: "c1", Status: followup.Contacted, Version: 2, DueAt: t0.Add(-time.Hour), Score: 2}
	for range 2 {
		if err := db.MarkCaseChangeSynced(ctx, pending[0].ID, synced); err != nil {
			t.Fatal(err)
		}
	}
	pending, _ = db.PendingCaseChanges(ctx)
	if len(pending) != 1 || pending[0].Status != followup.Resolved || pending[0].Version != 2 {
		t.Fatalf("pending after the first synced: %+v, want the resolve at version 2", pending)
	}

	// HQ got there first: the resolve is refused, the note is kept and told.
	if err := db.MarkCaseChangeRejected(ctx, pending[0].ID, "changed at HQ", followup.ClosedNoAction); err != nil {
		t.Fatal(err)
	}
	if pending, _ = db.PendingCaseChanges(ctx); len(pending) != 0 {
		t.Fatalf("a rejected change is still pending: %+v", pending)
	}
	rejected, err := db.RejectedCaseChanges(ctx)
	if err != nil || len(rejected) != 1 || rejected[0].Note != "voucher sent" || rejected[0].RejectedStatus != followup.ClosedNoAction {
		t.Fatalf("rejected: %+v, %v", rejected, err)
	}
	if cs, _ = db.Cases(ctx); cs[0].Status != followup.Contacted || cs[0].Pending {
		t.Fatalf("c1 after the rejection: %+v, want contacted as the collector said", cs[0])
	}
	if err := db.DismissCaseChange(ctx, rejected[0].ID); err != nil {
		t.Fatal(err)
	}
	if rejected, _ = db.RejectedCaseChanges(ctx); len(rejected) != 0 {
		t.Fatalf("a dismissed rejection still shows: %+v", rejected)
	}

	// Cases done at HQ leave the cache with the next pull.
	if _, err := db.ReplaceCases(ctx, pulledCases()[:1]); err != nil {
		t.Fatal(err)
	}
	if cs, _ = db.Cases(ctx); len(cs) != 1 || cs[0].ID != "c2" {
		t.Fatalf("after a pull without c1: %+v", cs)
	}
}

// Queued moves survive a restart: they are in the outbox, not in memory.
func TestQueuedCaseChangeSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	db := openTest(t, Config{Path: path, Now: newClock(t0).Now})
	if _, err := db.ReplaceCases(ctx, pulledCases()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.QueueCaseChange(ctx, "c2", followup.Resolved, "refund"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openTest(t, Config{Path: path, Now: newClock(t0).Now})
	pending, err := db.PendingCaseChanges(ctx)
	if err != nil || len(pending) != 1 || pending[0].Note != "refund" || pending[0].Version != 3 {
		t.Fatalf("after reopening: %+v, %v", pending, err)
	}
}

// A pull that finds the cases as cached writes nothing (the worker pulls every round);
// a changed, new or closed case rewrites the cache.
func TestReplaceCasesWritesOnlyChanges(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	db := openTest(t, Config{Now: clk.Now})
	pulledAt := func() map[string]int64 {
		t.Helper()
		rows, err := db.read.QueryContext(ctx, `SELECT id, pulled_at FROM cases`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int64{}
		for rows.Next() {
			var (
				id string
				at int64
			)
			if err := rows.Scan(&id, &at); err != nil {
				t.Fatal(err)
			}
			out[id] = at
		}
		return out
	}
	changed := pulledCases()
	changed[1].Status, changed[1].Version = followup.Contacted, 2
	for _, step := range []struct {
		name    string
		cases   []Case
		rewrite bool
	}{
		{"first pull", pulledCases(), true},
		{"the same again", pulledCases(), false},
		{"in another order", []Case{pulledCases()[1], pulledCases()[0]}, false},
		{"one case moved at HQ", changed, true},
		{"one case closed at HQ", changed[:1], true},
		{"nothing open", nil, true},
		{"still nothing", nil, false},
	} {
		before := pulledAt()
		clk.Advance(10 * time.Second)
		changed, err := db.ReplaceCases(ctx, step.cases)
		if err != nil {
			t.Fatal(err)
		}
		if changed != step.rewrite {
			t.Errorf("%s: ReplaceCases says changed %v, want %v", step.name, changed, step.rewrite)
		}
		after := pulledAt()
		if len(after) != len(step.cases) {
			t.Fatalf("%s: %d cases cached, want %d", step.name, len(after), len(step.cases))
		}
		for _, c := range step.cases {
			if rewritten := after[c.ID] != before[c.ID]; rewritten != step.rewrite {
				t.Errorf("%s: case %s rewritten %v, want %v", step.name, c.ID, rewritten, step.rewrite)
			}
		}
	}
	cs, err := db.Cases(ctx)
	if err != nil || len(cs) != 0 {
		t.Fatalf("Cases = %+v, %v; want none", cs, err)
	}
}
