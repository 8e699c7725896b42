package storage_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/npskiosk/npskiosk/collector/storage"
	"github.com/npskiosk/npskiosk/collector/storage/storagetest"
	"github.com/npskiosk/npskiosk/sync/wire"
)

// An action is handed out once per lease: a second heartbeat within the lease gets
// nothing, one after it (the first reply was lost) gets the same action again, and
// after MaxActionSends unanswered sends it is failed. A result finishes it once; a
// repeated result, or one from another device, changes nothing.
func TestDeviceActionLeaseAndResult(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, clock := keyStore(t, b)
			dev, err := db.AddDevice(ctx, "S042", "Till 1", 0)
			if err != nil {
				t.Fatal(err)
			}
			other, err := db.AddDevice(ctx, "S042", "Till 2", 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.QueueDeviceAction(ctx, dev.ID, "reboot", "ana"); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("an unknown kind: %v, want ErrInvalid", err)
			}
			if _, err := db.QueueDeviceAction(ctx, "nope", wire.ActionSyncNow, "ana"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("an unknown device: %v, want ErrNotFound", err)
			}
			a, err := db.QueueDeviceAction(ctx, dev.ID, wire.ActionRestart, "ana")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.QueueDeviceAction(ctx, dev.ID, wire.ActionRestart, "bo"); !errors.Is(err, storage.ErrConflict) {
				t.Errorf("a second restart while one waits: %v, want ErrConflict", err)
			}
			lease := func(id string) []wire.DeviceAction {
				t.Helper()
				got, err := db.LeaseDeviceActions(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			if got := lease(other.ID); len(got) != 0 {
				t.Errorf("another device was handed %v", got)
			}
			if got := lease(dev.ID); len(got) != 1 || got[0].ID != a.ID || got[0].Kind != wire.ActionRestart {
				t.Fatalf("first lease: %v", got)
			}
			clock.set(clock.now().Add(time.Minute))
			if got := lease(dev.ID); len(got) != 0 {
				t.Errorf("within the lease: %v, want nothing", got)
			}
			clock.set(clock.now().Add(storage.DeviceActionLease))
			if got := lease(dev.ID); len(got) != 1 || got[0].ID != a.ID {
				t.Errorf("after the lease (the reply was lost): %v, want the action again", got)
			}
			// Another device naming the action changes nothing.
			if err := db.FinishDeviceActions(ctx, other.ID, []wire.ActionResult{{ID: a.ID, OK: false, Detail: "not mine"}}); err != nil {
				t.Fatal(err)
			}
			if err := db.FinishDeviceActions(ctx, dev.ID, []wire.ActionResult{{ID: a.ID, OK: true, Detail: "restarted " + strings.Repeat("x", 2000)}}); err != nil {
				t.Fatal(err)
			}
			// The same result again (the reply to its heartbeat was lost) changes nothing.
			clock.set(clock.now().Add(time.Hour))
			if err := db.FinishDeviceActions(ctx, dev.ID, []wire.ActionResult{{ID: a.ID, OK: false, Detail: "again"}}); err != nil {
				t.Fatal(err)
			}
			list, err := db.DeviceActions(ctx, dev.ID, 10)
			if err != nil || len(list) != 1 {
				t.Fatalf("actions: %v, %v", list, err)
			}
			got := list[0]
			if got.State != storage.ActionDone || got.RequestedBy != "ana" || got.Sends != 2 || !strings.HasPrefix(got.Result, "restarted x") ||
				len(got.Result) > wire.MaxActionDetail+len("…") || got.Open() {
				t.Errorf("finished action: %+v", got)
			}
			if got := lease(dev.ID); len(got) != 0 {
				t.Errorf("a finished action was handed out again: %v", got)
			}

			// Unanswered: sent MaxActionSends times, then failed.
			s, err := db.QueueDeviceAction(ctx, dev.ID, wire.ActionSyncNow, "cli:it")
			if err != nil {
				t.Fatal(err)
			}
			for i := range storage.MaxActionSends {
				if got := lease(dev.ID); len(got) != 1 || got[0].ID != s.ID {
					t.Fatalf("send %d: %v", i+1, got)
				}
				clock.set(clock.now().Add(storage.DeviceActionLease))
			}
			if got := lease(dev.ID); len(got) != 0 {
				t.Errorf("sent more than %d times: %v", storage.MaxActionSends, got)
			}
			list, err = db.DeviceActions(ctx, "", 10)
			if err != nil || len(list) != 2 || list[0].ID != s.ID || list[0].State != storage.ActionFailed || !strings.Contains(list[0].Result, "no answer") {
				t.Errorf("the unanswered action: %+v, %v", list, err)
			}
		})
	}
}

// A diagnostics bundle is kept for the device's own waiting diagnostics action only,
// bounded in size, and cleared by ExpireDiagnostics once DiagnosticsTTL has passed; the
// action stays as the record.
func TestDiagnosticsBundleKeptThenExpired(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, clock := keyStore(t, b)
			dev, err := db.AddDevice(ctx, "S042", "Till 1", 0)
			if err != nil {
				t.Fatal(err)
			}
			other, err := db.AddDevice(ctx, "S042", "Till 2", 0)
			if err != nil {
				t.Fatal(err)
			}
			a, err := db.QueueDeviceAction(ctx, dev.ID, wire.ActionDiagnostics, "ana")
			if err != nil {
				t.Fatal(err)
			}
			bundle := []byte(`{"logs":["hello"]}`)
			if err := db.PutDiagnostics(ctx, dev.ID, a.ID, bundle); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("a bundle before the action was sent: %v, want ErrNotFound", err)
			}
			if _, err := db.LeaseDeviceActions(ctx, dev.ID); err != nil {
				t.Fatal(err)
			}
			if err := db.PutDiagnostics(ctx, other.ID, a.ID, bundle); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("another device's bundle: %v, want ErrNotFound", err)
			}
			if err := db.PutDiagnostics(ctx, dev.ID, a.ID, make([]byte, wire.MaxDiagnosticsBytes+1)); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("an oversized bundle: %v, want ErrInvalid", err)
			}
			if err := db.PutDiagnostics(ctx, dev.ID, a.ID, bundle); err != nil {
				t.Fatal(err)
			}
			got, body, err := db.Diagnostics(ctx, a.ID)
			if err != nil || string(body) != string(bundle) || got.BundleBytes != int64(len(bundle)) || got.BundleExpiresAt.IsZero() {
				t.Fatalf("Diagnostics: %+v, %q, %v", got, body, err)
			}
			if n, err := db.ExpireDiagnostics(ctx); err != nil || n != 0 {
				t.Errorf("expire before the TTL: %d, %v", n, err)
			}
			clock.set(clock.now().Add(storage.DiagnosticsTTL))
			if _, _, err := db.Diagnostics(ctx, a.ID); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("an expired bundle is served: %v", err)
			}
			if n, err := db.ExpireDiagnostics(ctx); err != nil || n != 1 {
				t.Errorf("expire after the TTL: %d, %v", n, err)
			}
			list, err := db.DeviceActions(ctx, dev.ID, 0)
			if err != nil || len(list) != 1 || list[0].BundleBytes != 0 || list[0].RequestedBy != "ana" {
				t.Errorf("the action after expiry: %+v, %v", list, err)
			}
		})
	}
}
