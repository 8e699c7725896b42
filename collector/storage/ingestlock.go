package storage

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
)

// ingestPartitions is how many partitions the stores fall into for writing (ingestPartition).
// It divides every shard count of the report sums (reportShards, snapshotShards), which
// use the same hash, so every shared row an upload writes belongs to its store's
// partition alone.
const ingestPartitions = 8

// ingestPartition is the write partition of a store: its scope_days shards (of 16) and
// its snapshot shards (of 64 for the chain, 8 for a region or format) are the rows of
// stores of this partition only.
func ingestPartition(storeID string) int {
	h := fnv.New32a()
	h.Write([]byte(storeID))
	return int(h.Sum32() % ingestPartitions)
}

// lockIngest holds, until the transaction ends, the locks a group of uploads takes
// before it writes anything on PostgreSQL: one per write partition of its stores, in
// partition order.
//
// A group writes the rows of many stores: their rollups (locked per store), and rows
// shared by stores, the shards of the chain's, regions' and formats' report sums (locked
// per shard) and of scope_days (locked by the upsert). Two collectors' groups take those
// locks in the orders their uploads arrived in, so without these locks they deadlock as
// soon as both touch a few stores alike: PostgreSQL waits deadlock_timeout (1 s), fails
// one statement and the batch is tried again, and at two collectors under load most
// groups did. Every shared row an upload writes belongs to its store's partition
// (ingestPartition), so groups whose stores fall in different partitions never wait
// for each other, and groups that share partitions take them in one order and wait
// instead of deadlocking. SQLite has one writer already and needs none.
func lockIngest(ctx context.Context, t tx, group []*insertRequest) error {
	if t.d.lockText == "" {
		return nil
	}
	parts := make([]int, 0, len(group))
	for _, r := range group {
		parts = append(parts, ingestPartition(r.origin.StoreID))
	}
	slices.Sort(parts)
	for _, p := range slices.Compact(parts) {
		if _, err := t.ExecContext(ctx, t.d.lockText, "ingest:"+strconv.Itoa(p)); err != nil {
			return fmt.Errorf("insert batch: lock partition %d: %w", p, err)
		}
	}
	return nil
}
