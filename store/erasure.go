package store

import (
	"context"
	"fmt"
)

// ScrubErased clears what the shopper wrote from responses the collector erased (a
// person asked for their data to go): comment, answers and contact, sealed or not, and
// the comment of the cached cases named, and the manager's notes on them. Score, time
// and the rest stay, so the manager view's counts do not move. Ids this kiosk does not
// hold (purged already) are no error. The WAL is checkpointed after, so that the text
// leaves the files too (secure_delete zeroes the freed bytes).
func (db *DB) ScrubErased(ctx context.Context, responseIDs, caseIDs []string) (int, error) {
	if len(responseIDs) == 0 && len(caseIDs) == 0 {
		return 0, nil
	}
	n := 0
	err := db.space.write(func() error {
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("scrub erased responses: %w", err)
		}
		defer tx.Rollback()
		for _, id := range responseIDs {
			res, err := tx.ExecContext(ctx, `
				UPDATE responses SET comment = '', answers = '', contact = '', sealed_contact = '', contact_consent = 0
				 WHERE id = ? AND (comment <> '' OR answers <> '' OR contact <> '' OR sealed_contact <> '' OR contact_consent <> 0)`, id)
			if err != nil {
				return fmt.Errorf("scrub erased response %s: %w", id, err)
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		for _, id := range caseIDs {
			if _, err := tx.ExecContext(ctx, `
				UPDATE cases SET body = json_remove(body, '$.comment', '$.has_contact') WHERE id = ?`, id); err != nil {
				return fmt.Errorf("scrub erased case %s: %w", id, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE case_changes SET note = '' WHERE case_id = ?`, id); err != nil {
				return fmt.Errorf("scrub erased case %s: %w", id, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("scrub erased responses: %w", err)
		}
		return db.checkpoint(ctx)
	})
	return n, err
}
