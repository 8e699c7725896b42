package store

import (
	"context"
	"fmt"
)

// Requeue puts the quarantined responses back in the outbox, for the collector to judge
// again: after its rules changed (a new survey) or the kiosk's clock was fixed, a response
// it rejected may now be accepted, and one still refused comes back to quarantine with
// the collector's reason. It returns how many it requeued.
func (db *DB) Requeue(ctx context.Context) (int64, error) {
	var n int64
	err := db.space.write(func() error {
		res, err := db.write.ExecContext(ctx,
			`UPDATE responses SET quarantined_at = NULL, quarantine_reason = ''
			  WHERE quarantined_at IS NOT NULL AND synced_at IS NULL`)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("requeue quarantined responses: %w", err)
	}
	return n, nil
}
