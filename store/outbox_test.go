package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/npskiosk/npskiosk/response"
)

// TestMarkSyncedRelaxesSynchronousOnlyForItself checks that MarkSynced commits with
// synchronous=NORMAL and that the write connection, which the taps share, is back to FULL
// afterwards, whether the mark committed, failed or had its context end.
func TestMarkSyncedRelaxesSynchronousOnlyForItself(t *testing.T) {
	const (
		normal = 1
		full   = 2
	)
	errInjected := errors.New("injected")
	tests := []struct {
		name string
		// fail runs inside the transaction once the rows are updated; its error fails
		// the mark.
		fail       func(cancel context.CancelFunc) error
		wantMarked bool
	}{
		{name: "commits", fail: func(context.CancelFunc) error { return nil }, wantMarked: true},
		{name: "fails inside the transaction", fail: func(context.CancelFunc) error { return errInjected }},
		{name: "context ends inside the transaction", fail: func(cancel context.CancelFunc) error {
			cancel()
			return context.Canceled
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t, Config{RapidTap: noRapid})
			id := mustRecord(t, db, 9)
			mustComplete(t, db, id, response.FollowUp{Outcome: response.OutcomeSkipped})
			writeSync := func() int {
				t.Helper()
				var v int
				if err := db.write.QueryRowContext(context.Background(), "PRAGMA synchronous").Scan(&v); err != nil {
					t.Fatal(err)
				}
				return v
			}
			if got := writeSync(); got != full {
				t.Fatalf("synchronous before MarkSynced = %d, want %d (FULL)", got, full)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			during := -1
			db.markSyncedHook = func(ctx context.Context, tx *sql.Tx) error {
				if err := tx.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&during); err != nil {
					return err
				}
				return tt.fail(cancel)
			}
			n, err := db.MarkSynced(ctx, []string{id})
			if tt.wantMarked && (err != nil || n != 1) {
				t.Fatalf("MarkSynced = %d, %v; want 1", n, err)
			}
			if !tt.wantMarked && err == nil {
				t.Fatalf("MarkSynced = %d, nil; want an error", n)
			}
			if during != normal {
				t.Errorf("synchronous inside MarkSynced = %d, want %d (NORMAL)", during, normal)
			}
			if got := writeSync(); got != full {
				t.Errorf("synchronous after MarkSynced = %d, want %d (FULL)", got, full)
			}
			db.markSyncedHook = nil
			ob, err := db.Outbox(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int64{true: 1}[tt.wantMarked]; ob.Synced != want {
				t.Errorf("%d synced after MarkSynced, want %d", ob.Synced, want)
			}
			// A tap after it still commits, on the same connection.
			mustRecord(t, db, 3)
			if got := writeSync(); got != full {
				t.Errorf("synchronous after the next tap = %d, want %d (FULL)", got, full)
			}
		})
	}
}
