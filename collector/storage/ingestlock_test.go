package storage

import (
	"fmt"
	"testing"
)

// Every shared row an upload writes is of its store's write partition: the shards of the
// report sums nest in the partitions, so groups of different partitions share no row.
func TestShardsNestInWritePartitions(t *testing.T) {
	for i := range 5000 {
		store := fmt.Sprintf("S%05d", i)
		p := ingestPartition(store)
		for _, tc := range []struct {
			what  string
			shard int
		}{
			{"scope_days shard", shardOf(store)},
			{"chain snapshot shard", snapshotShard(store, "")},
			{"region snapshot shard", snapshotShard(store, "r:North")},
			{"format snapshot shard", snapshotShard(store, "f:express")},
		} {
			if tc.shard%ingestPartitions != p {
				t.Fatalf("store %s: %s %d is not of its partition %d", store, tc.what, tc.shard, p)
			}
		}
	}
}
