package storage

import (
	"fmt"
	"testing"

	"github.com/npskiosk/npskiosk/sync/wire"
)

// The buckets are stable and spread: about a tenth of a fleet is below 10, and raising
// the percent only adds devices.
func TestRolloutBucketSpreadsTheFleet(t *testing.T) {
	const n = 10000
	below := 0
	for i := range n {
		id := fmt.Sprintf("device-%d", i)
		b := RolloutBucket(id)
		if b < 0 || b > 99 || b != RolloutBucket(id) {
			t.Fatalf("bucket of %s: %d, then %d", id, b, RolloutBucket(id))
		}
		if b < 10 {
			below++
		}
		r10, r20 := Rollout{Version: "1", Percent: 10}, Rollout{Version: "1", Percent: 20}
		if r10.Includes(id, "S") && !r20.Includes(id, "S") {
			t.Fatalf("%s is in at 10%% and out at 20%%", id)
		}
	}
	if below < n/10-300 || below > n/10+300 {
		t.Fatalf("%d of %d devices in the 10%% stage; want about %d", below, n, n/10)
	}
}

func TestRolloutTargetAndDeviceState(t *testing.T) {
	// A device id outside a 1% stage, whatever the hash.
	out := "d0"
	for i := 0; RolloutBucket(out) == 0; i++ {
		out = fmt.Sprintf("d%d", i)
	}
	r := Rollout{ID: "r", Version: "0.1.2", Percent: 1, Stores: []string{"S1"}}
	for _, tc := range []struct {
		name   string
		r      Rollout
		d      Device
		target string
		state  string
	}{
		{"its store is in the stage", r, Device{ID: out, StoreID: "S1", AppVersion: "0.1.1"}, "0.1.2", wire.UpdatePending},
		{"outside", r, Device{ID: out, StoreID: "S2", AppVersion: "0.1.1"}, "", RolloutOutside},
		{"all of the fleet", Rollout{Version: "0.1.2", Percent: 100}, Device{ID: out, StoreID: "S2", AppVersion: "0.1.1"}, "0.1.2", wire.UpdatePending},
		{"on target", r, Device{ID: out, StoreID: "S1", AppVersion: "0.1.2"}, "0.1.2", RolloutOnTarget},
		{"rolled back", r, Device{ID: out, StoreID: "S1", AppVersion: "0.1.1", UpdateTarget: "0.1.2", UpdateState: wire.UpdateRolledBack}, "0.1.2", wire.UpdateRolledBack},
		{"failed", r, Device{ID: out, StoreID: "S1", AppVersion: "0.1.1", UpdateTarget: "0.1.2", UpdateState: wire.UpdateFailed}, "0.1.2", wire.UpdateFailed},
		{"failed on an earlier version: pending for this one", r, Device{ID: out, StoreID: "S1", AppVersion: "0.1.1", UpdateTarget: "0.1.9", UpdateState: wire.UpdateFailed}, "0.1.2", wire.UpdatePending},
		{"halted: no target, the state still shown", Rollout{Version: "0.1.2", Percent: 100, HaltedAt: r.CreatedAt.AddDate(2000, 0, 0)}, Device{ID: out, AppVersion: "0.1.2"}, "", RolloutOnTarget},
		{"no rollout", Rollout{}, Device{ID: out, AppVersion: "0.1.2"}, "", RolloutOutside},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Target(tc.d.ID, tc.d.StoreID); got != tc.target {
				t.Errorf("Target: %q, want %q", got, tc.target)
			}
			if got := tc.r.DeviceState(tc.d); got != tc.state {
				t.Errorf("DeviceState: %q, want %q", got, tc.state)
			}
		})
	}
	sum := r.Summarize([]Device{
		{ID: out, StoreID: "S1", Enrolled: true, AppVersion: "0.1.2"},
		{ID: out, StoreID: "S1", Enrolled: true, AppVersion: "0.1.1", UpdateTarget: "0.1.2", UpdateState: wire.UpdateRolledBack},
		{ID: out, StoreID: "S1", Enrolled: true, AppVersion: "0.1.1"},
		{ID: out, StoreID: "S2", Enrolled: true, AppVersion: "0.1.1"},
		{ID: out, StoreID: "S1", Enrolled: true, Revoked: true, AppVersion: "0.1.0"},
	})
	if sum.Devices != 4 || sum.Included != 3 || sum.OnTarget != 1 || sum.Failed != 1 || sum.Pending != 1 || sum.Outside != 1 ||
		sum.Versions["0.1.1"] != 3 || sum.Versions["0.1.2"] != 1 || len(sum.Versions) != 2 {
		t.Fatalf("summary: %+v", sum)
	}
}
