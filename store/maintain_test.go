package store

import (
	"context"
	"testing"
	"time"
)

// An idle kiosk's maintenance sleeps its long interval, but a disk found full starts the
// short one at once: the reserve is re-created and taps taken again within it of space
// returning, not at the next long round.
func TestMaintainProbesSoonAfterTheDiskFills(t *testing.T) {
	db := openTest(t, Config{Path: t.TempDir() + "/kiosk.db"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.Maintain(ctx, time.Hour, 20*time.Millisecond, 0) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond) // the first round has run; the next is an hour away

	// As a write that found the disk full does (the space is back at once here).
	db.space.release(0)
	db.space.setFull(true)
	deadline := time.Now().Add(5 * time.Second)
	for s := db.Storage(); s.Full || !s.ReserveHeld; s = db.Storage() {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the disk filled and space returned: %+v; want taps taken and the reserve back", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
