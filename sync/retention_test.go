package sync

import (
	"context"
	"testing"
	"time"
)

// TestHeartbeatSaysDatabaseSizeAndLastPurge: the heartbeat carries the kiosk database's
// size and its last purge to the collector's fleet list.
func TestHeartbeatSaysDatabaseSizeAndLastPurge(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.fill(3)
	w := r.worker(nil)
	if err := w.SendHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := r.collector.Devices(ctx)
	if err != nil || len(ds) != 1 || ds[0].DBBytes <= 0 || !ds[0].LastPurgeAt.IsZero() {
		t.Fatalf("devices before any purge: %+v, %v", ds, err)
	}
	if _, err := r.kiosk.Purge(ctx, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	st, err := r.kiosk.PurgeStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SendHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	ds, err = r.collector.Devices(ctx)
	if err != nil || !ds[0].LastPurgeAt.Equal(st.LastAt) || ds[0].LastPurged != 0 || ds[0].DBBytes != r.kiosk.Size() {
		t.Fatalf("devices after a purge: %+v, %v; want last purge %s, %d bytes", ds, err, st.LastAt, r.kiosk.Size())
	}
}
