package storage

import (
	"context"
	"fmt"
)

// lockIngest holds, until the transaction ends, the lock every group of uploads takes
// first on PostgreSQL, so that the group writers of several collectors on one database
// write one group at a time, as one collector's writer always did.
//
// A group writes the rows of many stores: their rollups (locked per store), the shared
// shards of the chain's, regions' and formats' report sums (locked per shard) and the
// rows of scope_days (locked by the upsert). Two collectors' groups take those locks in
// the orders their uploads arrived in, so without this lock they deadlock as soon as
// both touch a few stores alike: PostgreSQL waits deadlock_timeout (1 s), fails one
// statement and the batch is tried again, and at two collectors under load most groups
// did. With it, the writes of a group are still one transaction and one commit; the
// collectors' other work (TLS, authentication, decoding, the response rules, comment
// tagging) runs in parallel, and a collector whose group waits gathers a larger one
// meanwhile. SQLite has one writer already and needs none.
func lockIngest(ctx context.Context, t tx) error {
	if t.d.lockText == "" {
		return nil
	}
	if _, err := t.ExecContext(ctx, t.d.lockText, "ingest"); err != nil {
		return fmt.Errorf("insert batch: lock: %w", err)
	}
	return nil
}
